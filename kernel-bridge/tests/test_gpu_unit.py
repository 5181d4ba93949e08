"""The GPU sampler's arithmetic, with a scripted reader (no NVML, no kernel)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from scalene_lab.gpu import GpuLine, GpuReading, GpuSampler, NvmlReader


class ScriptedReader(NvmlReader):
    """Reads from a list instead of NVML; an exception in the list is raised."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.names = ["Scripted GPU"]
        self.driver = "1.0"
        self.per_process = False

    def read(self) -> tuple[float, float]:
        value = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(value, Exception):
            raise value
        return value  # type: ignore[no-any-return]


def _sampler_with(readings: list[GpuReading]) -> GpuSampler:
    sampler = GpuSampler(ScriptedReader([(0.0, 0.0)]), 0.01)
    sampler._readings = readings
    return sampler


def test_a_line_gets_the_time_weighted_utilisation_and_its_memory() -> None:
    sampler = _sampler_with([GpuReading(1.0, 0.9, 800.0), GpuReading(2.0, 0.1, 100.0), GpuReading(3.0, 0.5, 400.0)])
    # Each sample takes the nearest reading: 0.5, 0.9 and 1.2 the one at
    # 1.0, 1.6 the one at 2.0; one after the last reading takes the last.
    sampler.charge(("cell", 3), None, 0.5, 0.010)
    sampler.charge(("cell", 3), None, 0.9, 0.020)
    sampler.charge(("cell", 3), None, 1.2, 0.010)
    sampler.charge(("cell", 4), ("cell", "f", 1), 1.6, 0.010)
    sampler.charge(("cell", 4), ("cell", "f", 1), 9.0, 0.010)
    busy = sampler.lines[("cell", 3)].fields(torch=False)
    assert busy == {"n_gpu_percent": pytest.approx(90.0), "n_gpu_avg_memory_mb": 800.0, "n_gpu_peak_memory_mb": 800.0}
    mixed = sampler.lines[("cell", 4)].fields(torch=False)
    assert mixed["n_gpu_percent"] == pytest.approx(30.0)  # (0.1 + 0.5) / 2
    assert mixed["n_gpu_avg_memory_mb"] == pytest.approx(250.0) and mixed["n_gpu_peak_memory_mb"] == 400.0
    assert sampler.functions[("cell", "f", 1)].fields(torch=False) == mixed


def test_a_sample_newer_than_every_reading_waits_for_the_next_one() -> None:
    sampler = _sampler_with([GpuReading(1.0, 0.2, 10.0)])
    sampler._polling = True
    sampler.charge(("cell", 2), None, 1.9, 0.01)  # the poller has not read past it yet
    assert sampler.lines == {}
    sampler._readings.append(GpuReading(2.0, 0.8, 80.0))
    sampler.charge(("cell", 3), None, 1.2, 0.01)
    assert sampler.lines[("cell", 2)].fields(torch=False)["n_gpu_peak_memory_mb"] == 80.0  # 2.0 is nearer than 1.0
    assert sampler.lines[("cell", 3)].fields(torch=False)["n_gpu_peak_memory_mb"] == 10.0
    sampler.charge(("cell", 4), None, 5.0, 0.01)
    sampler._polling = False
    sampler._charge_waiting()  # what stop() does after its last reading
    assert sampler.lines[("cell", 4)].memory_peak == 80.0


def test_torch_figures_are_the_peaks_seen_on_the_line() -> None:
    line = GpuLine()
    line.add(GpuReading(1.0, 1.0, 2048.0, torch_allocated_mb=1500.0, torch_reserved_mb=2000.0), 0.01)
    line.add(GpuReading(2.0, 1.0, 1024.0, torch_allocated_mb=500.0, torch_reserved_mb=1000.0), 0.01)
    assert line.fields(torch=True) == {
        "n_gpu_percent": 100.0,
        "n_gpu_avg_memory_mb": 1536.0,
        "n_gpu_peak_memory_mb": 2048.0,
        "n_gpu_torch_allocated_mb": 1500.0,
        "n_gpu_torch_reserved_mb": 2000.0,
    }


def test_no_reading_yet_charges_nothing_and_zero_time_is_ignored() -> None:
    sampler = _sampler_with([])
    sampler.charge(("cell", 1), None, 1.0, 0.01)
    assert sampler.lines == {}
    sampler._readings = [GpuReading(1.0, 0.5, 1.0)]
    sampler.charge(("cell", 1), None, 1.0, 0.0)
    assert sampler.lines == {}


def test_the_poller_reads_until_stopped_and_survives_failing_reads() -> None:
    reader = ScriptedReader([(0.25, 10.0), RuntimeError("GPU is lost"), (0.75, 30.0)])
    sampler = GpuSampler(reader, 0.001)
    assert sampler.interval == 0.005  # never faster than NVML's own averaging calls for
    sampler.start()
    deadline = time.monotonic() + 5
    while sampler.reads < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler.stop()
    sampler.stop()  # idempotent
    reads = sampler.reads
    time.sleep(0.03)
    assert sampler.reads == reads >= 5
    assert sampler.read_errors == 1 and sampler.last_error == "GPU is lost"
    described = sampler.describe()
    assert described["devices"] == ["Scripted GPU"] and described["reads"] == reads and described["read_errors"] == 1
    times = [reading.when for reading in sampler._readings]
    assert times == sorted(times) and sampler._readings[-1].load == 0.75


def test_old_readings_are_dropped_in_one_step() -> None:
    sampler = GpuSampler(ScriptedReader([(0.5, 1.0)]), 0.01)
    for _ in range(2 * 8192 + 3):
        sampler._poll_once()
    assert len(sampler._readings) == 8192 + 3


def test_samples_nearest_a_failed_read_get_no_figures_and_do_not_wait() -> None:
    sampler = _sampler_with([GpuReading(1.0, 0.5, 50.0), GpuReading(2.0, 0.0, 0.0, ok=False)])
    sampler._polling = True
    sampler.charge(("cell", 1), None, 1.1, 0.01)  # nearest: the good read
    sampler.charge(("cell", 2), None, 1.9, 0.01)  # nearest: the failed one, which it need not wait past
    assert sampler._waiting == []
    assert sampler.lines[("cell", 1)].memory_peak == 50.0
    assert ("cell", 2) not in sampler.lines
