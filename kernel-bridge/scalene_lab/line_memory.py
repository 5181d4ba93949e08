"""Per-line memory figures, and how a line's net allocation is settled.

A line's ``n_malloc_mb`` (Scalene's net allocation) is the samples that
count outright (blocks of a window or more, a realloc's growth) plus its
smaller samples at the share of their bytes that outlived one window of
allocation. For blocks under SMALL_BLOCK that share is the kept share of the
line's companion blocks (native fate_group.hpp), pooled per line; for larger
blocks, and lines with fewer than MIN_COMPANIONS companions, each sample
goes by its own block's fate. The sampler (memory.py) feeds these.
"""

from __future__ import annotations

from array import array

from .allocator import COMPANION_KEPT
from .stack_profile import Stack

MAX_TIMELINE = 100  # points shown per timeline, as Scalene's sparklines
# Companion fates a line needs before their pooled share replaces its
# sampled blocks' own fates.
MIN_COMPANIONS = 8
# Companions are a count-uniform sample of allocations, so they speak only
# for blocks like the many: a line's rare larger blocks (a list's growing
# buffer among its small objects) hold bytes that count-uniform picks almost
# never see. Samples of blocks this size or more are decided by their own
# fate, and companions this size or more are not pooled.
SMALL_BLOCK = 1024


class LineMemory:
    """Sampled memory figures of one line, in MB."""

    __slots__ = (
        "direct_mb",
        "direct_python_mb",
        "fated_mb",
        "fated_python_mb",
        "block_kept_mb",
        "block_kept_python_mb",
        "fate_kept",
        "fate_tracked",
        "fate_count",
        "churn_mb",
        "mallocs",
        "frees",
        "current_mb",
        "peak_mb",
        "footprint_sum",
        "copy_mb",
        "timeline",
    )

    def __init__(self) -> None:
        self.direct_mb = 0.0  # samples that count as net outright (see _count_net)
        self.direct_python_mb = 0.0
        self.fated_mb = 0.0  # settled samples, whose net share the line's companions decide
        self.fated_python_mb = 0.0
        self.block_kept_mb = 0.0  # those of them whose own block was still live
        self.block_kept_python_mb = 0.0
        self.fate_kept = 0  # bytes of the line's companions still live at the next sample
        self.fate_tracked = 0  # bytes of all the line's companions
        self.fate_count = 0
        self.churn_mb = 0.0  # gross: every sampled allocation, temporaries included
        self.mallocs = 0
        self.frees = 0
        self.current_mb = 0.0
        self.peak_mb = 0.0
        self.footprint_sum = 0.0
        self.copy_mb = 0.0
        self.timeline = Timeline()

    @property
    def malloc_mb(self) -> float:
        """Net allocation, as Scalene's ``n_malloc_mb``: temporaries left out."""
        return self.direct_mb + self._kept(self.fated_mb, self.block_kept_mb)

    @property
    def python_mb(self) -> float:
        """The part of :attr:`malloc_mb` from Python's allocator."""
        return self.direct_python_mb + self._kept(self.fated_python_mb, self.block_kept_python_mb)

    def _kept(self, fated_mb: float, block_kept_mb: float) -> float:
        if self.fate_count >= MIN_COMPANIONS and self.fate_tracked:
            return fated_mb * self.fate_kept / self.fate_tracked
        return block_kept_mb

    def add_fates(self, kept: int, tracked: int, count: int) -> None:
        """``count`` companions of this line, of ``tracked`` bytes, ``kept`` of them still live."""
        self.fate_count += count
        self.fate_tracked += tracked
        self.fate_kept += kept


class FunctionMemory(LineMemory):
    """A function's memory figures: its own footprint, and for net allocation
    the sum of its lines' (each line's kept share is its own, so a share
    pooled over the function would disagree with its lines). The net fields
    it inherits stay zero: the sampler settles net allocation on lines only."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[tuple[str, int], LineMemory] = {}

    @property
    def malloc_mb(self) -> float:
        """The sum of its lines' net allocation."""
        return sum(line.malloc_mb for line in self.members.values())

    @property
    def python_mb(self) -> float:
        """The sum of its lines' net allocation from Python's allocator."""
        return sum(line.python_mb for line in self.members.values())


class Pending:
    """A thread's latest small sample, waiting for its next one."""

    __slots__ = ("pointer", "targets", "mb", "python", "frames", "small", "freed")

    def __init__(self, pointer: int, targets: list[LineMemory], mb: float, python: bool, frames: Stack, small: bool) -> None:
        self.pointer = pointer
        self.targets = targets
        self.mb = mb
        self.python = python
        self.frames = frames
        self.small = small  # under SMALL_BLOCK: the line's companions decide
        self.freed = False


class Timeline:
    """A bounded footprint timeline that always keeps its first and latest
    points and its peak: halved (every other point) whenever it fills up.

    Points live in two flat ``array('d')`` columns rather than as float
    objects: the drain runs about once per sampled megabyte, and long-lived
    floats scattered through pymalloc's pools measurably slowed the user's
    own small-object churn (see bench/README.md)."""

    __slots__ = ("_times", "_values", "_peak")

    def __init__(self) -> None:
        self._times = array("d")
        self._values = array("d")
        self._peak: tuple[float, float] | None = None

    def add(self, when: float, megabytes: float) -> None:
        """Append a point (hot path: called per memory sample)."""
        self._times.append(when)
        self._values.append(megabytes)
        if self._peak is None or megabytes > self._peak[1]:
            self._peak = (when, megabytes)
        if len(self._times) >= 2 * MAX_TIMELINE:
            self._times = self._times[:1] + self._times[1::2]  # the newest point is odd: kept
            self._values = self._values[:1] + self._values[1::2]

    @property
    def points(self) -> list[list[float]]:
        """Every point kept, in time order."""
        return [[when, value] for when, value in zip(self._times, self._values)]

    def shown(self) -> list[list[float]]:
        """At most MAX_TIMELINE points, in time order, peak and ends included."""
        points = self.points
        if len(points) > MAX_TIMELINE:
            step = len(points) / (MAX_TIMELINE - 2)
            points = [points[0]] + [points[int(i * step)] for i in range(1, MAX_TIMELINE - 2)] + [points[-1]]
        if self._peak is not None and list(self._peak) not in points:
            points = sorted(points + [list(self._peak)])
        return points


# Companion fates per (code address, instruction): [kept bytes, bytes, count].
Fates = dict[tuple[int, int], list[int]]


def gather_fates(companions: tuple[int, ...], fates: Fates) -> None:
    """Add one record's companion entries to ``fates``; blocks of SMALL_BLOCK
    or more are left out."""
    for position in range(0, len(companions), 3):
        extra = companions[position + 2]
        size = extra & ~COMPANION_KEPT
        if size >= SMALL_BLOCK:
            continue
        site = (companions[position], companions[position + 1])
        entry = fates.get(site)
        if entry is None:
            entry = fates[site] = [0, 0, 0]
        if extra & COMPANION_KEPT:
            entry[0] += size
        entry[1] += size
        entry[2] += 1
