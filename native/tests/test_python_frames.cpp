// test_python_frames.cpp: the frame reader walks a stack laid out as CPython
// 3.12 lays it out (fake thread state, C frame, interpreter frames and code
// objects), skips C-stack shim frames, and drops (and counts) a stack whose
// frame chain leads into unmapped memory or into something that is not a
// code object, without crashing.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "../src/fault_guard.hpp"
#include "../src/python_frames.hpp"
#include "harness.hpp"

using scalene_lab::acquire_fault_guard;
using scalene_lab::capture_stack;
using scalene_lab::invalid_stacks;
using scalene_lab::release_fault_guard;

namespace {

// 3.12's offsets (kernel-bridge/scalene_lab/python_layout.py).
struct alignas(16) FakeCode {
  uint64_t refcount;
  uint64_t type;
  int64_t size;  // code units
  char padding[192 - 24];
  uint16_t units[16];
};
struct alignas(16) FakeFrame {
  uint64_t code;      // 0
  uint64_t previous;  // 8
  char padding[40];
  uint64_t instruction;  // 56
  char padding2[6];
  int8_t owner;  // 70
};
struct FakeCFrame {
  uint64_t current;  // 0
};
struct FakeThread {
  char padding[56];
  uint64_t cframe;  // 56
};

uint64_t g_code_type = 0x1234560;

sl_python_layout layout_312() {
  sl_python_layout layout{};
  layout.version = 0x030C;
  layout.instr_is_pointer = 1;
  layout.tstate_frame = 56;
  layout.cframe_current = 0;
  layout.frame_previous = 8;
  layout.frame_code = 0;
  layout.frame_instr = 56;
  layout.frame_owner = 70;
  layout.code_units = 192;
  layout.code_bytes = -1;
  layout.bytes_data = -1;
  layout.object_type = 8;
  layout.var_size = 16;
  layout.code_type = reinterpret_cast<uint64_t>(&g_code_type);
  return layout;
}

void make_code(FakeCode* code) {
  std::memset(code, 0, sizeof *code);
  code->type = reinterpret_cast<uint64_t>(&g_code_type);
  code->size = 16;
}

void at(FakeFrame* frame, FakeCode* code, int unit, FakeFrame* previous) {
  std::memset(frame, 0, sizeof *frame);
  frame->code = reinterpret_cast<uint64_t>(code);
  frame->previous = reinterpret_cast<uint64_t>(previous);
  frame->instruction = reinterpret_cast<uint64_t>(&code->units[unit]);
}

}  // namespace

NATIVE_TEST(a_stack_is_read_innermost_first_skipping_shim_frames) {
  static FakeCode outer_code, inner_code;
  make_code(&outer_code);
  make_code(&inner_code);
  static FakeFrame outer, shim, inner;
  at(&outer, &outer_code, 3, nullptr);
  at(&shim, &outer_code, 0, &outer);
  shim.owner = 3;  // FRAME_OWNED_BY_CSTACK
  at(&inner, &inner_code, 7, &shim);
  static FakeCFrame cframe{reinterpret_cast<uint64_t>(&inner)};
  static FakeThread thread{};
  thread.cframe = reinterpret_cast<uint64_t>(&cframe);
  sl_record record{};
  const sl_python_layout layout = layout_312();
  CHECK(acquire_fault_guard());
  CHECK(capture_stack(layout, &thread, &record));
  release_fault_guard();
  CHECK(record.depth == 2);
  CHECK(record.frames[0].code == reinterpret_cast<uint64_t>(&inner_code));
  CHECK(record.frames[0].lasti == 7);
  CHECK(record.frames[1].code == reinterpret_cast<uint64_t>(&outer_code));
  CHECK(record.frames[1].lasti == 3);
}

NATIVE_TEST(a_frame_torn_down_into_unmapped_memory_drops_the_sample) {
  static FakeCode code;
  make_code(&code);
  const long page = sysconf(_SC_PAGESIZE);
  void* gone = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(gone != MAP_FAILED);
  munmap(gone, static_cast<size_t>(page));  // a popped data-stack chunk, already returned to the system
  static FakeFrame inner;
  at(&inner, &code, 1, static_cast<FakeFrame*>(gone));
  static FakeCFrame cframe{reinterpret_cast<uint64_t>(&inner)};
  static FakeThread thread{};
  thread.cframe = reinterpret_cast<uint64_t>(&cframe);
  const uint64_t before = invalid_stacks();
  sl_record record{};
  CHECK(acquire_fault_guard());
  CHECK(!capture_stack(layout_312(), &thread, &record));
  release_fault_guard();
  CHECK(record.depth == 0);
  CHECK(invalid_stacks() == before + 1);
}

NATIVE_TEST(a_frame_whose_code_is_not_a_code_object_drops_the_sample) {
  static FakeCode code;
  make_code(&code);
  static FakeCode impostor;
  make_code(&impostor);
  impostor.type = 0x4242;  // a frame half written: its code slot holds something else
  static FakeFrame outer, inner;
  at(&outer, &impostor, 0, nullptr);
  at(&inner, &code, 2, &outer);
  static FakeCFrame cframe{reinterpret_cast<uint64_t>(&inner)};
  static FakeThread thread{};
  thread.cframe = reinterpret_cast<uint64_t>(&cframe);
  sl_record record{};
  CHECK(acquire_fault_guard());
  CHECK(!capture_stack(layout_312(), &thread, &record));
  // An instruction outside the bytecode is refused the same way.
  at(&outer, &code, 0, nullptr);
  outer.instruction = reinterpret_cast<uint64_t>(&code.units[0]) + 4096;
  CHECK(!capture_stack(layout_312(), &thread, &record));
  release_fault_guard();
}
