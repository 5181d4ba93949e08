"""memray: every allocation traced, summed per line of the script.

``memray run`` records each allocation with its Python stack; the reader
(``memray_lines.py``, run by the peers' interpreter, which has memray) sums
the bytes of every allocation whose innermost frame in the script is a line.
"""

from __future__ import annotations

import json
import os
import subprocess

from tools.common import LineReport, LineStats, ToolUnavailable, bench_env, run_command
from tools.peers_venv import PeerTools

READER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "memray_lines.py")


def profile(tools: PeerTools, script: str) -> LineReport:
    """Run the script under ``memray run``; MiB allocated per script line."""
    workdir = os.path.dirname(script)
    capture = os.path.join(workdir, "memray.bin")
    wall = run_command([tools.memray, "run", "-q", "-f", "-o", capture, script], cwd=workdir)
    done = subprocess.run([tools.python, READER, capture, script], env=bench_env(), capture_output=True)
    os.unlink(capture)
    if done.returncode != 0:
        raise ToolUnavailable(f"reading memray's capture failed: {done.stderr.decode(errors='replace')[-200:]}")
    report = LineReport(wall_s=wall, splits_native=False)
    for lineno, allocated in json.loads(done.stdout).items():
        report.lines[int(lineno)] = LineStats(malloc_mb=allocated / 2**20)
    return report


def timed(tools: PeerTools, script: str) -> float:
    """Wall seconds of one ``memray run`` (capture discarded)."""
    workdir = os.path.dirname(script)
    capture = os.path.join(workdir, "memray.bin")
    wall = run_command([tools.memray, "run", "-q", "-f", "-o", capture, script], cwd=workdir)
    if os.path.exists(capture):
        os.unlink(capture)
    return wall
