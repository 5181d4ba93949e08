// cpu_sampler.hpp: CPU samples taken at the instant the timer interrupts a
// thread. A POSIX timer aimed at the kernel's main thread raises a real-time
// signal; the native handler re-arms it with an exponentially jittered
// interval, passes the signal on to the threads the profiled cell started,
// and records, for the interrupted thread itself: the Python stack with the
// instruction each frame is at, where the program counter was (interpreter
// or another library), and the thread's wall and CPU time since its
// previous sample. Every few samples it trips the kernel side's Python-level
// handler for the same signal, which drains the records.
#pragma once

#include <cstddef>
#include <cstdint>

#include "records.hpp"

namespace scalene_lab {

// Arm the sampler; false (nothing changed, errno set) if the signal handler
// or the timer cannot be installed. Must be called on the main thread, with
// the signal's Python-level handler already installed.
bool cpu_start(const sl_cpu_config& config);

// Disarm: the timer is deleted, no sample is in flight, pending instances of
// the signal are consumed and the previous handler is back. Idempotent.
void cpu_stop();

bool cpu_running();

// The threads (kernel tids) that get the signal passed on; replaces the set.
void cpu_set_threads(const int32_t* tids, size_t count);

// Trip the kernel side's handler (drain) at its next check; async-signal-safe.
void request_drain();

// The calling thread runs the profiler's own code (the drain) from enter to
// exit: that time is left out of its samples (reported as the profiler's).
void cpu_profiler_enter();
void cpu_profiler_exit();

// Counters for this run.
uint64_t cpu_samples();
uint64_t cpu_thread_signals();

// Classify a program counter (SL_WHERE_*); ranges are found at cpu_start.
int classify_pc(uint64_t pc);
void find_interpreter_ranges();

}  // namespace scalene_lab
