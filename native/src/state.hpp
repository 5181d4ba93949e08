// state.hpp: the allocator's process-wide state. Everything lives in static
// storage, so nothing here allocates; per-thread parts use initial-exec TLS,
// which never calls malloc (unlike general-dynamic TLS in a dlopen'ed library).
#pragma once

#include <atomic>
#include <cstdint>

#include "byte_sampler.hpp"
#include "live_table.hpp"
#include "record_buffer.hpp"
#include "records.hpp"

namespace scalene_lab {

constexpr size_t kBufferCapacity = size_t{1} << 16;
constexpr size_t kLiveCapacity = size_t{1} << 18;

struct State {
  std::atomic<bool> sampling{false};
  std::atomic<uint64_t> allocation_window{1 << 20};
  std::atomic<uint64_t> copy_window{7 << 20};
  std::atomic<uint64_t> generation{0};  // bumped on attach: threads reseed their samplers
  std::atomic<int> signal_number{0};
  std::atomic<int> notify_tid{0};
  std::atomic<bool> signal_pending{false};
  RecordBuffer<sl_record, kBufferCapacity> buffer;
  LiveTable<kLiveCapacity> live;
};

State& state();

// Per-thread sampler state and the re-entrancy guard.
struct ThreadState {
  bool busy = false;  // inside one of our hooks (or the Python allocator wrapper)
  uint64_t generation = ~uint64_t{0};
  ByteSampler allocations;  // seeded on first use after each attach
  ByteSampler copies;
};

ThreadState& thread_state();

// True when this library's malloc family is the process's (LD_PRELOAD).
bool is_preloaded();

// Called by every hook after the real function: sample, record, notify.
void on_allocation(void* pointer, uint64_t size, bool python);
void on_free(void* pointer);
void on_copy(uint64_t size);

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

}  // namespace scalene_lab
