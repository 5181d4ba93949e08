// test_record_arena.cpp: records come out in order with exactly their
// frames, none is lost or doubled under concurrent producers (through many
// wraps of the mapping), lack of room is counted, and the consumer hands the
// pages it has read back to the system.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "../src/record_arena.hpp"
#include "harness.hpp"

using scalene_lab::RecordArena;

namespace {

struct Frame {
  uint64_t code;
  uint64_t lasti;
};

// The shape the arena expects: a header, then `depth` frames in use and
// `extra_frames` more (an allocation sample's companion entries).
struct Record {
  uint8_t depth;
  uint8_t extra;
  uint32_t producer;
  uint64_t sequence;
  Frame frames[40];
};

uint32_t extra_frames(const Record& record) {
  return record.extra;
}

Record make(uint32_t producer, uint64_t sequence) {
  Record record{};
  record.producer = producer;
  record.sequence = sequence;
  record.depth = static_cast<uint8_t>(sequence % 41);
  record.extra = static_cast<uint8_t>(record.depth <= 32 ? sequence % 9 : 0);
  for (uint8_t i = 0; i < record.depth + record.extra; ++i) record.frames[i] = Frame{sequence * 100 + i, producer};
  return record;
}

bool intact(const Record& record) {
  if (record.depth != record.sequence % 41) return false;
  for (uint8_t i = 0; i < record.depth + record.extra; ++i) {
    if (record.frames[i].code != record.sequence * 100 + i || record.frames[i].lasti != record.producer) return false;
  }
  return true;
}

// Resident pages of [memory, memory + bytes), from mincore.
size_t resident_pages(const void* memory, size_t bytes) {
  std::vector<unsigned char> pages(bytes / 4096);
  if (mincore(const_cast<void*>(memory), bytes, pages.data()) != 0) return ~size_t{0};
  size_t count = 0;
  for (unsigned char page : pages) count += page & 1;
  return count;
}

}  // namespace

NATIVE_TEST(arena_records_come_out_in_order_with_their_frames) {
  static RecordArena<Record> arena;
  CHECK(arena.map(1 << 16));
  for (uint64_t i = 0; i < 100; ++i) CHECK(arena.push(make(0, i)));
  Record out{};
  for (uint64_t i = 0; i < 100; ++i) {
    CHECK(arena.pop(out));
    CHECK(out.sequence == i && intact(out));
  }
  CHECK(!arena.pop(out));
  CHECK(arena.pushed() == 100 && arena.popped() == 100 && arena.overflow() == 0);
}

NATIVE_TEST(arena_without_room_counts_the_loss_and_recovers_after_release) {
  static RecordArena<Record> arena;
  CHECK(arena.map(1 << 13));  // 8 KiB: a handful of deep records
  const Record deep = make(0, 40);
  const uint32_t entry = RecordArena<Record>::entry_bytes(deep);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += arena.push(deep);
  CHECK(accepted == static_cast<int>((1 << 13) / entry));
  CHECK(arena.overflow() == static_cast<uint64_t>(100 - accepted));
  Record out{};
  CHECK(arena.pop(out) && intact(out));
  CHECK(!arena.push(deep));  // read but not released: the space is not free yet
  arena.release();
  CHECK(arena.push(deep));
}

NATIVE_TEST(arena_unmapped_refuses_and_counts) {
  static RecordArena<Record> arena;
  Record out{};
  CHECK(!arena.push(make(0, 1)));
  CHECK(arena.overflow() == 1);
  CHECK(!arena.pop(out));
}

NATIVE_TEST(arena_hands_read_pages_back) {
  static RecordArena<Record> arena;
  constexpr size_t kBytes = size_t{1} << 22;  // 4 MiB
  CHECK(arena.map(kBytes));
  const void* base = nullptr;
  // Find the mapping: the first record is written at its start.
  CHECK(arena.push(make(0, 40)));
  Record out{};
  CHECK(arena.pop(out));
  arena.release();
  for (uint64_t i = 0; arena.waiting_bytes() < kBytes / 2; ++i) CHECK(arena.push(make(0, 40)));
  // Every page holding waiting records is resident; after the drain, only
  // the partial page at the end may be.
  std::FILE* maps = std::fopen("/proc/self/maps", "r");
  char line[512];
  while (maps != nullptr && std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line, "%lx-%lx", &start, &end) == 2 && end - start == kBytes) {
      if (resident_pages(reinterpret_cast<void*>(start), kBytes) >= kBytes / 2 / 4096)
        base = reinterpret_cast<void*>(start);
    }
  }
  if (maps != nullptr) std::fclose(maps);
  CHECK(base != nullptr);
  while (arena.pop(out)) {
  }
  arena.release();
  CHECK(arena.waiting_bytes() == 0);
  if (base != nullptr) CHECK(resident_pages(base, kBytes) <= 2);
}

NATIVE_TEST(arena_concurrent_producers_lose_and_duplicate_nothing_across_wraps) {
  static RecordArena<Record> arena;
  CHECK(arena.map(1 << 16));  // 64 KiB: wraps hundreds of times below
  constexpr uint32_t kProducers = 4;
  constexpr uint64_t kEach = 30000;
  std::atomic<bool> done{false};
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t received = 0;
  bool ordered = true;
  bool whole = true;
  auto take = [&](const Record& out) {
    ordered = ordered && out.producer < kProducers && out.sequence == next[out.producer];
    whole = whole && intact(out);
    if (out.producer < kProducers) next[out.producer] = out.sequence + 1;
    ++received;
  };
  std::thread consumer([&] {
    Record out{};
    for (;;) {
      const bool finished = done.load();
      int batch = 0;
      while (batch < 64 && arena.pop(out)) {
        take(out);
        ++batch;
      }
      arena.release();
      if (finished && batch == 0) return;
    }
  });
  std::vector<std::thread> producers;
  for (uint32_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([p] {
      for (uint64_t i = 0; i < kEach;) {
        if (arena.push(make(p, i))) ++i;  // retry until stored: nothing may be lost
      }
    });
  }
  for (auto& producer : producers) producer.join();
  done = true;
  consumer.join();
  CHECK(received == uint64_t{kProducers} * kEach);
  CHECK(ordered);  // each producer's records arrive in its own order
  CHECK(whole);    // and with exactly the frames it wrote
  CHECK(arena.popped() == received && arena.pushed() == received);
}
