// fault_guard.hpp: reads of memory that may be torn or gone, without
// crashing. The frame reader walks CPython's frames from a signal handler
// and from allocation hooks; a frame half pushed, or a pointer read in the
// instant before the interpreter wrote it, can point anywhere. Inside
// run_guarded, a SIGSEGV or SIGBUS jumps back and the read reports failure;
// any other fault goes on to whatever handler was there before ours.
#pragma once

namespace scalene_lab {

// Install (or count one more user of) the SIGSEGV/SIGBUS handlers; false if
// sigaction fails. Balanced by release_fault_guard; the last release puts the
// previous handlers back unless someone replaced ours since.
bool acquire_fault_guard();
void release_fault_guard();

// Run fn(context); false if it faulted (the fault was absorbed). Nests, and
// is async-signal-safe: it only touches thread-local state and the stack.
bool run_guarded(void (*fn)(void*), void* context);

// A userspace address that could hold an aligned object pointer.
inline bool plausible_pointer(unsigned long long value) {
  return value >= 4096 && value < (1ull << 47) && (value & 7) == 0;
}

}  // namespace scalene_lab
