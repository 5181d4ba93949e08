// byte_sampler.hpp: the geometric (Poisson) byte sampler of the allocator.
//
// Sample points fall on the stream of allocated bytes as a Poisson process
// whose mean gap is the sampling window (1 MiB for allocations and 7 MiB for
// memcpy volume by default, as Scalene). An allocation with a point inside it
// is sampled, and the sample carries every byte since the previous sample:
// each byte is counted exactly once, so a thread's total is exact, and since
// a point is equally likely to land on any byte, each line's expected share
// is its true share. A block of at least one window is always sampled and
// stands for exactly its own bytes, outside the Poisson stream of smaller
// blocks: a skipped large block would hand all its bytes to the next sample,
// whatever line makes it (two lines alternating 2 MiB blocks at a 1 MiB
// window traded a seventh of their blocks that way), and one carrying the
// small blocks' gap before it would lend them its line and its lifetime (a
// list's growing buffer, freed at once by the next realloc, took along the
// temporaries allocated before it). No allocation, no locks, no exceptions:
// it runs inside malloc.
//
// Companions: whether a sample's bytes were kept or were temporaries is one
// block's fate, a coin toss per sample that spreads a line's kept volume by
// about a tenth at 1 MiB. So after each sample the sampler can also pick a
// few "companion" blocks (fate_group.hpp follows their fates): it
// skips a random 0-31 allocations (so the companions start at an evenly
// spread place in a loop's repeating pattern, not right after the byte-
// weighted sample block, which would favour what follows large blocks),
// then takes the next few. Companions are not samples: they carry no bytes,
// and the byte countdown runs through them unchanged.
#pragma once

#include <cmath>
#include <cstdint>

namespace scalene_lab {

// xorshift64*: tiny, fast, and good enough to draw sampling gaps.
class XorShift64 {
 public:
  constexpr explicit XorShift64(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}

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
  // An idle sampler that never samples; constant-initialised, so a
  // thread_local one needs no constructor call (which could allocate).
  constexpr ByteSampler() : window_(1), rng_(1), gap_(~uint64_t{0}), remaining_(~uint64_t{0}) {}

  // `companions`: blocks to pick after each sample (0: none, as for copies).
  ByteSampler(uint64_t window_bytes, uint64_t seed, uint32_t companions = 0)
      : window_(window_bytes ? window_bytes : 1), rng_(seed), gap_(0), remaining_(0), companions_(companions) {
    gap_ = remaining_ = draw_gap();
  }

  // What one allocation is to the sampler: a sample standing for `weight`
  // bytes, a companion of the latest sample, or neither.
  struct Pick {
    uint64_t weight;
    bool companion;
  };

  // Allocations skipped, at most, before a sample's companions are taken.
  static constexpr uint32_t kCompanionSpread = 32;

  // Mean bytes between samples.
  uint64_t window() const { return window_; }

  // The fast path, asked before the allocation is made: take `size` bytes if
  // no sample point falls inside them. One compare and one subtraction on
  // one counter: the bytes since the last sample are gap_ - remaining_.
  bool skip(uint64_t size) {
    if (size >= remaining_ || size >= window_) return false;
    remaining_ -= size;
    return true;
  }

  // Feed one allocation of `size` bytes; returns the bytes the sample stands
  // for (a large block: itself; a smaller one: every smaller block's bytes
  // since the previous such sample), or 0 when it is not sampled.
  uint64_t on_bytes(uint64_t size) { return pick(size).weight; }

  // on_bytes, and whether the block is a companion. While companions are
  // due, remaining_ is 0 so every allocation comes here (the fast path
  // fails), and the countdown runs in held_ instead.
  Pick pick(uint64_t size) {
    if (size >= window_) return {size, false};
    if (take_left_ > 0) {
      if (size < held_) {
        held_ -= size;
        bool companion = false;
        if (skip_left_ > 0) {
          --skip_left_;
        } else {
          companion = true;
          --take_left_;
        }
        if (take_left_ == 0) remaining_ = held_;
        return {0, companion};
      }
      // The next sample point falls inside this block: the phase ends.
      take_left_ = 0;
      remaining_ = held_;
    }
    if (skip(size)) return {0, false};
    const uint64_t weight = gap_ - remaining_ + size;
    gap_ = remaining_ = draw_gap();  // memoryless: the next gap starts after this block
    if (companions_ > 0) {
      held_ = remaining_;
      remaining_ = 0;
      skip_left_ = static_cast<uint32_t>(rng_.next() % kCompanionSpread);
      take_left_ = companions_;
    }
    return {weight, false};
  }

 private:
  uint64_t draw_gap() {
    const double gap = -std::log(rng_.unit()) * static_cast<double>(window_);
    return gap < 1.0 ? 1 : static_cast<uint64_t>(gap);
  }

  uint64_t window_;
  XorShift64 rng_;
  uint64_t gap_;        // the gap drawn at the last sample
  uint64_t remaining_;  // bytes left before the next sample point (0 while companions are due)
  uint64_t held_ = 0;   // the countdown while companions are due
  uint32_t companions_ = 0;
  uint32_t skip_left_ = 0;  // allocations to pass over before the companions
  uint32_t take_left_ = 0;  // companions still to take
};

}  // namespace scalene_lab
