"""Entry point of the "Python 3 (Scalene)" kernel (kernelspec ``scalene-python3``).

The kernelspec starts this module with the native allocator in LD_PRELOAD,
so memory is sampled from the first allocation on. The library is taken out
of the kernel's own environment before anything else runs: processes the
kernel starts (``!pip``, subprocess, multiprocessing spawns) are not affected.
"""

from __future__ import annotations

import os

from .allocator import _LIBRARY


def remove_from_preload(environ: os._Environ[str]) -> None:
    """Drop the allocator from ``LD_PRELOAD`` (and the variable if it empties)."""
    entries = [e for e in environ.get("LD_PRELOAD", "").replace(":", " ").split() if not e.endswith(_LIBRARY)]
    if entries:
        environ["LD_PRELOAD"] = " ".join(entries)
    else:
        environ.pop("LD_PRELOAD", None)


def main() -> None:
    """Start an ipykernel with the preloaded allocator."""
    remove_from_preload(os.environ)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
