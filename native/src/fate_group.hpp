// fate_group.hpp: the companions of a thread's latest allocation sample, and
// which of them were still live when the thread's next sample came.
//
// A sample's bytes count as kept (Scalene's net allocation) or as
// temporaries by what became of them within about one window of
// allocation. One block's fate is a coin toss per sample; companions (a few
// blocks byte_sampler.hpp picks after each sample) add many more fates at
// little cost. Each is reported with the innermost Python frame it was
// allocated in, so the kernel side credits its fate to its own line and
// takes a line's net share from the pooled fates of that line's companions.
// Companions sit in the live table under a tagged value, so a free of one is
// matched by the ordinary free path and only takes it out of the table; at
// the thread's next sample the ones still there are taken out and reported
// as kept. Fixed size, no allocation, no locks.
#pragma once

#include <cstdint>

#include "records.hpp"

namespace scalene_lab {

// Companions taken after each sample.
constexpr uint32_t kCompanions = 8;

// Companions are smaller than this (their size shares 32 bits with a flag).
constexpr uint64_t kCompanionSizeLimit = uint64_t{1} << 31;
constexpr uint32_t kCompanionKept = uint32_t{1} << 31;

// Live-table values of companions: this bit, the owning thread's id in the
// bits below it (so a settle never takes out another thread's companion that
// reuses a freed address) and the block's size in the low 40 bits.
constexpr uint64_t kCompanionTag = uint64_t{1} << 63;

inline bool is_companion(uint64_t value) {
  return (value & kCompanionTag) != 0;
}

inline uint64_t companion_value(uint32_t tid, uint32_t size) {
  return kCompanionTag | (static_cast<uint64_t>(tid & 0x7fffff) << 40) | size;
}

class FateGroup {
 public:
  constexpr FateGroup() = default;

  bool full() const { return count_ >= kCompanions; }

  // Remember a companion the live table took for thread `tid`, allocated in
  // the Python frame `where`; false (and nothing remembered) when full.
  bool add(uintptr_t pointer, uint32_t tid, uint32_t size, const sl_frame& where) {
    if (full()) return false;
    Entry& entry = entries_[count_++];
    entry.pointer = pointer;
    entry.code = where.code;
    entry.lasti = where.lasti;
    entry.size = size;
    tid_ = tid;
    return true;
  }

  // Take every companion still held out of `table` (`release`: what to undo
  // for each one taken, as for a free), write up to `room` of them to `out`
  // as report entries (see sl_frame), and empty the group. Returns how many
  // were written.
  template <typename Table, typename Release>
  uint32_t settle(Table& table, Release release, sl_frame* out, uint32_t room) {
    uint32_t written = 0;
    for (uint32_t i = 0; i < count_; ++i) {
      const Entry& entry = entries_[i];
      const bool kept = table.erase_if(entry.pointer, companion_value(tid_, entry.size));
      if (kept) release(entry.pointer);
      if (written < room) {
        out[written].code = entry.code;
        out[written].lasti = entry.lasti;
        out[written].extra = entry.size | (kept ? kCompanionKept : 0);
        ++written;
      }
    }
    count_ = 0;
    return written;
  }

  // Forget the group without looking (a new attach cleared the table).
  void reset() { count_ = 0; }

 private:
  struct Entry {
    uintptr_t pointer;
    uint64_t code;
    int32_t lasti;
    uint32_t size;
  };
  Entry entries_[kCompanions] = {};
  uint32_t tid_ = 0;
  uint32_t count_ = 0;
};

}  // namespace scalene_lab
