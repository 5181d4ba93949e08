// api.cpp: the C ABI the kernel side calls through ctypes. The only
// extern "C" symbols of the library; everything else is hidden.
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <cstring>

#include "cpu_sampler.hpp"
#include "fault_guard.hpp"
#include "got_patcher.hpp"
#include "hooks.hpp"
#include "python_domains.hpp"
#include "python_frames.hpp"
#include "records.hpp"
#include "state.hpp"

using namespace scalene_lab;

namespace {

// A forked child inherits the hooks but nobody drains its buffer: it stops
// sampling at once and never trips the parent's handler.
void stop_in_child() {
  g_sampling.store(false, std::memory_order_relaxed);
  state().signal_number.store(0, std::memory_order_relaxed);
}

void install_fork_handler() {
  static bool installed = false;
  if (!installed) {
    pthread_atfork(nullptr, nullptr, &stop_in_child);
    installed = true;
  }
}

// Whether attach holds the fault guard (detach gives it back once).
bool g_attach_guarded = false;

// The record arena has one consumer at a time. A drain that finds another
// under way (a signal handler draining inside a drain, another thread)
// takes nothing, so no record is read twice or skipped.
std::atomic<bool> g_consuming{false};

class ConsumerGuard {
 public:
  ConsumerGuard() : owner_(!g_consuming.exchange(true, std::memory_order_acquire)) {}
  ~ConsumerGuard() {
    if (owner_) g_consuming.store(false, std::memory_order_release);
  }
  ConsumerGuard(const ConsumerGuard&) = delete;
  ConsumerGuard& operator=(const ConsumerGuard&) = delete;
  bool owner() const { return owner_; }

 private:
  bool owner_;
};

// Records left from before this run (pushed after the previous run's last
// drain) are dropped, once every producer still inside a push is out.
void discard_stale_records() {
  RecordArena<sl_record>& records = state().records;
  ConsumerGuard guard;
  if (!guard.owner()) return;
  sl_record stale{};
  for (int round = 0; round < 1000; ++round) {
    while (records.pop(stale)) {
    }
    records.release();
    if (records.in_flight() == 0 && records.waiting_bytes() == 0) break;
    sched_yield();
  }
}

}  // namespace

#define SL_EXPORT extern "C" __attribute__((visibility("default")))

// Where CPython keeps frames in this interpreter (see records.hpp). Set
// before anything samples.
SL_EXPORT void sl_set_python_layout(const sl_python_layout* layout) {
  set_python_layout(*layout);
}

// The drain signal: its Python-level handler is tripped when records wait.
// Each run starts with every per-run counter at zero.
SL_EXPORT void sl_begin_run(int signal_number) {
  install_fork_handler();
  State& shared = state();
  shared.signal_number.store(signal_number, std::memory_order_relaxed);
  shared.trip_pending_ns.store(0, std::memory_order_relaxed);
  shared.pending_records.store(0, std::memory_order_relaxed);
  shared.records.map(kArenaBytes);  // once per process; without it every record is counted lost
  discard_stale_records();
  shared.records.reset_counts();
  reset_invalid_stacks();
}

// No more drain requests (the kernel side drains what is left itself).
SL_EXPORT void sl_end_run(void) {
  state().signal_number.store(0, std::memory_order_relaxed);
}

// Read the calling thread's stack into `out` (the kernel side checks the
// layout against its own frames with this); returns the depth or -1.
SL_EXPORT int sl_probe_stack(sl_record* out) {
  std::memset(out, 0, sizeof *out);
  if (!acquire_fault_guard()) return -1;
  const bool ok = capture_stack(python_layout(), current_thread_state(), out);
  release_fault_guard();
  return ok ? out->depth : -1;
}

// Arm the CPU sampler (cpu_sampler.hpp); 0 on success, else errno.
SL_EXPORT int sl_cpu_start(const sl_cpu_config* config) {
  return cpu_start(*config) ? 0 : (errno ? errno : -1);
}

// Disarm it; idempotent, and safe to call when it never started.
SL_EXPORT void sl_cpu_stop(void) {
  cpu_stop();
}

SL_EXPORT int sl_cpu_running(void) {
  return cpu_running() ? 1 : 0;
}

// The cell's threads (kernel tids) that get CPU samples too.
SL_EXPORT void sl_cpu_set_threads(const int32_t* tids, size_t count) {
  cpu_set_threads(tids, count);
}

// Whether the calling thread runs the profiler's own code (set around the
// kernel side's drain): its allocations are not sampled and its time is left
// out of CPU samples. Returns the previous value.
SL_EXPORT int sl_set_profiler_busy(int busy) {
  ThreadState& thread = thread_state();
  const bool previous = thread.busy;
  thread.busy = busy != 0;
  if (busy) {
    cpu_profiler_enter();
  } else {
    cpu_profiler_exit();
  }
  return previous ? 1 : 0;
}

