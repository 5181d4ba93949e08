"""Memory sampler: charges the native allocator's records to the user's lines.

Every allocation and copy record carries the allocating thread's Python
stack, read by the hook at the instant of the allocation, so it is charged
to the line that made it, on the main thread and on every thread the cell
started, however late the drain (session.py) runs. Allocations by threads
that existed before the run (the kernel's own) are left out. Frees are
matched to the sampled block they release, so a line's live footprint (and
the run's) falls when memory is freed later.

``n_malloc_mb`` has Scalene's meaning: net allocation against the sampling
window. Scalene's threshold sampler counts bytes allocated less bytes freed
and reports a sample when that reaches its window, so a line's temporaries
(allocated and freed before a window's worth of allocation went by) cancel
out, while a block of a window or more always counts. Here a line's smaller
samples count at the share of their bytes that outlive one window of
allocation, measured on the companion blocks the allocator follows after
each sample (line_memory.py says how); the rest counts only in the line's
gross volume (``churn_mb``, shown beside it). Where the frame layout is
unknown, records carry no stack and are charged to the line each thread is
on when they are drained.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType

from .allocator import (
    FLAG_NO_FRAME,
    FLAG_REALLOC,
    FLAG_TRUNCATED,
    FLAG_UNTRACKED,
    RECORD_ALLOC,
    RECORD_COPY,
    RECORD_FREE,
    NativeAllocator,
    RawRecord,
)
from .code_table import CodeTable
from .fault_points import reached
from .frames import other_thread_user_frame, user_frame
from .line_memory import SMALL_BLOCK, Fates, FunctionMemory, LineMemory, Pending, Timeline, gather_fates
from .stack_profile import Stack, StackCollector
from .stacks import user_site
from .stats import FunctionKey, LineKey, function_key

MB = 1024.0 * 1024.0
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

Site = tuple[LineKey, FunctionKey | None]


class MemorySampler:
    """Arms the native allocator between :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        allocation_window: int,
        copy_window: int,
        is_user_file: Callable[[str], bool],
        boundary: CodeType | None = None,
        table: CodeTable | None = None,
    ) -> None:
        self._table = table
        self.allocation_window = allocation_window
        self.copy_window = copy_window
        self._is_user_file = is_user_file
        self._boundary = boundary
        self._allocator: NativeAllocator | None = None
        self._baseline_tids: set[int] = set()
        self._main_tid = 0
        self._live: dict[int, tuple[Site | None, float, int]] = {}  # pointer: (site, MB, block bytes)
        # Per thread, the size of the sampled block its latest record freed:
        # a realloc's new block follows it and adds only what it grew by.
        self._freed_just_before: dict[int, int] = {}
        # A cell thread's last user line seen at a drain: its samples still
        # waiting when it has already left that line are charged there.
        self._thread_last_line: dict[int, Site] = {}
        self.functions: dict[FunctionKey, FunctionMemory] = {}
        self.lines: dict[LineKey, LineMemory] = {}
        self.footprint_mb = 0.0
        self.max_footprint_mb = 0.0
        self.max_footprint_line: LineKey | None = None
        self.max_footprint_python_fraction = 0.0
        self.allocated_mb = 0.0
        self.python_mb = 0.0
        # Per thread, its latest small sample, not yet settled.
        self._pending: dict[int, Pending] = {}
        self.stacks: StackCollector | None = None  # set for --stacks
        self.freed_mb = 0.0
        self.untracked_mb = 0.0
        self.alloc_samples = 0
        self.excluded_mb = 0.0
        self.profiler_mb = 0.0  # allocated by this package's own code: never the user's
        self.unattributed_mb = 0.0
        self.timeline = Timeline()
        self.start_time = 0.0
        self.rss_start_mb = 0.0
        self.rss_end_mb = 0.0
        self.patched_slots = 0
        self.patched_objects = 0
        self.attach_mode = "hot-attach"
        self.buffer_overflow = 0
        self.table_refused = 0
        self.invalid_stacks = 0

    def start(self, allocator: NativeAllocator) -> None:
        """Attach: patch, wrap and start sampling (main thread; the session drains)."""
        self._baseline_tids = {t.native_id for t in threading.enumerate() if t.native_id is not None}
        self._main_tid = threading.get_native_id()
        self.rss_start_mb = _rss_mb()
        self.start_time = time.perf_counter()
        self._allocator = allocator  # first: a stop after any failure below detaches
        self.patched_slots = allocator.attach(self.allocation_window, self.copy_window)
        self.attach_mode = "preload" if allocator.preloaded else "hot-attach"
        self.patched_objects = int(allocator.stats().patched_objects)
        allocator.set_sampling(True)
        reached("setup.sampling_on")

    def pause(self) -> None:
        """Stop taking samples (frees of sampled blocks are still matched)."""
        if self._allocator is not None:
            self._allocator.set_sampling(False)

    def stop(self) -> None:
        """Detach and restore (after the last drain); idempotent, and marked
        done only once detached, so a stop interrupted inside the detach is
        finished by the retry."""
        allocator = self._allocator
        if allocator is None:
            return
        for tid in list(self._pending):
            self._settle(tid)  # a window's worth went by, or sampling ends
        try:
            allocator.set_sampling(False)
            stats = allocator.stats()
            self.buffer_overflow = int(stats.buffer_overflow)
            self.table_refused = int(stats.table_refused)
            self.invalid_stacks = int(stats.invalid_stacks)
            if self.buffer_overflow:
                self._forget_freed(allocator)
        finally:
            allocator.detach()
            self._allocator = None
            self.rss_end_mb = _rss_mb()

    @property
    def net_allocated_mb(self) -> float:
        """The run's net allocation: what its lines' ``malloc_mb`` add up to
        (so no line's or function's share of it exceeds 1)."""
        return sum(line.malloc_mb for line in self.lines.values())

    @property
    def net_mb(self) -> float:
        """Sampled memory still live at the end: allocated, less freed and untracked."""
        return self.allocated_mb - self.freed_mb - self.untracked_mb

    @property
    def growth_rate(self) -> float:
        """Percent of the run's sampled allocation volume it did not free."""
        if not self.allocated_mb:
            return 0.0
        return 100.0 * max(0.0, self.net_mb) / self.allocated_mb

    @property
    def coverage(self) -> float | None:
        """Sampled net growth over the process's resident-set growth, when it grew."""
        rss_growth = self.rss_end_mb - self.rss_start_mb
        if rss_growth < 8.0:
            return None
        return max(0.0, self.net_mb) / rss_growth

    def _forget_freed(self, allocator: NativeAllocator) -> None:
        """Records were lost: blocks the native table no longer holds were
        freed (their free record may have been among the lost), so they are
        not left to look like growth or leaks."""
        held = set(allocator.still_live(list(self._live)))
        now = time.perf_counter() - self.start_time
        for pointer in [p for p in self._live if p not in held]:
            self._free(pointer, now)

    def _in_profiler(self, stack: tuple[int, ...]) -> bool:
        """Whether this package's own code (the drain handler, whatever it
        calls) made the allocation: one of its frames comes before the
        innermost frame of the user's code."""
        if self._table is None:
            return False
        for position in range(0, len(stack), 2):
            info = self._table.lookup(stack[position])
            if info is None:
                continue
            if info.filename.startswith(_PACKAGE_DIR):
                return True
            if self._is_user_file(info.filename):
                return False
        return False

    def _site_of(self, stack: tuple[int, ...], boundary: CodeType | None, truncated: bool) -> Site | None:
        assert self._table is not None
        found = user_site(self._table, stack, self._is_user_file, boundary, truncated)
        if found is None:
            return None
        info, lasti = found
        return (info.filename, info.line_at(lasti)), function_key(info.code)

    def _user_line(self, frame: FrameType | None, boundary: CodeType | None) -> Site | None:
        found = user_frame(frame, self._is_user_file, boundary)
        if found is None:
            return None
        code = found.f_code
        return (code.co_filename, found.f_lineno or code.co_firstlineno), function_key(code)

    def _thread_lines(self) -> dict[int, Site | None]:
        by_ident = sys._current_frames()
        lines: dict[int, Site | None] = {}
        for thread in threading.enumerate():
            if thread.native_id is not None and thread.ident in by_ident:
                # Another thread's stack is not walked (frames.py): its
                # innermost frame, when that is the user's code.
                found = other_thread_user_frame(by_ident[thread.ident], self._is_user_file)
                lines[thread.native_id] = None if found is None else self._user_line(found, None)
        return lines

    def process(self, records: list[RawRecord], frame: FrameType | None) -> None:
        """Charge drained allocation, free and copy records (``frame``: where the
        main thread was when drained, used only for records without a stack)."""
        if not records:
            return
        if self._table is not None:
            for record in records:
                if record[2]:
                    self._table.resolve(record[12][0::2])
        # Companion fates by (code address, instruction), credited to lines
        # once per batch: a loop's companions come from a few instructions.
        fates: Fates = {}
        main_line: Site | None = None
        main_line_known = False
        other_lines: dict[int, Site | None] | None = None
        for kind, python, depth, flags, tid, size, pointer, time_ns, _c, block_bytes, _t, _p, stack, companions in records:
            mb = size / MB
            when = time_ns / 1e9 - self.start_time
            if kind == RECORD_FREE:
                self._freed_just_before[tid] = self._free(pointer, when)
                continue
            old_block = self._freed_just_before.pop(tid, 0)
            if kind == RECORD_ALLOC:
                if block_bytes < self.allocation_window:
                    self._settle(tid)  # a window's worth went by on this thread
                if companions and not (tid != self._main_tid and tid in self._baseline_tids):
                    gather_fates(companions, fates)
                if not flags & FLAG_REALLOC:
                    old_block = 0
            if tid != self._main_tid and tid in self._baseline_tids:
                self.excluded_mb += mb  # the kernel's own threads
                continue
            if depth and self._in_profiler(stack):
                self.profiler_mb += mb  # the drain handler's own, before it marks itself busy
                continue
            line: Site | None
            frames: Stack = ()
            if self.stacks is not None and depth and kind == RECORD_ALLOC:
                boundary = self._boundary if tid == self._main_tid else None
                frames = self.stacks.frames(stack, boundary, bool(flags & FLAG_TRUNCATED))
            if depth or (self._table is not None and not flags & FLAG_NO_FRAME):
                boundary = self._boundary if tid == self._main_tid else None
                line = self._site_of(stack, boundary, bool(flags & FLAG_TRUNCATED))
            elif tid == self._main_tid:
                if not main_line_known:
                    main_line, main_line_known = self._user_line(frame, self._boundary), True
                line = main_line
            else:
                if other_lines is None:
                    other_lines = self._thread_lines()
                line = other_lines.get(tid) or self._thread_last_line.get(tid)
                if line is not None:
                    self._thread_last_line[tid] = line
            if kind == RECORD_COPY:
                for target in self._targets(line):
                    target.copy_mb += mb
                continue
            if kind == RECORD_ALLOC:
                self._allocate(tid, line, pointer, mb, bool(python), when, bool(flags & FLAG_UNTRACKED), block_bytes, old_block, frames)
        if fates:
            self._credit_fates(fates)

    def _targets(self, site: Site | None) -> list[LineMemory]:
        """The line's accumulator and, inside a function, the function's."""
        if site is None:
            return []
        key, function = site
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = LineMemory()
        if function is None:
            return [line]
        total = self.functions.get(function)
        if total is None:
            total = self.functions[function] = FunctionMemory()
        if key not in total.members:
            total.members[key] = line
        return [line, total]

    def _allocate(
        self,
        tid: int,
        site: Site | None,
        pointer: int,
        mb: float,
        python: bool,
        now: float,
        untracked: bool,
        block_bytes: int,
        old_block: int,
        frames: Stack = (),
    ) -> None:
        """Charge one allocation sample (``old_block``: for a realloc whose old
        block was sampled, that block's size: as in Scalene, a realloc
        allocates only what it grows by)."""
        self.alloc_samples += 1
        self.allocated_mb += mb
        if python:
            self.python_mb += mb
        targets = self._targets(site)
        if not targets:
            self.unattributed_mb += mb
        for line in targets:
            line.churn_mb += mb
            line.mallocs += 1
        if old_block:
            self._count_net(targets, max(0.0, mb - old_block / MB), python, frames)
        elif block_bytes >= self.allocation_window or untracked:
            self._count_net(targets, mb, python, frames)  # counts at once, as it trips Scalene's sampler alone
        else:
            self._pending[tid] = Pending(pointer, targets, mb, python, frames, block_bytes < SMALL_BLOCK)
        if untracked:
            # Its free cannot be matched: allocated, never live.
            self.untracked_mb += mb
            for line in targets:
                line.frees += 1
            return
        if pointer in self._live:
            self._free(pointer, now)  # the address was freed and reused; its free record was lost
        self.footprint_mb += mb
        self._live[pointer] = (site, mb, block_bytes)
        for line in targets:
            line.current_mb += mb
            line.peak_mb = max(line.peak_mb, line.current_mb)
            line.footprint_sum += line.current_mb
            line.timeline.add(now, self.footprint_mb)
        if self.footprint_mb > self.max_footprint_mb:
            self.max_footprint_mb = self.footprint_mb
            self.max_footprint_line = site[0] if site else None
            self.max_footprint_python_fraction = self.python_mb / self.allocated_mb if self.allocated_mb else 0.0
        self._record_footprint(now)

    def _count_net(self, targets: list[LineMemory], mb: float, python: bool, frames: Stack) -> None:
        if self.stacks is not None:
            self.stacks.add_memory(frames, mb)
        for line in targets[:1]:  # the line only: a function's net is its lines' sum
            line.direct_mb += mb
            if python:
                line.direct_python_mb += mb

    def _settle(self, tid: int) -> None:
        """A thread's held-back sample met its next one (or sampling ended):
        its line's companions decide what share of a small block's sample
        counts; its own block, freed by then or not, decides for a larger
        one, for a line with too few companions and for --stacks."""
        pending = self._pending.pop(tid, None)
        if pending is None:
            return
        if not pending.small:
            if not pending.freed:
                self._count_net(pending.targets, pending.mb, pending.python, pending.frames)
            return
        if self.stacks is not None and not pending.freed:
            self.stacks.add_memory(pending.frames, pending.mb)
        for line in pending.targets[:1]:  # the line only, as in _count_net
            line.fated_mb += pending.mb
            if pending.python:
                line.fated_python_mb += pending.mb
            if not pending.freed:
                line.block_kept_mb += pending.mb
                if pending.python:
                    line.block_kept_python_mb += pending.mb

    def _credit_fates(self, fates: Fates) -> None:
        """Each companion's fate goes to the line it was allocated on (a line
        that has samples; code 0 or a frame outside the user's code is left out)."""
        table = self._table
        if table is not None:
            table.resolve(tuple({code for code, _ in fates if code}))
        for (code, lasti), (kept, tracked, count) in fates.items():
            info = table.lookup(code) if code and table is not None else None
            if info is None or not self._is_user_file(info.filename):
                continue
            line = self.lines.get((info.filename, info.line_at(lasti)))
            if line is not None:
                line.add_fates(kept, tracked, count)  # a function's net is its lines' sum

    def _free(self, pointer: int, now: float) -> int:
        """Match a sampled block's free; returns its size in bytes (0: not ours)."""
        for pending in self._pending.values():
            if pending.pointer == pointer:
                pending.freed = True
        entry = self._live.pop(pointer, None)
        if entry is None:
            return 0  # sampled before this run
        site, mb, block_bytes = entry
        self.freed_mb += mb
        self.footprint_mb -= mb
        for line in self._targets(site):
            line.frees += 1
            line.current_mb -= mb
        self._record_footprint(now)
        return block_bytes

    def _record_footprint(self, now: float) -> None:
        self.timeline.add(now, max(0.0, self.footprint_mb))


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, ValueError, IndexError):
        return 0.0
