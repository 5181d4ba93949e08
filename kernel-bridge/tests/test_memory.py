"""%%scalene --memory: the native sampling allocator in a live kernel, both
ways in (hot-attached to a plain kernel; preloaded in "Python 3 (Scalene)")."""

from __future__ import annotations

import pytest
from kernel_session import KernelSession, line_of

MIB = 1024 * 1024


def test_native_and_python_allocations_per_line(memory_kernel: KernelSession) -> None:
    memory_kernel.run("import numpy as np")
    cell = (
        "%%scalene --memory\n"
        "big = np.ones(200 * 1000 * 1000 // 8)\n"
        "objects = [str(i) * 3 for i in range(1_000_000)]\n"
        "for _ in range(10):\n"
        "    dup = big.copy()\n"
        "del big, dup\n"
        "after = 1\n"
    )
    profile = memory_kernel.profile_of(memory_kernel.run(cell))
    key = profile["notebook"]["profiled_source"]

    array = line_of(profile, key, "np.ones")
    truth = 200 * 1000 * 1000 / MIB
    assert abs(array["n_malloc_mb"] - truth) < 0.10 * truth, array["n_malloc_mb"]
    assert array["n_python_fraction"] < 0.1  # native (numpy's malloc), not Python's allocator

    built = line_of(profile, key, "objects = ")
    assert built["n_python_fraction"] > 0.8
    assert built["n_peak_mb"] > 20

    copies = line_of(profile, key, "dup = big.copy()")
    assert copies["n_copy_mb_s"] * profile["elapsed_time_sec"] > 0.5 * 10 * truth

    # Freed memory shows: the footprint at the end is well below the peak.
    assert profile["max_footprint_mb"] > 1.5 * truth
    assert profile["samples"][-1][1] < profile["max_footprint_mb"] - 0.8 * truth
    assert profile["notebook"]["memory"]["buffer_overflow"] == 0


