"""GPU profiling in a real kernel, through the real nvidia-ml-py binding, on
the fake NVML library (fake_nvml/): utilisation and this process's GPU memory
per line, the top-level fields, the fallbacks' columns, the switches, and
what a run says when there is no GPU or NVML fails."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_nvml import KERNEL_SNIPPET, Scenario, build_fake_nvml, fake_env
from kernel_session import KernelSession, line_of, loaded_kernel
from scalene_lab.display import bundle
from scalene_lab.schema import validation_errors

# Two phases of busy Python, each long enough for ~80 samples at 10 ms: the
# GPU is 90% busy and the kernel holds 812 MiB on it during the first, 5%
# and 100 MiB during the second.
PHASES = """%%scalene {options}
import time
set_gpu(90, 812)
t = time.perf_counter()
while time.perf_counter() - t < 0.8: pass  # busy
set_gpu(5, 100)
t = time.perf_counter()
while time.perf_counter() - t < 0.8: pass  # idle
"""


@pytest.fixture(scope="module")
def fake_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return build_fake_nvml(tmp_path_factory.mktemp("fake-nvml"))
    except Exception as problem:  # no C compiler: nothing here can run
        pytest.skip(f"the fake NVML library cannot be built: {problem}")


def _gpu_kernel(cwd: Path, library: Path, scenario: Path) -> KernelSession:
    session = loaded_kernel(str(cwd), env=fake_env(library, scenario))
    assert session.run(KERNEL_SNIPPET).status == "ok"
    return session


@pytest.fixture(scope="module")
def gpu_kernel(tmp_path_factory: pytest.TempPathFactory, fake_library: Path) -> Iterator[tuple[KernelSession, Scenario]]:
    """A kernel whose NVML is the fake one, with the scenario it reads."""
    cwd = tmp_path_factory.mktemp("gpu-kernel")
    scenario = Scenario(cwd / "scenario")
    session = _gpu_kernel(cwd, fake_library, scenario.path)
    yield session, scenario
    session.close()


def _calls(kernel: KernelSession, function: str) -> int:
    """How often the kernel's process called that NVML entry point."""
    return int(kernel.value(f"__import__('ctypes').CDLL('libnvidia-ml.so.1').fakeNvmlCallCount(b'{function}')"))


def _idle_gpu(kernel: KernelSession) -> None:
    """A device is there (a run looks for one when it starts), idle, unused by the kernel."""
    assert kernel.run("set_gpu(0, 0)").status == "ok"


def _run(kernel: KernelSession, code: str) -> dict[str, Any]:
    outcome = kernel.run(code)
    assert outcome.status == "ok", outcome.error
    return outcome.profile


def test_each_line_gets_the_gpu_as_it_was_while_the_line_ran(gpu_kernel: tuple[KernelSession, Scenario]) -> None:
    kernel, _ = gpu_kernel
    _idle_gpu(kernel)
    outcome = kernel.run(PHASES.format(options=""))  # no flag: on because NVML finds a device
    assert outcome.status == "ok", outcome.error
    assert outcome.stderr == ""
    profile = outcome.profile
    assert validation_errors(profile) == []
    assert profile["gpu"] is True and profile["gpu_device"] == "GPU"
    gpu = profile["notebook"]["gpu"]
    assert gpu["devices"] == ["NVIDIA Fake GPU"] and gpu["read_errors"] == 0 and gpu["per_process_utilization"] is False
    # One per 10 ms interval at most; a read waits for the GIL between its
    # NVML calls, so fewer come while the cell runs pure Python.
    assert gpu["reads"] >= 20
    key = profile["notebook"]["profiled_source"]
    busy, idle = line_of(profile, key, "# busy"), line_of(profile, key, "# idle")
    # Bounds: a sample takes the nearest reading, so only samples within a
    # poll (~10-30 ms) of a phase's edges can see the other phase.
    # Mixed-up phases would read ~47% and ~456 MB on both lines.
    assert 80.0 <= busy["n_gpu_percent"] <= 90.0 + 1e-6, busy
    assert busy["n_gpu_peak_memory_mb"] == pytest.approx(812.0)
    assert 700.0 <= busy["n_gpu_avg_memory_mb"] <= 812.0 + 1e-6
    assert 5.0 - 1e-6 <= idle["n_gpu_percent"] <= 15.0, idle
    assert 100.0 - 1e-6 <= idle["n_gpu_avg_memory_mb"] <= 200.0
    assert "n_gpu_torch_allocated_mb" not in busy  # PyTorch was not in use
    text = bundle(profile)["text/plain"]
    assert "GPU: NVIDIA Fake GPU" in text.splitlines()[0]
    busy_row = next(row for row in text.splitlines() if row.endswith("# busy"))
    assert busy_row.split("│")[3].split() == [f"{busy['n_gpu_percent']:.1f}%", "812.0"]
    html = bundle(profile)["text/html"]
    assert "<th>GPU</th><th>GPU MB</th>" in html and "812.0" in html


