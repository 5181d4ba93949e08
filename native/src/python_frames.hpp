// python_frames.hpp: reading the calling thread's Python stack at an
// instant (a signal, an allocation) from CPython's own structures, with the
// offsets the kernel side supplies (sl_python_layout). Every pointer is
// checked before it is followed and every code object's type and
// instruction offset are validated; the reads run under the fault guard, so
// a torn or invalid stack drops the sample instead of the kernel.
#pragma once

#include <cstdint>

#include "records.hpp"

namespace scalene_lab {

// The layout in force (copied in by sl_set_python_layout); version 0 until then.
const sl_python_layout& python_layout();
void set_python_layout(const sl_python_layout& layout);

// The calling thread's PyThreadState, or null (no layout, not a Python thread).
const void* current_thread_state();

// Fill record->frames/depth/flags with the stack of `thread_state`,
// innermost first. Returns false (and leaves depth 0) when a read was
// invalid or faulted.
bool capture_stack(const sl_python_layout& layout, const void* thread_state, sl_record* record);

// Only the innermost frame into `out` (code 0 when the thread has none).
// Returns false when the read was invalid or faulted (counted as below).
bool innermost_frame(const sl_python_layout& layout, const void* thread_state, sl_frame* out);

// Count of stacks dropped as invalid since the last reset.
uint64_t invalid_stacks();
void reset_invalid_stacks();

}  // namespace scalene_lab
