"""py-spy, launched as the parent of the profiled interpreter.

py-spy reads another process's stacks through ptrace-like access; as the
parent of its child (``py-spy record -- python script.py``) it needs no extra
permission. Its raw (collapsed-stack) output has one line per distinct stack
with a count; a sample belongs to the line of the innermost frame that is in
the script. It has no Python/native split (without ``--native`` it cannot
see native frames at all), so it is compared on line attribution only.
"""

from __future__ import annotations

import os

from tools.common import LineReport, LineStats, ToolUnavailable, run_command
from tools.peers_venv import PeerTools


def _command(tools: PeerTools, script: str, outfile: str, options: list[str]) -> list[str]:
    return [tools.py_spy, "record", "--format", "raw", "--full-filenames", "-o", outfile, *options, "--", tools.python, script]


def profile(tools: PeerTools, script: str, rate: int) -> LineReport:
    """Sample ``script`` ``rate`` times a second; samples per script line."""
    workdir = os.path.dirname(script)
    outfile = os.path.join(workdir, "py-spy.txt")
    wall = run_command(_command(tools, script, outfile, ["--rate", str(rate)]), cwd=workdir)
    if not os.path.exists(outfile):
        raise ToolUnavailable("py-spy wrote no samples")
    report = LineReport(wall_s=wall, splits_native=False)
    real = os.path.realpath(script)
    with open(outfile) as handle:
        for row in handle:
            stack, _, count = row.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            for frame in reversed(stack.split(";")):
                # "function (path:line)"
                location = frame[frame.rfind("(") + 1 : -1]
                path, _, lineno = location.rpartition(":")
                if lineno.isdigit() and path and os.path.realpath(path) == real:
                    report.lines.setdefault(int(lineno), LineStats()).python += int(count)
                    break
    os.unlink(outfile)
    return report


def timed(tools: PeerTools, script: str) -> float:
    """Wall seconds of one py-spy run at its default rate (samples discarded)."""
    workdir = os.path.dirname(script)
    outfile = os.path.join(workdir, "py-spy.txt")
    wall = run_command(_command(tools, script, outfile, []), cwd=workdir)
    if os.path.exists(outfile):
        os.unlink(outfile)
    return wall
