// test_byte_sampler.cpp: samples carry every byte once, land in proportion to
// each stream's bytes, and come at the mean rate the window sets.
#include <cmath>
#include <cstdint>

#include "../src/byte_sampler.hpp"
#include "harness.hpp"

using scalene_lab::ByteSampler;
using scalene_lab::XorShift64;

namespace {
constexpr uint64_t kMiB = 1024 * 1024;
}  // namespace

NATIVE_TEST(every_byte_is_reported_once) {
  // ~3.3 GB in 64 B..64 KiB blocks: what is not yet reported is less than
  // the last gap, so the total is exact to within a few windows.
  XorShift64 sizes(42);
  ByteSampler sampler(kMiB, 7);
  uint64_t total = 0;
  uint64_t reported = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t size = 64 + sizes.next() % 65536;
    total += size;
    reported += sampler.on_bytes(size);
  }
  CHECK(reported <= total);
  CHECK(total - reported < 8 * kMiB);
}

NATIVE_TEST(a_large_block_is_measured_exactly) {
  // 200 MB after some small traffic: the block's sample carries its own
  // bytes and none of the small blocks' before it (the Poisson count alone
  // would be off by ~7% one time in three).
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    ByteSampler sampler(kMiB, seed);
    for (int i = 0; i < 1000; ++i) sampler.on_bytes(4096);  // ~4 MB before
    const uint64_t weight = sampler.on_bytes(200 * 1000 * 1000);
    CHECK(weight == 200 * 1000 * 1000);
  }
}

NATIVE_TEST(interleaved_streams_get_their_share) {
  // Two "lines" allocating 100 B and 900 B blocks alternately: samples land
  // in proportion to bytes, so the 900 B line gets ~90% of the volume.
  ByteSampler sampler(kMiB, 99);
  uint64_t small = 0;
  uint64_t large = 0;
  for (int i = 0; i < 4000000; ++i) {
    small += sampler.on_bytes(100);
    large += sampler.on_bytes(900);
  }
  const double share = static_cast<double>(large) / static_cast<double>(small + large);
  std::printf("  large stream share: %.3f\n", share);
  CHECK(std::fabs(share - 0.9) < 0.03);
}

NATIVE_TEST(samples_come_at_the_window_rate) {
  // 1 GB in 1 KiB blocks at a 1 MiB window: ~954 samples, Poisson-spread.
  ByteSampler sampler(kMiB, 3);
  uint64_t samples = 0;
  for (int i = 0; i < 1000000; ++i) samples += sampler.on_bytes(1000) != 0;
  const double expected = 1e9 / kMiB;
  std::printf("  %llu samples, %.0f expected\n", static_cast<unsigned long long>(samples), expected);
  CHECK(std::fabs(samples - expected) < 5 * std::sqrt(expected));
}

NATIVE_TEST(copy_window_is_respected) {
  // memcpy volume uses a 7 MiB window: 10 copies of 100 MB are reported whole.
  ByteSampler sampler(7 * kMiB, 3);
  uint64_t reported = 0;
  for (int i = 0; i < 10; ++i) reported += sampler.on_bytes(100 * kMiB);
  CHECK(reported > 1000 * kMiB - 7 * kMiB * 3);
}

NATIVE_TEST(zero_byte_allocations_never_sample) {
  ByteSampler sampler(kMiB, 5);
  uint64_t reported = 0;
  for (int i = 0; i < 1000000; ++i) reported += sampler.on_bytes(0);
  CHECK(reported == 0);
}

NATIVE_TEST(alternating_large_blocks_keep_their_own_bytes) {
  // Two "lines" alternating 2 MiB blocks at a 1 MiB window, with small
  // traffic between: every block is sampled and carries its own bytes, so
  // neither line gets the other's blocks (skipping one block in seven
  // traded ~4% of a line's volume either way, with tails past 10%).
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    ByteSampler sampler(kMiB, seed);
    uint64_t first = 0;
    uint64_t second = 0;
    for (int i = 0; i < 200; ++i) {
      for (int j = 0; j < 10; ++j) sampler.on_bytes(64);  // small objects between the blocks
      first += sampler.on_bytes(2 * kMiB);
      second += sampler.on_bytes(2 * kMiB);
    }
    CHECK(first == 400 * kMiB);
    CHECK(second == 400 * kMiB);
  }
}

NATIVE_TEST(companions_leave_the_byte_count_exact) {
  // Picking companions after each sample must not lose or add bytes: the
  // countdown runs through them (same bound as every_byte_is_reported_once).
  XorShift64 sizes(42);
  ByteSampler sampler(kMiB, 7, 8);
  uint64_t total = 0;
  uint64_t reported = 0;
  uint64_t samples = 0;
  uint64_t companions = 0;
  for (int i = 0; i < 4000000; ++i) {
    const uint64_t size = 16 + sizes.next() % 1024;
    total += size;
    const ByteSampler::Pick pick = sampler.pick(size);
    reported += pick.weight;
    samples += pick.weight != 0;
    companions += pick.companion;
    CHECK(!(pick.companion && pick.weight != 0));
  }
  CHECK(reported <= total);
  CHECK(total - reported < 8 * kMiB);
  // Eight companions a sample (fewer only when the next sample point comes
  // first, which ~500-byte blocks at a 1 MiB window make rare).
  std::printf("  %llu samples, %llu companions\n", static_cast<unsigned long long>(samples),
              static_cast<unsigned long long>(companions));
  CHECK(companions >= 7 * samples && companions <= 8 * samples);
}

NATIVE_TEST(companions_start_evenly_across_a_repeating_pattern) {
  // A loop allocating 28, 55 and 70 bytes in turn: the first companion after
  // a sample must fall on each of the three about equally often, although
  // the sample itself lands on the 70-byte block most often (byte-weighted).
  ByteSampler sampler(64 * 1024, 11, 8);
  const uint64_t pattern[3] = {28, 55, 70};
  uint64_t first_at[3] = {0, 0, 0};
  bool waiting = false;
  for (int i = 0; i < 3000000; ++i) {
    const ByteSampler::Pick pick = sampler.pick(pattern[i % 3]);
    if (pick.weight != 0) waiting = true;
    if (pick.companion && waiting) {
      ++first_at[i % 3];
      waiting = false;
    }
  }
  const double all = static_cast<double>(first_at[0] + first_at[1] + first_at[2]);
  for (uint64_t count : first_at) {
    std::printf("  first companion share: %.3f\n", static_cast<double>(count) / all);
    CHECK(std::fabs(static_cast<double>(count) / all - 1.0 / 3.0) < 0.05);
  }
}

NATIVE_TEST(a_sample_point_inside_the_companions_still_samples) {
  // At a 4 KiB window with 1000-byte blocks the next sample point often
  // comes before eight companions were taken: the sample is taken all the
  // same, so samples come as often as without companions (fewer than one a
  // window here for both: a sample's block ends its gap, and the rest of the
  // block, ~500 bytes on average, starts no new one).
  ByteSampler with(4096, 5, 8);
  ByteSampler without(4096, 5, 0);
  double samples[2] = {0, 0};
  for (int i = 0; i < 1000000; ++i) {
    samples[0] += with.pick(1000).weight != 0;
    samples[1] += without.pick(1000).weight != 0;
  }
  std::printf("  %.0f samples with companions, %.0f without\n", samples[0], samples[1]);
  CHECK(std::fabs(samples[0] - samples[1]) < 7 * std::sqrt(samples[1]));
}
