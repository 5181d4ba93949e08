"""The fake NVML (tests/fake_nvml) under the real nvidia-ml-py binding.

Each test runs a fresh Python with the fake first on LD_LIBRARY_PATH (the
loader reads it only at start), so `import pynvml` there talks to the fake
exactly as the GPU sampler will. The child prints one JSON value; the
assertions are here.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_nvml import KERNEL_SNIPPET, Device, Scenario, build_fake_nvml, fake_env

TESTS = Path(__file__).resolve().parent

# What every child starts with: the binding, the fake's test-only exports
# (the same loaded library: dlopen by soname returns the one pynvml gets),
# the scenario, and `error` to turn an NVMLError into comparable data.
PRELUDE = """
import ctypes, json, os, sys
sys.path.insert(0, {tests!r})
import pynvml
from fake_nvml import Device, Scenario
fake = ctypes.CDLL("libnvidia-ml.so.1")
fake.fakeNvmlCallCount.argtypes = [ctypes.c_char_p]
scenario = Scenario(os.environ["FAKE_NVML_SCENARIO"]) if "FAKE_NVML_SCENARIO" in os.environ else None

def error(call, *args):
    try:
        call(*args)
    except pynvml.NVMLError as exc:
        return [exc.value, str(exc), type(exc).__name__]
    return None
"""


@dataclass
class Fake:
    """Where the built fake is, and this test's scenario file."""

    directory: Path
    scenario: Scenario

    def run(self, body: str, *, unset_scenario: bool = False) -> Any:
        """Run ``body`` in a child using the fake; return the JSON value of its ``result``."""
        env = {**os.environ, **fake_env(self.directory, self.scenario.path)}
        if unset_scenario:
            del env["FAKE_NVML_SCENARIO"]
        script = PRELUDE.format(tests=str(TESTS)) + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="session")
def fake_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pynvml", reason="nvidia-ml-py (pynvml) is not installed: the fake NVML is tested through the real binding")
    if shutil.which((shlex.split(os.environ.get("CC") or "cc") or ["cc"])[0]) is None:
        pytest.skip("no C compiler (cc): the fake NVML is built from C")
    return build_fake_nvml(tmp_path_factory.mktemp("fake-nvml"))


@pytest.fixture
def fake(fake_directory: Path, tmp_path: Path) -> Fake:
    return Fake(fake_directory, Scenario(tmp_path / "scenario"))


def test_build_is_reused(fake_directory: Path) -> None:
    library = fake_directory / "libnvidia-ml.so.1"
    before = library.stat().st_mtime_ns
    assert build_fake_nvml(fake_directory) == fake_directory
    assert library.stat().st_mtime_ns == before


def test_init_and_shutdown_are_reference_counted(fake: Fake) -> None:
    fake.scenario.write()
    result = fake.run("""
        result = {"before": error(pynvml.nvmlDeviceGetCount)}
        pynvml.nvmlInit()
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        result["one_left"] = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        result["after"] = error(pynvml.nvmlDeviceGetCount)
        result["extra_shutdown"] = error(pynvml.nvmlShutdown)
        result["system_after"] = error(pynvml.nvmlSystemGetDriverVersion)
        result["raw"] = [fake.nvmlInit_v2(), fake.nvmlInit(), fake.nvmlShutdown(), fake.nvmlShutdown(), fake.nvmlShutdown()]
        result["counts"] = {name: fake.fakeNvmlCallCount(name.encode()) for name in ("nvmlInitWithFlags", "nvmlInit_v2", "nvmlShutdown")}
    """)
    uninitialized = [1, "Uninitialized", "NVMLError_Uninitialized"]
    assert result["before"] == uninitialized  # pynvml's own check: nothing loaded yet
    assert result["one_left"] == 1
    assert result["after"] == result["extra_shutdown"] == result["system_after"] == uninitialized
    assert result["raw"] == [0, 0, 0, 0, 1]
    # pynvml.nvmlInit() is nvmlInitWithFlags(0) in C, never nvmlInit_v2.
    assert result["counts"] == {"nvmlInitWithFlags": 2, "nvmlInit_v2": 1, "nvmlShutdown": 6}


