// free_filter.hpp: the counting filter that lets almost every free skip the
// live table. Almost every free is of a block that was never sampled; a slot
// counts the live sampled blocks whose address hashes to it, so one byte
// load answers "certainly not sampled" for most frees, inline in the hook.
// Counting (not a bit) matters: Python reuses a freed block's address at
// once, and a mark that outlived its block would send every later free of
// that address to the table. A slot that reaches 255 stays there (a lookup
// too many, never a wrong answer). No allocation, no locks, no exceptions.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace scalene_lab {

template <size_t kSlots>
class FreeFilter {
  static_assert((kSlots & (kSlots - 1)) == 0, "slots must be a power of two");

 public:
  constexpr FreeFilter() : slots_{} {}

  // False when no live sampled block can have this address.
  bool may_hold(const void* pointer) const { return slots_[slot(pointer)].load(std::memory_order_relaxed) != 0; }

  // Raise before the block enters the live table, lower after it leaves:
  // a free then never misses a block the table holds.
  void raise(const void* pointer) {
    std::atomic<uint8_t>& count = slots_[slot(pointer)];
    uint8_t seen = count.load(std::memory_order_relaxed);
    while (seen != kStuck && !count.compare_exchange_weak(seen, seen + 1, std::memory_order_relaxed)) {
    }
  }

  void lower(const void* pointer) {
    std::atomic<uint8_t>& count = slots_[slot(pointer)];
    uint8_t seen = count.load(std::memory_order_relaxed);
    while (seen != kStuck && seen != 0 && !count.compare_exchange_weak(seen, seen - 1, std::memory_order_relaxed)) {
    }
  }

  // Only while no hook can be raising or lowering (attach).
  void clear() {
    for (auto& count : slots_) count.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr uint8_t kStuck = 255;
  static constexpr unsigned kShift = 64 - __builtin_ctzll(kSlots);  // multiplicative hashing: top bits

  static size_t slot(const void* pointer) {
    const uint64_t address = reinterpret_cast<uintptr_t>(pointer) >> 4;  // malloc aligns to 16
    if constexpr (kSlots == 1) {
      return 0;
    } else {
      return static_cast<size_t>((address * 0x9E3779B97F4A7C15ull) >> kShift);
    }
  }

  std::atomic<uint8_t> slots_[kSlots];
};

}  // namespace scalene_lab
