"""GPU profiling on a real NVIDIA device (skipped where there is none: CI has
no GPU; test_gpu.py covers the same path on the fake NVML).

A PyTorch workload in a kernel: a line that keeps the GPU busy with matrix
products shows high utilisation and a line that sleeps low, and the memory
per line matches PyTorch's own figures: the allocator's reserved memory
within 10% of NVML's per-process figure (the CUDA context is the rest, which
a 6 GiB working set keeps under 10%), and the PyTorch columns equal what
PyTorch reports."""

from __future__ import annotations

import ctypes
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_session import KernelSession, line_of, loaded_kernel


def _why_not() -> str | None:
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return "no NVIDIA driver (libnvidia-ml.so.1 not found)"
    if int(nvml.nvmlInit_v2()) != 0:
        return "NVML does not start"
    count = ctypes.c_uint(0)
    nvml.nvmlDeviceGetCount_v2(ctypes.byref(count))
    nvml.nvmlShutdown()
    if count.value == 0:
        return "NVML sees no GPU"
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed in this environment (pip install torch)"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=f"needs a GPU: {_why_not()}")

WORKLOAD = """%%scalene --gpu
import time, torch
x = torch.randn(8192, 8192, device="cuda")
keep = torch.empty(6 * 1024**3 // 4, device="cuda")  # 6 GiB held
t = time.perf_counter()
while time.perf_counter() - t < 2.0: y = x @ x; torch.cuda.synchronize()  # busy
time.sleep(1.5)  # idle
figures = (torch.cuda.memory_allocated() / 2**20, torch.cuda.memory_reserved() / 2**20)
"""


@pytest.fixture(scope="module")
def device_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    session = loaded_kernel(str(tmp_path_factory.mktemp("gpu-device")))
    yield session
    session.close()


def test_a_pytorch_workload_on_a_real_gpu(device_kernel: KernelSession, tmp_path: Path) -> None:
    outcome = device_kernel.run(WORKLOAD, timeout=300)
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    assert profile["gpu"] is True and profile["notebook"]["gpu"]["torch"] is True, profile["notebook"]
    key = profile["notebook"]["profiled_source"]
    busy, idle = line_of(profile, key, "# busy"), line_of(profile, key, "# idle")
    assert busy["n_gpu_percent"] >= 50.0, busy
    assert idle["n_gpu_percent"] <= 30.0, idle
    allocated, reserved = device_kernel.value("figures")
    assert busy["n_gpu_torch_reserved_mb"] == pytest.approx(reserved, rel=0.01)
    assert busy["n_gpu_torch_allocated_mb"] <= reserved
    # NVML's figure for the process: PyTorch's reservation plus the CUDA context.
    assert busy["n_gpu_peak_memory_mb"] == pytest.approx(reserved, rel=0.10), (busy, allocated, reserved)
    print(
        f"real GPU: busy {busy['n_gpu_percent']:.1f}%, idle {idle['n_gpu_percent']:.1f}%, "
        f"NVML {busy['n_gpu_peak_memory_mb']:.0f} MB vs PyTorch reserved {reserved:.0f} MB; "
        f"mean read {profile['notebook']['gpu']['mean_read_us']:.0f} µs"
    )
