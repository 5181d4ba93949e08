"""Memory profiling under stress, both ways in (hot-attached and preloaded):
eight threads allocating at once, floods of records, tracemalloc started and
stopped around and inside profiled cells, and memory freed in the middle of
a run. Every truth is measured in the kernel itself: the bytes each thread
allocated (nbytes, sys.getsizeof), the peak resident set (VmHWM after
clear_refs), the allocator functions Python calls (PyMem_GetAllocator), the
resident set right after a free, an unprofiled run of the same code.

What each test guards (the issue's figures before the fix in brackets):
- threads: per-thread totals within 10% of the truth [30-60% of it, records
  lost while the threads kept the drain off the GIL], the peak no higher
  than the peak resident growth [1.1-1.7 GB against 130-290 MB], growth
  within one window per thread, no leak, nothing lost, and the main thread's
  waiting lines charged nothing of the drain handler's own work [256 MB at a
  4 KiB window];
- floods: 400,000 live sampled blocks freed leave no growth [2.5 GB, 62%];
  a flood that does lose records counts them, still shows no phantom
  growth, and the next run starts from zero [517,973 lost in a clean cell];
- tracemalloc: after every cell the allocator chain is exactly what
  tracemalloc and the user left, memory profiling stays available [refused
  after 32 cells] and the whole process state is as before the cycles
  [wrappers piled up: unprofiled allocation 2.8-3.1x slower];
- freed memory goes back to the system during the run as without
  profiling [1.4 GB of 1.5 GB stayed resident].
"""

from __future__ import annotations

from typing import Any

import pytest
from kernel_session import KernelSession, line_of
from kernel_state import differences, state_of

MIB = 1024 * 1024
THREADS = 8


# -- eight threads -------------------------------------------------------------


def _thread_cell(window: int) -> str:
    """Eight threads, each its own function (so the profile splits them),
    allocating and freeing numpy arrays and strings for 1.5 s while the main
    thread only starts, waits for and joins them. Each thread counts what it
    allocated; VmHWM (reset through clear_refs) gives the peak resident set."""
    workers = "".join(
        f"def work{i}(out, stop):\n"
        f"    rng = random.Random({i}); ring = []; total = 0\n"
        f"    while not stop.is_set():\n"
        f"        a = np.ones(rng.randrange(10_000, 500_000)); total += a.nbytes\n"
        f"        s = 'x' * rng.randrange(100, 200_000); total += sys.getsizeof(s)\n"
        f"        ring.append((a, s))\n"
        f"        if len(ring) > 6:\n"
        f"            ring.pop(0)\n"
        f"    out[{i}] = total\n"
        for i in range(THREADS)
    )
    return (
        f"%%scalene --allocation-sampling-window {window}\n"
        "def status_mb(field):\n"
        "    with open('/proc/self/status') as handle:\n"
        "        return int(next(l for l in handle if l.startswith(field)).split()[1]) / 1024\n"
        "with open('/proc/self/clear_refs', 'w') as handle:\n"
        "    handle.write('5')\n"
        "rss_before = status_mb('VmRSS:')\n"
        + workers
        + "stop = threading.Event(); out = {}\n"
        + "threads = [threading.Thread(target=f, args=(out, stop)) for f in ("
        + ", ".join(f"work{i}" for i in range(THREADS))
        + ")]\n"
        "for t in threads:\n"
        "    t.start()\n"
        "time.sleep(1.5)\n"
        "stop.set()\n"
        "for t in threads:\n"
        "    t.join()\n"
        "peak_growth_mb = status_mb('VmHWM:') - rss_before\n"
        "truth_mb = {i: total / 2**20 for i, total in out.items()}\n"
    )


