"""A fake NVML (``libnvidia-ml.so.1``) for tests: build it, drive it, point a process at it.

The real ``nvidia-ml-py`` binding (``pynvml``) dlopen()s ``libnvidia-ml.so.1``;
a process started with :func:`fake_env` finds the library :func:`build_fake_nvml`
built instead, and that library reports what the scenario file says. The file
is re-read whenever it changes, so a test (or a cell in a profiled kernel, via
:data:`KERNEL_SNIPPET`) changes what the "GPU" reports mid-run. README.md has
the scenario format.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "KERNEL_SNIPPET",
    "LIBRARY_NAME",
    "SCENARIO_ENV",
    "Device",
    "FakeNvmlBuildError",
    "Scenario",
    "build_fake_nvml",
    "fake_env",
]

LIBRARY_NAME = "libnvidia-ml.so.1"
SCENARIO_ENV = "FAKE_NVML_SCENARIO"
SOURCE = pathlib.Path(__file__).with_name("fake_nvml.c")
FLAGS = ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", f"-Wl,-soname,{LIBRARY_NAME}"]

DEFAULT_NAME = "NVIDIA Fake GPU"
DEFAULT_DRIVER = "560.35.03"
DEFAULT_MEMORY_TOTAL_MIB = 81920.0


class FakeNvmlBuildError(RuntimeError):
    """The fake library could not be built (no C compiler, or it failed)."""


def build_fake_nvml(directory: pathlib.Path) -> pathlib.Path:
    """Compile fake_nvml.c into ``directory/libnvidia-ml.so.1``; return ``directory``.

    The compiler is ``$CC`` or ``cc``. A build from the same source and flags
    already there is reused (a stamp file holds their hash), so a session-wide
    directory builds once. Raises :class:`FakeNvmlBuildError` when there is no
    compiler or the build fails.
    """
    compiler = shlex.split(os.environ.get("CC") or "cc")
    if not compiler or shutil.which(compiler[0]) is None:
        raise FakeNvmlBuildError(f"no C compiler: {compiler[0] if compiler else '$CC'!r} is not on PATH; the fake NVML is built from C")
    directory.mkdir(parents=True, exist_ok=True)
    library = directory / LIBRARY_NAME
    stamp = directory / (LIBRARY_NAME + ".sha256")
    digest = hashlib.sha256(SOURCE.read_bytes() + "\0".join(compiler + FLAGS).encode()).hexdigest()
    if library.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return directory
    # Built under a temporary name and renamed: a process loading the library
    # meanwhile sees the old one or the new one, never half of one.
    fd, partial = tempfile.mkstemp(prefix=".fake-nvml-", suffix=".so", dir=directory)
    os.close(fd)
    try:
        done = subprocess.run([*compiler, *FLAGS, "-o", partial, str(SOURCE)], capture_output=True, text=True)
        if done.returncode != 0:
            raise FakeNvmlBuildError(f"building the fake NVML failed ({done.returncode}):\n{done.stderr}")
        os.replace(partial, library)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    stamp.write_text(digest + "\n")
    return directory


def fake_env(directory: os.PathLike[str] | str, scenario_path: os.PathLike[str] | str) -> dict[str, str]:
    """The environment additions that make a new process load the fake with this scenario.

    ``directory`` (from :func:`build_fake_nvml`) goes first on ``LD_LIBRARY_PATH``
    (this process's value kept after it). The loader reads ``LD_LIBRARY_PATH``
    when a process starts, so these apply to a child: ``{**os.environ, **fake_env(...)}``.
    """
    inherited = os.environ.get("LD_LIBRARY_PATH")
    library_path = os.fspath(directory) + (os.pathsep + inherited if inherited else "")
    return {"LD_LIBRARY_PATH": library_path, SCENARIO_ENV: os.fspath(scenario_path)}


@dataclass(frozen=True)
class Device:
    """What one device reports differently from the rest (``Scenario.write(per_device=...)``).

    ``None`` keeps the scenario-wide value. ``processes`` maps pid to MiB in use
    on this device; ``accounting_utilization`` pid to accounting GPU %; ``fail``
    an NVML entry point name to the error code it returns for this device.
    """

    name: str | None = None
    memory_total_mib: float | None = None
    utilization: float | None = None
    memory_utilization: float | None = None
    accounting: bool | None = None
    processes: Mapping[int, float] = field(default_factory=dict)
    accounting_utilization: Mapping[int, float] = field(default_factory=dict)
    fail: Mapping[str, int] = field(default_factory=dict)


class Scenario:
    """The scenario file the fake reads: written whole and atomically, so no read sees half."""

    def __init__(self, path: os.PathLike[str] | str) -> None:
        self.path = pathlib.Path(path)

    @staticmethod
    def text(
        *,
        devices: int = 1,
        name: str = DEFAULT_NAME,
        driver: str = DEFAULT_DRIVER,
        memory_total_mib: float = DEFAULT_MEMORY_TOTAL_MIB,
        utilization: float = 0.0,
        memory_utilization: float = 0.0,
        processes: Mapping[int, float] | None = None,
        accounting: bool = False,
        accounting_utilization: Mapping[int, float] | None = None,
        fail: Mapping[str, int] | None = None,
        per_device: Mapping[int, Device] | None = None,
    ) -> str:
        """The scenario file's text.

        ``utilization`` and ``memory_utilization`` are percentages for every
        device; ``processes`` maps pid to MiB in use on device 0;
        ``accounting_utilization`` maps pid to the accounting GPU % on every
        device; ``fail`` maps an NVML entry point name to the error code it
        returns. ``per_device`` overrides any of these for one device.
        """
        lines = [
            f"devices {devices}",
            f"name {name}",
            f"driver {driver}",
            f"memory_total_mib {memory_total_mib!r}",
            f"utilization {float(utilization)!r} {float(memory_utilization)!r}",
            f"accounting {'on' if accounting else 'off'}",
        ]
        lines += [f"process {pid} {float(mib)!r}" for pid, mib in (processes or {}).items()]
        lines += [f"accounting_utilization {pid} {float(gpu)!r}" for pid, gpu in (accounting_utilization or {}).items()]
        lines += [f"fail {function} {code}" for function, code in (fail or {}).items()]
        for index, device in sorted((per_device or {}).items()):
            at = f"@{index}"
            if device.name is not None:
                lines.append(f"name{at} {device.name}")
            if device.memory_total_mib is not None:
                lines.append(f"memory_total_mib{at} {device.memory_total_mib!r}")
            if device.utilization is not None or device.memory_utilization is not None:
                gpu = utilization if device.utilization is None else device.utilization
                memory = memory_utilization if device.memory_utilization is None else device.memory_utilization
                lines.append(f"utilization{at} {float(gpu)!r} {float(memory)!r}")
            if device.accounting is not None:
                lines.append(f"accounting{at} {'on' if device.accounting else 'off'}")
            lines += [f"process{at} {pid} {float(mib)!r}" for pid, mib in device.processes.items()]
            lines += [f"accounting_utilization{at} {pid} {float(gpu)!r}" for pid, gpu in device.accounting_utilization.items()]
            lines += [f"fail{at} {function} {code}" for function, code in device.fail.items()]
        return "".join(line + "\n" for line in lines)

    def write(
        self,
        *,
        devices: int = 1,
        name: str = DEFAULT_NAME,
        driver: str = DEFAULT_DRIVER,
        memory_total_mib: float = DEFAULT_MEMORY_TOTAL_MIB,
        utilization: float = 0.0,
        memory_utilization: float = 0.0,
        processes: Mapping[int, float] | None = None,
        accounting: bool = False,
        accounting_utilization: Mapping[int, float] | None = None,
        fail: Mapping[str, int] | None = None,
        per_device: Mapping[int, Device] | None = None,
    ) -> None:
        """Replace the file with :meth:`text` of these arguments (temporary file, then ``os.replace``)."""
        self.write_text(
            Scenario.text(
                devices=devices,
                name=name,
                driver=driver,
                memory_total_mib=memory_total_mib,
                utilization=utilization,
                memory_utilization=memory_utilization,
                processes=processes,
                accounting=accounting,
                accounting_utilization=accounting_utilization,
                fail=fail,
                per_device=per_device,
            )
        )

    def write_text(self, text: str) -> None:
        """Replace the file with ``text`` atomically (for directives :meth:`text` does not make)."""
        fd, partial = tempfile.mkstemp(prefix=".scenario-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(partial, self.path)
        except BaseException:
            os.unlink(partial)
            raise

    def remove(self) -> None:
        """Delete the file: the fake then reports no devices. No error if it is already gone."""
        self.path.unlink(missing_ok=True)


# Exec'd in a kernel started with fake_env(); stdlib only, since the kernel
# may not see this package. It defines set_gpu(utilization, mib): the GPU is
# that busy, and the kernel's own process uses that much of it (what the GPU
# sampler under test reads); accounting=True also turns accounting on with
# that utilization as the kernel's per-process figure. clear_gpu() removes the
# scenario (no GPU).
KERNEL_SNIPPET = """
def set_gpu(utilization, mib, *, accounting=False, devices=1):
    import os as _os, tempfile as _tempfile
    _path = _os.environ["FAKE_NVML_SCENARIO"]
    _pid = _os.getpid()
    _lines = [
        f"devices {int(devices)}",
        f"utilization {float(utilization)!r}",
        f"process {_pid} {float(mib)!r}",
        f"accounting {'on' if accounting else 'off'}",
    ]
    if accounting:
        _lines.append(f"accounting_utilization {_pid} {float(utilization)!r}")
    _fd, _partial = _tempfile.mkstemp(prefix=".scenario-", dir=_os.path.dirname(_os.path.abspath(_path)))
    with _os.fdopen(_fd, "w") as _handle:
        _handle.write("".join(_line + "\\n" for _line in _lines))
    _os.replace(_partial, _path)


def clear_gpu():
    import os as _os
    try:
        _os.unlink(_os.environ["FAKE_NVML_SCENARIO"])
    except FileNotFoundError:
        pass
"""
