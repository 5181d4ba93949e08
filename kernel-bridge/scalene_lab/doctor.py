"""``scalene-lab doctor``: what works in this environment, and for what does
not, why and what to do.

One function per check, each returning one :class:`Finding`. Nothing here
attaches the allocator, starts a kernel or a server, or imports JupyterLab
(importing it takes seconds): versions come from package metadata, and the
kernelspec, the lab extension and its page config are read from disk where
Jupyter itself finds them.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from . import __version__, allocator
from .kernelspec import DISPLAY_NAME, NAME

LIBRARY = "native library"
PLATFORM = "platform"
EXACT_CPU = "exact CPU sampling"
HOT_ATTACH = "memory profiling by hot-attach"
PRELOAD_KERNEL = "preload kernel"
LAB_EXTENSION = "lab extension"
JUPYTERLAB = "JupyterLab"
NOTEBOOK = "Notebook"
GPU = "GPU"
GPU_PROFILING = "GPU profiling"
VALIDATION = "profile validation"

LAB_EXTENSION_NAME = "scalene-lab"
_WHEEL_REINSTALL = "pip install --force-reinstall --only-binary scalene-lab scalene-lab"
_KERNELSPEC_INSTALL = "scalene-lab kernelspec install"
_KERNEL = f'"{DISPLAY_NAME}" ({NAME})'
_NEEDS_LIBRARY = f"needs the native library, which is not available here (see the {LIBRARY} line)"


class Finding(NamedTuple):
    """One line of the report: what was checked, whether it works, and the details."""

    item: str
    ok: bool
    detail: str

    def line(self) -> str:
        """``ok   item: detail`` or ``no   item: detail``."""
        return f"{'ok' if self.ok else 'no':<4} {self.item}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        """The finding as ``{"item", "ok", "detail"}``."""
        return {"item": self.item, "ok": self.ok, "detail": self.detail}


# -- this package and interpreter -----------------------------------------------


def check_version() -> Finding:
    """scalene-lab's version, and whether it runs from a source checkout or an installation."""
    package = os.path.dirname(os.path.abspath(__file__))
    root = allocator.source_checkout()
    where = f"source checkout {root}" if root is not None else f"installed at {package}"
    return Finding("scalene-lab", True, f"{__version__} ({where})")


def check_python() -> Finding:
    """The interpreter: version, implementation, whether the GIL is on, and where it is."""
    build = platform.python_implementation()
    if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
        build += ", free-threaded"
    return Finding("Python", True, f"{platform.python_version()} ({build}) at {sys.executable}")


def check_platform() -> Finding:
    """Operating system, machine and C library, against what the native library supports."""
    libc, libc_version = platform.libc_ver()
    detail = f"{platform.system()} {platform.machine()}, {libc or 'unknown C library'} {libc_version}".rstrip()
    reason = allocator.platform_reason()
    if reason is not None:
        detail += f"; {reason}: the native library is built for {allocator.SUPPORTED_PLATFORMS} only"
    return Finding(PLATFORM, reason is None, detail)


# -- the native library -----------------------------------------------------------


def check_library() -> Finding:
    """Where the native allocator library is and whether it loads, or why there is none and what to do."""
    reason = allocator.platform_reason()
    if reason is not None:
        return Finding(LIBRARY, False, f"{reason}; CPU profiling still works (lines placed by the signal-delay method)")
    path = allocator.library_path()
    if path is None:
        return Finding(LIBRARY, False, _missing_library_detail())
    problem = load_problem(path)
    if problem is not None:
        return Finding(LIBRARY, False, f"{path} does not load: {problem}; {_replace_library_advice()}")
    return Finding(LIBRARY, True, f"{path} ({_library_origin(path)}; loads)")