@pytest.mark.parametrize("window", [1 << 20, 4096])
def test_eight_threads_allocating_at_once(fresh_memory_kernel: KernelSession, window: int) -> None:
    kernel = fresh_memory_kernel
    kernel.run("import random, sys, threading, time\nimport numpy as np")  # imported before: modules are growth
    profile = kernel.profile_of(kernel.run(_thread_cell(window), timeout=300))
    key = profile["notebook"]["profiled_source"]
    memory = profile["notebook"]["memory"]
    truth: dict[str, float] = kernel.value("truth_mb")
    peak_growth: float = kernel.value("peak_growth_mb")

    # Nothing lost, nothing doubled: every thread's total is its truth.
    assert memory["buffer_overflow"] == 0 and memory["table_refused"] == 0, memory
    functions = {f["line"]: f for f in profile["files"][key]["functions"]}
    for i in range(THREADS):
        measured = functions[f"work{i}"]["n_churn_mb"]
        assert abs(measured - truth[str(i)]) < 0.10 * truth[str(i)], (i, measured, truth[str(i)])

    # The peak is never above what the process held.
    assert 0 < profile["max_footprint_mb"] <= peak_growth + 16, (profile["max_footprint_mb"], peak_growth)

    # Every thread freed what it allocated: growth within one window per
    # thread, and no leak.
    assert memory["sampled_growth_mb"] <= (THREADS + 1) * window / MIB + 0.05, memory
    assert profile["files"][key]["leaks"] == {}

    # The main thread only waited: the drain handler that ran meanwhile on
    # it (its Python-level call, what it calls before it marks itself busy)
    # is the profiler's, never these lines'. Starting eight threads
    # allocates a few kilobytes; 0.1 MB is 25 windows of 4 KiB.
    waiting = [line_of(profile, key, text) for text in ("    t.start()", "time.sleep(1.5)", "    t.join()")]
    charged = sum(line["n_churn_mb"] for line in waiting)
    assert charged < 0.1, [(line["line"], line["n_churn_mb"]) for line in waiting]


# -- floods ----------------------------------------------------------------------


def test_400k_live_sampled_blocks_freed_leave_no_growth(memory_kernel: KernelSession) -> None:
    # 400,000 blocks of at least the 4 KiB window: every one is sampled and
    # live at once, then all are freed by one statement (400,000 free records
    # with no bytecode, so no drain, in between).
    outcome = memory_kernel.run(
        "%%scalene --allocation-sampling-window 4096\n"
        "import sys\n"
        "blocks = [bytes(4096) for _ in range(400_000)]\n"
        "truth_mb = (sum(sys.getsizeof(b) for b in blocks) + sys.getsizeof(blocks)) / 2**20\n"
        "del blocks\n",
        timeout=600,
    )
    profile = memory_kernel.profile_of(outcome)
    key = profile["notebook"]["profiled_source"]
    memory = profile["notebook"]["memory"]
    truth: float = memory_kernel.value("truth_mb")
    # The live table holds them all (a rare insert may find its probe window
    # full; it is counted, and never counted as live).
    assert memory["buffer_overflow"] == 0 and memory["table_refused"] < 100, memory
    assert abs(profile["max_footprint_mb"] - truth) < 0.10 * truth, (profile["max_footprint_mb"], truth)
    assert abs(line_of(profile, key, "blocks = [")["n_peak_mb"] - truth) < 0.10 * truth
    # What the cell keeps (a float) is one sample at most; its weight, the
    # bytes since the sample before, is exponential around the window.
    assert memory["sampled_growth_mb"] <= 8 * 4096 / MIB, memory
    assert profile["growth_rate"] < 0.1
    assert profile["files"][key]["leaks"] == {}


