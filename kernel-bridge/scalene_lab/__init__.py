"""scalene-lab's kernel bridge: Scalene-class profiling inside a live IPython kernel.

``%load_ext scalene_lab`` registers the ``%scrun`` / ``%%scalene`` magics (the
JupyterLab extension does this silently in every Python kernel it starts).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    # One version source: lab-extension/package.json, read by the build.
    __version__ = version("scalene-lab")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


def load_ipython_extension(ipython: Any) -> None:
    """IPython entry point: register the magics and the cell-id listener."""
    from .extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """IPython entry point for ``%unload_ext scalene_lab``."""
    from .extension import unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt lab extension of this package."""
    return [{"src": "labextension", "dest": "scalene-lab"}]
