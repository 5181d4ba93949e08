"""Hatch build hook: a wheel of scalene-lab carries the native allocator and
the built lab extension, so `pip install scalene-lab` needs nothing else.

For a wheel (from a checkout or from the sdist) this hook
- compiles the allocator library with the C++ compiler, from the sources and
  flags that native/binding.gyp names for node-gyp (one recipe for both), and
  puts it into the package as scalene_lab/scalene_lab_alloc.so;
- builds the lab extension (npm) unless a build newer than its sources is
  already there (dev/setup.sh leaves one), and ships it as shared data;
- tags the wheel for the platform the library needs: the library is loaded
  with ctypes, not imported, so one wheel serves every Python 3, and the
  manylinux tag comes from the newest glibc symbol version it links against.

Editable installs (dev/setup.sh) build nothing here: the source tree's own
builds are found where they are. A missing tool stops the build with one
line that names it. Where the allocator does not run (not Linux on x86-64 or
AArch64) the wheel is pure Python: CPU profiling only, as the kernel says.
"""

from __future__ import annotations

import ast
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROOT = Path(__file__).resolve().parent
LIBRARY = "scalene_lab_alloc.so"
LABEXTENSION = ROOT / "kernel-bridge" / "scalene_lab" / "labextension"
# What the lab extension is built from: a build older than any of these is stale.
EXTENSION_SOURCES = ("lab-extension/src", "lab-extension/style", "lab-extension/schema", "lab-extension/package.json", "schema")
# node-gyp's flags that make a warning fatal are for our CI; a user's compiler
# (another version, other warnings) must still be able to build the wheel.
_DEVELOPER_ONLY_FLAGS = {"-Werror"}


class BuildFailure(SystemExit):
    """Ends the build with one line that says what is missing."""

    def __init__(self, message: str) -> None:
        super().__init__(f"scalene-lab build: {message}")


class ScaleneLabBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the native library and the lab extension to wheels."""

    PLUGIN_NAME = "scalene-lab"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Build what a wheel needs and tell hatch where it is."""
        if self.target_name != "wheel" or version == "editable":
            return
        ensure_labextension()
        machine = platform.machine()
        if not sys.platform.startswith("linux") or machine not in ("x86_64", "aarch64"):
            # The kernel side still profiles CPU here (the signal-delay method)
            # and says why memory is off: a pure wheel is better than none.
            print(f"scalene-lab build: no native allocator for {sys.platform} {machine}: a wheel for CPU profiling only", file=sys.stderr)
            return
        self._scratch = tempfile.TemporaryDirectory(prefix="scalene-lab-native-")
        library = build_native(Path(self._scratch.name))
        build_data["force_include"][str(library)] = f"scalene_lab/{LIBRARY}"
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{manylinux_tag(library, machine)}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the compiled library's scratch directory once the wheel holds it."""
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            scratch.cleanup()


def _gyp(path: Path) -> dict[str, Any]:
    """binding.gyp as data (a Python literal with # comments)."""
    with path.open() as handle:
        tokens = [t for t in tokenize.generate_tokens(handle.readline) if t.type != tokenize.COMMENT]
    return ast.literal_eval(tokenize.untokenize(tokens))  # type: ignore[no-any-return]


def native_recipe() -> tuple[list[str], list[str], list[str]]:
    """(sources, compile flags, link flags) of the allocator as binding.gyp builds it."""
    gyp = _gyp(ROOT / "native" / "binding.gyp")
    target = next(t for t in gyp["targets"] if t["target_name"] == "scalene_lab_alloc")
    defaults = gyp.get("target_defaults", {})
    sources = [str(ROOT / "native" / s) for s in gyp["variables"]["library_sources"]]
    compile_flags = [f for f in defaults.get("cflags_cc", []) + target.get("cflags_cc", []) if f not in _DEVELOPER_ONLY_FLAGS]
    link_flags = defaults.get("ldflags", []) + target.get("ldflags", []) + target.get("libraries", [])
    return sources, compile_flags, link_flags


def build_native(out_dir: Path, compiler: str | None = None, extra_flags: Sequence[str] = ()) -> Path:
    """Compile the allocator library into ``out_dir``; its path. ``compiler``
    (else $CXX, else the system's) and ``extra_flags`` are for checks of the
    recipe itself (dev/cross_check.sh: a cross compiler and -Werror)."""
    wanted = compiler or os.environ.get("CXX")
    found = shutil.which(wanted) if wanted else shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if found is None:
        named = f"CXX={wanted} not found" if wanted else "none found: install g++ or set CXX"
        raise BuildFailure(f"a C++17 compiler is needed for the native allocator ({named})")
    sources, compile_flags, link_flags = native_recipe()
    out_dir.mkdir(parents=True, exist_ok=True)
    library = out_dir / LIBRARY
    # -static-libgcc: the library then needs only libc and libm (it uses no
    # C++ runtime: no exceptions, no RTTI, no allocation of its own).
    command = [found, "-shared", "-fPIC", *compile_flags, *extra_flags, *sources, "-o", str(library), *link_flags, "-static-libgcc"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise BuildFailure(f"compiling the native allocator failed ({Path(found).name} exited {result.returncode}; output above)")
    return library


def manylinux_tag(library: Path, machine: str) -> str:
    """The manylinux platform tag the library's glibc symbol versions allow."""
    readelf = shutil.which("readelf")
    if readelf is None:
        raise BuildFailure("readelf (binutils) is needed to tag the wheel for its glibc (none found)")
    versions = subprocess.run([readelf, "--version-info", "--wide", str(library)], capture_output=True, text=True, check=True).stdout
    needed = [tuple(int(p) for p in m.groups()) for m in re.finditer(r"Name: GLIBC_(\d+)\.(\d+)", versions)]
    major, minor = max(needed, default=(2, 17))
    return f"manylinux_{major}_{minor}_{machine}"


def _newest_source() -> float:
    newest = 0.0
    for name in EXTENSION_SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def ensure_labextension() -> None:
    """Build the lab extension unless a build newer than its sources exists."""
    built = LABEXTENSION / "package.json"
    if built.exists() and built.stat().st_mtime >= _newest_source():
        return
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise BuildFailure("Node.js 20+ with npm is needed to build the lab extension (node/npm not found on PATH)")
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    if not (ROOT / "node_modules").is_dir():
        _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], env, "npm ci")
    _run([npm, "run", "--silent", "build:prod", "--workspace", "lab-extension"], env, "building the lab extension")
    if not built.exists():
        raise BuildFailure(f"the lab extension build left no {built.relative_to(ROOT)}")


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise BuildFailure(f"{what} failed (exit {result.returncode}; output above)")
