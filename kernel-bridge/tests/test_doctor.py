"""`scalene-lab doctor`: what a user relies on in this checkout, run as the
command; the unhappy paths by calling the checks in-process with the
environment or the package's lookups replaced. No kernel, no server."""

from __future__ import annotations

import ast
import ctypes
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scalene_lab
from scalene_lab import allocator, doctor, kernelspec
from scalene_lab.doctor import Finding

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / "kernel-bridge" / "scalene_lab", ROOT / "magics" / "scalene_lab_magics"]


def _clean_env() -> dict[str, str]:
    """This environment without the variables that would change what doctor finds."""
    env = dict(os.environ)
    for name in ("SCALENE_LAB_ALLOCATOR", "LD_PRELOAD", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
        env.pop(name, None)
    return env


def _doctor(*extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scalene_lab.cli", "doctor", *extra],
        capture_output=True,
        text=True,
        env={**_clean_env(), **(env or {})},
        timeout=120,
    )


@pytest.fixture(scope="module")
def report() -> dict[str, dict[str, Any]]:
    """`scalene-lab doctor --json`, by item."""
    done = _doctor("--json")
    assert done.returncode == 0, done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    assert all(set(entry) == {"item", "ok", "detail"} for entry in findings)
    return {entry["item"]: entry for entry in findings}


@pytest.fixture
def no_loaded_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """library_path() as in a fresh process: a copy mapped into this one by
    an earlier test would otherwise win over $SCALENE_LAB_ALLOCATOR."""
    monkeypatch.setattr(allocator, "_preloaded_path", lambda: None)
    monkeypatch.delenv("SCALENE_LAB_ALLOCATOR", raising=False)
    yield


@pytest.fixture
def installed_package(monkeypatch: pytest.MonkeyPatch, no_loaded_library: None) -> None:
    """The package as a wheel without the native library installs it: no checkout, no library."""
    monkeypatch.setattr(allocator, "source_checkout", lambda: None)
    monkeypatch.setattr(allocator, "library_path", lambda: None)
    monkeypatch.setattr(kernelspec, "library_path", lambda: None)


# -- the command, in this checkout ---------------------------------------------------


def test_text_report_has_one_line_per_check() -> None:
    done = _doctor()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(doctor.CHECKS)
    assert all(line.startswith(("ok   ", "no   ")) for line in lines), lines
    assert lines[0] == f"ok   scalene-lab: {scalene_lab.__version__} (source checkout {ROOT})"


def test_json_lists_the_same_items_as_the_text(report: dict[str, dict[str, Any]]) -> None:
    items = [line[5:].split(":", 1)[0] for line in _doctor().stdout.splitlines()]
    assert items == list(report)


def test_library_is_found_and_loads(report: dict[str, dict[str, Any]]) -> None:
    library = report[doctor.LIBRARY]
    built = os.path.realpath(ROOT / "native" / "build" / "Release" / "scalene_lab_alloc.so")
    assert library["ok"] is True, library
    assert library["detail"] == f"{built} (built in this source checkout; loads)"


def test_exact_cpu_and_hot_attach_are_available(report: dict[str, dict[str, Any]]) -> None:
    assert report[doctor.EXACT_CPU]["ok"] is True, report[doctor.EXACT_CPU]
    assert report[doctor.EXACT_CPU]["detail"].startswith("available")
    assert report[doctor.HOT_ATTACH]["ok"] is True, report[doctor.HOT_ATTACH]
    assert report[doctor.HOT_ATTACH]["detail"].startswith("available (library ")


def test_preload_kernel_is_installed_with_this_library(report: dict[str, dict[str, Any]]) -> None:
    # dev/setup.sh installs it into .venv (--sys-prefix).
    kernel = report[doctor.PRELOAD_KERNEL]
    assert kernel["ok"] is True, kernel
    assert "installed at " in kernel["detail"] and "(this package's library)" in kernel["detail"]


def _has_nvml() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def test_lab_extension_and_the_rest_are_reported(report: dict[str, dict[str, Any]]) -> None:
    assert report[doctor.LAB_EXTENSION]["detail"]
    for item in (doctor.PLATFORM, doctor.JUPYTERLAB, doctor.NOTEBOOK, doctor.GPU, doctor.VALIDATION):
        assert report[item]["detail"], item
    if _has_nvml():
        return  # a GPU machine: what it says depends on the driver
    # No NVIDIA driver here: the binding is installed, NVML is not.
    assert report[doctor.GPU_PROFILING] == {
        "item": doctor.GPU_PROFILING,
        "ok": False,
        "detail": "off: no NVIDIA driver (libnvidia-ml.so.1 not found)",
    }


def test_gpu_profiling_is_on_where_nvml_finds_a_device(tmp_path: Path) -> None:
    from fake_nvml import Scenario, build_fake_nvml, fake_env

    try:
        library = build_fake_nvml(tmp_path / "nvml")
    except Exception as problem:  # no C compiler
        pytest.skip(f"the fake NVML library cannot be built: {problem}")
    scenario = Scenario(tmp_path / "scenario")
    scenario.write(devices=2, name="NVIDIA Fake H200", accounting=True)
    done = _doctor("--json", env=fake_env(library, scenario.path))
    assert done.returncode == 0, done.stderr
    found = {entry["item"]: entry for entry in json.loads(done.stdout)}
    assert found[doctor.GPU] == {"item": doctor.GPU, "ok": True, "detail": "NVML sees 2 GPUs, driver 560.35.03"}
    profiling = found[doctor.GPU_PROFILING]
    assert profiling["ok"] is True
    assert profiling["detail"].startswith("on by default (nvidia-ml-py ")
    assert profiling["detail"].endswith("; NVIDIA Fake H200, NVIDIA Fake H200; per-process utilisation)")
    scenario.write(devices=0)
    done = _doctor("--json", env=fake_env(library, scenario.path))
    off = {entry["item"]: entry for entry in json.loads(done.stdout)}[doctor.GPU_PROFILING]
    assert off == {"item": doctor.GPU_PROFILING, "ok": False, "detail": "off: NVML sees no GPU"}


def test_a_failing_check_is_reported_and_sets_the_status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def check_broken() -> Finding:
        raise ValueError("boom")

    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_gpu_profiling, check_broken])
    assert doctor.main() == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "no   broken: doctor could not check this: ValueError: boom"


