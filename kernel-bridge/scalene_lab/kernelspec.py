"""The "Python 3 (Scalene)" kernelspec: this Python, with the allocator preloaded."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from .allocator import DOCTOR_HINT, library_path, unsupported_reason

NAME = "scalene-python3"
DISPLAY_NAME = "Python 3 (Scalene)"


def spec(library: str) -> dict[str, Any]:
    """kernel.json for this interpreter with ``library`` preloaded."""
    return {
        "argv": [sys.executable, "-m", "scalene_lab.preload_kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "env": {"LD_PRELOAD": library},
        "metadata": {"debugger": True, "scalene_lab": {"preload": True}},
    }


def install(user: bool = False, prefix: str | None = None) -> str:
    """Install the kernelspec (into ``prefix``, the user's directory, or the system's)."""
    library = library_path()
    if library is None:
        raise RuntimeError(f"cannot install the preload kernel: {unsupported_reason()} ({DOCTOR_HINT})")
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        raise RuntimeError("installing a kernelspec needs jupyter_client (pip install jupyter_client)") from None
    with tempfile.TemporaryDirectory() as staging:
        with open(os.path.join(staging, "kernel.json"), "w") as handle:
            json.dump(spec(os.path.realpath(library)), handle, indent=1)
        destination: str = KernelSpecManager().install_kernel_spec(staging, NAME, user=user, prefix=prefix)
    return destination
