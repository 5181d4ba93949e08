// records.hpp: what the signal handler and the allocation hooks report to
// the kernel side, and the C ABI the kernel side reads it through (ctypes
// mirrors these structs in kernel-bridge/scalene_lab/allocator.py).
#pragma once

#include <cstdint>

extern "C" {

// Innermost Python frames kept per record; deeper stacks are truncated
// (SL_FLAG_TRUNCATED) at their outer end.
enum { SL_MAX_FRAMES = 40 };

// One Python frame at the instant of a sample: its code object (an address,
// resolved by the kernel side) and the instruction it was executing, in code
// units from the start of the bytecode (-1: before the first instruction).
struct sl_frame {
  uint64_t code;
  int32_t lasti;
  uint32_t extra;  // companion entries (below): the block's size, top bit set if it was still live
};

// One sampled event. `bytes` is the sampled volume it stands for. An
// allocation sample also reports the companions of its thread's previous
// sample (fate_group.hpp), one sl_frame each after its stack: the innermost
// Python frame the companion was allocated in (code 0: none), and in
// `extra` its size and whether it was still live.
struct sl_record {
  uint8_t kind;      // SL_ALLOC, SL_FREE, SL_COPY or SL_CPU
  uint8_t python;    // alloc: 1 from Python's allocator (MEM/OBJ), 0 native; cpu: SL_WHERE_*
  uint8_t depth;     // frames[0..depth) hold the stack, innermost first
  uint8_t flags;     // SL_FLAG_*
  uint32_t tid;      // kernel thread id of the sampled (allocating) thread
  uint64_t bytes;    // alloc/free/copy: sampled bytes; cpu: the profiler's own time left out, in ns
  uint64_t pointer;  // the block (alloc, free); 0 for copies and CPU samples
  uint64_t time_ns;  // CLOCK_MONOTONIC
  union {
    uint64_t cpu_ns;      // cpu: the thread's CPU clock at the sample
    uint64_t companions;  // alloc: companion entries after the stack, in frames[depth, depth + companions)
  };
  union {
    uint64_t wall_ns;      // cpu: wall time since this thread's previous sample
    uint64_t block_bytes;  // alloc: the block's own size (`bytes` is the volume the sample stands for)
  };
  uint64_t thread_cpu_ns;   // cpu: the thread's CPU time since its previous sample
  uint64_t process_cpu_ns;  // cpu: the process's CPU clock at the sample
  sl_frame frames[SL_MAX_FRAMES];
};

enum { SL_ALLOC = 1, SL_FREE = 2, SL_COPY = 3, SL_CPU = 4 };

// Where a CPU sample interrupted its thread: in the interpreter (Python time
// unless the frame is at a call), in any other library (native time:
// extension modules, BLAS, ...), or in the C library, which runs for
// whichever of the two called it.
enum { SL_WHERE_INTERPRETER = 0, SL_WHERE_LIBRARY = 1, SL_WHERE_C_LIBRARY = 2 };

enum {
  SL_FLAG_TRUNCATED = 1,  // the stack had more than SL_MAX_FRAMES frames
  SL_FLAG_NO_FRAME = 2,   // the thread had no Python frame (or no thread state)
  SL_FLAG_UNTRACKED = 4,  // alloc: the live table had no room; never counted as live
  SL_FLAG_BLOCKED = 8,    // cpu: the signal interrupted a blocking system call (the thread was off a CPU)
  SL_FLAG_REALLOC = 16,   // alloc: made by realloc; the old block's free record, if it was sampled, comes just before
};

// Where CPython keeps what the frame reader needs, in bytes (offsets) for
// this interpreter; the kernel side fills it per minor version (3.10-3.12)
// or from _Py_DebugOffsets (3.13+).
struct sl_python_layout {
  int32_t version;            // 0x030A, 0x030B, ... ; 0: no frame reading
  int32_t instr_is_pointer;   // 1: frame holds a pointer to the instruction (3.11+); 0: an int index (3.10)
  int64_t tstate_frame;       // PyThreadState: frame (3.10), cframe (3.11, 3.12), current_frame (3.13+)
  int64_t cframe_current;     // _PyCFrame: current_frame (3.11, 3.12); -1 otherwise
  int64_t frame_previous;     // frame: f_back / previous
  int64_t frame_code;         // frame: f_code / f_executable (low tag bits masked)
  int64_t frame_instr;        // frame: f_lasti / prev_instr / instr_ptr
  int64_t frame_owner;        // frame: owner (one byte); -1 where frames have none
  int64_t code_units;         // code object: offset of the first code unit (3.11+); -1 for 3.10
  int64_t code_bytes;         // 3.10: code object: co_code (a bytes object); -1 otherwise
  int64_t bytes_data;         // 3.10: bytes object: ob_sval
  int64_t object_type;        // PyObject: ob_type
  int64_t var_size;           // PyVarObject: ob_size
  uint64_t code_type;         // &PyCode_Type
  uint64_t get_thread_state;  // PyGILState_GetThisThreadState
  uint64_t set_interrupt;     // PyErr_SetInterruptEx
};

struct sl_config {
  uint64_t allocation_window;  // mean bytes between allocation samples
  uint64_t copy_window;        // mean bytes between memcpy/memmove samples
};

struct sl_cpu_config {
  double interval_s;      // mean seconds between samples (exponentially jittered)
  int32_t signal_number;  // real-time signal for the timer and for cell threads
  int32_t main_tid;       // the thread the timer interrupts
  uint64_t seed;
  uint32_t drain_interval_us;  // trip the kernel side's handler at most this often
  uint32_t reserved;
};

struct sl_stats {
  uint64_t buffer_overflow;  // records lost because the record arena was full (this run)
  uint64_t table_refused;    // sampled blocks the live table had no room for (this run)
  uint64_t patched_slots;    // GOT/PLT slots currently pointing at our hooks
  uint64_t patched_objects;  // ELF objects with at least one patched slot
  uint64_t live_sampled;     // sampled blocks not yet freed
  uint64_t invalid_stacks;   // samples whose frame read was torn or invalid (this run)
  uint64_t cpu_samples;      // CPU samples taken (this run)
  uint64_t thread_signals;   // samples requested from cell threads (this run)
  uint64_t records_pushed;   // records stored for the drain (this run)
  uint64_t records_drained;  // records the drain has taken (this run)
};
}

// Frames a record carries after its stack (the record arena copies them too).
inline uint32_t extra_frames(const sl_record& record) {
  return record.kind == SL_ALLOC ? static_cast<uint32_t>(record.companions) : 0;
}
