// test_byte_sampler.cpp: the byte sampler's estimates are unbiased, within
// the error its sample count allows.
#include <cmath>
#include <cstdint>

#include "../src/byte_sampler.hpp"
#include "harness.hpp"

using scalene_lab::ByteSampler;
using scalene_lab::XorShift64;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// Relative error of the estimate of `total` bytes fed as `sizes()`.
template <typename Sizes>
double relative_error(uint64_t window, uint64_t seed, uint64_t count, Sizes sizes, uint64_t* total_out) {
  ByteSampler sampler(window, seed);
  uint64_t total = 0;
  uint64_t samples = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t size = sizes();
    total += size;
    samples += sampler.on_bytes(size);
  }
  *total_out = total;
  const double estimate = static_cast<double>(samples) * static_cast<double>(window);
  return std::fabs(estimate - static_cast<double>(total)) / static_cast<double>(total);
}

}  // namespace

NATIVE_TEST(small_allocations_are_estimated_within_five_percent) {
  // ~3.3 GB in 64 B..64 KiB blocks: ~3,100 samples at a 1 MiB window, so the
  // estimate's standard error is ~1.8%; 5% is nearly three of those.
  XorShift64 sizes_rng(42);
  uint64_t total = 0;
  const double error = relative_error(kMiB, 7, 100000, [&] { return 64 + sizes_rng.next() % 65536; }, &total);
  std::printf("  small: %.2f%% error over %.0f MB\n", error * 100, total / 1e6);
  CHECK(error < 0.05);
}

NATIVE_TEST(large_allocations_are_estimated_within_five_percent) {
  // 20 blocks of 200 MB: 4 GB, ~3,800 samples.
  uint64_t total = 0;
  const double error = relative_error(kMiB, 11, 20, [] { return uint64_t{200} * 1000 * 1000; }, &total);
  std::printf("  large: %.2f%% error over %.0f MB\n", error * 100, total / 1e6);
  CHECK(error < 0.05);
}

NATIVE_TEST(estimate_is_unbiased_across_seeds) {
  // The mean over many independent runs converges on the truth: 200 runs of
  // 100 MB each, mean error well under 1%.
  double sum = 0;
  uint64_t total = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    ByteSampler sampler(kMiB, seed * 7919);
    uint64_t samples = 0;
    for (int i = 0; i < 1000; ++i) samples += sampler.on_bytes(100000);
    sum += static_cast<double>(samples * kMiB);
    total = 1000 * 100000;
  }
  const double mean_error = std::fabs(sum / 200 - static_cast<double>(total)) / static_cast<double>(total);
  std::printf("  mean over seeds: %.3f%% error\n", mean_error * 100);
  CHECK(mean_error < 0.01);
}

NATIVE_TEST(copy_window_is_respected) {
  // memcpy volume uses a 7 MiB window: 10 copies of 100 MB, ~140 samples.
  uint64_t total = 0;
  const double error = relative_error(7 * kMiB, 3, 10, [] { return uint64_t{100} * kMiB; }, &total);
  CHECK(error < 0.25);
}

NATIVE_TEST(zero_byte_allocations_never_sample) {
  ByteSampler sampler(kMiB, 5);
  uint64_t samples = 0;
  for (int i = 0; i < 1000000; ++i) samples += sampler.on_bytes(0);
  CHECK(samples == 0);
}
