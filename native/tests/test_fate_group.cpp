// test_fate_group.cpp: a sample's companions are reported with their frame,
// size and whether they were still live at the thread's next sample; they
// leave the live table either way, and a settle never takes out a block
// another thread put at a reused address.
#include <cstdint>

#include "../src/fate_group.hpp"
#include "../src/live_table.hpp"
#include "harness.hpp"

using scalene_lab::companion_value;
using scalene_lab::FateGroup;
using scalene_lab::is_companion;
using scalene_lab::kCompanionKept;
using scalene_lab::kCompanions;
using scalene_lab::LiveTable;

namespace {

sl_frame frame_at(uint64_t code, int32_t lasti) {
  sl_frame frame{};
  frame.code = code;
  frame.lasti = lasti;
  return frame;
}

}  // namespace

NATIVE_TEST(companions_are_reported_with_frame_size_and_fate) {
  static LiveTable<1024> table;
  CHECK(table.map());
  FateGroup group;
  const uint32_t tid = 4242;
  // Four companions from two instructions: 100 and 300 bytes stay live,
  // 50 and 70 are freed before the settle.
  const uintptr_t pointers[4] = {0x1000, 0x2000, 0x3000, 0x4000};
  const uint32_t sizes[4] = {100, 50, 300, 70};
  for (int i = 0; i < 4; ++i) {
    CHECK(table.insert(pointers[i], companion_value(tid, sizes[i]), false));
    CHECK(group.add(pointers[i], tid, sizes[i], frame_at(0xc0de, i % 2)));
  }
  CHECK(is_companion(table.erase(0x2000)));  // the free path knows it reports nothing
  CHECK(is_companion(table.erase(0x4000)));
  int released = 0;
  sl_frame out[8] = {};
  const uint32_t written = group.settle(table, [&](uintptr_t) { ++released; }, out, 8);
  CHECK(written == 4);
  CHECK(out[0].code == 0xc0de && out[0].lasti == 0 && out[0].extra == (100 | kCompanionKept));
  CHECK(out[1].lasti == 1 && out[1].extra == 50);
  CHECK(out[2].extra == (300 | kCompanionKept));
  CHECK(out[3].extra == 70);
  CHECK(released == 2);
  CHECK(table.size() == 0);
  CHECK(group.settle(table, [](uintptr_t) {}, out, 8) == 0);  // settled once
}

NATIVE_TEST(a_reused_address_is_not_taken_out) {
  static LiveTable<1024> table;
  CHECK(table.map());
  FateGroup group;
  sl_frame out[8] = {};
  CHECK(table.insert(0x5000, companion_value(1, 64), false));
  group.add(0x5000, 1, 64, frame_at(1, 0));
  // The companion is freed and the address goes to a sampled block.
  CHECK(table.erase(0x5000) != 0);
  CHECK(table.insert(0x5000, 1 << 20));
  CHECK(group.settle(table, [](uintptr_t) {}, out, 8) == 1);
  CHECK(out[0].extra == 64);                        // freed, not kept
  CHECK(table.erase(0x5000) == uint64_t{1} << 20);  // still there for its own free

  // ... or to another thread's companion of the same size.
  CHECK(table.insert(0x6000, companion_value(1, 64), false));
  group.add(0x6000, 1, 64, frame_at(1, 0));
  CHECK(table.erase(0x6000) != 0);
  CHECK(table.insert(0x6000, companion_value(2, 64), false));
  group.settle(table, [](uintptr_t) {}, out, 8);
  CHECK(out[0].extra == 64);
  CHECK(table.erase(0x6000) == companion_value(2, 64));
}

NATIVE_TEST(a_full_group_takes_no_more_and_a_short_report_still_settles_all) {
  static LiveTable<1024> table;
  CHECK(table.map());
  FateGroup group;
  for (uint32_t i = 0; i < kCompanions; ++i) {
    const uintptr_t pointer = 0x10000 + i * 64;
    CHECK(table.insert(pointer, companion_value(9, 32), false));
    CHECK(group.add(pointer, 9, 32, frame_at(7, 3)));
  }
  CHECK(group.full());
  CHECK(!group.add(0x90000, 9, 32, frame_at(7, 3)));
  // Room for three entries (a deep stack filled the record): all eight
  // leave the table, three are reported.
  sl_frame out[3] = {};
  CHECK(group.settle(table, [](uintptr_t) {}, out, 3) == 3);
  CHECK(table.size() == 0);
  CHECK(!group.full());
}

NATIVE_TEST(companion_refusals_are_not_lost_samples) {
  static LiveTable<8> table;  // every probe window is full after eight
  CHECK(table.map());
  for (uintptr_t i = 1; i <= 8; ++i) CHECK(table.insert(i * 4096, 1));
  CHECK(!table.insert(9 * 4096, companion_value(1, 16), false));
  CHECK(table.refused() == 0);
  CHECK(!table.insert(10 * 4096, 1));
  CHECK(table.refused() == 1);
}
