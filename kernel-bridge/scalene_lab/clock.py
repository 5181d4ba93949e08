"""Clocks the CPU sampler reads; a protocol so tests can drive it with fake time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Wall time and CPU time, all in seconds."""

    def wall(self) -> float:
        """Monotonic wall-clock time."""

    def thread_cpu(self) -> float:
        """CPU time of the calling thread (the main thread, in the sampler)."""

    def process_cpu(self) -> float:
        """CPU time of the whole process, all threads."""

    def thread_cpu_of(self, ident: int) -> float | None:
        """CPU time of another live thread, by ``threading`` ident; None if unknown."""


class SystemClock:
    """The real clocks of this process."""

    def __init__(self) -> None:
        self._clock_ids: dict[int, int] = {}

    def wall(self) -> float:
        """``time.perf_counter``."""
        return time.perf_counter()

    def thread_cpu(self) -> float:
        """``time.thread_time``."""
        return time.thread_time()

    def process_cpu(self) -> float:
        """``time.process_time``."""
        return time.process_time()

    def thread_cpu_of(self, ident: int) -> float | None:
        """Per-thread CPU clock (Linux and other POSIX systems)."""
        try:
            clock_id = self._clock_ids.get(ident)
            if clock_id is None:
                clock_id = self._clock_ids[ident] = time.pthread_getcpuclockid(ident)
            return time.clock_gettime(clock_id)
        except (AttributeError, OSError, OverflowError):
            return None