def test_allocations_of_cell_threads_count_and_forks_are_safe(memory_kernel: KernelSession) -> None:
    cell = (
        "%%scalene --memory\n"
        "import os, time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "def build(n):\n"
        "    kept = []\n"
        "    for _ in range(n):\n"
        "        kept.append(bytearray(2 * 1024 * 1024))\n"
        "        time.sleep(0.002)\n"
        "    return kept\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    blocks = list(pool.map(build, [40] * 4))\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    junk = bytearray(30 * 1024 * 1024)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    profile = memory_kernel.profile_of(memory_kernel.run(cell))
    key = profile["notebook"]["profiled_source"]
    # 4 threads x 40 x 2 MiB = 320 MiB. A thread's samples are charged to the
    # line it is on when the kernel drains them (Scalene's rule too). These
    # workers pause between blocks, as threads waiting on I/O do, so the
    # main thread gets the GIL to drain while they are still on their lines;
    # CPU-bound workers that finish before the main thread gets the GIL
    # leave their share unattributed (README, "Memory"). Nothing may land
    # on the kernel's own threads.
    lines = profile["files"][key]["lines"]
    first = line_of(profile, key, "def build")["lineno"]
    last = line_of(profile, key, "return kept")["lineno"]
    worker = sum(r["n_malloc_mb"] for r in lines if first <= r["lineno"] <= last)
    memory = profile["notebook"]["memory"]
    assert worker > 0.8 * 320, (worker, memory)
    assert worker + memory["unattributed_mb"] > 0.9 * 320, (worker, memory)
    assert memory_kernel.run("len(blocks)").result == {"text/plain": "4"}


@pytest.mark.parametrize("window", ["0", "-5", "1e12", "lots"])
def test_bad_windows_are_usage_errors(kernel: KernelSession, window: str) -> None:
    outcome = kernel.run(f"%%scalene --memory --allocation-sampling-window {window}\nx = 1")
    assert outcome.status == "error" and outcome.stderr.startswith("UsageError: ")


def test_repeated_attach_and_detach(fresh_memory_kernel: KernelSession) -> None:
    from test_restore import snapshot

    fresh_memory_kernel.run("import numpy as np")
    before = snapshot(fresh_memory_kernel)
    rss = []
    for i in range(200):
        outcome = fresh_memory_kernel.run("%%scalene --memory\nx = np.ones(2_000_000)\ny = [i for i in range(20000)]\ndel x")
        assert len(outcome.profiles) == 1, (i, outcome.stderr)
        fresh_memory_kernel.profile_of(outcome)
        if i in (19, 199):
            rss.append(fresh_memory_kernel.value("int(open('/proc/self/statm').read().split()[1]) * 4096"))
    assert snapshot(fresh_memory_kernel) == before
    assert rss[1] - rss[0] < 32 * MIB, rss


def test_coexists_with_tracemalloc(fresh_memory_kernel: KernelSession) -> None:
    fresh_memory_kernel.run("import tracemalloc\ntracemalloc.start()")
    outside = fresh_memory_kernel.run("%%scalene --memory\nkept = [bytes(1000) for _ in range(20000)]")
    fresh_memory_kernel.profile_of(outside)
    assert fresh_memory_kernel.value("tracemalloc.get_traced_memory()[0] > 15_000_000") is True
    fresh_memory_kernel.run("tracemalloc.stop()")

    inside = fresh_memory_kernel.run("%%scalene --memory\ntracemalloc.start()\nmore = [bytes(1000) for _ in range(20000)]")
    fresh_memory_kernel.profile_of(inside)
    assert fresh_memory_kernel.value("tracemalloc.get_traced_memory()[0] > 15_000_000") is True
    assert fresh_memory_kernel.run("tracemalloc.stop()\nafter = [bytes(100) for _ in range(1000)]\nlen(after)").status == "ok"
    again = fresh_memory_kernel.run("%%scalene --memory\nagain = [bytes(1000) for _ in range(20000)]")
    assert fresh_memory_kernel.profile_of(again)["max_footprint_mb"] > 5


def test_python_objects_line_is_measured_within_ten_percent(memory_kernel: KernelSession) -> None:
    # ~100 MB of bytes objects, all kept. The line also allocates what the
    # user does not keep (the list's outgrown buffers, range's ints: ~3%).
    # A sample that lands on one of those takes its whole weight (the bytes
    # since the previous sample, ~1 MiB) out of the footprint when it is
    # freed, so the peak is spread more widely than the allocation total:
    # 15% is over four standard deviations of that spread.
    outcome = memory_kernel.run(
        "%%scalene --memory\n"
        "import sys\n"
        "objs = [bytes(4000) for _ in range(25_000)]\n"
        "truth = (sum(sys.getsizeof(o) for o in objs) + sys.getsizeof(objs)) / 2**20\n"
    )
    profile = memory_kernel.profile_of(outcome)
    key = profile["notebook"]["profiled_source"]
    line = line_of(profile, key, "objs = ")
    truth = memory_kernel.value("truth")
    assert abs(line["n_malloc_mb"] - truth) < 0.10 * truth, ("alloc", line["n_malloc_mb"], truth)
    assert line["n_python_fraction"] > 0.9
    # The peak follows the sampled blocks; n_malloc_mb takes the kept share
    # of the line's small samples from its companions (memory.py), so the
    # two may differ by about a sample's weight either way.
    assert 0.85 * truth < line["n_peak_mb"] <= line["n_malloc_mb"] + 2.0, ("peak", line["n_peak_mb"], line["n_malloc_mb"], truth)


def test_a_line_that_keeps_what_it_allocates_is_a_likely_leak(memory_kernel: KernelSession) -> None:
    # Both lines allocate 2 MiB sixty times; only the first keeps its blocks
    # (the second's block is freed when the next one replaces it). They run
    # in separate loops: a sample is charged to the line running when it is
    # drained, so in one interleaved loop a scratch block drained a statement
    # late would count as the keeper's, and its free against the keeper; two
    # such frees in ~50 samples put a true leak under Scalene's 0.95.
    outcome = memory_kernel.run(
        "%%scalene --memory\n"
        "kept = []\n"
        "for _ in range(60):\n"
        "    kept.append(bytearray(2 * 1024 * 1024))\n"
        "for _ in range(60):\n"
        "    scratch = bytearray(2 * 1024 * 1024)\n"
    )
    profile = memory_kernel.profile_of(outcome)
    key = profile["notebook"]["profiled_source"]
    keeper = line_of(profile, key, "kept.append")["lineno"]
    scratch = line_of(profile, key, "scratch = ")["lineno"]
    leaks = profile["files"][key]["leaks"]
    assert str(keeper) in leaks, leaks
    assert leaks[str(keeper)]["likelihood"] >= 0.95
    assert leaks[str(keeper)]["velocity_mb_s"] > 0
    assert str(scratch) not in leaks, leaks
    memory_kernel.run("del kept, scratch")


def test_peak_of_a_partly_touched_array(memory_kernel: KernelSession) -> None:
    # 512 MiB asked for, a quarter touched: the peak is what the program
    # allocated (Scalene's meaning), whatever the pages resident.
    outcome = memory_kernel.run("%%scalene --memory\nimport numpy as np\nhuge = np.zeros(512 * 2**20 // 8)\nhuge[: len(huge) // 4] = 1.0\ndel huge\n")
    profile = memory_kernel.profile_of(outcome)
    key = profile["notebook"]["profiled_source"]
    assert abs(profile["max_footprint_mb"] - 512) < 0.05 * 512, profile["max_footprint_mb"]
    assert abs(line_of(profile, key, "np.zeros")["n_peak_mb"] - 512) < 0.05 * 512
    assert profile["max_footprint_lineno"] == line_of(profile, key, "np.zeros")["lineno"]


def test_functions_carry_their_lines_memory(memory_kernel: KernelSession) -> None:
    outcome = memory_kernel.run(
        "%%scalene --memory\ndef make(n):\n    out = []\n    for _ in range(n):\n        out.append(bytes(1000))\n    return out\nkept = make(50_000)\n"
    )
    profile = memory_kernel.profile_of(outcome)
    key = profile["notebook"]["profiled_source"]
    (make,) = [f for f in profile["files"][key]["functions"] if f["line"] == "make"]
    assert make["n_malloc_mb"] > 40 and make["n_python_fraction"] > 0.9