def test_devices_names_driver_and_memory(fake: Fake) -> None:
    fake.scenario.write(
        devices=2,
        name="NVIDIA Fake H200",
        driver="555.42.06",
        memory_total_mib=1024,
        processes={4242: 256},
        per_device={1: Device(name="NVIDIA Fake A100")},
    )
    result = fake.run("""
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        memory = pynvml.nvmlDeviceGetMemoryInfo(handles[0])
        result = {
            "driver": pynvml.nvmlSystemGetDriverVersion(),
            "nvml": pynvml.nvmlSystemGetNVMLVersion(),
            "names": [pynvml.nvmlDeviceGetName(h) for h in handles],
            "uuids": [pynvml.nvmlDeviceGetUUID(h) for h in handles],
            "memory": [memory.total, memory.used, memory.free],
            "bad_index": error(pynvml.nvmlDeviceGetHandleByIndex, 2),
            "small": fake.nvmlSystemGetDriverVersion(ctypes.create_string_buffer(4), 4),
            "errors": fake.fakeNvmlScenarioErrors(),
        }
    """)
    assert result["driver"] == "555.42.06"
    assert result["nvml"] == "12.555.42.06"
    assert result["names"] == ["NVIDIA Fake H200", "NVIDIA Fake A100"]
    assert len(set(result["uuids"])) == 2 and all(uuid.startswith("GPU-") and len(uuid) == 40 for uuid in result["uuids"])
    assert result["memory"] == [1024 << 20, 256 << 20, 768 << 20]
    assert result["bad_index"] == [2, "Invalid Argument", "NVMLError_InvalidArgument"]
    assert result["small"] == 7
    assert result["errors"] == 0


def test_utilization_per_device(fake: Fake) -> None:
    fake.scenario.write(devices=3, utilization=90, memory_utilization=30, per_device={1: Device(utilization=40)})
    result = fake.run("""
        pynvml.nvmlInit()
        rates = [pynvml.nvmlDeviceGetUtilizationRates(pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(3)]
        result = [[rate.gpu, rate.memory] for rate in rates]
    """)
    assert result == [[90, 30], [40, 30], [90, 30]]


@pytest.mark.parametrize("count", [0, 1, 40])
def test_compute_processes_two_call_protocol(fake: Fake, count: int) -> None:
    processes = {10_000 + i: 100.5 + i for i in range(count)}
    fake.scenario.write(devices=2, processes=processes, per_device={1: Device(processes={777: 1.0})})
    result = fake.run("""
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        fake.fakeNvmlResetCounts()
        procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        result = {
            "procs": [[p.pid, p.usedGpuMemory, p.gpuInstanceId, p.computeInstanceId] for p in procs],
            "calls": fake.fakeNvmlCallCount(b"nvmlDeviceGetComputeRunningProcesses_v3"),
            "other": [p.pid for p in pynvml.nvmlDeviceGetComputeRunningProcesses(pynvml.nvmlDeviceGetHandleByIndex(1))],
        }
        # The protocol by hand: no array, too small an array, a big enough one.
        n = ctypes.c_uint(0)
        first = fake.nvmlDeviceGetComputeRunningProcesses_v3(handle, ctypes.byref(n), None)
        result["no_array"] = [first, n.value]
        if n.value:
            small = (pynvml.c_nvmlProcessInfo_v3_t * 1)()
            k = ctypes.c_uint(n.value - 1)
            result["too_small"] = [fake.nvmlDeviceGetComputeRunningProcesses_v3(handle, ctypes.byref(k), small), k.value]
            big = (pynvml.c_nvmlProcessInfo_v3_t * (n.value + 3))()
            k = ctypes.c_uint(n.value + 3)
            result["enough"] = [fake.nvmlDeviceGetComputeRunningProcesses_v3(handle, ctypes.byref(k), big), k.value]
    """)
    assert result["procs"] == [[pid, round(mib * 1024 * 1024), 0xFFFFFFFF, 0xFFFFFFFF] for pid, mib in processes.items()]
    assert result["calls"] == (1 if count == 0 else 2)
    assert result["other"] == [777]
    if count == 0:
        assert result["no_array"] == [0, 0]
    else:
        assert result["no_array"] == [7, count]
        assert result["too_small"] == [7, count]
        assert result["enough"] == [0, count]


def test_accounting_mode_and_stats(fake: Fake) -> None:
    body = """
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        stats = lambda pid: pynvml.nvmlDeviceGetAccountingStats(handle, pid)
        result = {"mode": pynvml.nvmlDeviceGetAccountingMode(handle), "missing": error(stats, 999)}
        if result["mode"]:
            s = stats(12345)
            result["stats"] = [s.gpuUtilization, s.maxMemoryUsage, s.isRunning]
            s = stats(54321)
            result["finished"] = [s.gpuUtilization, s.maxMemoryUsage, s.isRunning]
        else:
            result["off"] = error(stats, 12345)
    """
    fake.scenario.write(processes={12345: 2.0}, accounting_utilization={12345: 77})
    assert fake.run(body) == {"mode": 0, "missing": [3, "Not Supported", "NVMLError_NotSupported"], "off": [3, "Not Supported", "NVMLError_NotSupported"]}
    fake.scenario.write(processes={12345: 2.0}, accounting=True, accounting_utilization={12345: 77, 54321: 5})
    assert fake.run(body) == {
        "mode": 1,
        "missing": [6, "Not Found", "NVMLError_NotFound"],
        "stats": [77, 2 << 20, 1],
        "finished": [5, 0, 0],
    }


