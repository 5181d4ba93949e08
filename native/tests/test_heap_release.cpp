// test_heap_release.cpp: a release is asked for after a net drop of the
// threshold below the high mark, once per drop, never for churn at a steady
// footprint, and exactly once when threads free concurrently.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "../src/heap_release.hpp"
#include "harness.hpp"

using scalene_lab::HeapRelease;

NATIVE_TEST(release_after_a_net_drop_of_the_threshold) {
  static HeapRelease release(100);
  for (int i = 0; i < 10; ++i) release.added(30);  // 300 live
  int asked = 0;
  for (int i = 0; i < 3; ++i) asked += release.removed(30);  // 210: down 90
  CHECK(asked == 0);
  asked += release.removed(30);  // 180: down 120 from the mark of 300
  CHECK(asked == 1);
  for (int i = 0; i < 3; ++i) asked += release.removed(30);  // 90: down 90 from the new mark of 180
  CHECK(asked == 1);
  asked += release.removed(30);  // 60: down 120
  CHECK(asked == 2);
  CHECK(release.live() == 60);
}

NATIVE_TEST(churn_at_a_steady_footprint_never_releases) {
  static HeapRelease release(100);
  release.added(500);
  int asked = 0;
  for (int i = 0; i < 100000; ++i) {
    release.added(50);
    asked += release.removed(50);
  }
  CHECK(asked == 0);
  CHECK(release.live() == 500);
}

NATIVE_TEST(concurrent_frees_ask_once_per_drop) {
  static HeapRelease release(uint64_t{1} << 20);
  constexpr int kThreads = 4;
  constexpr int kEach = 1 << 16;  // 64 Ki blocks of 16 bytes per thread: 4 MiB in all
  for (int i = 0; i < kThreads * kEach; ++i) release.added(16);
  std::atomic<int> asked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) asked += release.removed(16);
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(release.live() == 0);
  // Four MiB freed in drops of at least one MiB: three or four releases,
  // never one per block.
  CHECK(asked.load() >= 3 && asked.load() <= 4);
}

NATIVE_TEST(reset_starts_a_run_with_nothing_live) {
  static HeapRelease release(10);
  release.added(100);
  release.reset();
  CHECK(release.live() == 0);
  CHECK(!release.removed(5));
  release.added(20);
  CHECK(release.removed(15));
}
