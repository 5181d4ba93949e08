"""Decides which source files count as "what the user wrote".

Samples are charged to the innermost frame whose file passes this filter, so
time spent in libraries and the standard library lands on the user line that
called into them (Scalene's rule), unless the options widen the net.
"""

from __future__ import annotations

import functools
import os
import sysconfig
from collections.abc import Callable, Iterable

from .options import ProfileOptions

# The kernel's own machinery never shows up as user code, whatever the options:
# it runs on behalf of every cell and is not what the user asked to profile.
_KERNEL_PACKAGES = (
    "scalene_lab",
    "scalene_lab_magics",
    "IPython",
    "ipykernel",
    "jupyter_client",
    "jupyter_core",
    "zmq",
    "tornado",
    "traitlets",
    "comm",
    "debugpy",
)


def _normalise(path: str) -> str:
    return os.path.normcase(os.path.realpath(path)) if path else path


@functools.lru_cache(maxsize=1)
def _system_roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(standard-library roots, third-party package roots) of this interpreter.

    Computed once per process: resolving the paths (a stat per component)
    cost a millisecond of every profiled cell, and an interpreter's install
    scheme does not change while it runs.
    """
    paths = sysconfig.get_paths()
    stdlib = {_normalise(paths[k]) for k in ("stdlib", "platstdlib") if k in paths}
    third = {_normalise(paths[k]) for k in ("purelib", "platlib") if k in paths}
    return tuple(sorted(stdlib)), tuple(sorted(third))


def _kernel_roots() -> tuple[str, ...]:
    import importlib.util

    locations: list[str] = []
    for name in _KERNEL_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            locations.extend(spec.submodule_search_locations)
    return _resolved_roots(tuple(locations))


@functools.lru_cache(maxsize=4)
def _resolved_roots(locations: tuple[str, ...]) -> tuple[str, ...]:
    # Keyed by the packages' locations, so a package installed or imported
    # later is still found, while each profiled cell stops paying a realpath
    # (a stat per path component) for each of them.
    return tuple(_normalise(p) + os.sep for p in locations)


class CodeFilter:
    """Caches, per filename, whether samples may be charged to that file."""

    def __init__(self, options: ProfileOptions, is_cell: Callable[[str], bool]) -> None:
        self._options = options
        self._is_cell = is_cell
        self._stdlib, self._third_party = _system_roots()
        self._kernel = _kernel_roots()
        self._cache: dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        """True when samples in ``filename`` are charged to it (hot path)."""
        try:
            return self._cache[filename]
        except KeyError:
            verdict = self._cache[filename] = self._decide(filename)
            return verdict

    def _decide(self, filename: str) -> bool:
        options = self._options
        if self._is_cell(filename):
            return True  # notebook cells are always what the user wrote
        if filename.startswith("<"):
            return False  # frozen modules, exec'd strings: there is no source to show
        path = _normalise(filename)
        if path.startswith(self._kernel):
            return False
        if _under(path, self._stdlib) and not _under(path, self._third_party):
            if not options.profile_system_libraries:
                return False
        elif _under(path, self._third_party) or _looks_installed(path):
            if not (options.profile_all or options.profile_system_libraries):
                return False
        return _matches_lists(filename, options)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in roots)


def _looks_installed(path: str) -> bool:
    parts = path.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts


def _matches_lists(filename: str, options: ProfileOptions) -> bool:
    if options.profile_only and not any(s in filename for s in options.profile_only):
        return False
    return not any(s in filename for s in options.profile_exclude)
