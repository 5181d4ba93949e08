// state.hpp: the allocator's process-wide state. Everything lives in static
// storage, so nothing here allocates; per-thread parts use initial-exec TLS,
// which never calls malloc (unlike general-dynamic TLS in a dlopen'ed library).
#pragma once

#include <atomic>
#include <cstdint>

#include "byte_sampler.hpp"
#include "fate_group.hpp"
#include "free_filter.hpp"
#include "heap_release.hpp"
#include "live_table.hpp"
#include "record_arena.hpp"
#include "records.hpp"

namespace scalene_lab {

// Address space reserved for records waiting to be drained (record_arena.hpp):
// backed only while records wait, it holds 370,000 of the deepest and about
// 3 million frees; a cell's threads can keep the drain out for seconds.
constexpr size_t kArenaBytes = size_t{1} << 28;
// Pending records at which the kernel side is asked to drain.
constexpr uint64_t kDrainThreshold = 2048;
// Live sampled blocks the table can hold (16 bytes each, backed as used): a
// 4 KiB window over a few gigabytes keeps half a million blocks live.
constexpr size_t kLiveCapacity = size_t{1} << 20;

struct State {
  std::atomic<uint64_t> allocation_window{1 << 20};
  std::atomic<uint64_t> copy_window{7 << 20};
  std::atomic<int> signal_number{0};  // the drain signal (sl_begin_run); 0: no drain requests
  // When the kernel side's handler was last tripped and has not drained
  // since (0: no trip outstanding); see request_drain.
  std::atomic<uint64_t> trip_pending_ns{0};
  std::atomic<uint64_t> pending_records{0};  // pushed since the last drain
  RecordArena<sl_record> records;
  LiveTable<kLiveCapacity> live;
};

State& state();

// Hot-path flags, constant-initialised at namespace scope (no guard checks):
// whether samples are taken, which attach a thread's samplers belong to,
// and g_live_blocks: its top bit says frees are matched (set by attach,
// cleared by detach), the rest counts the sampled blocks in the live table,
// so a free needs one load and one compare to know it has nothing to look up.
// A sample taken by a hook still in flight when detach runs may count a
// block after detach; without the top bit it is never looked up again.
extern std::atomic<bool> g_sampling;
extern std::atomic<uint64_t> g_generation;
extern std::atomic<uint64_t> g_live_blocks;
constexpr uint64_t kMatchingFrees = uint64_t{1} << 63;

// Whether a free may be of a sampled block worth looking up.
inline bool frees_matched() {
  return g_live_blocks.load(std::memory_order_relaxed) > kMatchingFrees;
}

// Freed heap memory goes back to the system after a net free of this much
// sampled volume (heap_release.hpp).
constexpr uint64_t kReleaseDropBytes = uint64_t{64} << 20;
extern HeapRelease g_heap_release;

// Frees of blocks that were never sampled stop at this filter (free_filter.hpp).
extern FreeFilter<size_t{1} << 16> g_free_filter;  // 64 KiB

// Per-thread sampler state and the re-entrancy guard.
struct ThreadState {
  bool busy = false;  // inside one of our hooks (or the Python allocator wrapper)
  uint64_t generation = ~uint64_t{0};
  ByteSampler allocations;  // seeded on first use after each attach
  ByteSampler copies;
  uint32_t fate_group = ~uint32_t{0};  // this thread's slot in the fate groups (state.cpp), if any
  uint32_t tid = 0;                    // its kernel thread id as of the attach (tags its companions)
};

// Defined here (an inline variable) so every hook sees it is constant-initialised
// and reaches it with one %fs-relative load, with no TLS wrapper call.
inline thread_local ThreadState t_thread_state __attribute__((tls_model("initial-exec")));

inline ThreadState& thread_state() {
  return t_thread_state;
}

// Threads take fate-group slots (fate_group.hpp) in order after each attach;
// past the last slot a thread takes no companions. The groups are not in
// TLS: a dlopen'ed library's initial-exec TLS comes out of a small reserve.
constexpr uint32_t kFateGroups = 512;
void reset_fate_groups();  // at attach, while nothing samples

// True when this library's malloc family is the process's (LD_PRELOAD).
bool is_preloaded();

// The slow paths: a sample is due, or a sampled block may be freed.
void on_allocation_slow(void* pointer, uint64_t size, bool python, bool realloc);
void on_free_slow(void* pointer);
void on_copy_slow(uint64_t size);

// Bytes a calloc(count, size) hands out; 0 when the product overflows (the
// call then fails and there is nothing to sample).
inline uint64_t calloc_bytes(size_t count, size_t size) {
  size_t total = 0;
  return __builtin_mul_overflow(count, size, &total) ? 0 : total;
}

// The fast paths every hook asks before calling the real function, so that a
// hook with no sample due forwards as a tail call: one relaxed load when
// idle, then a thread-local countdown. True when `size` bytes are taken
// without reaching a sample point (the countdown has consumed them).
inline bool allocation_skipped(ThreadState& thread, uint64_t size) {
  return thread.generation == g_generation.load(std::memory_order_relaxed) && thread.allocations.skip(size);
}

inline bool copy_skipped(ThreadState& thread, uint64_t size) {
  return thread.generation == g_generation.load(std::memory_order_relaxed) && thread.copies.skip(size);
}

// Whether a native allocation or copy can forward untouched: not sampling,
// inside one of our hooks (an allocator calling malloc, our bookkeeping), or
// no sample point inside its bytes.
inline bool native_allocation_passes(uint64_t size) {
  if (!g_sampling.load(std::memory_order_relaxed)) return true;
  ThreadState& thread = thread_state();
  return thread.busy || allocation_skipped(thread, size);
}

inline bool native_copy_passes(uint64_t size) {
  if (!g_sampling.load(std::memory_order_relaxed)) return true;
  ThreadState& thread = thread_state();
  return thread.busy || copy_skipped(thread, size);
}

// After the real call, on the slow side: sample the block unless the
// countdown takes it after all (a thread's first allocation after attach
// reseeds its sampler) or the call failed.
inline void on_allocation(void* pointer, uint64_t size, bool python, bool realloc) {
  if (!g_sampling.load(std::memory_order_relaxed) || pointer == nullptr) return;
  if (allocation_skipped(thread_state(), size)) return;
  on_allocation_slow(pointer, size, python, realloc);
}

inline void on_free(void* pointer) {
  if (pointer == nullptr || !frees_matched()) return;
  if (!g_free_filter.may_hold(pointer)) return;
  on_free_slow(pointer);
}

// RAII guard: hooks called from inside a hook (an allocator calling malloc,
// our own bookkeeping) pass straight through.
class ReentryGuard {
 public:
  ReentryGuard() : thread_(thread_state()), entered_(!thread_.busy) { thread_.busy = true; }
  ~ReentryGuard() {
    if (entered_) thread_.busy = false;
  }
  ReentryGuard(const ReentryGuard&) = delete;
  ReentryGuard& operator=(const ReentryGuard&) = delete;
  bool entered() const { return entered_; }

 private:
  ThreadState& thread_;
  bool entered_;
};

// The slow side of a hook whose fast path did not let it forward: the real
// call under the re-entry guard (the allocator's own calls to malloc and our
// bookkeeping pass through), then the sample if one is due. Out of line so
// the hooks' fast paths stay small enough to forward as tail calls. Hooks
// spell their real call twice (the forward, and the lambda here) on purpose:
// a shared "forward or guard" helper builds the lambda before the fast path,
// and a lambda of three captures then spills to the stack on every call.
template <typename Call>
__attribute__((noinline)) void* guarded_allocation(uint64_t size, bool python, Call call, bool realloc = false) {
  ReentryGuard guard;
  void* pointer = call();
  if (guard.entered()) on_allocation(pointer, size, python, realloc);
  return pointer;
}

}  // namespace scalene_lab
