// record_arena.hpp: the queue between the sampling hooks (and the CPU signal
// handler) and the kernel side's drain.
//
// The drain runs only when the kernel's main thread holds the GIL, and it can
// go without it for a long time: eight busy threads kept it out for over a
// second here, and freeing a large container sends one record per sampled
// block with no bytecode (and so no drain) in between. A small bounded
// buffer lost most records then (frees above all, which then looked like
// growth). This queue stores what waits in a large reserved mapping whose
// pages are only backed while they hold records: the consumer hands every
// page it has read back to the system, so the resident cost is what waits.
//
// Each record takes only the bytes it uses (its header and `depth` frames,
// rounded to 16), so a free costs 80 bytes and a deep CPU sample about 700.
// Producers on any thread (and in signal handlers) reserve space with one
// compare-and-swap on a 64-bit position, write, then publish the entry by
// storing its stamp (position + 1) last; the single consumer reads entries in
// position order and stops at one not yet published. It zeroes what it read
// before giving the space back, so a stamp is only ever found where its
// producer wrote it. No locks, no allocation, no waiting: a producer that
// finds no room counts the record as lost and returns.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace scalene_lab {

template <typename Record>
class RecordArena {
 public:
  constexpr RecordArena() = default;
  RecordArena(const RecordArena&) = delete;
  RecordArena& operator=(const RecordArena&) = delete;

