// live_table.hpp: lock-free table of live sampled pointers.
//
// When a sampled block is freed, its sampled bytes must leave the footprint;
// frees of blocks that were never sampled (including every block allocated
// before the allocator attached) must not. This open-addressing table maps a
// sampled pointer to the bytes it stands for. Inserts and erases are a few
// compare-and-swaps on a fixed array: safe from any thread, from inside
// malloc, and across fork (the child inherits a consistent copy, since no
// operation leaves a slot half-written). Probing is bounded to a small window
// around a pointer's home slot, so a free costs a handful of loads however
// long the table has been in use (tombstones cannot pile up into long
// chains); when a window is full an insert is refused and counted, never
// blocks.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace scalene_lab {

template <size_t Capacity>
class LiveTable {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

 public:
  constexpr LiveTable() = default;
  LiveTable(const LiveTable&) = delete;
  LiveTable& operator=(const LiveTable&) = delete;

  // Reserve the slots, once (before that, every insert is refused and
  // counted). The pages are backed only once touched and handed back by
  // clear(), so a table sized for a million live samples costs nothing
  // until a run keeps that many.
  bool map() {
    if (slots_ != nullptr) return true;
    void* memory = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) return false;
    slots_ = static_cast<Slot*>(memory);  // zero pages: every slot is empty
    return true;
  }

  // Remember `pointer` as standing for `bytes`; false when the table is
  // full. `counted`: a refusal counts as a lost sample (not for companions,
  // which stand for no bytes).
  bool insert(uintptr_t pointer, uint64_t bytes, bool counted = true) {
    if (pointer <= kTombstone) return false;
    if (slots_ == nullptr) {
      if (counted) refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    size_t index = hash(pointer);
    for (size_t probe = 0; probe < kProbeLimit; ++probe, index = (index + 1) & kMask) {
      uintptr_t key = slots_[index].key.load(std::memory_order_acquire);
      while (key == kEmpty || key == kTombstone) {
        if (slots_[index].key.compare_exchange_weak(key, kClaimed, std::memory_order_acq_rel)) {
          slots_[index].bytes.store(bytes, std::memory_order_relaxed);
          slots_[index].key.store(pointer, std::memory_order_release);
          size_.fetch_add(1, std::memory_order_relaxed);
          return true;
        }
      }
    }
    if (counted) refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Forget `pointer`; returns the bytes it stood for, or 0 if it was not sampled.
  uint64_t erase(uintptr_t pointer) {
    if (pointer <= kTombstone || slots_ == nullptr) return 0;
    size_t index = hash(pointer);
    for (size_t probe = 0; probe < kProbeLimit; ++probe, index = (index + 1) & kMask) {
      uintptr_t key = slots_[index].key.load(std::memory_order_acquire);
      if (key == kEmpty) return 0;
      if (key == pointer) {
        const uint64_t bytes = slots_[index].bytes.load(std::memory_order_relaxed);
        uintptr_t expected = pointer;
        if (slots_[index].key.compare_exchange_strong(expected, kTombstone, std::memory_order_acq_rel)) {
          size_.fetch_sub(1, std::memory_order_relaxed);
          return bytes;
        }
        return 0;  // another thread freed it first: a double free, not ours to count
      }
    }
    return 0;
  }

  // Forget `pointer` only if it stands for exactly `bytes` (a companion
  // whose address may since have been freed and taken by another block);
  // true when this call took it out. A slot emptied and refilled with the
  // same pointer and value between the two loads below is taken all the
  // same: one companion read as kept, never a sampled block lost.
  bool erase_if(uintptr_t pointer, uint64_t bytes) {
    if (pointer <= kTombstone || slots_ == nullptr) return false;
    size_t index = hash(pointer);
    for (size_t probe = 0; probe < kProbeLimit; ++probe, index = (index + 1) & kMask) {
      uintptr_t key = slots_[index].key.load(std::memory_order_acquire);
      if (key == kEmpty) return false;
      if (key == pointer) {
        if (slots_[index].bytes.load(std::memory_order_relaxed) != bytes) return false;
        if (!slots_[index].key.compare_exchange_strong(key, kTombstone, std::memory_order_acq_rel)) return false;
        size_.fetch_sub(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

  // Whether `pointer` is held (a snapshot: another thread may change it).
  bool contains(uintptr_t pointer) const {
    if (pointer <= kTombstone || slots_ == nullptr) return false;
    size_t index = hash(pointer);
    for (size_t probe = 0; probe < kProbeLimit; ++probe, index = (index + 1) & kMask) {
      const uintptr_t key = slots_[index].key.load(std::memory_order_acquire);
      if (key == kEmpty) return false;
      if (key == pointer) return true;
    }
    return false;
  }

  // Forget everything (between runs, while no hook is active): the pages go
  // back to the system and read as empty slots when next touched.
  void clear() {
    if (slots_ != nullptr) madvise(slots_, kBytes, MADV_DONTNEED);
    size_.store(0, std::memory_order_release);
    refused_.store(0, std::memory_order_relaxed);  // counts are per run
  }

  size_t size() const { return size_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  static constexpr uintptr_t kEmpty = 0;
  static constexpr uintptr_t kTombstone = 1;
  static constexpr uintptr_t kClaimed = 2;  // being written; never a real pointer
  static constexpr size_t kMask = Capacity - 1;
  // A million slots take 600,000 random pointers with no refusal at 64
  // (at 32, about 28 were refused, and one in a 400,000-block run).
  static constexpr size_t kProbeLimit = Capacity < 64 ? Capacity : 64;

  static size_t hash(uintptr_t pointer) {
    uint64_t x = static_cast<uint64_t>(pointer) >> 4;  // malloc aligns to 16
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return static_cast<size_t>(x) & kMask;
  }

  struct Slot {
    std::atomic<uintptr_t> key;
    std::atomic<uint64_t> bytes;
  };
  static constexpr size_t kBytes = (sizeof(Slot) * Capacity + 4095) & ~size_t{4095};  // whole pages

  Slot* slots_ = nullptr;  // Capacity slots, mapped by map()
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace scalene_lab