def load_problem(path: str) -> str | None:
    """Why the library at ``path`` does not load into this process, or None.

    Loading runs none of its hooks: with RTLD_LOCAL its malloc family stays out
    of the process's symbol scope (it only takes over when preloaded), and
    nothing is patched until ``sl_attach``, which is never called here. It is
    never unloaded either, as NativeAllocator loads it (a hook might be running).
    """
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_LOCAL | getattr(os, "RTLD_NODELETE", 0))
    except OSError as problem:
        return str(problem).removeprefix(f"{path}: ")  # the loader names the file too
    missing = [name for name in allocator.SIGNATURES if not hasattr(lib, name)]
    if missing:
        return f"it lacks {', '.join(missing)} (a build of another scalene-lab version)"
    allocator.declare_signatures(lib)
    lib.sl_attached()  # a query that touches the library's state without changing it
    return None


def _missing_library_detail() -> str:
    """Why there is no library, with the remedy for this kind of installation."""
    if os.environ.get("SCALENE_LAB_ALLOCATOR"):
        return f"{allocator.missing_library_reason()}; unset it, or point it at a built scalene_lab_alloc.so"
    if allocator.build_hint() is not None:
        return allocator.missing_library_reason()
    package = os.path.dirname(os.path.abspath(__file__))
    return (
        f"no scalene_lab_alloc.so in {package}: the scalene-lab wheel installed for this platform has none "
        f"(the wheels with it are for {allocator.SUPPORTED_PLATFORMS}); reinstall from a wheel: {_WHEEL_REINSTALL}"
    )


def _replace_library_advice() -> str:
    """What to do about a library that is there but does not load."""
    if os.environ.get("SCALENE_LAB_ALLOCATOR"):
        return "point SCALENE_LAB_ALLOCATOR at a build of this version, or unset it"
    hint = allocator.build_hint()
    return f"rebuild it ({hint})" if hint is not None else f"reinstall: {_WHEEL_REINSTALL}"


def _library_origin(path: str) -> str:
    """How library_path() came to this library, in words."""
    if os.environ.get("SCALENE_LAB_ALLOCATOR"):
        return "from $SCALENE_LAB_ALLOCATOR"
    package = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    if os.path.dirname(os.path.realpath(path)) == package:
        return "inside the package"
    if allocator.source_checkout() is not None:
        return "built in this source checkout"
    return "already loaded into this process"


def check_exact_cpu() -> Finding:
    """Whether the native frame reader places CPU samples exactly in this interpreter."""
    # The very code a profiled run uses, so the verdict is the run's.
    from .code_table import CodeTable
    from .session import _exact_reason, _native

    native, reason = _native()
    if native is not None:
        reason = _exact_reason(native, CodeTable())
    if reason is None:
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return Finding(EXACT_CPU, True, f"available (the frame reader's Python {version} layout checked against this stack)")
    if native is None:
        reason = _NEEDS_LIBRARY  # the library line says why and what to do
    return Finding(EXACT_CPU, False, f"{reason}; CPU profiling still works, with lines placed by the signal-delay method")


def check_hot_attach() -> Finding:
    """Whether ``--memory`` (the default) can attach the allocator to a running kernel."""
    from .session import _free_signal, _native

    native, _ = _native()
    if native is None:
        return Finding(HOT_ATTACH, False, f"{_NEEDS_LIBRARY}; cells are profiled for CPU only")
    if _free_signal(native) is None:
        return Finding(HOT_ATTACH, False, "no free real-time signal for the drain (other code handles them all)")
    return Finding(HOT_ATTACH, True, f"available (library {allocator.library_path()}); --memory is on by default")


# -- Jupyter ------------------------------------------------------------------------


def check_preload_kernel(spec_dir: str | None = None) -> Finding:
    """The "Python 3 (Scalene)" kernelspec: installed, and preloading a library that exists and is this package's.

    ``spec_dir`` checks that kernelspec directory instead of the one Jupyter finds."""
    if spec_dir is None:
        try:
            from jupyter_client.kernelspec import KernelSpecManager
        except ImportError:
            return Finding(PRELOAD_KERNEL, False, "jupyter_client is not installed, so no kernel can start (pip install jupyterlab)")
        spec_dir = KernelSpecManager().find_kernel_specs().get(NAME)
        if spec_dir is None:
            needs = allocator.unsupported_reason()
            if needs is not None:
                return Finding(PRELOAD_KERNEL, False, f"{_KERNEL} is not installed, and it needs the native library ({needs})")
            return Finding(PRELOAD_KERNEL, False, f"{_KERNEL} is not installed; install it: {_KERNELSPEC_INSTALL} --sys-prefix (or --user)")
    problem = kernelspec_problem(spec_dir)
    if problem is not None:
        return Finding(PRELOAD_KERNEL, False, f"{_KERNEL} is broken at {spec_dir}: {problem}; reinstall it: {_reinstall_command(spec_dir)}")
    return Finding(PRELOAD_KERNEL, True, f"{_KERNEL} installed at {spec_dir}, {_preload_summary(spec_dir)}")


