"""CPU sampler that charges each sample to what its thread was doing at the
instant the timer interrupted it.

The native library (``native/src/cpu_sampler.cpp``) owns the timer and the
signal handler: at each expiry it reads the interrupted thread's Python
stack and the instruction every frame is at, notes whether the program
counter was in the interpreter (or the C library) or in another library,
and reads the thread's CPU clock. It passes the signal on to the threads
the profiled cell started, which sample themselves the same way. This
class turns those records into Scalene's split, per line:

- system time: the part of the interval the thread was off a CPU;
- native time: the on-CPU part when the program counter was in another
  library (numpy, BLAS, any extension), or the innermost frame was at a call
  instruction (a builtin such as ``sorted``, a C function);
- Python time: the rest, the interpreter running bytecode.

Each sample is charged to the innermost frame of the user's code, so library
time lands on the user line that called into it.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from types import CodeType
from typing import Any

from .allocator import FLAG_BLOCKED, FLAG_TRUNCATED, WHERE_C_LIBRARY, WHERE_LIBRARY, CpuConfig, RawRecord
from .code_table import CodeTable
from .stack_profile import StackCollector
from .stacks import user_site
from .stats import FunctionKey, GpuCharger, LineKey, Share, TimeAccumulator, charge_line

Place = tuple[CodeType, int]  # a user line: its code object and line number


# The kernel side drains at most this often (and whenever a quarter of the
# buffer waits). Rarely enough that the Python call into the drain handler,
# which runs before the drain can mark its time as the profiler's, costs the
# line it interrupts nothing measurable (at every sample, with 1 ms sampling,
# it put several points on a loop's last line, where backward jumps run
# handlers); often enough that a thread the cell starts is registered for
# sampling within 20 ms.
DRAIN_INTERVAL_US = 20_000


class ExactCpuSampler:
    """Collects natively taken CPU samples between :meth:`start` and :meth:`stop`."""

    method = "instant"

    def __init__(
        self,
        lib: Any,
        table: CodeTable,
        interval: float,
        is_user_file: Callable[[str], bool],
        boundary: CodeType | None,
        seed: int | None = None,
    ) -> None:
        self._lib = lib
        self._table = table
        self.interval = interval
        self._is_user_file = is_user_file
        self._boundary = boundary
        self._seed = seed if seed is not None else random.getrandbits(63)
        self._rng = random.Random(self._seed)
        self._ncpu = os.cpu_count() or 1
        self.lines: dict[LineKey, TimeAccumulator] = {}
        self.functions: dict[FunctionKey, TimeAccumulator] = {}
        self.total_time = 0.0
        self.samples = 0
        self.unattributed_time = 0.0
        self.profiler_time = 0.0
        self.handler_errors = 0
        self.invalid_stacks = 0
        self.stacks: StackCollector | None = None  # set for --stacks
        self.gpu: GpuCharger | None = None  # set when the GPU is profiled
        self.timer_description = ""
        self.start_wall = 0.0
        self.stop_wall = 0.0
        self._main_tid = 0
        self._baseline: set[int] = set()
        self._registered: list[int] | None = None
        self._last_process_ns: dict[int, int] = {}
        # Per thread: its previous sample's line (None: not the user's), and
        # whether it was native and whether the thread was blocked then.
        self._previous: dict[int, tuple[Place | None, bool, bool]] = {}
        # Per instruction (code address, index): samples taken in the
        # interpreter and in other libraries there. A sample in the C library
        # is charged as the instruction's other samples say (a memcpy under
        # `a @ b` is numpy's, one under `s += c` the interpreter's).
        self._votes: dict[tuple[int, int], list[int]] = {}
        self._running = False

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._running

    def start(self, signum: int) -> None:
        """Arm the native timer on ``signum`` (whose Python handler drains)."""
        self._main_tid = threading.get_native_id()
        self._baseline = {t.native_id for t in threading.enumerate() if t.native_id is not None}
        config = CpuConfig(self.interval, signum, self._main_tid, self._seed, DRAIN_INTERVAL_US, 0)
        self.start_wall = time.perf_counter()
        self._running = True  # first: a stop after any failure below disarms
        error = int(self._lib.sl_cpu_start(config))
        if error != 0:
            self._running = False
            raise OSError(error, f"the native CPU sampler could not start ({os.strerror(error) if error > 0 else 'unknown'})")
        self.timer_description = f"posix-timer:SIGRTMIN+{signum - int(signal.SIGRTMIN)} (native, at the instant)"

    def stop(self) -> None:
        """Disarm (idempotent)."""
        if self._running:
            self._lib.sl_cpu_stop()
            self._running = False
            self.stop_wall = time.perf_counter()

    def refresh_threads(self) -> None:
        """Tell the native side which threads the cell started (the kernel's own are never sampled)."""
        # A thread still starting has no native id yet: it is registered at a
        # later drain, once it has one.
        tids = [t.native_id for t in threading.enumerate() if t.native_id is not None and t.native_id not in self._baseline]
        if tids == self._registered:
            return
        self._registered = tids
        array = (ctypes.c_int32 * max(1, len(tids)))(*tids)
        self._lib.sl_cpu_set_threads(array, len(tids))

    def add(self, records: list[RawRecord]) -> None:
        """Charge a batch of CPU records (from the drain)."""
        table = self._table
        votes = self._votes
        for record in records:
            stack = record[12]
            table.resolve(stack[0::2])
            if stack and record[1] != WHERE_C_LIBRARY:
                tally = votes.get((stack[0], stack[1]))
                if tally is None:
                    tally = votes[(stack[0], stack[1])] = [0, 0]
                tally[1 if record[1] == WHERE_LIBRARY else 0] += 1
        for record in records:
            try:
                self._add_one(record)
            except Exception:  # a profiler bug must never surface in the user's code
                self.handler_errors += 1

    def _add_one(self, record: RawRecord) -> None:
        _kind, where, _depth, flags, tid, profiler_ns, _pointer, time_ns, _cpu, wall_ns, cpu_ns, process_ns, stack, _ = record
        self.profiler_time += profiler_ns / 1e9
        wall = wall_ns / 1e9
        if wall <= 0.0:
            return
        is_main = tid == self._main_tid
        if not is_main and tid in self._baseline:
            return
        self.samples += 1
        cpu = min(wall, cpu_ns / 1e9)
        previous = self._last_process_ns.get(tid)
        self._last_process_ns[tid] = process_ns
        core = 0.0
        if previous is not None and process_ns >= previous:
            core = min(1.0, (process_ns - previous) / 1e9 / wall / self._ncpu)
        util = cpu / wall
        native = self._is_native(where, stack)
        blocked = bool(flags & FLAG_BLOCKED)
        boundary = self._boundary if is_main else None
        site = user_site(self._table, stack, self._is_user_file, boundary, bool(flags & FLAG_TRUNCATED))
        place = (site[0].code, site[0].line_at(site[1])) if site is not None else None
        # The interval since the previous sample holds the thread's CPU time
        # and its time off a CPU. When the thread was blocked at one end and
        # running at the other, it ran where it was running and waited where
        # it was blocked: an interval that ends in a sleep has its CPU time
        # from the line before, and one that ends in a loop after a sleep has
        # its waiting from the sleep.
        cpu_place, cpu_native, off_place = place, native, place
        before = self._previous.get(tid)
        if before is not None:
            before_place, before_native, before_blocked = before
            if blocked and not before_blocked:
                cpu_place, cpu_native = before_place, before_native
            elif before_blocked and not blocked:
                off_place = before_place
        self._previous[tid] = (place, native, blocked)
        when = time_ns / 1e9
        python_part, native_part = (0.0, cpu) if cpu_native else (cpu, 0.0)
        if self.stacks is not None:
            frames = self.stacks.frames(stack, boundary, bool(flags & FLAG_TRUNCATED))
            self.stacks.add_cpu(frames, python_part, native_part, wall - cpu)
        if cpu_place == off_place:
            self._charge(place, Share(python_part, native_part, wall - cpu, util, core, when))
        else:
            self._charge(cpu_place, Share(python_part, native_part, 0.0, util, core, when))
            self._charge(off_place, Share(0.0, 0.0, wall - cpu, util, core, when))

    def _is_native(self, where: int, stack: tuple[int, ...]) -> bool:
        """Native time: in another library, at a call, or in the C library
        under an instruction whose other samples were mostly native."""
        if where == WHERE_LIBRARY:
            return True
        top = self._table.lookup(stack[0]) if stack else None
        if top is not None and top.calls_at(stack[1]):
            return True
        if where == WHERE_C_LIBRARY and stack:
            tally = self._votes.get((stack[0], stack[1]))
            return tally is not None and tally[1] > tally[0]
        return False

    def _charge(self, place: Place | None, share: Share) -> None:
        if share.total <= 0.0:
            return
        self.total_time += share.total
        if place is None:
            self.unattributed_time += share.total
            return
        charge_line(self.lines, self.functions, self._rng, place[0], place[1], share, self.gpu)
