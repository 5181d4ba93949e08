// api.cpp: the C ABI the kernel side calls through ctypes. The only
// extern "C" symbols of the library; everything else is hidden.
#include <pthread.h>

#include <cstring>

#include "got_patcher.hpp"
#include "hooks.hpp"
#include "python_domains.hpp"
#include "records.hpp"
#include "state.hpp"

using namespace scalene_lab;

namespace {

// A forked child inherits the hooks but nobody drains its buffer: it stops
// sampling at once and never signals the parent's threads.
void stop_in_child() {
  g_sampling.store(false, std::memory_order_relaxed);
  state().signal_number.store(0, std::memory_order_relaxed);
}

}  // namespace

#define SL_EXPORT extern "C" __attribute__((visibility("default")))

// Resolve the real functions and patch every loaded object. Returns the
// number of patched slots, or -1 if the real functions cannot be found.
SL_EXPORT long sl_attach(const sl_config* config) {
  static bool fork_handler_installed = false;
  if (!resolve_real_functions()) return -1;
  if (!fork_handler_installed) {
    pthread_atfork(nullptr, nullptr, &stop_in_child);
    fork_handler_installed = true;
  }
  State& shared = state();
  shared.allocation_window.store(config->allocation_window, std::memory_order_relaxed);
  shared.copy_window.store(config->copy_window, std::memory_order_relaxed);
  shared.signal_number.store(config->signal_number, std::memory_order_relaxed);
  shared.notify_tid.store(config->notify_tid, std::memory_order_relaxed);
  shared.signal_pending.store(false, std::memory_order_relaxed);
  shared.live.clear();
  g_live_blocks.store(0, std::memory_order_relaxed);
  g_free_filter.clear();
  sl_record stale{};
  while (shared.buffer.pop(stale)) {
  }
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  return static_cast<long>(patch_all_objects(!is_preloaded()));
}

// 1 when the library was preloaded (LD_PRELOAD) and its malloc family is the process's.
SL_EXPORT int sl_preloaded(void) { return is_preloaded() ? 1 : 0; }

// Start or stop taking samples (frees of sampled blocks are matched either way).
SL_EXPORT void sl_set_sampling(int enabled) { g_sampling.store(enabled != 0, std::memory_order_release); }

// Put every patched slot back; no more records are produced after this.
SL_EXPORT void sl_detach(void) {
  g_sampling.store(false, std::memory_order_release);
  state().signal_number.store(0, std::memory_order_relaxed);
  unpatch_all_objects();
}

// Move up to `capacity` records into `out`; returns how many.
SL_EXPORT size_t sl_drain(sl_record* out, size_t capacity) {
  State& shared = state();
  shared.signal_pending.store(false, std::memory_order_release);
  size_t count = 0;
  while (count < capacity && shared.buffer.pop(out[count])) ++count;
  return count;
}

SL_EXPORT void sl_get_stats(sl_stats* out) {
  const PatchCounts counts = patch_counts();
  State& shared = state();
  out->buffer_overflow = shared.buffer.overflow();
  out->table_refused = shared.live.refused();
  out->patched_slots = counts.slots;
  out->patched_objects = counts.objects;
  out->live_sampled = shared.live.size();
}

// Fill `wrapper` (a PyMemAllocatorEx) to wrap `current`; returns its slot or -1.
SL_EXPORT int sl_wrap_python_allocator(const void* current, void* wrapper) {
  return wrap_python_domain(static_cast<const PyAllocator*>(current), static_cast<PyAllocator*>(wrapper));
}

// Python's allocator serves small requests from pymalloc's pools (no malloc inside).
SL_EXPORT void sl_set_small_requests_pooled(int pooled) { set_small_requests_pooled(pooled != 0); }

// The wrapper of `slot` is no longer installed anywhere.
SL_EXPORT void sl_release_python_allocator(int slot) { release_python_slot(slot); }