def test_failure_injection(fake: Fake) -> None:
    fake.scenario.write(fail={"nvmlInitWithFlags": 9})
    result = fake.run("""
        result = {"init": error(pynvml.nvmlInit), "string": pynvml.nvmlErrorString(9)}
        fail = {"nvmlInit_v2": 9, "nvmlDeviceGetComputeRunningProcesses_v3": 42}
        scenario.write(devices=2, fail=fail, per_device={1: Device(fail={"nvmlDeviceGetUtilizationRates": 15})})
        pynvml.nvmlInit()  # the binding never calls nvmlInit_v2
        result["init_v2"] = fake.nvmlInit_v2()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(2)]
        result["device0"] = pynvml.nvmlDeviceGetUtilizationRates(handles[0]).gpu
        result["device1"] = error(pynvml.nvmlDeviceGetUtilizationRates, handles[1])
        before = fake.fakeNvmlCallCount(b"nvmlErrorString")
        result["unknown_code"] = error(pynvml.nvmlDeviceGetComputeRunningProcesses, handles[0])
        result["asked_library"] = fake.fakeNvmlCallCount(b"nvmlErrorString") - before
        fake.nvmlErrorString.restype = ctypes.c_char_p
        result["strings"] = {code: fake.nvmlErrorString(code).decode() for code in (0, 1, 2, 3, 4, 6, 7, 9, 12, 13, 15, 999, 12345)}
    """)
    assert result["init"] == [9, "Driver Not Loaded", "NVMLError_DriverNotLoaded"]
    assert result["string"] == "Driver Not Loaded"
    assert result["init_v2"] == 9
    assert result["device0"] == 0
    assert result["device1"] == [15, "GPU is lost", "NVMLError_GpuIsLost"]
    # A code the binding has no name for: its str() comes from nvmlErrorString.
    assert result["unknown_code"] == [42, "Unknown Error", "NVMLError"]
    assert result["asked_library"] == 1
    assert result["strings"] == {
        "0": "Success",
        "1": "Uninitialized",
        "2": "Invalid Argument",
        "3": "Not Supported",
        "4": "Insufficient Permissions",
        "6": "Not Found",
        "7": "Insufficient Size",
        "9": "Driver Not Loaded",
        "12": "NVML Shared Library Not Found",
        "13": "Function Not Found",
        "15": "GPU is lost",
        "999": "Unknown Error",
        "12345": "Unknown Error",
    }


def test_rewritten_scenario_is_picked_up(fake: Fake) -> None:
    fake.scenario.write(utilization=10)
    result = fake.run("""
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        seen = []
        # Same length each time and no pause: same size, likely the same mtime tick.
        for value in (10, 20, 30, 40, 50, 60, 70, 80, 90, 11):
            scenario.write(utilization=value, processes={os.getpid(): value})
            seen.append([pynvml.nvmlDeviceGetUtilizationRates(handle).gpu, pynvml.nvmlDeviceGetComputeRunningProcesses(handle)[0].usedGpuMemory >> 20])
        # A version the fake never read: the next file can reuse the inode of
        # the one it did read, with the same size and mtime.
        skipped = []
        for value in (21, 31, 41, 51, 61):
            scenario.write(utilization=value)
            pynvml.nvmlDeviceGetUtilizationRates(handle)
            scenario.write(utilization=value + 1)
            scenario.write(utilization=value + 2)
            skipped.append(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        scenario.remove()
        result = {"seen": seen, "skipped": skipped, "gone": [pynvml.nvmlDeviceGetCount(), error(pynvml.nvmlDeviceGetUtilizationRates, handle)]}
        scenario.write(devices=2)
        result["back"] = pynvml.nvmlDeviceGetCount()
    """)
    assert result["seen"] == [[value, value] for value in (10, 20, 30, 40, 50, 60, 70, 80, 90, 11)]
    assert result["skipped"] == [23, 33, 43, 53, 63]
    assert result["gone"] == [0, [2, "Invalid Argument", "NVMLError_InvalidArgument"]]
    assert result["back"] == 2


@pytest.mark.parametrize("unset", [False, True], ids=["file-absent", "variable-unset"])
def test_no_scenario_means_no_devices(fake: Fake, unset: bool) -> None:
    result = fake.run(
        """
        pynvml.nvmlInit()
        result = [pynvml.nvmlDeviceGetCount(), error(pynvml.nvmlDeviceGetHandleByIndex, 0), pynvml.nvmlSystemGetDriverVersion(), fake.fakeNvmlScenarioErrors()]
        """,
        unset_scenario=unset,
    )
    assert result == [0, [2, "Invalid Argument", "NVMLError_InvalidArgument"], "560.35.03", 0]


