"""``--stacks``: the user's call stacks at each sample, in Scalene's format.

Every CPU and memory record carries its thread's whole Python stack, read at
the instant of the sample (native/src/python_frames.cpp), so a stack profile
costs no more sampling, only bookkeeping at the drain. Scalene's ``stacks``
field lists CPU stacks as ``[frames, statistics]`` with each frame spelled
``"<file> <function>:<line>;"``, outermost first, and only the user's own
frames; ``memory_stacks`` (beyond Scalene's CPU-only stacks) lists the
allocating stacks with frame dictionaries as Scalene's ``memory_stacks``
does. Cells are named as the notebook shows them, ``In [N]``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType
from typing import Any

from .code_table import CodeTable

Frame = tuple[str, str, int]  # filename, function (qualified name), line
Stack = tuple[Frame, ...]  # outermost first


class CpuStackTotals:
    """Samples and seconds of one CPU stack."""

    __slots__ = ("count", "python", "native", "system")

    def __init__(self) -> None:
        self.count = 0
        self.python = 0.0
        self.native = 0.0
        self.system = 0.0


class StackCollector:
    """Counts the user's stacks of CPU samples and of net allocations."""

    def __init__(self, table: CodeTable, is_user_file: Callable[[str], bool]) -> None:
        self._table = table
        self._is_user_file = is_user_file
        self.cpu: dict[Stack, CpuStackTotals] = {}
        self.memory: dict[Stack, float] = {}

    def frames(self, stack: tuple[int, ...], boundary: CodeType | None, truncated: bool) -> Stack:
        """The user's frames of a recorded stack (innermost first, as the
        native reader wrote it), outermost first; empty when the stack does
        not pass through ``boundary`` (the profiler or IPython at work)."""
        found: list[Frame] = []
        for position in range(0, len(stack), 2):
            info = self._table.lookup(stack[position])
            if info is None:
                continue
            if boundary is not None and info.code is boundary:
                return tuple(reversed(found))
            if self._is_user_file(info.filename):
                code = info.code
                name = getattr(code, "co_qualname", code.co_name)
                found.append((info.filename, name, info.line_at(stack[position + 1])))
        return tuple(reversed(found)) if truncated or boundary is None else ()

    def add_cpu(self, frames: Stack, python: float, native: float, system: float) -> None:
        """One CPU sample's seconds, by kind, for its stack."""
        if not frames:
            return
        totals = self.cpu.get(frames)
        if totals is None:
            totals = self.cpu[frames] = CpuStackTotals()
        totals.count += 1
        totals.python += python
        totals.native += native
        totals.system += system

    def add_memory(self, frames: Stack, megabytes: float) -> None:
        """Net allocation (MB) charged to a stack."""
        if frames and megabytes > 0:
            self.memory[frames] = self.memory.get(frames, 0.0) + megabytes

    def cpu_json(self, total_time: float, name_of: Callable[[str], str]) -> list[Any]:
        """Scalene's ``stacks``: ``[[frame, ...], {count, python_time, c_time,
        cpu_samples}]``, times as fractions of the profile's total time."""
        whole = total_time if total_time > 0 else 1.0
        out: list[Any] = []
        for frames, totals in sorted(self.cpu.items(), key=lambda item: -item[1].count):
            spelled = [f"{name_of(filename)} {function}:{line};" for filename, function, line in frames]
            stats = {
                "count": totals.count,
                "python_time": totals.python / whole,
                "c_time": totals.native / whole,
                "cpu_samples": (totals.python + totals.native + totals.system) / whole,
            }
            out.append([spelled, stats])
        return out

    def memory_json(self, name_of: Callable[[str], str]) -> list[Any]:
        """Scalene's ``memory_stacks``: ``[[frame dict, ...], MB]``, largest first."""
        out: list[Any] = []
        for frames, megabytes in sorted(self.memory.items(), key=lambda item: -item[1]):
            spelled = [
                {
                    "kind": "py",
                    "display_name": function,
                    "filename_or_module": name_of(filename),
                    "line": line,
                    "ip": None,
                    "offset": None,
                }
                for filename, function, line in frames
            ]
            out.append([spelled, round(megabytes, 6)])
        return out