def test_per_process_accounting_gives_the_process_own_utilisation(gpu_kernel: tuple[KernelSession, Scenario]) -> None:
    kernel, _ = gpu_kernel
    assert kernel.run("set_gpu(0, 0, accounting=True)").status == "ok"  # the mode is read as a run starts
    profile = _run(
        kernel,
        "%%scalene\nimport time\nset_gpu(64, 300, accounting=True)\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.6: pass  # own\n",
    )
    assert profile["notebook"]["gpu"]["per_process_utilization"] is True
    own = line_of(profile, profile["notebook"]["profiled_source"], "# own")
    assert 60.0 <= own["n_gpu_percent"] <= 64.0 + 1e-6 and own["n_gpu_peak_memory_mb"] == pytest.approx(300.0)


def test_no_gpu_and_cpu_only_leave_nvml_alone(gpu_kernel: tuple[KernelSession, Scenario]) -> None:
    kernel, _ = gpu_kernel
    _idle_gpu(kernel)
    for flag in ("--no-gpu", "--cpu-only"):
        before = _calls(kernel, "nvmlDeviceGetUtilizationRates")
        outcome = kernel.run(PHASES.format(options=flag))
        assert outcome.status == "ok" and outcome.stderr == "", outcome
        assert outcome.profile["gpu"] is False and "gpu" not in outcome.profile["notebook"]
        assert _calls(kernel, "nvmlDeviceGetUtilizationRates") == before, flag


def test_without_a_device_only_an_explicit_gpu_says_why(gpu_kernel: tuple[KernelSession, Scenario]) -> None:
    kernel, scenario = gpu_kernel
    scenario.write(devices=0)
    try:
        quiet = kernel.run("%%scalene\nx = sum(range(100_000))")
        assert quiet.status == "ok" and quiet.stderr == "" and quiet.profile["gpu"] is False
        asked = kernel.run("%%scalene --gpu\nx = sum(range(100_000))")
        assert asked.stderr.strip() == "scalene-lab: --gpu: NVML sees no GPU; profiling without the GPU."
        assert asked.profile["gpu"] is False
    finally:
        scenario.remove()


def test_a_gpu_that_cannot_be_read_is_found_before_the_run(gpu_kernel: tuple[KernelSession, Scenario]) -> None:
    kernel, scenario = gpu_kernel
    # A MIG slice answers NOT_SUPPORTED (3) for device utilisation.
    scenario.write(fail={"nvmlDeviceGetUtilizationRates": 3})
    try:
        quiet = kernel.run("%%scalene\nx = sum(range(100_000))")
        assert quiet.status == "ok" and quiet.stderr == "" and quiet.profile["gpu"] is False
        asked = kernel.run("%%scalene --gpu\nx = 1")
        assert asked.stderr.strip() == "scalene-lab: --gpu: NVML cannot read the GPU: Not Supported; profiling without the GPU."
    finally:
        scenario.remove()


def test_reads_failing_mid_run_are_counted_and_the_run_completes(gpu_kernel: tuple[KernelSession, Scenario]) -> None:
    kernel, scenario = gpu_kernel
    _idle_gpu(kernel)
    # The cell breaks the GPU after a while (error 15: the GPU is lost).
    lose = Scenario.text(processes={0: 1.0}, fail={"nvmlDeviceGetUtilizationRates": 15})
    code = (
        "%%scalene\nimport time\nset_gpu(50, 200)\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.4: pass  # before\n"
        f"open(__import__('os').environ['FAKE_NVML_SCENARIO'], 'w').write({lose!r})\n"
        "t = time.perf_counter()\nwhile time.perf_counter() - t < 0.4: pass  # after\n"
    )
    outcome = kernel.run(code)
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    gpu = profile["notebook"]["gpu"]
    assert gpu["read_errors"] >= 10 and "GPU is lost" in gpu["last_read_error"]
    assert any("GPU is lost" in message for message in profile["notebook"]["messages"])
    key = profile["notebook"]["profiled_source"]
    assert line_of(profile, key, "# before")["n_gpu_percent"] >= 45.0
    assert kernel.value("1 + 1") == 2
    scenario.remove()


def test_nvml_that_does_not_start_is_named_in_one_line(tmp_path: Path, fake_library: Path) -> None:
    scenario = Scenario(tmp_path / "scenario")
    scenario.write(fail={"nvmlInitWithFlags": 9, "nvmlInit_v2": 9})
    kernel = _gpu_kernel(tmp_path, fake_library, scenario.path)
    try:
        quiet = kernel.run("%%scalene\nx = 1")
        assert quiet.stderr == "" and quiet.profile["gpu"] is False
        asked = kernel.run("%%scalene --gpu\nx = 1")
        assert asked.stderr.strip() == "scalene-lab: --gpu: NVML does not start: Driver Not Loaded; profiling without the GPU."
        # Once the driver answers, the next run finds the GPU (nothing cached from the failure).
        scenario.write()
        assert _run(kernel, "%%scalene\nx = 1")["gpu"] is True
    finally:
        kernel.close()


def test_the_fake_is_what_the_kernel_loaded(gpu_kernel: tuple[KernelSession, Scenario], fake_library: Path) -> None:
    kernel, _ = gpu_kernel
    maps = kernel.value("open('/proc/self/maps').read()")
    assert str(fake_library / "libnvidia-ml.so.1") in maps
    assert os.environ.get("FAKE_NVML_SCENARIO") is None  # only the kernel has it
    with pytest.raises(OSError):
        ctypes.CDLL("libnvidia-ml.so.1")  # and this process has no NVML at all
