"""Which lines of a source get a record in the profile.

The profile is saved in the notebook, so its size must follow what was
sampled, not how long the source is: a 20,000-line cell with three hot lines
gets records for those lines and a little context, and every run of lines
left out becomes one compact ``omitted_lines`` range that the viewers show as
a single "N lines without samples" row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# A cell that fits on a screen is listed whole, as the user sees it.
WHOLE_CELL_LINES = 40
# Unsampled lines listed on each side of a sampled line of a longer cell, so
# the hot line reads in its place (the loop header, the call before it).
CONTEXT_LINES = 2
# A run of unsampled lines shorter than this is listed: a summary row would
# take as much room as the lines themselves.
SHORTEST_GAP = 4


@dataclass
class LineWindow:
    """The line numbers that get records, and the inclusive ranges left out."""

    shown: list[int]
    omitted: list[tuple[int, int]]

    def omitted_records(self) -> list[dict[str, Any]]:
        """The ``omitted_lines`` entries of the file record (none were sampled)."""
        return [gap_record(first, last) for first, last in self.omitted]


def gap_record(first: int, last: int, sampled_lines: int = 0, percent: float = 0.0, malloc_mb: float = 0.0) -> dict[str, Any]:
    """One ``omitted_lines`` entry: lines ``first``..``last`` have no record.

    ``sampled_lines``, ``percent_cpu_time`` and ``n_malloc_mb`` say what the
    left-out lines held; they are zero unless the output cap (output_bounds.py)
    had to leave out lines that have samples.
    """
    return {
        "first": first,
        "last": last,
        "sampled_lines": sampled_lines,
        "percent_cpu_time": percent,
        "n_malloc_mb": malloc_mb,
    }


def choose_lines(line_count: int, sampled: Iterable[int], with_context: bool) -> LineWindow:
    """Pick the lines of a source of ``line_count`` lines to record.

    With ``with_context`` (cells, unless ``--reduced-profile``): a short cell
    whole; a longer one its sampled lines with ``CONTEXT_LINES`` either side,
    runs shorter than ``SHORTEST_GAP`` filled in. Without it (files, and
    ``--reduced-profile``): the sampled lines only, as Scalene's reduced profile.
    """
    hot = {n for n in sampled if n >= 1}
    if with_context and line_count <= WHOLE_CELL_LINES:
        return LineWindow(sorted(set(range(1, line_count + 1)) | hot), [])
    keep = set(hot)
    if with_context:
        for n in hot:
            keep.update(range(max(1, n - CONTEXT_LINES), min(line_count, n + CONTEXT_LINES) + 1))
    omitted = _runs_left_out(line_count, keep)
    if with_context:
        for first, last in [r for r in omitted if r[1] - r[0] + 1 < SHORTEST_GAP]:
            keep.update(range(first, last + 1))
        omitted = [r for r in omitted if r[1] - r[0] + 1 >= SHORTEST_GAP]
    return LineWindow(sorted(keep), omitted)


def _runs_left_out(line_count: int, keep: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start = 1
    for n in sorted(k for k in keep if k <= line_count):
        if n > start:
            runs.append((start, n - 1))
        start = max(start, n + 1)
    if start <= line_count:
        runs.append((start, line_count))
    return runs
