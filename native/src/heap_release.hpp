// heap_release.hpp: when to hand freed heap memory back to the system.
//
// glibc's main heap only shrinks from its top, so one live block above a
// freed region keeps all of it resident. Without profiling, a cell that frees
// what it built gets its memory back at once (the freed blocks coalesce into
// the top, which is trimmed). The profiler's own bookkeeping, allocated while
// the cell runs (drained records, caches of code objects met for the first
// time, its dictionaries growing), lands above the cell's blocks and pins
// them: 1.4 GB of 1.5 GB freed stayed resident until the kernel exited.
// So when the sampled live volume has dropped by a threshold since the last
// release (a net free, not churn at a steady footprint), the free hook asks
// the C library to return the free pages (malloc_trim), as the unprofiled
// run's own trim would have. This class only decides; it is lock-free and
// allocation-free, so it runs inside the free hook.
#pragma once

#include <atomic>
#include <cstdint>

namespace scalene_lab {

class HeapRelease {
 public:
  constexpr explicit HeapRelease(uint64_t threshold_bytes) : threshold_(threshold_bytes) {}

  // A sampled block standing for `bytes` became live.
  void added(uint64_t bytes) {
    const uint64_t live = live_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    uint64_t mark = mark_.load(std::memory_order_relaxed);
    while (live > mark && !mark_.compare_exchange_weak(mark, live, std::memory_order_relaxed)) {
    }
  }

  // A sampled block standing for `bytes` was freed; true (for one caller)
  // when the live volume has fallen `threshold` below its high mark since
  // the last release: the caller releases, and the mark starts again here.
  bool removed(uint64_t bytes) {
    uint64_t live = live_.load(std::memory_order_relaxed);
    while (!live_.compare_exchange_weak(live, live > bytes ? live - bytes : 0, std::memory_order_relaxed)) {
    }
    live = live > bytes ? live - bytes : 0;
    uint64_t mark = mark_.load(std::memory_order_relaxed);
    if (mark < live + threshold_) return false;
    return mark_.compare_exchange_strong(mark, live, std::memory_order_relaxed);
  }

  // A new run: nothing live.
  void reset() {
    live_.store(0, std::memory_order_relaxed);
    mark_.store(0, std::memory_order_relaxed);
  }

  uint64_t live() const { return live_.load(std::memory_order_relaxed); }

 private:
  uint64_t threshold_;
  std::atomic<uint64_t> live_{0};
  std::atomic<uint64_t> mark_{0};  // the highest live volume since the last release
};

}  // namespace scalene_lab
