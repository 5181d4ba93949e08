"""What GPU profiling costs: one NVML read, and a profiled cell with the GPU
polled against the same cell without it, side by side.

    .venv/bin/python bench/gpu_cost.py [--rounds N]

Without a GPU on this machine, NVML is the tests' fake library
(kernel-bridge/tests/fake_nvml), loaded by the real nvidia-ml-py binding, so
the binding's own Python, the poller thread and its GIL hand-offs are what
is measured; on a GPU machine the driver's calls add their time to the
poller thread, which runs them with the GIL released. Prints the median time
of one read (utilisation plus this process's memory) and the median per-round
ratio of a pure-Python cell's profiled time with the GPU polled (`--gpu`)
over the same cell with `--no-gpu`, both with memory profiling as by default,
alternating in one kernel, and the floor that reads per second times the
time of one read imply.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kernel-bridge"))
sys.path.insert(0, str(HERE.parent / "kernel-bridge" / "tests"))

from fake_nvml import KERNEL_SNIPPET, Scenario, build_fake_nvml, fake_env  # noqa: E402
from kernel_session import loaded_kernel  # noqa: E402

CELL = """%%scalene {flag}
total = 0
for i in range(12_000_000):
    total += i % 7
"""


def read_cost(library: Path, scenario: Path, reads: int) -> float:
    """Median microseconds of one reader.read() in this process."""
    os.environ["FAKE_NVML_SCENARIO"] = str(scenario)
    # Loaded by path first: the binding's dlopen("libnvidia-ml.so.1") then
    # finds it by its soname.
    ctypes.CDLL(str(library / "libnvidia-ml.so.1"))
    from scalene_lab.gpu import NvmlReader

    reader = NvmlReader.open()
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        reader.read()
        times.append(time.perf_counter() - start)
    reader.close()
    return 1e6 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gpu-cost-"))
    library = build_fake_nvml(work)
    scenario = Scenario(work / "scenario")
    scenario.write(utilization=50, processes={})
    cost_us = read_cost(library, scenario.path, 20_000)
    print(f"one NVML read (utilisation + own memory, fake driver): {cost_us:.1f} µs median")

    kernel = loaded_kernel(str(work), env=fake_env(library, scenario.path))
    try:
        kernel.run(KERNEL_SNIPPET)
        kernel.run("set_gpu(50, 512)")
        ratios = []
        reads_per_s = []
        for _ in range(args.rounds):
            timed = {}
            for flag in ("--no-gpu", "--gpu"):
                outcome = kernel.run(CELL.format(flag=flag))
                assert outcome.status == "ok", outcome.error
                profile = outcome.profile
                timed[flag] = float(profile["elapsed_time_sec"])
                if flag == "--gpu":
                    assert profile["gpu"], profile["notebook"]["messages"]
                    reads_per_s.append(profile["notebook"]["gpu"]["reads"] / timed[flag])
            ratios.append(timed["--gpu"] / timed["--no-gpu"])
        print(
            f"profiled cell, --gpu / --no-gpu: median {statistics.median(ratios):.3f}x "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f}; {args.rounds} rounds; "
            f"{statistics.median(reads_per_s):.0f} reads/s at the default 10 ms interval)"
        )
        # The poller holds the GIL for about one read's Python per read: the
        # floor of what it takes from the profiled code, which a neighbour's
        # load on a shared machine does not move.
        print(f"implied by reads/s x read time: {1 + statistics.median(reads_per_s) * cost_us / 1e6:.4f}x")
    finally:
        kernel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
