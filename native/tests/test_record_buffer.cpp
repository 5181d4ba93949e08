// test_record_buffer.cpp: records arrive in order, none is lost or doubled
// under concurrent producers, and overflow is counted.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "../src/record_buffer.hpp"
#include "harness.hpp"

using scalene_lab::RecordBuffer;

namespace {
struct Record {
  uint32_t producer;
  uint32_t sequence;
};
}  // namespace

NATIVE_TEST(records_come_out_in_order) {
  static RecordBuffer<Record, 8> buffer;
  for (uint32_t i = 0; i < 5; ++i) CHECK(buffer.push({0, i}));
  Record out{};
  for (uint32_t i = 0; i < 5; ++i) {
    CHECK(buffer.pop(out));
    CHECK(out.sequence == i);
  }
  CHECK(!buffer.pop(out));
}

NATIVE_TEST(overflow_is_counted_not_blocking) {
  static RecordBuffer<Record, 16> buffer;
  int accepted = 0;
  for (uint32_t i = 0; i < 100; ++i) accepted += buffer.push({0, i});
  CHECK(accepted == 16);
  CHECK(buffer.overflow() == 84);
  Record out{};
  CHECK(buffer.pop(out) && out.sequence == 0);
  CHECK(buffer.push({0, 100}));  // room again after a drain
}

NATIVE_TEST(concurrent_producers_lose_and_duplicate_nothing) {
  static RecordBuffer<Record, 1024> buffer;
  constexpr uint32_t kProducers = 4;
  constexpr uint32_t kEach = 20000;
  std::atomic<bool> done{false};
  std::vector<uint32_t> next(kProducers, 0);
  uint64_t received = 0;
  bool ordered = true;
  std::thread consumer([&] {
    Record out{};
    for (;;) {
      if (buffer.pop(out)) {
        ordered = ordered && out.sequence == next[out.producer];
        next[out.producer] = out.sequence + 1;
        ++received;
      } else if (done.load()) {
        while (buffer.pop(out)) {
          ordered = ordered && out.sequence == next[out.producer];
          next[out.producer] = out.sequence + 1;
          ++received;
        }
        return;
      }
    }
  });
  std::vector<std::thread> producers;
  for (uint32_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([p] {
      for (uint32_t i = 0; i < kEach;) {
        if (buffer.push({p, i})) ++i;  // retry until accepted: nothing may be lost
      }
    });
  }
  for (auto& producer : producers) producer.join();
  done = true;
  consumer.join();
  CHECK(received == uint64_t{kProducers} * kEach);
  CHECK(ordered);  // each producer's records arrive in its own order
}
