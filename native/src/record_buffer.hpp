// record_buffer.hpp: the bounded buffer between allocation hooks and Python.
//
// Hooks on any thread push fixed-size records; the kernel side drains them
// from its own thread. It is Vyukov's bounded multi-producer queue: one
// atomic ticket per push, a sequence number per slot, no locks and no
// allocation after construction. A push into a full buffer is refused and
// counted, so the profile can say how many records were lost.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace scalene_lab {

template <typename Record, size_t Capacity>
class RecordBuffer {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

 public:
  RecordBuffer() {
    for (size_t i = 0; i < Capacity; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }

  // Append `record`; false (and counted) when the buffer is full.
  bool push(const Record& record) {
    size_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[position & kMask];
      const size_t sequence = cell.sequence.load(std::memory_order_acquire);
      const intptr_t difference = static_cast<intptr_t>(sequence) - static_cast<intptr_t>(position);
      if (difference == 0) {
        if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          cell.record = record;
          cell.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (difference < 0) {
        overflow_.fetch_add(1, std::memory_order_relaxed);
        return false;
      } else {
        position = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // Take the oldest record into `out`; false when the buffer is empty.
  // Safe from one consumer at a time.
  bool pop(Record& out) {
    Cell& cell = cells_[head_ & kMask];
    const size_t sequence = cell.sequence.load(std::memory_order_acquire);
    if (static_cast<intptr_t>(sequence) - static_cast<intptr_t>(head_ + 1) < 0) return false;
    out = cell.record;
    cell.sequence.store(head_ + Capacity, std::memory_order_release);
    ++head_;
    return true;
  }

  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

  // Start counting lost records afresh (each run reports its own).
  void reset_overflow() { overflow_.store(0, std::memory_order_relaxed); }

 private:
  static constexpr size_t kMask = Capacity - 1;

  struct Cell {
    std::atomic<size_t> sequence;
    Record record;
  };

  Cell cells_[Capacity];
  alignas(64) std::atomic<size_t> tail_{0};
  alignas(64) size_t head_ = 0;
  std::atomic<uint64_t> overflow_{0};
};

}  // namespace scalene_lab