# -- the native library ---------------------------------------------------------------


def test_missing_library_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch, no_loaded_library: None) -> None:
    monkeypatch.setenv("SCALENE_LAB_ALLOCATOR", "/nonexistent")
    finding = doctor.check_library()
    assert not finding.ok
    assert finding.detail == ("$SCALENE_LAB_ALLOCATOR is set to /nonexistent, which does not exist; unset it, or point it at a built scalene_lab_alloc.so")


def test_a_library_that_does_not_load_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_loaded_library: None) -> None:
    broken = tmp_path / "scalene_lab_alloc.so"
    broken.write_text("not a shared object\n" * 100)
    monkeypatch.setenv("SCALENE_LAB_ALLOCATOR", str(broken))
    finding = doctor.check_library()
    assert not finding.ok
    assert finding.detail.startswith(f"{broken} does not load: ")
    assert finding.detail.split(" does not load: ")[1].startswith("invalid ELF header;")  # the loader's words
    assert finding.detail.endswith("point SCALENE_LAB_ALLOCATOR at a build of this version, or unset it")


def test_installed_package_without_library_names_the_wheels(installed_package: None) -> None:
    finding = doctor.check_library()
    assert not finding.ok
    assert "the scalene-lab wheel installed for this platform has none" in finding.detail
    assert allocator.SUPPORTED_PLATFORMS in finding.detail
    assert "pip install --force-reinstall --only-binary scalene-lab scalene-lab" in finding.detail
    assert "dev/setup.sh" not in finding.detail
    reason = allocator.unsupported_reason()
    assert reason is not None and "dev/setup.sh" not in reason and allocator.SUPPORTED_PLATFORMS in reason
    with pytest.raises(RuntimeError) as raised:
        kernelspec.install(prefix="/nonexistent")
    assert str(raised.value).endswith("(run `scalene-lab doctor` for details)")
    assert "dev/setup.sh" not in str(raised.value)