def kernelspec_problem(spec_dir: str) -> str | None:
    """What is wrong with the preload kernelspec in ``spec_dir``, or None."""
    try:
        with open(os.path.join(spec_dir, "kernel.json"), encoding="utf-8") as handle:
            spec = json.load(handle)
        argv, library = spec["argv"], spec.get("env", {}).get("LD_PRELOAD")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as problem:
        return f"kernel.json cannot be read ({problem})"
    if not argv or not os.path.exists(str(argv[0])):
        return f"its Python {argv[0] if argv else '(none)'} does not exist"
    if not library:
        return "kernel.json sets no LD_PRELOAD"
    if not os.path.exists(str(library)):
        return f"LD_PRELOAD points at {library}, which does not exist"
    ours = allocator.library_path()
    # Only this interpreter's kernelspec has to preload this package's
    # library; one installed for another Python preloads that one's.
    if _same_interpreter(str(argv[0])) and ours is not None and os.path.realpath(ours) != os.path.realpath(str(library)):
        return f"LD_PRELOAD points at {library}, not at this package's library {ours}"
    return None


def _same_interpreter(executable: str) -> bool:
    # Not realpath: every virtual environment's python links to the same base interpreter.
    return os.path.abspath(executable) == os.path.abspath(sys.executable)


def _preload_summary(spec_dir: str) -> str:
    """Which library a sound kernelspec preloads, and whether it is this package's."""
    with open(os.path.join(spec_dir, "kernel.json"), encoding="utf-8") as handle:
        spec = json.load(handle)
    library, executable = spec["env"]["LD_PRELOAD"], spec["argv"][0]
    if not _same_interpreter(executable):
        return f"for another Python ({executable}), preloading {library}"
    return f"preloading {library} (this package's library)"


def _reinstall_command(spec_dir: str) -> str:
    """The install command that writes over ``spec_dir`` (so no other copy shadows the fix)."""
    suffix = os.path.join("share", "jupyter", "kernels", NAME)
    where = os.path.realpath(spec_dir)
    try:
        from jupyter_core.paths import jupyter_data_dir

        if where == os.path.realpath(os.path.join(jupyter_data_dir(), "kernels", NAME)):
            return f"{_KERNELSPEC_INSTALL} --user"
    except ImportError:
        pass
    if where.endswith(os.sep + suffix):
        prefix = where[: -len(suffix) - 1]
        if prefix == os.path.realpath(sys.prefix):
            return f"{_KERNELSPEC_INSTALL} --sys-prefix"
        return f"{_KERNELSPEC_INSTALL} --prefix {prefix}"
    return f"remove {spec_dir}, then {_KERNELSPEC_INSTALL} --sys-prefix (or --user)"