// Resolve the real functions and patch every loaded object. Returns the
// number of patched slots, or -1 if the real functions cannot be found.
SL_EXPORT long sl_attach(const sl_config* config) {
  if (!resolve_real_functions()) return -1;
  if (!g_attach_guarded) {
    if (!acquire_fault_guard()) return -1;
    g_attach_guarded = true;
  }
  install_fork_handler();
  State& shared = state();
  shared.allocation_window.store(config->allocation_window, std::memory_order_relaxed);
  shared.copy_window.store(config->copy_window, std::memory_order_relaxed);
  shared.live.map();  // once per process; without it every sample is untracked (and counted)
  shared.live.clear();
  g_live_blocks.store(kMatchingFrees, std::memory_order_relaxed);
  g_heap_release.reset();
  g_free_filter.clear();
  reset_fate_groups();
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  return static_cast<long>(patch_all_objects(!is_preloaded()));
}

// 1 when the library was preloaded (LD_PRELOAD) and its malloc family is the process's.
SL_EXPORT int sl_preloaded(void) {
  return is_preloaded() ? 1 : 0;
}

// Start or stop taking samples (frees of sampled blocks are matched either way).
SL_EXPORT void sl_set_sampling(int enabled) {
  g_sampling.store(enabled != 0, std::memory_order_release);
}

// Put every patched slot back; no more records are produced after this.
// Hooks that stay reachable (preloaded, or a Python wrapper another tool
// wrapped in turn) stop matching frees too: the run's figures are final.
SL_EXPORT void sl_detach(void) {
  g_sampling.store(false, std::memory_order_release);
  g_live_blocks.store(0, std::memory_order_release);
  unpatch_all_objects();
  if (g_attach_guarded) {
    g_attach_guarded = false;
    release_fault_guard();
  }
}

// Move up to `capacity` records into `out`, oldest first; returns how many.
// A drain inside a drain (re-entered from a signal handler, or run by
// another thread) returns 0: the outer one takes what is left.
SL_EXPORT size_t sl_drain(sl_record* out, size_t capacity) {
  ConsumerGuard guard;
  if (!guard.owner()) return 0;
  State& shared = state();
  shared.trip_pending_ns.store(0, std::memory_order_release);
  shared.pending_records.store(0, std::memory_order_relaxed);
  size_t count = 0;
  while (count < capacity && shared.records.pop(out[count])) ++count;
  shared.records.release();
  return count;
}

// Of the `count` pointers in `pointers`, zero those the live table no longer
// holds: sampled blocks freed whose free record was lost (the kernel side
// asks after a run that lost records, so they do not look like growth).
SL_EXPORT void sl_live_filter(uint64_t* pointers, size_t count) {
  const LiveTable<kLiveCapacity>& live = state().live;
  for (size_t i = 0; i < count; ++i) {
    if (!live.contains(static_cast<uintptr_t>(pointers[i]))) pointers[i] = 0;
  }
}

SL_EXPORT void sl_get_stats(sl_stats* out) {
  const PatchCounts counts = patch_counts();
  State& shared = state();
  out->buffer_overflow = shared.records.overflow();
  out->table_refused = shared.live.refused();
  out->patched_slots = counts.slots;
  out->patched_objects = counts.objects;
  out->live_sampled = shared.live.size();
  out->invalid_stacks = invalid_stacks();
  out->cpu_samples = cpu_samples();
  out->thread_signals = cpu_thread_signals();
  out->records_pushed = shared.records.pushed();
  out->records_drained = shared.records.popped();
}

// Fill `wrapper` (a PyMemAllocatorEx) to wrap `current`; returns its slot or -1.
SL_EXPORT int sl_wrap_python_allocator(const void* current, void* wrapper) {
  return wrap_python_domain(static_cast<const PyAllocator*>(current), static_cast<PyAllocator*>(wrapper));
}

// Python's allocator serves small requests from pymalloc's pools (no malloc inside).
SL_EXPORT void sl_set_small_requests_pooled(int pooled) {
  set_small_requests_pooled(pooled != 0);
}

// The wrapper of `slot` is no longer installed anywhere.
SL_EXPORT void sl_release_python_allocator(int slot) {
  release_python_slot(slot);
}

// 1 when nobody (Python or native) has a handler for `signal_number`.
SL_EXPORT int sl_signal_is_free(int signal_number) {
  struct sigaction current;
  if (sigaction(signal_number, nullptr, &current) != 0) return 0;
  return (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL) ? 1 : 0;
}

// 1 while any hook is installed, sampling is on, or frees are still matched
// against sampled blocks (each a leftover to clean up: the last one keeps a
// preloaded library's free on its slow path).
SL_EXPORT int sl_attached(void) {
  return (patch_counts().slots > 0 || g_sampling.load(std::memory_order_relaxed) ||
          (g_live_blocks.load(std::memory_order_relaxed) & kMatchingFrees) != 0)
             ? 1
             : 0;
}