def test_source_checkout_without_library_says_how_to_build(monkeypatch: pytest.MonkeyPatch, no_loaded_library: None) -> None:
    monkeypatch.setattr(allocator, "library_path", lambda: None)
    assert allocator.source_checkout() == str(ROOT)
    finding = doctor.check_library()
    assert finding == Finding(doctor.LIBRARY, False, "the native allocator is not built in this source checkout: run `bash dev/setup.sh`")


def test_dev_setup_is_named_only_by_the_checkout_helper() -> None:
    """A pip user has no dev/setup.sh: the package names it in one place,
    allocator.build_hint(), which does so only in a source checkout."""
    places = []
    for package in PACKAGES:
        for path in sorted(package.glob("*.py")):
            source = path.read_text(encoding="utf-8")
            if "dev/setup.sh" not in source:
                continue
            tree = ast.parse(source)
            functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
            for number, line in enumerate(source.splitlines(), start=1):
                if "dev/setup.sh" in line:
                    inside = [f.name for f in functions if f.lineno <= number <= (f.end_lineno or f.lineno)]
                    places.append((path.name, inside[-1] if inside else None))
    assert places and set(places) == {("allocator.py", "build_hint")}


# -- the preload kernel -------------------------------------------------------------------


def _fake_spec(directory: Path, library: str, executable: str | None = None) -> str:
    directory.mkdir(parents=True)
    spec = kernelspec.spec(library)
    spec["argv"][0] = executable or sys.executable
    (directory / "kernel.json").write_text(json.dumps(spec))
    return str(directory)


def test_kernelspec_preloading_a_missing_library_is_broken(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone" / "scalene_lab_alloc.so")
    spec_dir = _fake_spec(tmp_path / "share" / "jupyter" / "kernels" / kernelspec.NAME, missing)
    finding = doctor.check_preload_kernel(spec_dir)
    assert not finding.ok
    assert f"is broken at {spec_dir}: LD_PRELOAD points at {missing}, which does not exist" in finding.detail
    assert finding.detail.endswith(f"reinstall it: scalene-lab kernelspec install --prefix {tmp_path.resolve()}")


def test_kernelspec_found_through_jupyter_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # JUPYTER_PATH comes first in Jupyter's search, so this copy shadows .venv's.
    missing = str(tmp_path / "missing.so")
    _fake_spec(tmp_path / "kernels" / kernelspec.NAME, missing)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    finding = doctor.check_preload_kernel()
    assert not finding.ok and f"LD_PRELOAD points at {missing}, which does not exist" in finding.detail


def test_kernelspec_preloading_another_library(tmp_path: Path, no_loaded_library: None) -> None:
    other = tmp_path / "scalene_lab_alloc.so"
    other.write_bytes(b"")
    spec_dir = _fake_spec(tmp_path / "spec", str(other))
    problem = doctor.kernelspec_problem(spec_dir)
    assert problem == f"LD_PRELOAD points at {other}, not at this package's library {allocator.library_path()}"
    # Another interpreter's kernelspec preloads that one's library: not a fault.
    python = tmp_path / "python"
    python.write_bytes(b"")
    elsewhere = _fake_spec(tmp_path / "elsewhere", str(other), executable=str(python))
    assert doctor.kernelspec_problem(elsewhere) is None
    assert "for another Python" in doctor.check_preload_kernel(elsewhere).detail


def test_kernelspec_not_installed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setattr(KernelSpecManager, "find_kernel_specs", lambda self: {})
    finding = doctor.check_preload_kernel()
    assert not finding.ok
    assert finding.detail.endswith("is not installed; install it: scalene-lab kernelspec install --sys-prefix (or --user)")


# -- the lab extension and JupyterLab -------------------------------------------------------------


def _lab_extension_at(root: Path, version: str) -> None:
    (root / "scalene-lab").mkdir(parents=True)
    package = {"name": "scalene-lab", "version": version, "jupyterlab": {"_build": {"load": "static/remoteEntry.js"}}}
    (root / "scalene-lab" / "package.json").write_text(json.dumps(package))


def test_lab_extension_disabled_in_page_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import jupyter_core.paths

    _lab_extension_at(tmp_path / "labextensions", scalene_lab.__version__)
    monkeypatch.setattr(jupyter_core.paths, "jupyter_path", lambda *parts: [str(tmp_path.joinpath(*parts))])
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "config"))
    enabled = doctor.check_lab_extension()
    if "JupyterLab not installed" in enabled.detail:
        pytest.skip("JupyterLab is not installed here")
    assert enabled.ok and enabled.detail.endswith(", enabled"), enabled
    (tmp_path / "config" / "labconfig").mkdir(parents=True)
    page_config = tmp_path / "config" / "labconfig" / "page_config.json"
    page_config.write_text(json.dumps({"disabledExtensions": {"scalene-lab:heat": True}}))
    assert doctor.check_lab_extension().detail.endswith("enabled, but these plugins are disabled: scalene-lab:heat")
    page_config.write_text(json.dumps({"disabledExtensions": {"scalene-lab": True}}))
    disabled = doctor.check_lab_extension()
    assert not disabled.ok and disabled.detail.endswith("disabled; enable it: jupyter labextension enable scalene-lab")


