// records.hpp: what the allocation hooks report to the kernel side, and the
// C ABI the kernel side reads it through (ctypes mirrors these structs).
#pragma once

#include <cstdint>

extern "C" {

// One sampled event. `bytes` is the sampled volume it stands for.
struct sl_record {
  uint8_t kind;    // SL_ALLOC, SL_FREE or SL_COPY
  uint8_t python;  // 1: Python's allocator (MEM/OBJ domains); 0: native malloc family
  uint16_t reserved;
  uint32_t tid;      // kernel thread id of the allocating thread
  uint64_t bytes;
  uint64_t pointer;  // the block (alloc, free); 0 for copies
  uint64_t time_ns;  // CLOCK_MONOTONIC
};

enum { SL_ALLOC = 1, SL_FREE = 2, SL_COPY = 3 };

struct sl_config {
  uint64_t allocation_window;  // mean bytes between allocation samples
  uint64_t copy_window;        // mean bytes between memcpy/memmove samples
  int32_t signal_number;       // raised at the notify thread after a sample; 0: none
  int32_t notify_tid;          // kernel thread id that receives it
};

struct sl_stats {
  uint64_t buffer_overflow;  // records dropped because the buffer was full
  uint64_t table_refused;    // sampled blocks the live table had no room for
  uint64_t patched_slots;    // GOT/PLT slots currently pointing at our hooks
  uint64_t patched_objects;  // ELF objects with at least one patched slot
  uint64_t live_sampled;     // sampled blocks not yet freed
};
}
