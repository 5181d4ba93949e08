"""CPU sampler: Scalene's signal-delay method, in the kernel's main thread.

A one-shot timer signal is re-armed after every sample with an exponentially
distributed interval (so periodic code cannot alias with it). CPython runs the
Python-level handler only between bytecodes, so a handler that runs late was
held off by native code: of the wall time since the previous sample, the
armed interval is charged as Python time and the rest as native time. The
main thread's own CPU clock says how much of that wall time the thread was on
a CPU at all; the remainder is system time (sleeping, blocked, waiting on
I/O). Each sample is charged to the innermost frame the code filter accepts,
so library time lands on the user line that called it.

Threads the profiled code starts are sampled too, from the same handler,
with their own CPU clocks; threads that existed before (the kernel's IOPub,
heartbeat, control, shell-channel and history threads) are never looked at.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from .bytecode import CodeIndex
from .clock import Clock, SystemClock
from .fault_points import reached
from .frames import other_thread_user_frame, user_frame
from .stats import FunctionKey, GpuCharger, LineKey, Share, TimeAccumulator, charge_line
from .timer import SampleTimer, open_timer

# Shortest first expiry, as a fraction of the mean sampling interval.
MIN_INTERVAL_FRACTION = 0.05

# This package's own files: a sample taken while another of our handlers
# (the memory drain) runs is judged from the user frame it interrupted.
_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def split_sample(wall: float, armed: float, cpu: float) -> tuple[float, float, float, float]:
    """Split ``wall`` seconds into (python, native, system, utilization).

    ``armed`` is the interval the timer was set to and ``cpu`` the sampled
    thread's CPU time over the same wall time.
    """
    if wall <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    util = min(1.0, max(0.0, cpu / wall))
    python_wall = min(wall, armed)
    return python_wall * util, (wall - python_wall) * util, wall * (1.0 - util), util


class CpuSampler:
    """Collects CPU samples between :meth:`start` and :meth:`stop` (the
    fallback where the native sampler cannot read frames)."""

    method = "signal-delay"

    def __init__(
        self,
        interval: float,
        is_user_file: Callable[[str], bool],
        clock: Clock | None = None,
        rng: random.Random | None = None,
        timer_factory: Callable[[], SampleTimer] = open_timer,
        boundary: CodeType | None = None,
    ) -> None:
        self.interval = interval
        # Frames at or outside the code object that runs the profiled code
        # belong to the profiler and IPython, never to the user.
        self._boundary = boundary
        self._is_user_file = is_user_file
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._timer_factory = timer_factory
        self._ncpu = os.cpu_count() or 1
        self.lines: dict[LineKey, TimeAccumulator] = {}
        self.functions: dict[FunctionKey, TimeAccumulator] = {}
        self.total_time = 0.0
        self.samples = 0
        self.unattributed_time = 0.0
        self.handler_errors = 0
        self.timer_description = ""
        self.start_wall = 0.0
        self.stop_wall = 0.0
        self._timer: SampleTimer | None = None
        self._previous_handler: Any = None
        self._armed = interval
        self._last_wall = 0.0
        self._last_cpu = 0.0
        self._last_process = 0.0
        self._thread_cpu: dict[int, float] = {}
        self._baseline_threads: set[int] = set()
        self._baseline_count = 0
        self._code_index = CodeIndex()
        self.gpu: GpuCharger | None = None  # set when the GPU is profiled

    # -- arming and disarming -------------------------------------------------

    def start(self) -> None:
        """Install the handler and arm the timer (main thread only)."""
        self._baseline_threads = set(sys._current_frames())
        self._baseline_count = threading.active_count()
        timer = self._timer_factory()
        # Recorded at once, with the handler it will replace: a stop after
        # anything below closes the timer and puts that handler back.
        self._timer = timer
        previous = signal.getsignal(timer.signum)
        self._previous_handler = signal.SIG_DFL if previous is None else previous
        reached("setup.fallback_timer_created")
        signal.signal(timer.signum, self._on_signal)
        reached("setup.fallback_handler_installed")
        self.timer_description = timer.description
        self._mark(self._clock.wall())
        self.start_wall = self._last_wall
        self._rearm()
        reached("setup.fallback_timer_armed")

    def stop(self) -> None:
        """Disarm the timer and put the previous handler back; idempotent,
        and marked done only at the end, so a retry finishes a stop that an
        exception cut short."""
        timer = self._timer
        if timer is None:
            return
        self.stop_wall = self._clock.wall()
        timer.close()
        reached("teardown.fallback_timer_closed")
        if signal.getsignal(timer.signum) == self._on_signal:
            signal.signal(timer.signum, self._previous_handler)
        self._timer = None

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._timer is not None

    def _rearm(self) -> None:
        if self._timer is None:
            return
        # Exponential jitter for the next sample; the clamp keeps a rare tiny
        # draw from flooding the thread with signals while native code runs
        # (the timer then repeats at the mean interval until the handler runs).
        self._armed = max(self.interval * MIN_INTERVAL_FRACTION, self._rng.expovariate(1.0 / self.interval))
        self._timer.arm(self._armed, self.interval)

    def _mark(self, wall: float) -> None:
        self._last_wall = wall
        self._last_cpu = self._clock.thread_cpu()
        self._last_process = self._clock.process_cpu()

    # -- the signal handler ---------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        try:
            self.record(frame)
        except Exception:  # never let a profiler bug surface in the user's code
            self.handler_errors += 1
        finally:
            self._mark(self._clock.wall())
            self._rearm()

    def record(self, frame: FrameType | None) -> None:
        """Charge the time since the previous sample to ``frame``'s user line."""
        clock = self._clock
        now = clock.wall()
        wall = now - self._last_wall
        if wall <= 0.0:
            return
        cpu = clock.thread_cpu() - self._last_cpu
        core = (clock.process_cpu() - self._last_process) / wall / self._ncpu
        core = min(1.0, max(0.0, core))
        python, native, system, util = split_sample(wall, self._armed, cpu)
        self.samples += 1
        while frame is not None and frame.f_code.co_filename.startswith(_OWN_DIR):
            frame = frame.f_back
        if (
            native > 0.0
            and frame is not None
            and self._is_user_file(frame.f_code.co_filename)
            and user_frame(frame, self._is_user_file, self._boundary) is frame
        ):
            deferred = self._code_index.deferred_line(frame)
            if deferred is not None:
                self.total_time += native
                self._charge_line(frame.f_code, deferred, Share(0.0, native, 0.0, util, core, now))
                native = 0.0
        self._charge(frame, Share(python, native, system, util, core, now), self._boundary)
        if threading.active_count() > self._baseline_count:
            self._sample_threads(wall, core, now)

    def _sample_threads(self, wall: float, core: float, now: float) -> None:
        main = threading.main_thread().ident
        for ident, frame in sys._current_frames().items():
            if ident == main or ident in self._baseline_threads:
                continue
            cpu_now = self._clock.thread_cpu_of(ident)
            if cpu_now is None:
                continue
            cpu = cpu_now - self._thread_cpu.get(ident, 0.0)
            self._thread_cpu[ident] = cpu_now
            util = min(1.0, max(0.0, cpu / wall))
            busy = wall * util
            # Its innermost frame only, when that is the user's code: another
            # thread's stack is not walked (frames.py says why).
            user = other_thread_user_frame(frame, self._is_user_file)
            if user is not None and self._code_index.at_call(user):
                self._charge(user, Share(0.0, busy, wall - busy, util, core, now), None)
            else:
                self._charge(user, Share(busy, 0.0, wall - busy, util, core, now), None)

    def _charge(self, frame: FrameType | None, share: Share, boundary: CodeType | None) -> None:
        self.total_time += share.total
        frame = user_frame(frame, self._is_user_file, boundary)
        if frame is None:
            self.unattributed_time += share.total
            return
        code = frame.f_code
        self._charge_line(code, frame.f_lineno or code.co_firstlineno, share)

    def _charge_line(self, code: CodeType, lineno: int, share: Share) -> None:
        charge_line(self.lines, self.functions, self._rng, code, lineno, share, self.gpu)
