"""What every profiler adapter hands back: per-line figures of one script.

Each adapter turns its tool's own output into a table keyed by the script's
line numbers (1-based, the same numbers in the script file and in the cell),
so the error measures in ``bench/peer_errors.py`` never need to know which
tool produced the numbers.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

# BLAS and OpenMP pools start one thread per core. On a 2-core machine that
# turns a matrix product's CPU time into more than its wall time, and then no
# two tools' "native %" mean the same thing; every run (truths included)
# keeps native code on the calling thread.
SINGLE_THREADED = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every profiled or unprofiled run gets."""
    env = dict(os.environ)
    env.update(SINGLE_THREADED)
    env.pop("PYTHONPATH", None)
    if extra:
        env.update(extra)
    return env


class ToolUnavailable(Exception):
    """The tool could not produce this figure here; the message says why."""


@dataclass
class LineStats:
    """One script line as a tool reports it.

    CPU figures are in the tool's own units (percent of the run, or sample
    counts); only their ratios are compared. ``malloc_mb`` is MiB allocated.
    """

    python: float = 0.0
    native: float = 0.0
    system: float = 0.0
    malloc_mb: float = 0.0

    @property
    def total(self) -> float:
        """All the time the tool gave this line."""
        return self.python + self.native + self.system


@dataclass
class LineReport:
    """One profiled run of a script: its lines, and what the tool can tell."""

    lines: dict[int, LineStats] = field(default_factory=dict)
    # False for tools that only count samples (py-spy): their Python and
    # native time are one number, kept in ``python``.
    splits_native: bool = True
    wall_s: float = 0.0


def run_command(argv: list[str], cwd: str, timeout: float = 600) -> float:
    """Run ``argv`` to completion; return its wall seconds, or raise
    ToolUnavailable with the end of its output when it fails."""
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, cwd=cwd, env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except FileNotFoundError as missing:
        raise ToolUnavailable(f"not installed: {missing.filename}") from None
    except subprocess.TimeoutExpired:
        raise ToolUnavailable(f"{os.path.basename(argv[0])} ran past {timeout:.0f} s") from None
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = done.stdout.decode(errors="replace").strip().splitlines()[-3:]
        raise ToolUnavailable(f"{os.path.basename(argv[0])} exited {done.returncode}: {' / '.join(tail)}")
    return wall
