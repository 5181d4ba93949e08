"""The peers' own virtual environment: Scalene, py-spy and memray from PyPI.

It lives in ``bench/.peers-venv`` (ignored by git), is built from the same
base interpreter as the project's ``.venv`` (so every tool runs the same
CPython build and the same numpy as the kernel), and is rebuilt only when the
pins below change. Nothing in it is installed by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version

from tools.common import ToolUnavailable

# Versions checked to exist on PyPI (`pip index versions NAME`), newest at
# the time of writing. numpy follows the project's .venv, so the workloads'
# native code is the same build under every tool.
PINS = ["scalene==2.4.0", "py-spy==0.4.3", "memray==1.20.0"]

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PATH = os.path.join(HERE, ".peers-venv")


@dataclass
class PeerTools:
    """Paths of the peers' executables and of the venv's interpreter."""

    python: str
    scalene: str
    py_spy: str
    memray: str


def _requirements() -> list[str]:
    return [*PINS, f"numpy=={version('numpy')}"]


def ensure_peers_venv(path: str = DEFAULT_PATH) -> PeerTools:
    """Create or refresh the peers' venv; raise ToolUnavailable if pip fails."""
    bin_dir = os.path.join(path, "bin")
    tools = PeerTools(
        python=os.path.join(bin_dir, "python"),
        scalene=os.path.join(bin_dir, "scalene"),
        py_spy=os.path.join(bin_dir, "py-spy"),
        memray=os.path.join(bin_dir, "memray"),
    )
    wanted = "\n".join(_requirements()) + "\n"
    stamp = os.path.join(path, "bench-pins.txt")
    if os.path.exists(stamp) and open(stamp).read() == wanted and os.path.exists(tools.python):
        return tools
    # The base interpreter, not .venv's, so the new venv does not see .venv.
    base = getattr(sys, "_base_executable", sys.executable)
    print(f"setting up {path}: {' '.join(_requirements())}", file=sys.stderr)
    steps = [
        [base, "-m", "venv", "--clear", path],
        [tools.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *_requirements()],
    ]
    for argv in steps:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            tail = done.stdout.decode(errors="replace").strip().splitlines()[-3:]
            raise ToolUnavailable(f"setting up the peers' venv failed: {' / '.join(tail)}")
    with open(stamp, "w") as handle:
        handle.write(wanted)
    return tools