def check_lab_extension() -> Finding:
    """The prebuilt lab extension: found where JupyterLab looks, its version, and enabled or not."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return Finding(LAB_EXTENSION, False, "jupyter_core is not installed, so neither is JupyterLab (pip install jupyterlab)")
    places = jupyter_path("labextensions")
    found = next((os.path.join(place, LAB_EXTENSION_NAME) for place in places if _has_package_json(place)), None)
    if found is None:
        return Finding(LAB_EXTENSION, False, f"not found in JupyterLab's labextension paths ({', '.join(places)}); {_lab_extension_advice()}")
    problem, version = _lab_extension_package(found)
    if problem is not None:
        return Finding(LAB_EXTENSION, False, f"{found}: {problem}; {_lab_extension_advice()}")
    where = f"{version} at {found}" + (f" (linked to {os.path.realpath(found)})" if os.path.islink(found) else "")
    if not same_version(version, __version__):
        return Finding(LAB_EXTENSION, False, f"{where}, but this package is {__version__}; {_lab_extension_advice()}")
    if importlib.util.find_spec("jupyterlab") is None:
        return Finding(LAB_EXTENSION, False, f"{where}, but JupyterLab not installed in this environment (pip install jupyterlab)")
    return _judge_enabled(where, disabled_extensions())


def same_version(npm: str, python: str) -> bool:
    """Whether an npm version and a Python one are the same release: the
    build derives the Python version from package.json, writing a prerelease
    such as ``0.2.0-alpha.1`` the PEP 440 way (``0.2.0a1``)."""
    marks = {"alpha": "a", "beta": "b", "rc": "rc"}
    converted = re.sub(r"-(alpha|beta|rc)\.?", lambda found: marks[found.group(1)], npm.strip().lower())
    return converted == python.strip().lower()


def _has_package_json(place: str) -> bool:
    return os.path.isfile(os.path.join(place, LAB_EXTENSION_NAME, "package.json"))


def _lab_extension_package(found: str) -> tuple[str | None, str]:
    """(what is wrong with the extension's package.json or None, its version)."""
    try:
        with open(os.path.join(found, "package.json"), encoding="utf-8") as handle:
            package = json.load(handle)
        version = str(package["version"])
    except (OSError, ValueError, KeyError, TypeError) as problem:
        return f"package.json cannot be read ({problem})", ""
    # JupyterLab skips a federated extension whose package.json has no build record.
    if "_build" not in package.get("jupyterlab", {}):
        return "package.json has no jupyterlab._build (not a built extension)", version
    return None, version


def _lab_extension_advice() -> str:
    hint = allocator.build_hint()
    if hint is not None:
        return hint  # the developer set-up builds and links the extension
    return "reinstall: pip install --force-reinstall scalene-lab (its wheel puts the extension under share/jupyter/labextensions)"


def disabled_extensions() -> dict[str, bool] | None:
    """JupyterLab's ``disabledExtensions`` page config, merged over every
    Jupyter config directory as JupyterLab merges it; None when unknown."""
    try:
        from jupyter_server.services.config.manager import ConfigManager
    except ImportError:
        return None
    # The lookup jupyterlab_server makes for the page config (ConfigManager's get is untyped).
    manager: Any = ConfigManager(config_dir_name="labconfig")
    page_config = manager.get("page_config")
    disabled = page_config.get("disabledExtensions", {}) if isinstance(page_config, dict) else {}
    if isinstance(disabled, list):  # the older form: a list of names
        disabled = {name: True for name in disabled}
    return {str(name): bool(value) for name, value in disabled.items()} if isinstance(disabled, dict) else {}


def _judge_enabled(where: str, disabled: dict[str, bool] | None) -> Finding:
    """The lab extension finding, given the page config's disabled extensions."""
    if disabled is None:
        return Finding(LAB_EXTENSION, True, f"{where}; enabled or not is unknown (jupyter_server not installed)")
    if disabled.get(LAB_EXTENSION_NAME):
        return Finding(LAB_EXTENSION, False, f"{where}, disabled; enable it: jupyter labextension enable {LAB_EXTENSION_NAME}")
    plugins = sorted(name for name, off in disabled.items() if off and name.startswith(LAB_EXTENSION_NAME + ":"))
    state = f"enabled, but these plugins are disabled: {', '.join(plugins)}" if plugins else "enabled"
    return Finding(LAB_EXTENSION, True, f"{where}, {state}")


def check_jupyterlab() -> Finding:
    """JupyterLab's version, or that it is not installed."""
    version = _distribution_version("jupyterlab")
    if version is None:
        return Finding(JUPYTERLAB, False, "JupyterLab not installed in this environment (pip install jupyterlab)")
    return Finding(JUPYTERLAB, True, version)


def check_notebook() -> Finding:
    """Notebook's version; only Notebook 7 and later load lab extensions."""
    version = _distribution_version("notebook")
    if version is None:
        return Finding(NOTEBOOK, False, "not installed in this environment (optional: pip install notebook)")
    if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 7:
        return Finding(NOTEBOOK, False, f"{version} loads no lab extensions, so profiles show as static HTML (pip install 'notebook>=7')")
    return Finding(NOTEBOOK, True, version)


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- GPU and validation ------------------------------------------------------------------


def check_gpu() -> Finding:
    """Whether NVML loads and sees GPUs (initialised and shut down again)."""
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return Finding(GPU, False, "no GPU (NVML not found)")
    nvml.nvmlErrorString.restype = ctypes.c_char_p
    status = int(nvml.nvmlInit_v2())
    if status != 0:
        return Finding(GPU, False, f"NVML found but does not start: {_nvml_error(nvml, status)}")
    try:
        count = ctypes.c_uint(0)
        status = int(nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)))
        driver = ctypes.create_string_buffer(96)
        has_driver = int(nvml.nvmlSystemGetDriverVersion(driver, ctypes.c_uint(len(driver)))) == 0
    finally:
        nvml.nvmlShutdown()
    if status != 0:
        return Finding(GPU, False, f"NVML cannot count GPUs: {_nvml_error(nvml, status)}")
    driver_text = f", driver {driver.value.decode(errors='replace')}" if has_driver else ""
    return Finding(GPU, count.value > 0, f"NVML sees {count.value} GPU{'s' if count.value != 1 else ''}{driver_text}")


