// byte_sampler.hpp: the geometric (Poisson) byte sampler of the allocator.
//
// Sample points fall on the stream of allocated bytes as a Poisson process
// whose mean gap is the sampling window. An allocation of `size` bytes is
// sampled once for every point that falls inside it, and each sample stands
// for `window` bytes, so the estimate of any set of allocations is unbiased
// whatever their sizes (Scalene uses the same scheme, with a 1 MiB window for
// allocations and 7 MiB for memcpy volume). No allocation, no locks, no
// exceptions: it runs inside malloc.
#pragma once

#include <cmath>
#include <cstdint>

namespace scalene_lab {

// xorshift64*: tiny, fast, and good enough to draw sampling gaps.
class XorShift64 {
 public:
  explicit XorShift64(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}

  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }

  // Uniform in (0, 1]: never 0, so log() below stays finite.
  double unit() { return (static_cast<double>(next() >> 11) + 1.0) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

class ByteSampler {
 public:
  ByteSampler(uint64_t window_bytes, uint64_t seed)
      : window_(window_bytes ? window_bytes : 1), rng_(seed), remaining_(draw_gap()) {}

  // Bytes each sample stands for.
  uint64_t window() const { return window_; }

  // Feed one allocation of `size` bytes; returns how many samples it takes.
  uint64_t on_bytes(uint64_t size) {
    uint64_t samples = 0;
    while (size >= remaining_) {
      size -= remaining_;
      remaining_ = draw_gap();
      ++samples;
    }
    remaining_ -= size;
    return samples;
  }

 private:
  uint64_t draw_gap() {
    const double gap = -std::log(rng_.unit()) * static_cast<double>(window_);
    return gap < 1.0 ? 1 : static_cast<uint64_t>(gap);
  }

  uint64_t window_;
  XorShift64 rng_;
  uint64_t remaining_;
};

}  // namespace scalene_lab