def test_a_flood_that_loses_records_counts_them_and_the_next_run_starts_at_zero(memory_kernel: KernelSession) -> None:
    # A million 4 KiB blocks made and dropped inside one C call (deque over
    # map): no bytecode runs, so nothing drains, and their two million
    # records outgrow the 256 MiB the allocator keeps for waiting records.
    # The 8 MiB block after the flood is the run's only growth.
    memory_kernel.run("import collections, itertools, sys")
    outcome = memory_kernel.run(
        "%%scalene --allocation-sampling-window 4096\n"
        "collections.deque(map(bytearray, itertools.repeat(4096, 1_000_000)), maxlen=0)\n"
        "kept = bytearray(8 * 2**20)\n",
        timeout=600,
    )
    profile = memory_kernel.profile_of(outcome)
    key = profile["notebook"]["profiled_source"]
    memory = profile["notebook"]["memory"]
    kept: float = memory_kernel.value("sys.getsizeof(kept) / 2**20")
    assert memory["buffer_overflow"] > 100_000, memory  # lost, and said so
    # Lost free records leave no phantom growth: the run grew by the kept block.
    assert abs(memory["sampled_growth_mb"] - kept) <= 8 * 4096 / MIB, (memory, kept)
    assert str(line_of(profile, key, "collections.deque")["lineno"]) not in profile["files"][key]["leaks"]

    clean = memory_kernel.profile_of(
        memory_kernel.run(
            "%%scalene\nsmall = [bytes(1000) for _ in range(20_000)]\ntruth_mb = (sum(map(sys.getsizeof, small)) + sys.getsizeof(small)) / 2**20\n"
        )
    )
    counters = clean["notebook"]["memory"]
    assert (counters["buffer_overflow"], counters["table_refused"], counters["invalid_stacks"]) == (0, 0, 0), counters
    truth: float = memory_kernel.value("truth_mb")
    measured = line_of(clean, clean["notebook"]["profiled_source"], "small = [")["n_churn_mb"]
    assert abs(measured - truth) < 0.25 * truth, (measured, truth)  # about 20 samples at the 1 MiB window
    memory_kernel.run("del kept, small")


# -- tracemalloc -------------------------------------------------------------------

# Reads Python's allocator functions for the MEM and OBJ domains (and, when
# the installed one is tracemalloc's, the allocator it forwards to), and
# where the native library's code lies, from inside the kernel.
_CHAIN_PROBE = r"""
import ctypes as _ctypes
class _Allocator(_ctypes.Structure):
    _fields_ = [(name, _ctypes.c_void_p) for name in ("ctx", "malloc", "calloc", "realloc", "free")]
_ctypes.pythonapi.PyMem_GetAllocator.argtypes = [_ctypes.c_int, _ctypes.c_void_p]
_ctypes.pythonapi.PyMem_GetAllocator.restype = None
def _fields(found):
    return [found.ctx or 0, found.malloc or 0, found.calloc or 0, found.realloc or 0, found.free or 0]
def _allocator(domain):
    found = _Allocator()
    _ctypes.pythonapi.PyMem_GetAllocator(domain, _ctypes.byref(found))
    return _fields(found)
def _forwards_to(allocator):
    return _fields(_Allocator.from_address(allocator[0]))
def _ours():
    spans = []
    with open("/proc/self/maps") as maps:
        for row in maps:
            if row.rstrip().endswith("scalene_lab_alloc.so"):
                start, end = row.split()[0].split("-")
                spans.append((int(start, 16), int(end, 16)))
    return spans
def _chain():
    out = {}
    for name, domain in (("mem", 1), ("obj", 2)):
        installed = _allocator(domain)
        out[name] = {"installed": installed,
                     "beneath": _forwards_to(installed) if installed[1] == _tracer[name][1] else None}
    out["tracing"] = tracemalloc.is_tracing()
    out["ours"] = any(a <= f < b for d in ("mem", "obj") for f in out[d]["installed"][1:] + (out[d]["beneath"] or [0, 0])[1:]
                      for a, b in _ours())
    return out
"""

# Each cycle: (cell before, profiled cell body, cell after); tracemalloc is
# started, stopped or restarted inside the profiled cell or around it.
_CYCLES = [
    ("", "tracemalloc.start()\nkept = [bytes(1000) for _ in range(5000)]\n", "tracemalloc.stop()"),
    ("tracemalloc.start()", "kept = [bytes(1000) for _ in range(5000)]\ntracemalloc.stop()\n", ""),
    ("", "tracemalloc.start()\ntracemalloc.stop()\ntracemalloc.start(5)\nkept = [bytes(1000) for _ in range(5000)]\n", "tracemalloc.stop()"),
    ("tracemalloc.start()", "kept = [bytes(1000) for _ in range(5000)]\n", "tracemalloc.stop()"),
]


