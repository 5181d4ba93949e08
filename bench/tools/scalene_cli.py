"""Scalene's own command line (`scalene run`), read from its JSON profile."""

from __future__ import annotations

import json
import os

from tools.common import LineReport, LineStats, ToolUnavailable, run_command
from tools.peers_venv import PeerTools


def profile(tools: PeerTools, script: str, options: list[str]) -> LineReport:
    """Run ``scalene run -o X.json OPTIONS script`` and return the script's lines."""
    workdir = os.path.dirname(script)
    outfile = os.path.join(workdir, "scalene-profile.json")
    if os.path.exists(outfile):
        os.unlink(outfile)
    wall = run_command([tools.scalene, "run", "-o", outfile, *options, script], cwd=workdir)
    if not os.path.exists(outfile):
        raise ToolUnavailable("scalene wrote no profile")
    with open(outfile) as handle:
        data = json.load(handle)
    os.unlink(outfile)
    report = LineReport(wall_s=wall)
    real = os.path.realpath(script)
    files = {path: entry for path, entry in data.get("files", {}).items() if os.path.realpath(path) == real}
    for entry in files.values():
        for line in entry["lines"]:
            report.lines[int(line["lineno"])] = LineStats(
                python=float(line["n_cpu_percent_python"]),
                native=float(line["n_cpu_percent_c"]),
                system=float(line["n_sys_percent"]),
                malloc_mb=float(line.get("n_malloc_mb", 0.0)),
            )
    return report


def timed(tools: PeerTools, script: str, options: list[str]) -> float:
    """Wall seconds of one ``scalene run`` of ``script`` (profile discarded)."""
    workdir = os.path.dirname(script)
    outfile = os.path.join(workdir, "scalene-profile.json")
    wall = run_command([tools.scalene, "run", "-o", outfile, *options, script], cwd=workdir)
    if os.path.exists(outfile):
        os.unlink(outfile)
    return wall
