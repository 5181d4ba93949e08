"""GPU utilisation and memory per line, read from NVML through nvidia-ml-py.

As in Scalene, each CPU sample is charged the GPU's state at that moment:
the line it lands on gets the device's utilisation (weighted by the sample's
time) and this process's own GPU memory (NVML's per-process accounting, not
the device's total). ``n_gpu_percent`` is then the average utilisation while
the line ran, ``n_gpu_avg_memory_mb`` and ``n_gpu_peak_memory_mb`` the mean
and the largest memory seen on its samples.

The native CPU sampler reads stacks inside a signal handler, where NVML
cannot be called, so a poller thread reads NVML once per sampling interval
and each sample takes the reading nearest to its instant (waiting, if the
drain comes first, until the poller has read past it). The poller's calls into NVML release the GIL; only
the binding's few Python lines hold it, which is what keeps the cost near
nothing for the profiled code. With PyTorch's CUDA in use, its caching
allocator's figures are read too: NVML sees what the allocator reserved, not
what the tensors hold.
"""

from __future__ import annotations

import bisect
import os
import sys
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .stats import FunctionKey, LineKey

MB = 1024 * 1024

# Scalene's JSON names the device kind, not the model (its viewer and schema
# know "GPU" for NVIDIA); the model names go in ``notebook.gpu``.
GPU_DEVICE = "GPU"

# NVML averages utilisation over at least 1/6 s, so reading it much faster
# than the CPU sampler's default buys nothing and costs GIL hand-offs.
MIN_POLL_INTERVAL = 0.005

# Readings kept for matching to samples: a drain may be held off while the
# main thread is in a long C call, so about a minute at the default rate.
MAX_READINGS = 8192


class GpuUnavailable(Exception):
    """Why GPU profiling cannot run here (one line for the user)."""


@dataclass(frozen=True)
class GpuReading:
    """The GPU as one poll saw it."""

    when: float  # time.monotonic(), the clock the CPU samples carry
    load: float  # utilisation, 0..1, averaged over devices
    memory_mb: float  # this process's GPU memory, all devices
    torch_allocated_mb: float = 0.0
    torch_reserved_mb: float = 0.0
    ok: bool = True  # False: the read failed (the samples nearest it get no GPU figures)


class GpuLine:
    """GPU figures of the samples charged to one line or function."""

    __slots__ = ("load_time", "time", "memory_sum", "memory_count", "memory_peak", "torch_allocated_peak", "torch_reserved_peak")

    def __init__(self) -> None:
        self.load_time = 0.0  # utilisation x seconds
        self.time = 0.0
        self.memory_sum = 0.0
        self.memory_count = 0
        self.memory_peak = 0.0
        self.torch_allocated_peak = 0.0
        self.torch_reserved_peak = 0.0

    def add(self, reading: GpuReading, seconds: float) -> None:
        """Charge one sample of ``seconds`` taken while the GPU read ``reading``."""
        self.load_time += reading.load * seconds
        self.time += seconds
        self.memory_sum += reading.memory_mb
        self.memory_count += 1
        self.memory_peak = max(self.memory_peak, reading.memory_mb)
        self.torch_allocated_peak = max(self.torch_allocated_peak, reading.torch_allocated_mb)
        self.torch_reserved_peak = max(self.torch_reserved_peak, reading.torch_reserved_mb)

    def fields(self, torch: bool) -> dict[str, Any]:
        """Scalene's per-line GPU fields (and PyTorch's, when it was in use)."""
        out: dict[str, Any] = {
            "n_gpu_percent": min(100.0, 100.0 * self.load_time / self.time) if self.time > 0 else 0.0,
            "n_gpu_avg_memory_mb": self.memory_sum / self.memory_count if self.memory_count else 0.0,
            "n_gpu_peak_memory_mb": self.memory_peak,
        }
        if torch:
            out["n_gpu_torch_allocated_mb"] = self.torch_allocated_peak
            out["n_gpu_torch_reserved_mb"] = self.torch_reserved_peak
        return out


