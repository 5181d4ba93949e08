// python_frames.cpp: the frame walk behind python_frames.hpp. Async-signal-
// safe: plain loads, no allocation, no locks, no library calls besides
// PyGILState_GetThisThreadState (a thread-specific-data lookup).
#include "python_frames.hpp"

#include <atomic>
#include <cstring>

#include "fault_guard.hpp"

namespace scalene_lab {

namespace {

sl_python_layout g_layout{};  // written only while nothing samples (attach), read in handlers
std::atomic<uint64_t> g_invalid{0};

constexpr int kOwnedByCStack = 3;  // FRAME_OWNED_BY_CSTACK (3.12+): the C entry shim, not Python code
constexpr int kMaxWalk = 4096;     // frames visited at most (a cycle in a torn read must end)

template <typename T>
T load(uint64_t address) {
  T value;
  std::memcpy(&value, reinterpret_cast<const void*>(address), sizeof value);
  return value;
}

struct Walk {
  const sl_python_layout* layout;
  uint64_t thread_state;
  sl_frame* frames;  // room for `capacity` frames, innermost first
  int capacity;
  int depth;
  bool truncated;  // there were more frames than room
  bool valid;
};

// Code units in `code`'s bytecode, or -1 if `code` is not a code object.
int64_t code_units(const sl_python_layout& layout, uint64_t code) {
  if (!plausible_pointer(code) || load<uint64_t>(code + layout.object_type) != layout.code_type) return -1;
  if (layout.code_bytes < 0) return load<int64_t>(code + layout.var_size);  // 3.11+: ob_size counts code units
  const uint64_t bytes = load<uint64_t>(code + layout.code_bytes);
  if (!plausible_pointer(bytes)) return -1;
  return load<int64_t>(bytes + layout.var_size) / 2;
}

int32_t instruction_index(const sl_python_layout& layout, uint64_t frame, uint64_t code) {
  if (!layout.instr_is_pointer) return load<int32_t>(frame + layout.frame_instr);
  const uint64_t instruction = load<uint64_t>(frame + layout.frame_instr);
  const int64_t offset = static_cast<int64_t>(instruction) - static_cast<int64_t>(code + layout.code_units);
  return static_cast<int32_t>(offset / 2);
}

void walk(void* context) {
  Walk& w = *static_cast<Walk*>(context);
  const sl_python_layout& layout = *w.layout;
  uint64_t frame = load<uint64_t>(w.thread_state + layout.tstate_frame);
  if (layout.cframe_current >= 0 && frame != 0) {
    if (!plausible_pointer(frame)) return;
    frame = load<uint64_t>(frame + layout.cframe_current);
  }
  int depth = 0;
  for (int visited = 0; frame != 0 && visited < kMaxWalk; ++visited) {
    if (!plausible_pointer(frame)) return;
    const uint64_t previous = load<uint64_t>(frame + layout.frame_previous);
    if (layout.frame_owner >= 0 && load<int8_t>(frame + layout.frame_owner) == kOwnedByCStack) {
      frame = previous;
      continue;
    }
    const uint64_t code = load<uint64_t>(frame + layout.frame_code) & ~uint64_t{3};
    const int64_t units = code_units(layout, code);
    if (units <= 0) return;
    int32_t lasti = instruction_index(layout, frame, code);
    if (lasti < -1 || lasti >= units) return;
    if (depth == w.capacity) {
      w.truncated = true;
      break;
    }
    w.frames[depth].code = code;
    w.frames[depth].lasti = lasti;
    ++depth;
    frame = previous;
  }
  w.depth = depth;
  w.valid = true;
}

// Run the walk under the fault guard; false (counted) when a read was invalid or faulted.
bool guarded_walk(Walk& w) {
  if (run_guarded(&walk, &w) && w.valid) return true;
  g_invalid.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace

const sl_python_layout& python_layout() {
  return g_layout;
}

void set_python_layout(const sl_python_layout& layout) {
  g_layout = layout;
}

const void* current_thread_state() {
  const sl_python_layout& layout = g_layout;
  if (layout.version == 0 || layout.get_thread_state == 0) return nullptr;
  auto get = reinterpret_cast<const void* (*)()>(layout.get_thread_state);
  return get();
}

bool capture_stack(const sl_python_layout& layout, const void* thread_state, sl_record* record) {
  record->depth = 0;
  if (layout.version == 0 || thread_state == nullptr) {
    record->flags |= SL_FLAG_NO_FRAME;
    return true;
  }
  Walk w{&layout, reinterpret_cast<uint64_t>(thread_state), record->frames, SL_MAX_FRAMES, 0, false, false};
  if (!guarded_walk(w)) return false;
  record->depth = static_cast<uint8_t>(w.depth);
  if (w.truncated) record->flags |= SL_FLAG_TRUNCATED;
  if (w.depth == 0) record->flags |= SL_FLAG_NO_FRAME;
  return true;
}

bool innermost_frame(const sl_python_layout& layout, const void* thread_state, sl_frame* out) {
  out->code = 0;
  out->lasti = -1;
  if (layout.version == 0 || thread_state == nullptr) return true;
  Walk w{&layout, reinterpret_cast<uint64_t>(thread_state), out, 1, 0, false, false};
  return guarded_walk(w);
}

uint64_t invalid_stacks() {
  return g_invalid.load(std::memory_order_relaxed);
}

void reset_invalid_stacks() {
  g_invalid.store(0, std::memory_order_relaxed);
}

}  // namespace scalene_lab