def test_scenario_errors_are_counted(fake: Fake) -> None:
    fake.scenario.write_text("devices 2\nfrobnicate 1\nutilization 150\nfail nvmlBogus 9\nprocess@5 1 1\nprocess 1\n# fine\n\n")
    clean = Scenario.text(
        devices=2,
        utilization=12.5,
        processes={1: 1},
        accounting=True,
        accounting_utilization={1: 3},
        fail={"nvmlShutdown": 999},
        per_device={
            1: Device(
                name="x y", memory_total_mib=5, utilization=1, accounting=False, processes={2: 2}, accounting_utilization={2: 2}, fail={"nvmlDeviceGetName": 3}
            )
        },
    )
    result = fake.run(f"""
        result = [fake.fakeNvmlScenarioErrors()]
        scenario.write_text({clean!r})
        result.append(fake.fakeNvmlScenarioErrors())
    """)
    # frobnicate, utilization over 100, an entry point not exported, device 5 of 2, a process without MiB.
    assert result == [5, 0]


def test_call_counts(fake: Fake) -> None:
    fake.scenario.write()
    result = fake.run("""
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        fake.fakeNvmlResetCounts()
        for _ in range(3):
            pynvml.nvmlDeviceGetUtilizationRates(handle)
        names = (b"nvmlDeviceGetUtilizationRates", b"nvmlDeviceGetHandleByIndex_v2", b"noSuchFunction", b"fakeNvmlResetCounts")
        result = [fake.fakeNvmlCallCount(name) for name in names]
        fake.fakeNvmlResetCounts()
        result.append(fake.fakeNvmlCallCount(b"nvmlDeviceGetUtilizationRates"))
    """)
    assert result == [3, 0, 0, 0, 0]


def test_rewriting_while_reading_is_consistent(fake: Fake) -> None:
    # Version k: utilization k % 101 for both GPU and memory, and 1 + k % 5
    # processes using k MiB each. A read that mixed two versions shows up as
    # a mismatch; pynvml's oversized second array (2n + 5) covers a version
    # with more processes appearing between its two calls.
    fake.scenario.write(utilization=0, memory_utilization=0, processes={1000: 0})
    result = fake.run("""
        import threading
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        reading, done = threading.Event(), threading.Event()
        def rewrite():
            reading.wait()
            for k in range(200):
                scenario.write(utilization=k % 101, memory_utilization=k % 101, processes={1000 + i: k for i in range(1 + k % 5)})
            done.set()
        writer = threading.Thread(target=rewrite)
        writer.start()
        bad, versions = [], set()
        for i in range(2000):
            if i == 1:
                reading.set()
            rate = pynvml.nvmlDeviceGetUtilizationRates(handle)
            procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            k = procs[0].usedGpuMemory >> 20
            versions.add(k)
            if rate.gpu != rate.memory or len(procs) != 1 + k % 5 or any(p.usedGpuMemory != k << 20 for p in procs):
                bad.append([rate.gpu, rate.memory, [[p.pid, p.usedGpuMemory] for p in procs]])
        writer.join()
        final = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        result = {"bad": bad[:5], "versions": len(versions), "writer_done": done.is_set()}
        result.update(final=[len(final), final[0].usedGpuMemory >> 20], errors=fake.fakeNvmlScenarioErrors())
    """)
    assert result.pop("versions") > 1, "the reads never overlapped the rewrites"
    assert result == {"bad": [], "writer_done": True, "final": [1 + 199 % 5, 199], "errors": 0}


def test_kernel_snippet_reports_this_process(fake: Fake) -> None:
    result = fake.run(f"""
        exec({KERNEL_SNIPPET!r})
        pynvml.nvmlInit()
        result = {{"before": pynvml.nvmlDeviceGetCount()}}
        set_gpu(55, 300.5)
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        ours = [[p.pid == os.getpid(), p.usedGpuMemory] for p in procs]
        result["plain"] = [pynvml.nvmlDeviceGetUtilizationRates(handle).gpu, ours, pynvml.nvmlDeviceGetAccountingMode(handle)]
        set_gpu(70, 10, accounting=True)
        result["accounting"] = pynvml.nvmlDeviceGetAccountingStats(handle, os.getpid()).gpuUtilization
        result["errors"] = fake.fakeNvmlScenarioErrors()
        clear_gpu()
        result["cleared"] = pynvml.nvmlDeviceGetCount()
    """)
    assert result == {"before": 0, "plain": [55, [[True, round(300.5 * 1024 * 1024)]], 0], "accounting": 70, "errors": 0, "cleared": 0}