def _nvml_error(nvml: ctypes.CDLL, status: int) -> str:
    text = nvml.nvmlErrorString(status)
    return f"{text.decode(errors='replace') if isinstance(text, bytes) else 'error'} ({status})"


def check_gpu_profiling() -> Finding:
    """Whether runs profile the GPU: the binding, NVML and a device, as a run opens them."""
    from .gpu import GpuUnavailable, NvmlReader

    try:
        reader = NvmlReader.open()
    except GpuUnavailable as why:
        return Finding(GPU_PROFILING, False, f"off: {why}")
    try:
        accounting = "per-process utilisation" if reader.per_process else "device-wide utilisation (per-process accounting is off)"
        names = ", ".join(reader.names)
        return Finding(GPU_PROFILING, True, f"on by default (nvidia-ml-py {_distribution_version('nvidia-ml-py')}; {names}; {accounting})")
    finally:
        reader.close()


def check_validation() -> Finding:
    """Whether ``scalene-lab validate`` can check profiles: jsonschema and the schema file."""
    from .schema import load_schema

    try:
        load_schema()
    except (OSError, ValueError) as problem:
        return Finding(VALIDATION, False, f"{problem}; reinstall: pip install --force-reinstall scalene-lab")
    version = _distribution_version("jsonschema")
    if importlib.util.find_spec("jsonschema") is None or version is None:
        return Finding(VALIDATION, False, "jsonschema is not installed, so `scalene-lab validate` cannot check (pip install jsonschema)")
    return Finding(VALIDATION, True, f"available (jsonschema {version})")


CHECKS: list[Callable[[], Finding]] = [
    check_version,
    check_python,
    check_platform,
    check_library,
    check_exact_cpu,
    check_hot_attach,
    check_preload_kernel,
    check_lab_extension,
    check_jupyterlab,
    check_notebook,
    check_gpu,
    check_gpu_profiling,
    check_validation,
]


def run_checks() -> tuple[list[Finding], bool]:
    """Every check's finding, and whether any check itself failed (a bug here, not a finding)."""
    findings: list[Finding] = []
    broken = False
    for check in CHECKS:
        try:
            findings.append(check())
        except Exception as problem:  # one broken check must not hide the others
            broken = True
            name = check.__name__.removeprefix("check_").replace("_", " ")
            findings.append(Finding(name, False, f"doctor could not check this: {type(problem).__name__}: {problem}"))
    return findings, broken


def main(as_json: bool = False) -> int:
    """Print the report (text lines, or a JSON list); 0 unless a check itself failed."""
    findings, broken = run_checks()
    if as_json:
        print(json.dumps([finding.as_json() for finding in findings], indent=1))
    else:
        for finding in findings:
            print(finding.line())
    return 2 if broken else 0