def test_lab_extension_missing_or_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import jupyter_core.paths

    monkeypatch.setattr(jupyter_core.paths, "jupyter_path", lambda *parts: [str(tmp_path.joinpath(*parts))])
    missing = doctor.check_lab_extension()
    assert not missing.ok and missing.detail.startswith("not found in JupyterLab's labextension paths")
    _lab_extension_at(tmp_path / "labextensions", "0.0.1")
    stale = doctor.check_lab_extension()
    assert not stale.ok and f"0.0.1 at {tmp_path / 'labextensions' / 'scalene-lab'}, but this package is" in stale.detail


def test_npm_and_python_versions_compare_as_one_release() -> None:
    assert doctor.same_version("0.1.0", "0.1.0")
    assert doctor.same_version("0.2.0-alpha.1", "0.2.0a1") and doctor.same_version("1.0.0-rc.2", "1.0.0rc2")
    assert not doctor.same_version("0.0.1", "0.1.0")


def test_jupyterlab_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_distribution_version", lambda name: None)
    assert doctor.check_jupyterlab() == Finding(doctor.JUPYTERLAB, False, "JupyterLab not installed in this environment (pip install jupyterlab)")
    assert doctor.check_notebook().detail.startswith("not installed in this environment")


# -- GPU --------------------------------------------------------------------------------------------


def test_no_nvml_means_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library(name: str, *args: Any, **kwargs: Any) -> Any:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(doctor.ctypes, "CDLL", no_library)
    assert doctor.check_gpu() == Finding(doctor.GPU, False, "no GPU (NVML not found)")


class _FakeNvml:
    """NVML's entry points, as ctypes would call them, for a machine with two GPUs."""

    def __init__(self) -> None:
        self.calls: list[str] = []

        def init() -> int:
            self.calls.append("init")
            return 0

        def count(reference: Any) -> int:
            reference._obj.value = 2  # the c_uint behind ctypes.byref
            return 0

        def driver(buffer: Any, length: Any) -> int:
            buffer.value = b"550.54"
            return 0

        def shutdown() -> int:
            self.calls.append("shutdown")
            return 0

        def error_string(status: int) -> bytes:
            return b"Unknown Error"

        self.nvmlInit_v2, self.nvmlDeviceGetCount_v2, self.nvmlShutdown = init, count, shutdown
        self.nvmlSystemGetDriverVersion, self.nvmlErrorString = driver, error_string


def test_nvml_is_initialised_counted_and_shut_down(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeNvml()
    monkeypatch.setattr(doctor.ctypes, "CDLL", lambda name, *args, **kwargs: fake)
    assert doctor.check_gpu() == Finding(doctor.GPU, True, "NVML sees 2 GPUs, driver 550.54")
    assert fake.calls == ["init", "shutdown"]
