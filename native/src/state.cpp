// state.cpp: sampling decisions and the records they produce. Runs inside
// allocation hooks: no allocation, no exceptions, and no locks but one:
// after a large net free, the C library's malloc_trim takes its own arena
// locks (see heap_release.hpp).
#include "state.hpp"

#include "cpu_sampler.hpp"
#include "python_frames.hpp"

#include <malloc.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace scalene_lab {

State& state() {
  static State instance;
  return instance;
}

std::atomic<bool> g_sampling{false};
std::atomic<uint64_t> g_generation{0};  // bumped on attach: threads reseed their samplers
std::atomic<uint64_t> g_live_blocks{0};
FreeFilter<size_t{1} << 16> g_free_filter;
HeapRelease g_heap_release{kReleaseDropBytes};

namespace {
FateGroup g_fate_groups[kFateGroups];
std::atomic<uint32_t> g_next_fate_group{0};
}  // namespace

void reset_fate_groups() {
  g_next_fate_group.store(0, std::memory_order_relaxed);
}

namespace {

uint32_t current_tid() {
  return static_cast<uint32_t>(syscall(SYS_gettid));
}

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The thread's fate group, if it got a slot at this attach.
FateGroup* fate_group_of(const ThreadState& thread) {
  return thread.fate_group < kFateGroups ? &g_fate_groups[thread.fate_group] : nullptr;
}

// Threads pick up a new attach (new windows, fresh random streams, a fate
// group slot) lazily.
ThreadState& current_samplers() {
  ThreadState& thread = thread_state();
  State& shared = state();
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (thread.generation != generation) {
    thread.tid = current_tid();
    const uint64_t seed = (static_cast<uint64_t>(thread.tid) << 32) ^ now_ns() ^ generation;
    thread.allocations = ByteSampler(shared.allocation_window.load(std::memory_order_relaxed), seed | 1, kCompanions);
    thread.copies = ByteSampler(shared.copy_window.load(std::memory_order_relaxed), seed ^ 0x5bd1e995);
    const uint32_t slot = g_next_fate_group.fetch_add(1, std::memory_order_relaxed);
    thread.fate_group = slot;
    if (slot < kFateGroups) g_fate_groups[slot].reset();  // attach cleared the live table
    thread.generation = generation;
  }
  return thread;
}

// Put a block in the live table behind its free-filter mark (raised first,
// so a free never misses it) and count it; false, with the mark taken back,
// when the table has no room (`counted`: as a lost sample).
bool enter_live_block(void* pointer, uint64_t value, bool counted) {
  g_free_filter.raise(pointer);
  if (!state().live.insert(reinterpret_cast<uintptr_t>(pointer), value, counted)) {
    g_free_filter.lower(pointer);
    return false;
  }
  g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// A block left the live table: its filter mark and its count go too.
void forget_live_block(void* pointer) {
  g_free_filter.lower(pointer);
  // Never below "matching, none live": a detach that cleared the flag
  // meanwhile must not be undone by an underflow into the top bit.
  uint64_t seen = g_live_blocks.load(std::memory_order_relaxed);
  while (seen > kMatchingFrees && !g_live_blocks.compare_exchange_weak(seen, seen - 1, std::memory_order_relaxed)) {
  }
}

// Every record carries the allocating thread's Python stack, read here at
// the instant of the allocation, so it is charged to the line that made it
// however late the drain runs. The kernel side is asked to drain once
// kDrainThreshold records are waiting. `fates`: the group an allocation
// sample settles; its companions are reported after the stack.
void push(uint8_t kind, bool python, uint64_t bytes, uintptr_t pointer, uint8_t flags, uint64_t block_bytes = 0,
          FateGroup* fates = nullptr) {
  State& shared = state();
  sl_record record{};
  record.kind = kind;
  record.python = python ? 1 : 0;
  record.flags = flags;
  record.tid = current_tid();
  record.bytes = bytes;
  record.pointer = pointer;
  record.block_bytes = block_bytes;
  record.time_ns = now_ns();
  if (kind != SL_FREE) capture_stack(python_layout(), current_thread_state(), &record);
  if (fates != nullptr) {
    const auto release = [](uintptr_t kept) { forget_live_block(reinterpret_cast<void*>(kept)); };
    record.companions =
        fates->settle(state().live, release, record.frames + record.depth, SL_MAX_FRAMES - record.depth);
  }
  if (!shared.records.push(record)) return;
  // Without a frame reader the drain attributes by where the thread is when
  // it runs, so it is asked for at once; with one, only as records pile up.
  const uint64_t waiting = shared.pending_records.fetch_add(1, std::memory_order_relaxed) + 1;
  if (waiting >= kDrainThreshold || (kind != SL_FREE && python_layout().version == 0)) request_drain();
}

// A companion goes into the live table (and past the free filter) like a
// sampled block, but stands for no bytes: a free takes it out silently.
void follow_companion(const ThreadState& thread, void* pointer, uint64_t size) {
  FateGroup* group = fate_group_of(thread);
  if (group == nullptr || group->full() || size >= kCompanionSizeLimit) return;
  sl_frame where{};
  innermost_frame(python_layout(), current_thread_state(), &where);  // code 0 if unreadable
  // The id cached at attach (no system call here): it only has to tell this
  // thread's companions from other threads', which it does after a fork too.
  const uint32_t tid = thread.tid;
  if (enter_live_block(pointer, companion_value(tid, static_cast<uint32_t>(size)), false)) {
    group->add(reinterpret_cast<uintptr_t>(pointer), tid, static_cast<uint32_t>(size), where);
  }
}

}  // namespace

void on_allocation_slow(void* pointer, uint64_t size, bool python, bool realloc) {
  ThreadState& thread = current_samplers();
  const ByteSampler::Pick pick = thread.allocations.pick(size);
  if (pick.companion) {
    follow_companion(thread, pointer, size);
    return;
  }
  const uint64_t bytes = pick.weight;
  if (bytes == 0) return;
  // A sample from the Poisson stream settles the companions of the one
  // before it (a block of a window or more stands alone and settles nothing).
  FateGroup* fates = size < thread.allocations.window() ? fate_group_of(thread) : nullptr;
  uint8_t flags = realloc ? SL_FLAG_REALLOC : 0;
  if (enter_live_block(pointer, bytes, true)) {
    g_heap_release.added(bytes);
  } else {
    // No room to match its free later: it is reported as allocated but
    // never counted as live, so it cannot look like growth or a leak.
    flags |= SL_FLAG_UNTRACKED;
  }
  push(SL_ALLOC, python, bytes, reinterpret_cast<uintptr_t>(pointer), flags, size, fates);
}

void on_free_slow(void* pointer) {
  // Frees are matched even after sampling stops, until detach: a block
  // sampled during the run and freed later must still leave the footprint.
  const uint64_t bytes = state().live.erase(reinterpret_cast<uintptr_t>(pointer));
  if (bytes == 0) return;
  forget_live_block(pointer);
  if (is_companion(bytes)) return;  // a temporary among a sample's companions: nothing to report
  push(SL_FREE, false, bytes, reinterpret_cast<uintptr_t>(pointer), 0);
  // Called from a free hook (never from inside the C library's allocator,
  // whose own calls do not go through hooks), so its locks are free to take.
  // The drain is asked for too: the profiler's records of the freed blocks
  // (small Python objects, in the same pools as the user's) go with them.
  if (g_heap_release.removed(bytes)) {
    malloc_trim(0);
    request_drain();
  }
}

void on_copy_slow(uint64_t size) {
  const uint64_t bytes = current_samplers().copies.on_bytes(size);
  if (bytes != 0) push(SL_COPY, false, bytes, 0, 0);
}

}  // namespace scalene_lab
