"""One profiled run's samplers: arming them, draining them, and the one way
to disarm them.

Arming, draining and disarming run with SIGINT held off (interrupts.py),
every step is recorded before its effect can be seen, and disarming is
idempotent and retried until it completes, so an exception at any step
(Ctrl-C, a user's alarm handler raising, a failed allocation) can never
leave hooks, handlers or timers half installed. Each step names itself to
fault_points.py, where the fault-injection tests stop a run at every one in
turn. A session that somehow was not disarmed is disarmed by the next one
before it arms.

The native library samples into one buffer (CPU samples and memory
records alike); a Python-level handler on one free real-time signal drains
it. The native side trips that handler (PyErr_SetInterruptEx, safe from a
signal handler and from any thread) every few CPU samples and whenever a
quarter of the buffer waits. The drain never re-enters itself; while it
runs, the main thread's allocations are not sampled and its time is left
out of the CPU samples (counted as the profiler's own), never the user's.
"""

from __future__ import annotations

import random
import signal
import sys
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any

from . import python_layout
from .allocator import DOCTOR_HINT, RECORD_CPU, AllocatorUnavailable, NativeAllocator, PythonLayout
from .code_table import CodeTable
from .exact_sampler import ExactCpuSampler
from .fault_points import reached
from .gpu import GpuSampler, GpuUnavailable, open_reader
from .interrupts import DeferredInterrupts
from .memory import MemorySampler
from .options import DEFAULT_COPY_WINDOW, ProfileOptions
from .sampler import CpuSampler
from .stack_profile import StackCollector
from .timer import TimerUnavailable

# A session armed and not yet fully disarmed (the next one cleans it up).
_live: ProfileSession | None = None

# Per process: whether the frame layout checked out (True) or why not.
_layout_verdict: bool | str | None = None

_STOP_ATTEMPTS = 16


def _native() -> tuple[NativeAllocator | None, str | None]:
    """The native library, or why not. Once loaded it stays (it is never
    unloaded), whatever becomes of its file meanwhile (a rebuild)."""
    try:
        return NativeAllocator.load(), None
    except AllocatorUnavailable as problem:
        return None, str(problem)


def _exact_reason(native: NativeAllocator, table: CodeTable) -> str | None:
    """None when the native frame reader works in this interpreter; else why not."""
    global _layout_verdict
    if _layout_verdict is None:
        try:
            native.lib.sl_set_python_layout(python_layout.build())
            python_layout.check(native.lib, table)
            _layout_verdict = True
        except python_layout.LayoutUnavailable as problem:
            native.lib.sl_set_python_layout(PythonLayout())  # version 0: read no frames
            _layout_verdict = str(problem)
    return None if _layout_verdict is True else str(_layout_verdict)


def _free_signal(native: NativeAllocator) -> int | None:
    """A real-time signal with no handler, in Python's view and the C library's."""
    if not hasattr(signal, "SIGRTMIN"):
        return None
    for signum in range(signal.SIGRTMIN + 4, signal.SIGRTMAX - 4):
        if signal.getsignal(signum) in (signal.SIG_DFL, None) and native.lib.sl_signal_is_free(signum):
            return signum
    return None


def _run_pending_handlers() -> None:
    """A Python call: CPython runs any tripped signal handler on entry."""


