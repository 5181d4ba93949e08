"""How far a tool's report is from the measured truth, one number per column.

- line attribution: percentage points. A line's share is its time over the
  time of the loop's own lines (its `for` line and body), so set-up lines
  (an `import numpy` in a script) weigh nothing; the error of a run is the
  largest |share - truth| over the body lines.
- native share: percentage points. A region's native share is its native
  time over its on-CPU time (Python + native); the error of a run is the
  largest |share - truth| over the regions.
- allocation line: percent. |reported MiB - truth| / truth on each
  allocating line; the error of a run is the largest.
"""

from __future__ import annotations

from peer_workloads import NATIVE_REGIONS, AblationLoop
from tools.common import LineReport, LineStats


def _line(report: LineReport, lineno: int) -> LineStats:
    return report.lines.get(lineno, LineStats())


def line_shares(report: LineReport, workload: AblationLoop) -> dict[int, float]:
    """Percent of the loop's time the tool gave each body line."""
    loop_lines = [workload.for_lineno, *workload.body_linenos]
    loop_total = sum(_line(report, n).total for n in loop_lines)
    if loop_total <= 0:
        return {n: 0.0 for n in workload.body_linenos}
    return {n: 100.0 * _line(report, n).total / loop_total for n in workload.body_linenos}


def line_error(report: LineReport, workload: AblationLoop, truths: dict[int, float]) -> tuple[float, dict[int, float]]:
    """(largest error in points over the body lines, the shares)."""
    shares = line_shares(report, workload)
    return max(abs(shares[n] - truths[n]) for n in truths), shares


def native_shares(report: LineReport) -> dict[str, float]:
    """Native percent of each region's on-CPU time as the tool reports it."""
    shares: dict[str, float] = {}
    for name, ((first, last), _swap) in NATIVE_REGIONS.items():
        rows = [_line(report, n) for n in range(first, last + 1)]
        on_cpu = sum(r.python + r.native for r in rows)
        shares[name] = 100.0 * sum(r.native for r in rows) / on_cpu if on_cpu > 0 else float("nan")
    return shares


def native_error(report: LineReport, truths: dict[str, float]) -> tuple[float, dict[str, float]]:
    """(largest error in points over the regions, the shares); a region the
    tool gave no CPU time at all counts as 100 points off."""
    shares = native_shares(report)
    errors = [abs(shares[n] - truths[n]) if shares[n] == shares[n] else 100.0 for n in truths]
    return max(errors), shares


def allocation_error(report: LineReport, truths: dict[int, float]) -> tuple[float, dict[int, float]]:
    """(largest relative error in percent over the allocating lines, the MiB reported)."""
    reported = {n: _line(report, n).malloc_mb for n in truths}
    return max(100.0 * abs(reported[n] - truths[n]) / truths[n] for n in truths), reported
