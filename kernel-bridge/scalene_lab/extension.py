"""Loading and unloading scalene-lab in an IPython shell."""

from __future__ import annotations

from typing import Any

from .sources import CellRegistry

# One registry per process: it learns cell ids from IPython's run events.
registry = CellRegistry()


def load(ipython: Any) -> None:
    """Register the magics and the cell-id listeners (idempotent)."""
    from scalene_lab_magics import register_magics

    register_magics(ipython)
    events = ipython.events
    for name, callback in (("pre_run_cell", registry.pre_run_cell), ("post_run_cell", registry.post_run_cell)):
        if callback not in events.callbacks[name]:
            events.register(name, callback)


def unload(ipython: Any) -> None:
    """Remove what :func:`load` added."""
    events = ipython.events
    for name, callback in (("pre_run_cell", registry.pre_run_cell), ("post_run_cell", registry.post_run_cell)):
        if callback in events.callbacks[name]:
            events.unregister(name, callback)
    from scalene_lab_magics import unregister_magics

    unregister_magics(ipython)