class ProfileSession:
    """The CPU sampler, and the memory sampler when asked, for one run."""

    def __init__(
        self,
        options: ProfileOptions,
        is_user_file: Callable[[str], bool],
        boundary: CodeType,
        roots: Iterable[CodeType],
        messages: list[str],
    ) -> None:
        self._options = options
        self._is_user_file = is_user_file
        self._boundary = boundary
        self._messages = messages
        self.table = CodeTable(roots)
        self.cpu: CpuSampler | ExactCpuSampler | None = None
        self.memory: MemorySampler | None = None
        self.gpu: GpuSampler | None = None
        self.stacks = StackCollector(self.table, self._is_user_file) if options.stacks else None
        self._native: NativeAllocator | None = None
        self._signum = 0
        self._previous_handler: Any = signal.SIG_DFL
        self._handler_installed = False
        self._run_begun = False
        self._draining = False
        self._stopped = False
        self.drain_errors = 0

    # -- arming ----------------------------------------------------------------

    def start(self) -> None:
        """Arm everything; TimerUnavailable if CPU sampling cannot run here."""
        __tracebackhide__ = True  # noqa: F841
        global _live
        with DeferredInterrupts():
            reached("setup.enter")
            if _live is not None and _live is not self:
                _live.stop_quietly()
            _live = self
            self._start()
            reached("setup.done")

    def _start(self) -> None:
        options = self._options
        if options.gpu_wanted:
            self._start_gpu()
        native, reason = _native()
        exact_reason = _exact_reason(native, self.table) if native is not None else reason
        reached("setup.native_loaded")
        want_memory = options.memory and not options.cpu_only
        if want_memory and native is None:
            self._say(f"memory profiling is not available here ({reason}); profiling CPU only ({DOCTOR_HINT}).")
        if native is not None and (exact_reason is None or want_memory):
            signum = _free_signal(native)
            if signum is None:
                raise TimerUnavailable("no free real-time signal")
            reached("setup.signal_chosen")
            # Recorded first, so a stop after anything below undoes it; the
            # handler it replaces is SIG_DFL (that is what made it free).
            self._native, self._signum = native, signum
            self._handler_installed = True
            self._previous_handler = signal.signal(signum, self._on_drain_signal)
            reached("setup.drain_handler_installed")
            self._run_begun = True
            native.lib.sl_begin_run(signum)
            reached("setup.run_begun")
        if want_memory and native is not None:
            memory = MemorySampler(
                options.allocation_sampling_window,
                DEFAULT_COPY_WINDOW,
                self._is_user_file,
                boundary=self._boundary,
                table=self.table if exact_reason is None else None,
            )
            self.memory = memory
            memory.stacks = self.stacks
            try:
                memory.start(native)
            except (AllocatorUnavailable, OSError, ValueError) as problem:
                memory.stop()
                self.memory = None
                self._say(f"memory profiling is not available here ({problem}); profiling CPU only ({DOCTOR_HINT}).")
        if exact_reason is None and native is not None:
            exact = ExactCpuSampler(native.lib, self.table, options.cpu_sampling_rate, self._is_user_file, self._boundary)
            self.cpu = exact
            exact.stacks = self.stacks
            exact.gpu = self.gpu
            exact.start(self._signum)
            reached("setup.cpu_timer_armed")
            exact.refresh_threads()
            reached("setup.threads_registered")
        else:
            self._say(f"lines are placed by the signal-delay method: the frame reader is not available ({exact_reason}; {DOCTOR_HINT}).")
            if self.stacks is not None:
                self._say("--stacks needs the frame reader; profiling without stacks.")
                self.stacks = None
            fallback = CpuSampler(options.cpu_sampling_rate, self._is_user_file, boundary=self._boundary, rng=random.Random())
            self.cpu = fallback
            fallback.gpu = self.gpu
            fallback.start()

    def _start_gpu(self) -> None:
        """Poll the GPU for this run; first of all, so the CPU and memory
        samplers count the poller among the kernel's own threads. Without a
        GPU nothing is said unless --gpu asked for one."""
        try:
            reader = open_reader()
        except GpuUnavailable as why:
            if self._options.gpu:
                self._say(f"--gpu: {why}; profiling without the GPU.")
            return
        except Exception as problem:  # an odd binding or driver: the run goes on without the GPU
            if self._options.gpu:
                self._say(f"--gpu: NVML failed ({type(problem).__name__}: {problem}); profiling without the GPU.")
            return
        reached("setup.gpu_opened")
        gpu = GpuSampler(reader, self._options.cpu_sampling_rate)
        self.gpu = gpu  # first: a stop after anything below stops the poller
        gpu.start()
        reached("setup.gpu_polling")

    def _say(self, notice: str) -> None:
        self._messages.append(notice)
        print(f"scalene-lab: {notice}", file=sys.stderr)

    # -- draining --------------------------------------------------------------

    def _on_drain_signal(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True  # noqa: F841
        self.drain(frame)

    def drain(self, frame: FrameType | None = None) -> None:
        """Charge every waiting record; a nested call (a drain signal inside
        the drain) returns at once, the outer one takes what is left.

        A Ctrl-C meanwhile is raised when the drain is done: records taken
        from the native buffer are never half charged or lost, and the
        interrupt reaches the user's code as if it had come a moment later."""
        __tracebackhide__ = True  # noqa: F841
        native = self._native
        if self._draining or native is None:
            return
        with DeferredInterrupts():
            self._draining = True
            try:
                busy = native.lib.sl_set_profiler_busy(1)
                try:
                    reached("drain.enter")
                    records = native.drain()
                    reached("drain.records_taken")
                    cpu = self.cpu
                    if isinstance(cpu, ExactCpuSampler):
                        cpu.add([r for r in records if r[0] == RECORD_CPU])
                        cpu.refresh_threads()
                    reached("drain.cpu_charged")
                    if self.memory is not None:
                        self.memory.process([r for r in records if r[0] != RECORD_CPU], frame)
                    reached("drain.memory_charged")
                except Exception:  # a profiler bug must never surface in the user's code
                    self.drain_errors += 1
                finally:
                    native.lib.sl_set_profiler_busy(busy)
            finally:
                self._draining = False
            reached("drain.exit")

    # -- disarming -------------------------------------------------------------

    def stop(self) -> None:
        """Disarm everything and charge what is left; idempotent. An exception
        raised meanwhile (Ctrl-C) is raised again once all is disarmed."""
        __tracebackhide__ = True  # noqa: F841
        global _live
        failure: BaseException | None = None
        attempts = 0
        while not self._stopped and attempts < _STOP_ATTEMPTS:
            attempts += 1
            try:
                with DeferredInterrupts():
                    self._stop_steps()
            except BaseException as problem:  # noqa: B902 - re-raised below, after disarming
                failure = failure or problem
        if _live is self and self._stopped:
            _live = None
        if failure is not None:
            raise failure

    def stop_quietly(self) -> None:
        """Disarm a session left behind; whatever it raises is dropped."""
        try:
            self.stop()
        except BaseException:  # noqa: B902 - a leftover's failure is not the new run's
            pass

    def _stop_steps(self) -> None:
        """Every step is idempotent and marked done only after its effect, so
        a retry after an exception anywhere resumes where it left off. The
        order matters: the drain signal's Python handler goes last, once
        nothing (timer, cell threads, allocation hooks) can send it."""
        reached("teardown.enter")
        if self.cpu is not None:
            self.cpu.stop()
            reached("teardown.cpu_timer_stopped")
        if self.memory is not None:
            self.memory.pause()
            reached("teardown.memory_paused")
        if self.gpu is not None:
            self.gpu.stop()  # its last reading covers the samples still to drain
            reached("teardown.gpu_stopped")
        self.drain()
        reached("teardown.drained")
        native = self._native
        if native is not None and isinstance(self.cpu, ExactCpuSampler):
            self.cpu.invalid_stacks = int(native.stats().invalid_stacks)
        if self.memory is not None:
            self.memory.stop()
            reached("teardown.memory_detached")
        if self._run_begun and native is not None:
            native.lib.sl_end_run()
            self._run_begun = False
            reached("teardown.run_ended")
            _run_pending_handlers()
            self.drain()
            reached("teardown.last_drain")
        if self._handler_installed:
            if signal.getsignal(self._signum) == self._on_drain_signal:
                signal.signal(self._signum, self._previous_handler)
            self._handler_installed = False
            reached("teardown.drain_handler_restored")
        self._stopped = True
        reached("teardown.done")