def _import_nvml() -> ModuleType:
    try:
        import pynvml  # the nvidia-ml-py distribution
    except ImportError:
        raise GpuUnavailable("nvidia-ml-py is not installed (pip install nvidia-ml-py)") from None
    module: ModuleType = pynvml
    return module


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvmlReader:
    """NVML opened once per kernel (initialising it can take a good part of
    a second on a real driver); reads utilisation and this process's memory."""

    def __init__(self, nvml: ModuleType) -> None:
        self._nvml = nvml
        self._pid = os.getpid()
        self.handles: list[Any] = []
        self.names: list[str] = []
        self.driver = ""
        self.per_process = False

    @classmethod
    def open(cls) -> NvmlReader:
        """Initialise NVML and find the devices (GpuUnavailable: why not)."""
        nvml = _import_nvml()
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as problem:
            if problem.value == nvml.NVML_ERROR_LIBRARY_NOT_FOUND:
                raise GpuUnavailable("no NVIDIA driver (libnvidia-ml.so.1 not found)") from None
            raise GpuUnavailable(f"NVML does not start: {_text(nvml.nvmlErrorString(problem.value))}") from None
        reader = cls(nvml)
        try:
            reader.refresh()
        except BaseException:
            reader.close()
            raise
        return reader

    def refresh(self) -> None:
        """Count the devices again (at each run: a GPU can be lost or hidden)."""
        nvml = self._nvml
        self._pid = os.getpid()  # a forked kernel is another process
        try:
            count = int(nvml.nvmlDeviceGetCount())
            self.handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.names = [_text(nvml.nvmlDeviceGetName(h)) for h in self.handles]
        except nvml.NVMLError as problem:
            raise GpuUnavailable(f"NVML cannot list the GPUs: {_text(nvml.nvmlErrorString(problem.value))}") from None
        if not self.handles:
            raise GpuUnavailable("NVML sees no GPU")
        try:
            self.driver = _text(nvml.nvmlSystemGetDriverVersion())
        except nvml.NVMLError:
            self.driver = ""
        self.per_process = all(self._accounting_on(h) for h in self.handles)
        try:
            self.read()  # a device that cannot be read (a MIG slice, a locked-down container) is found here, not mid-run
        except nvml.NVMLError as problem:
            raise GpuUnavailable(f"NVML cannot read the GPU: {_text(nvml.nvmlErrorString(problem.value))}") from None

    def _accounting_on(self, handle: Any) -> bool:
        nvml = self._nvml
        try:
            return bool(nvml.nvmlDeviceGetAccountingMode(handle) == nvml.NVML_FEATURE_ENABLED)
        except nvml.NVMLError:
            return False

    def read(self) -> tuple[float, float]:
        """Utilisation (0..1, averaged over devices; this process's own where
        the driver keeps per-process accounting) and this process's GPU MB."""
        nvml = self._nvml
        load = 0.0
        memory = 0.0
        for handle in self.handles:
            if self.per_process:
                try:
                    load += nvml.nvmlDeviceGetAccountingStats(handle, self._pid).gpuUtilization
                except nvml.NVMLError:
                    pass  # no stats yet: this process has not used that device
            else:
                load += nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            for process in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if process.pid == self._pid and process.usedGpuMemory:
                    memory += process.usedGpuMemory / MB
        return min(1.0, load / 100.0 / len(self.handles)), memory

    def close(self) -> None:
        """Shut NVML down (the kernel's own reader stays open; the doctor's closes)."""
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:
            pass

    def describe(self) -> dict[str, Any]:
        """What ``notebook.gpu`` says about the devices."""
        return {"devices": list(self.names), "driver": self.driver, "per_process_utilization": self.per_process}


# The kernel's reader, opened at the first run that wants the GPU.
_reader: NvmlReader | None = None


def open_reader() -> NvmlReader:
    """The kernel's NVML reader, refreshed for this run (GpuUnavailable: why not)."""
    global _reader
    if _reader is None:
        _reader = NvmlReader.open()
        return _reader
    _reader.refresh()
    return _reader


