"""Per-line and per-function accumulators of sampled CPU time."""

from __future__ import annotations

import random
from types import CodeType
from typing import NamedTuple, Protocol

LineKey = tuple[str, int]
FunctionKey = tuple[str, str, int]  # (filename, qualified name, first line)

# Bound on the sample timestamps kept per line (Scalene's cpu_samples_list);
# a reservoir keeps them uniformly spread over a long run.
MAX_SAMPLE_TIMES = 100


class Share(NamedTuple):
    """One sample's time for one place: seconds of each kind, the sampled
    thread's CPU utilization, the whole process's core utilization, and when."""

    python: float
    native: float
    system: float
    util: float
    core: float
    when: float

    @property
    def total(self) -> float:
        """All seconds of this share."""
        return self.python + self.native + self.system


class TimeAccumulator:
    """Seconds of Python, native and system time charged to one place."""

    __slots__ = ("python", "native", "system", "util_sum", "core_sum", "count", "times", "_rng")

    def __init__(self, rng: random.Random) -> None:
        self.python = 0.0
        self.native = 0.0
        self.system = 0.0
        self.util_sum = 0.0
        self.core_sum = 0.0
        self.count = 0
        self.times: list[float] = []
        self._rng = rng

    def add(self, share: Share) -> None:
        """Charge one sample (hot path: called from the signal handler)."""
        self.python += share.python
        self.native += share.native
        self.system += share.system
        self.util_sum += share.util
        self.core_sum += share.core
        self.count += 1
        if len(self.times) < MAX_SAMPLE_TIMES:
            self.times.append(share.when)
        else:
            slot = self._rng.randrange(self.count)
            if slot < MAX_SAMPLE_TIMES:
                self.times[slot] = share.when

    @property
    def total(self) -> float:
        """All time charged here."""
        return self.python + self.native + self.system

    @property
    def mean_core_utilization(self) -> float:
        """Average share of all cores busy while this place was sampled."""
        return self.core_sum / self.count if self.count else 0.0


class GpuCharger(Protocol):
    """Where a CPU sample's GPU reading goes (gpu.GpuSampler)."""

    def charge(self, line: LineKey, function: FunctionKey | None, when: float, seconds: float) -> None:
        """Charge the GPU's state at ``when`` to the sampled line and function."""


def function_key(code: CodeType) -> FunctionKey | None:
    """The function a code object is, or None for a module's (a cell's) top level."""
    if code.co_name == "<module>":
        return None
    return code.co_filename, getattr(code, "co_qualname", code.co_name), code.co_firstlineno


def charge_line(
    lines: dict[LineKey, TimeAccumulator],
    functions: dict[FunctionKey, TimeAccumulator],
    rng: random.Random,
    code: CodeType,
    lineno: int,
    share: Share,
    gpu: GpuCharger | None = None,
) -> None:
    """Add ``share`` to the line ``lineno`` of ``code`` and to its function
    (and, when the GPU is profiled, the GPU's state at that sample)."""
    key = (code.co_filename, lineno)
    line = lines.get(key)
    if line is None:
        line = lines[key] = TimeAccumulator(rng)
    line.add(share)
    fkey = function_key(code)
    if fkey is not None:
        func = functions.get(fkey)
        if func is None:
            func = functions[fkey] = TimeAccumulator(rng)
        func.add(share)
    if gpu is not None:
        gpu.charge(key, fkey, share.when, share.total)