  // Reserve `bytes` (a power of two, a multiple of the page size) of address
  // space, once; false if it cannot be mapped. Nothing is backed until used.
  bool map(size_t bytes) {
    if (base_ != nullptr) return true;
    if (bytes < kPage || (bytes & (bytes - 1)) != 0) return false;
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) return false;
    capacity_ = bytes;
    base_ = static_cast<unsigned char*>(memory);
    return true;
  }

  bool mapped() const { return base_ != nullptr; }

  // Append `record`; false (and counted) when there is no room or no mapping.
  bool push(const Record& record) {
    in_flight_.fetch_add(1, std::memory_order_acq_rel);
    const bool stored = store(record);
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    if (stored) {
      pushed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      lost_.fetch_add(1, std::memory_order_relaxed);
    }
    return stored;
  }

  // Take the oldest record into `out`; false when none is ready (the queue
  // is empty, or its oldest entry is still being written). One consumer at
  // a time; call release() after a batch of pops.
  bool pop(Record& out) {
    if (base_ == nullptr) return false;
    for (;;) {
      if (read_ == reserved_.load(std::memory_order_acquire)) return false;
      unsigned char* at = base_ + (read_ & (capacity_ - 1));
      if (stamp_at(at).load(std::memory_order_acquire) != read_ + 1) return false;
      uint32_t size = 0;
      uint32_t payload = 0;
      std::memcpy(&size, at + kSizeAt, sizeof size);
      std::memcpy(&payload, at + kPayloadAt, sizeof payload);
      read_ += size;
      if (payload == kPadding) continue;
      std::memcpy(static_cast<void*>(&out), at + kHeader, payload);
      popped_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }

  // Give the space read since the last call back to producers: zeroed, and
  // its whole pages handed back to the system.
  void release() {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (read_ == head) return;
    uint64_t begin = head & (capacity_ - 1);
    uint64_t length = read_ - head;
    if (begin + length > capacity_) {  // wraps around the end of the mapping
      zero(begin, capacity_ - begin);
      length -= capacity_ - begin;
      begin = 0;
    }
    zero(begin, length);
    head_.store(read_, std::memory_order_release);
  }

  // Producers still inside push() (a reset waits for none).
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }

  // Per-run counts: records stored, records lost for want of room, records popped.
  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  uint64_t overflow() const { return lost_.load(std::memory_order_relaxed); }
  uint64_t popped() const { return popped_.load(std::memory_order_relaxed); }

  // Bytes reserved by producers and not yet released by the consumer.
  uint64_t waiting_bytes() const {
    return reserved_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

  void reset_counts() {
    pushed_.store(0, std::memory_order_relaxed);
    lost_.store(0, std::memory_order_relaxed);
    popped_.store(0, std::memory_order_relaxed);
  }

  // The bytes one entry for `record` takes (header, payload, rounding).
  static uint32_t entry_bytes(const Record& record) { return round_up(kHeader + payload_bytes(record)); }

 private:
  static constexpr size_t kPage = 4096;
  // An entry: stamp (8 bytes: its position + 1, stored last), size (4: the
  // whole entry), payload (4: the record's bytes, or kPadding), the record.
  static constexpr size_t kSizeAt = 8;
  static constexpr size_t kPayloadAt = 12;
  static constexpr size_t kHeader = 16;
  static constexpr uint32_t kPadding = ~uint32_t{0};  // fills the end of the mapping before a wrap

  static uint32_t round_up(size_t bytes) { return static_cast<uint32_t>((bytes + 15) & ~size_t{15}); }

  static uint32_t payload_bytes(const Record& record) {
    const size_t frames = size_t{record.depth} + extra_frames(record);
    return static_cast<uint32_t>(offsetof(Record, frames) + frames * sizeof(record.frames[0]));
  }

  static std::atomic<uint64_t>& stamp_at(unsigned char* at) { return *reinterpret_cast<std::atomic<uint64_t>*>(at); }

  static void write_header(unsigned char* at, uint32_t size, uint32_t payload) {
    std::memcpy(at + kSizeAt, &size, sizeof size);
    std::memcpy(at + kPayloadAt, &payload, sizeof payload);
  }

  bool store(const Record& record) {
    if (base_ == nullptr) return false;
    const uint32_t payload = payload_bytes(record);
    const uint32_t size = round_up(kHeader + payload);
    uint64_t position = reserved_.load(std::memory_order_relaxed);
    uint64_t padding = 0;
    for (;;) {
      // An entry never straddles the end: the rest of the mapping is padding.
      const uint64_t offset = position & (capacity_ - 1);
      padding = offset + size > capacity_ ? capacity_ - offset : 0;
      const uint64_t head = head_.load(std::memory_order_acquire);
      if (head > position) {  // our view of the position is older than the consumer's release
        position = reserved_.load(std::memory_order_relaxed);
        continue;
      }
      if (position + padding + size - head > capacity_) return false;
      if (reserved_.compare_exchange_weak(position, position + padding + size, std::memory_order_acq_rel,
                                          std::memory_order_relaxed)) {
        break;
      }
    }
    if (padding != 0) {
      unsigned char* at = base_ + (position & (capacity_ - 1));
      write_header(at, static_cast<uint32_t>(padding), kPadding);
      stamp_at(at).store(position + 1, std::memory_order_release);
      position += padding;
    }
    unsigned char* at = base_ + (position & (capacity_ - 1));
    write_header(at, size, payload);
    std::memcpy(at + kHeader, static_cast<const void*>(&record), payload);
    stamp_at(at).store(position + 1, std::memory_order_release);
    return true;
  }

  // Zero [begin, begin + length) of the mapping: whole pages are handed back
  // (they read as zero when next touched), the partial ones at the ends cleared.
  void zero(uint64_t begin, uint64_t length) {
    const uint64_t end = begin + length;
    const uint64_t first_page = (begin + kPage - 1) & ~uint64_t{kPage - 1};
    const uint64_t last_page = end & ~uint64_t{kPage - 1};
    if (first_page < last_page) {
      std::memset(base_ + begin, 0, first_page - begin);
      madvise(base_ + first_page, last_page - first_page, MADV_DONTNEED);
      std::memset(base_ + last_page, 0, end - last_page);
    } else {
      std::memset(base_ + begin, 0, length);
    }
  }

  unsigned char* base_ = nullptr;
  uint64_t capacity_ = 0;
  alignas(64) std::atomic<uint64_t> reserved_{0};  // producers' next position
  alignas(64) std::atomic<uint64_t> head_{0};      // released by the consumer up to here
  uint64_t read_ = 0;                              // the consumer's next position (>= head_)
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> popped_{0};
};

}  // namespace scalene_lab
