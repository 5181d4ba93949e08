// test_free_filter.cpp: the free filter lets unsampled frees skip the table,
// never hides a live sampled block, and forgets a block once it is freed.
#include <cstdint>
#include <thread>
#include <vector>

#include "../src/free_filter.hpp"
#include "harness.hpp"

using scalene_lab::FreeFilter;

namespace {
const void* address(uintptr_t value) {
  return reinterpret_cast<const void*>(value);
}
}  // namespace

NATIVE_TEST(a_freed_block_no_longer_stops_frees_of_its_address) {
  // Python hands a freed block's address out again at once: after the
  // sampled block is freed, frees of the reused address must pass.
  static FreeFilter<1024> filter;
  const void* block = address(0x7f0000001230);
  CHECK(!filter.may_hold(block));
  filter.raise(block);
  CHECK(filter.may_hold(block));
  filter.lower(block);
  CHECK(!filter.may_hold(block));
}

NATIVE_TEST(live_blocks_sharing_a_slot_are_all_kept) {
  // Two live blocks in one slot: freeing one must not hide the other.
  static FreeFilter<1> filter;  // one slot: everything collides
  filter.raise(address(0x1000));
  filter.raise(address(0x2000));
  filter.lower(address(0x1000));
  CHECK(filter.may_hold(address(0x2000)));
  filter.lower(address(0x2000));
  CHECK(!filter.may_hold(address(0x2000)));
}

NATIVE_TEST(a_full_slot_stays_marked) {
  // Past 255 the count is not tracked any more: the slot stays marked
  // (a lookup too many) rather than wrapping to "not held".
  static FreeFilter<1> filter;
  for (int i = 0; i < 300; ++i) filter.raise(address(0x1000 + 16 * i));
  for (int i = 0; i < 300; ++i) filter.lower(address(0x1000 + 16 * i));
  CHECK(filter.may_hold(address(0x5000)));
  filter.clear();
  CHECK(!filter.may_hold(address(0x5000)));
}

NATIVE_TEST(few_unsampled_frees_reach_the_table) {
  // 1000 live sampled blocks in 64 Ki slots: frees of other addresses pass
  // the filter about 1.5% of the time.
  static FreeFilter<size_t{1} << 16> filter;
  for (uintptr_t i = 0; i < 1000; ++i) filter.raise(address(0x7f0000000000 + i * 1048576));
  int stopped = 0;
  for (uintptr_t i = 0; i < 100000; ++i) stopped += filter.may_hold(address(0x7e0000000000 + i * 48));
  std::printf("  %d of 100000 unsampled frees looked up\n", stopped);
  CHECK(stopped < 3000);
}

NATIVE_TEST(concurrent_raises_and_lowers_balance) {
  static FreeFilter<64> filter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (uintptr_t i = 0; i < 20000; ++i) {
        const void* block = address(0x10000 + (i % 500) * 16 + t * 0x100000);
        filter.raise(block);
        filter.lower(block);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int marked = 0;
  for (uintptr_t i = 0; i < 4096; ++i) marked += filter.may_hold(address(0x10000 + i * 16));
  CHECK(marked == 0);
}