def test_tracemalloc_cycles_leave_the_chain_as_tracemalloc_left_it(fresh_memory_kernel: KernelSession) -> None:
    kernel = fresh_memory_kernel
    kernel.run("import tracemalloc\n" + _CHAIN_PROBE, silent=True)
    # The unprofiled truth: Python's own allocator, and tracemalloc's hook
    # installed over it (what it forwards to is that allocator).
    kernel.run("_plain = {'mem': _allocator(1), 'obj': _allocator(2)}", silent=True)
    kernel.run("tracemalloc.start()\n_tracer = {'mem': _allocator(1), 'obj': _allocator(2)}\ntracemalloc.stop()", silent=True)
    plain: dict[str, list[int]] = kernel.value("_plain")
    tracer: dict[str, list[int]] = kernel.value("_tracer")
    # The whole process state (hooks, GOT slots, signals, timers, threads)
    # after one profiled run has loaded the library: what the cycles must
    # leave. Not allocation speed: the same kernel's burst timing moves
    # 1.2-1.6x between measurements on a loaded two-core machine, more than
    # a hook left behind would add (test_faults.py says the same).
    kernel.profile_of(kernel.run("%%scalene\nkept = [bytes(1000) for _ in range(5000)]\n"))
    before = state_of(kernel)

    for cycle in range(36):  # 32 cycles used to exhaust the wrapper slots
        ahead, body, after = _CYCLES[cycle % len(_CYCLES)]
        for code in (ahead, "%%scalene\n" + body, after):
            if not code:
                continue
            outcome = kernel.run(code)
            assert outcome.status == "ok", (cycle, code, outcome.error)
            if code.startswith("%%scalene"):
                kernel.profile_of(outcome)  # memory profiling still attached
                assert "allocator wrappers" not in outcome.stderr, outcome.stderr
            chain: dict[str, Any] = kernel.value("_chain()")
            assert not chain["ours"], (cycle, code, chain)
            for domain in ("mem", "obj"):
                if chain["tracing"]:
                    assert chain[domain]["installed"][1:] == tracer[domain][1:], (cycle, code, domain, chain)
                    assert chain[domain]["beneath"] == plain[domain], (cycle, code, domain, chain)
                else:
                    assert chain[domain]["installed"] == plain[domain], (cycle, code, domain, chain)

    assert not differences(before, state_of(kernel))


# -- freed memory goes back ---------------------------------------------------------

_RESIDENT = "def resident_mb():\n    with open('/proc/self/statm') as handle:\n        return int(handle.read().split()[1]) * 4096 / 2**20\n"


@pytest.mark.parametrize(
    "build",
    [
        "[bytes(1000) for _ in range(1_000_000)]",  # heap blocks of the C library
        "[np.ones(12_800) for _ in range(10_000)]",  # 100 KB arrays, heap blocks too
    ],
)
def test_freed_memory_goes_back_during_the_run(fresh_memory_kernel: KernelSession, build: str) -> None:
    # About 1 GB built and freed; the resident set is read right after the
    # free, inside the cell, profiled first and then unprofiled in the same
    # kernel (the profiled run leaves the heap as it found it).
    kernel = fresh_memory_kernel
    kernel.run("import numpy as np\n" + _RESIDENT)
    body = f"start_mb = resident_mb()\nx = {build}\nbuilt_mb = resident_mb() - start_mb\ndel x\nkept_mb = resident_mb() - start_mb\n"
    kernel.profile_of(kernel.run("%%scalene\n" + body, timeout=300))
    profiled_built: float = kernel.value("built_mb")
    profiled_kept: float = kernel.value("kept_mb")
    assert kernel.run(body, timeout=300).status == "ok"
    plain_kept: float = kernel.value("kept_mb")
    assert profiled_built > 800
    # Unprofiled, at most a few dozen MB stay; the profiler may keep up to
    # one release step (64 MiB of sampled frees) more.
    assert profiled_kept < plain_kept + 96, (profiled_kept, plain_kept, profiled_built)
