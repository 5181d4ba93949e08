// test_live_table.cpp: sampled pointers are matched on free, unsampled frees
// are ignored, and the table stays correct and cheap under churn and threads.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "../src/live_table.hpp"
#include "harness.hpp"

using scalene_lab::LiveTable;

NATIVE_TEST(erase_returns_the_sampled_bytes_once) {
  static LiveTable<1024> table;
  CHECK(table.map());
  CHECK(table.insert(0x1000, 5));
  CHECK(table.insert(0x2000, 7));
  CHECK(table.size() == 2);
  CHECK(table.erase(0x2000) == 7);
  CHECK(table.erase(0x2000) == 0);  // double free: not counted twice
  CHECK(table.erase(0x3000) == 0);  // never sampled (e.g. allocated before attaching)
  CHECK(table.erase(0x1000) == 5);
  CHECK(table.size() == 0);
}

NATIVE_TEST(churn_does_not_fill_the_table) {
  static LiveTable<4096> table;
  CHECK(table.map());
  for (uintptr_t round = 0; round < 200000; ++round) {
    const uintptr_t pointer = 0x100000 + (round % 3000) * 16 * 7919;
    CHECK(table.insert(pointer, round));
    CHECK(table.erase(pointer) == round);
  }
  CHECK(table.size() == 0);
  CHECK(table.refused() == 0);
}

NATIVE_TEST(full_windows_refuse_and_count) {
  static LiveTable<64> table;
  CHECK(table.map());
  int accepted = 0;
  for (uintptr_t i = 1; i <= 200; ++i) accepted += table.insert(i * 4096, 1);
  CHECK(accepted <= 64);
  CHECK(table.refused() == static_cast<uint64_t>(200 - accepted));
}

NATIVE_TEST(threads_insert_and_erase_concurrently) {
  static LiveTable<1 << 16> table;
  CHECK(table.map());
  constexpr int kThreads = 4;
  constexpr uintptr_t kEach = 5000;
  std::atomic<uint64_t> erased{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &erased] {
      for (uintptr_t i = 0; i < kEach; ++i) {
        const uintptr_t pointer = (static_cast<uintptr_t>(t + 1) << 40) | ((i + 1) << 4);
        if (table.insert(pointer, 3)) erased += table.erase(pointer);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(table.size() == 0);
  CHECK(erased.load() + table.refused() * 3 == kThreads * kEach * 3);
}

NATIVE_TEST(an_unmapped_table_refuses_and_counts) {
  static LiveTable<1024> table;
  CHECK(!table.insert(0x1000, 5));
  CHECK(table.refused() == 1);
  CHECK(table.erase(0x1000) == 0 && !table.contains(0x1000));
}

NATIVE_TEST(clear_forgets_everything_and_hands_the_pages_back) {
  static LiveTable<1 << 16> table;  // 1 MiB of slots
  CHECK(table.map());
  for (uintptr_t i = 1; i <= 20000; ++i) CHECK(table.insert(i * 4096, i));
  CHECK(table.contains(4096) && table.size() == 20000);
  table.clear();
  CHECK(table.size() == 0 && table.refused() == 0);
  for (uintptr_t i = 1; i <= 20000; ++i) CHECK(!table.contains(i * 4096));
  CHECK(table.insert(4096, 9) && table.erase(4096) == 9);
}