def _torch_cuda() -> Any | None:
    """PyTorch's CUDA module when the user's code has set CUDA up, else None
    (never imported or initialised here: that would cost seconds and memory)."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    try:
        return cuda if cuda is not None and cuda.is_initialized() else None
    except Exception:  # an odd build: no PyTorch figures, nothing else lost
        return None


def _reading_time(reading: GpuReading) -> float:
    return reading.when


class GpuSampler:
    """Polls NVML during one run and charges the readings to sampled lines."""

    def __init__(self, reader: NvmlReader, interval: float) -> None:
        self._reader = reader
        self.interval = max(MIN_POLL_INTERVAL, interval)
        self.lines: dict[LineKey, GpuLine] = {}
        self.functions: dict[FunctionKey, GpuLine] = {}
        self._readings: list[GpuReading] = []  # in time order
        # Samples newer than the latest reading wait for the next one (a
        # drain often runs before the poller has read past its samples).
        self._waiting: list[tuple[LineKey, FunctionKey | None, float, float]] = []
        self._polling = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reads = 0
        self.read_errors = 0
        self.read_seconds = 0.0
        self.last_error = ""
        self.torch = False

    def start(self) -> None:
        """Take a first reading and start polling (before the CPU and memory
        samplers arm, so they count the poller among the kernel's threads)."""
        self._poll_once()
        self._polling = True
        self._thread = threading.Thread(target=self._run, name="scalene-lab-gpu", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (idempotent); one last reading covers the run's end."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        # A read stuck in the driver (a GPU falling off the bus) must not hold
        # the cell's end: the daemon thread is left to finish on its own.
        thread.join(timeout=2.0)
        self._poll_once()
        self._polling = False
        self._charge_waiting()  # the last reading follows every sample
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._poll_once()

    def _poll_once(self) -> None:
        # Stamped when the read begins: a read can wait milliseconds for the
        # GIL between its NVML calls, and what it reads first is the state
        # at its start.
        began = time.monotonic()
        started = time.perf_counter()
        try:
            load, memory = self._reader.read()
        except Exception as problem:  # a lost GPU must not end the run; counted, shown once
            self.read_errors += 1
            self.last_error = str(problem)
            self._record(GpuReading(began, 0.0, 0.0, ok=False))  # time goes on: samples do not wait for a good read
            return
        allocated = reserved = 0.0
        cuda = _torch_cuda()
        if cuda is not None:
            try:
                # Every device: the poller thread's current device is 0, whatever the user's code set.
                devices = range(cuda.device_count())
                allocated = sum(cuda.memory_allocated(d) for d in devices) / MB
                reserved = sum(cuda.memory_reserved(d) for d in devices) / MB
                self.torch = True
            except Exception:
                pass
        self.read_seconds += time.perf_counter() - started
        self.reads += 1
        self._record(GpuReading(began, load, memory, allocated, reserved))

    def _record(self, reading: GpuReading) -> None:
        # Only this thread writes; the drain reads under the GIL, where an
        # append and a rebinding are atomic (a drain holding the old list
        # finishes on it).
        if len(self._readings) >= 2 * MAX_READINGS:
            self._readings = self._readings[MAX_READINGS:]
        self._readings.append(reading)

    def reading_at(self, when: float) -> GpuReading | None:
        """The reading nearest to ``when`` (the poller reads every few
        milliseconds; the nearest one halves the error of always taking the
        one before or the one after, at a line's first and last samples)."""
        readings = self._readings
        if not readings:
            return None
        index = bisect.bisect_left(readings, when, key=_reading_time)
        if index == len(readings):
            return readings[-1]
        if index > 0 and when - readings[index - 1].when < readings[index].when - when:
            return readings[index - 1]
        return readings[index]

    def charge(self, line: LineKey, function: FunctionKey | None, when: float, seconds: float) -> None:
        """Charge one CPU sample's GPU reading to its line (and function);
        a sample the poller has not read past yet waits for its reading."""
        if seconds <= 0.0:
            return
        if self._waiting:
            self._charge_waiting()
        readings = self._readings
        if self._polling and (not readings or readings[-1].when < when):
            self._waiting.append((line, function, when, seconds))
            if len(self._waiting) > MAX_READINGS:  # the poller is stuck: charge the oldest as things stand
                self._charge_now(*self._waiting.pop(0))
            return
        self._charge_now(line, function, when, seconds)

    def _charge_waiting(self) -> None:
        readings = self._readings
        latest = readings[-1].when if readings else float("-inf")
        ready = [entry for entry in self._waiting if entry[2] <= latest or not self._polling]
        if ready:
            self._waiting = [entry for entry in self._waiting if not (entry[2] <= latest or not self._polling)]
            for entry in ready:
                self._charge_now(*entry)

    def _charge_now(self, line: LineKey, function: FunctionKey | None, when: float, seconds: float) -> None:
        reading = self.reading_at(when)
        if reading is None or not reading.ok:
            return
        target = self.lines.get(line)
        if target is None:
            target = self.lines[line] = GpuLine()
        target.add(reading, seconds)
        if function is not None:
            total = self.functions.get(function)
            if total is None:
                total = self.functions[function] = GpuLine()
            total.add(reading, seconds)

    def describe(self) -> dict[str, Any]:
        """``notebook.gpu``: the devices and how the reads went."""
        return {
            **self._reader.describe(),
            "poll_interval_s": self.interval,
            "reads": self.reads,
            "read_errors": self.read_errors,
            "last_read_error": self.last_error,
            "mean_read_us": 1e6 * self.read_seconds / self.reads if self.reads else 0.0,
            "torch": self.torch,
        }
