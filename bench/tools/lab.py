"""scalene-lab itself: cells run through `%%scalene` in a real kernel.

The kernel is the project's own ``python3`` kernel (the .venv's), driven
over jupyter_client the way a notebook drives it. The profile comes from the
cell's display_data under the profile MIME type. The cell's first line is
the magic, so the cell's line n+1 is the script's line n; each line's text
is checked against the script so an off-by-one cannot pass silently.
"""

from __future__ import annotations

import queue
import time
from typing import Any

from jupyter_client.manager import KernelManager

from tools.common import LineReport, LineStats, ToolUnavailable, bench_env

PROFILE_MIME = "application/vnd.scalene.profile+json"


class LabKernel:
    """One kernel with scalene_lab loaded."""

    def __init__(self, cwd: str) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=cwd, env=bench_env())
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.run("%load_ext scalene_lab")

    def run(self, code: str, timeout: float = 600) -> list[dict[str, Any]]:
        """Execute one cell; return its display_data bundles (raise on error)."""
        msg_id = self.client.execute(code)
        displays: list[dict[str, Any]] = []
        error: str | None = None
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise ToolUnavailable(f"cell ran past {timeout:.0f} s") from None
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "display_data":
                displays.append(content["data"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        if error is not None:
            raise ToolUnavailable(f"the cell failed: {error}")
        return displays

    def timed(self, code: str) -> float:
        """Wall seconds from sending the cell to the kernel going idle (display included)."""
        started = time.perf_counter()
        self.run(code)
        return time.perf_counter() - started

    def profile(self, script_text: str, options: str) -> LineReport:
        """Profile ``script_text`` as a ``%%scalene OPTIONS`` cell."""
        started = time.perf_counter()
        displays = self.run(f"%%scalene {options}\n{script_text}")
        wall = time.perf_counter() - started
        profiles = [d[PROFILE_MIME] for d in displays if PROFILE_MIME in d]
        if len(profiles) != 1:
            raise ToolUnavailable(f"the cell showed {len(profiles)} profiles")
        profile = profiles[0]
        key = profile["notebook"]["profiled_source"]
        script_lines = script_text.splitlines()
        report = LineReport(wall_s=wall)
        for line in profile["files"][key]["lines"]:
            lineno = int(line["lineno"]) - 1  # the magic is the cell's line 1
            if lineno < 1:
                continue
            if line["line"].rstrip("\n") != script_lines[lineno - 1]:
                raise ToolUnavailable(f"cell line {lineno + 1} is not script line {lineno}")
            report.lines[lineno] = LineStats(
                python=float(line["n_cpu_percent_python"]),
                native=float(line["n_cpu_percent_c"]),
                system=float(line["n_sys_percent"]),
                malloc_mb=float(line["n_malloc_mb"]),
            )
        return report

    def close(self) -> None:
        """Shut the kernel down."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
