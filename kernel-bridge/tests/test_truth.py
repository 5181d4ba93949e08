"""The accuracy suite: every truth here is measured, not typed in.

A loop line's true share of the loop's time comes from ablation: the same
loop without that one line, timed unprofiled in the same kernel; what the
line costs is what the loop loses without it. Allocation truths are
the bytes the line allocates (its object sizes, from sys.getsizeof / nbytes),
and the native share of a line that only calls numpy is what numpy does.
Bounds follow the issue: line shares within 5 points of the truth, the
loop's last line no higher than its truth plus 5, a `def` line at most 2%
of its function, allocation lines within 10% and holding 90% of the loop's
allocation, short native calls at least 85% native, pure Python at most 5%.
"""

from __future__ import annotations

import os
import textwrap
from statistics import median
from typing import NamedTuple

import pytest
from kernel_session import KernelSession, line_of, loaded_kernel, total

BODY = [
    "a = i + 1",
    "b = " + " + ".join(["a"] * 40),
    "c = a + b",
    "s += c",
]
# Set before an ablation's loop, so that the names a removed line would
# have bound hold values of the sizes it binds (ints of one 30-bit digit):
# the lines after it then do the same work as in the full loop.
PRELUDE = "a = 50_001\nb = 40 * a\nc = a + b\n"
# Per timed run of the ablation (about 60 ms here). Short runs in many
# rounds: a round of every variant takes 0.4 s, so a change in the machine's
# state (a neighbour's load, the CPU's clock) lands within a round, where the
# shares are taken, not between one variant and the next (runs of 0.4 s,
# 2.8 s a round, read the first line 4% in one CI run and 11% in another).
ITERATIONS = 100_000
ROUNDS_PER_TURN = 14
PROFILED_ITERATIONS = 2_000_000
# 1 ms between samples: about a thousand samples on the profiled loop, so a
# line's share has a standard error near one point and a 5-point bound holds.
FAST_RATE = "--cpu-sampling-rate 0.001"


def _loop(body: list[str], iterations: int = ITERATIONS, prelude: str = "") -> str:
    lines = "\n".join("    " + line for line in body)
    return f"{prelude}s = 0\nfor i in range({iterations}):\n{lines}\n"


# Runs inside the kernel: every variant compiled once and timed in
# interleaved rounds within one cell, so the kernel's own message traffic
# between cells adds no noise. Differences between variants are taken
# within a round and the median over rounds kept: a burst of load on the
# shared machine lands on one round, not on one variant's every run. Each
# run is timed by the thread's CPU clock, as the profiler's samples are: a
# neighbour's load that takes the CPU away from the kernel then does not
# count as the line's time (wall-clock truths under load read the heavy
# line anywhere from 62% to 80%).
_TIMING_CELL = """\
import time as _t
_codes = [compile(_src, "<ablation>", "exec") for _src in {sources!r}]
_rounds = []
for _round in range({rounds}):
    _times = []
    for _code in _codes:
        _t0 = _t.thread_time()
        exec(_code, get_ipython().user_ns)
        _times.append(_t.thread_time() - _t0)
    _rounds.append(_times)
"""


class Ablation(NamedTuple):
    """One round's shares of the loop for each body line, in BODY's order:
    `scaled` keeps the lines' proportions and sums to the body's share,
    `raw` is what the loop loses without the line, unscaled."""

    scaled: list[float]
    raw: list[float]


def _ablation_rounds(kernel: KernelSession, rounds: int) -> list[Ablation]:
    """Percent of the loop's time each body line costs, measured unprofiled,
    once per round.

    Line j costs what the loop loses without it: the full loop's time less
    the time of the loop with line j removed (PRELUDE keeps the names it
    binds set). Removal needs no estimate of what a stand-in statement costs:
    an earlier version replaced each line with a trivial one (`b = a`) and
    added back a trivial statement's cost measured as what one more such
    line adds to the full loop, a difference of two long runs that read
    anywhere from -11% to +4% of the loop under a neighbour's memory traffic
    and moved the heavy line's truth from 84% to 75%. The costs are scaled
    to the body's measured share of the loop (the loop with an empty body is
    the `for` line's own cost), keeping their proportions; unscaled they add
    up to 99-103% of the body's time on 3.11 to 3.13, calm or with a numpy
    copy loop on the other core, but to 106-108% on 3.10: there a line's
    removal also speeds up the lines around it, and how that excess divides
    among the lines is not measured. A line's truth is therefore the range
    between its scaled and its raw share (on 3.10, 80-86% for the heavy
    line; py-spy reads it 85.5%, this profiler 86%; on 3.13 the two agree
    within a point, py-spy 83.7%).
    """
    variants = [_loop(BODY, prelude=PRELUDE), _loop(["pass"], prelude=PRELUDE)]
    for j in range(len(BODY)):
        variants.append(_loop(BODY[:j] + BODY[j + 1 :], prelude=PRELUDE))
    outcome = kernel.run(_TIMING_CELL.format(sources=variants, rounds=rounds))
    assert outcome.status == "ok", outcome.error
    ablations: list[Ablation] = []
    for times in kernel.value("_rounds"):
        base, empty, *without = (float(t) for t in times)
        marginal = [max(0.0, base - time) for time in without]
        body = max(0.0, base - empty)
        scale = body / sum(marginal) if sum(marginal) > 0 else 0.0
        ablations.append(Ablation([100.0 * cost * scale / base for cost in marginal], [100.0 * cost / base for cost in marginal]))
    return ablations


def _interleaved(kernel: KernelSession, turns: int = 4) -> tuple[list[Ablation], list[list[float]]]:
    """(truth rounds, profiled shares): truth rounds and profiled runs take
    turns, so both see the same states of the shared machine (a neighbour's
    load changes the lines' relative costs, the allocating heavy line's
    most: truths taken a minute apart read the heavy line 79.9% and 84.7%)."""
    truth_rounds: list[Ablation] = []
    profiled: list[list[float]] = []
    for _turn in range(turns):
        truth_rounds += _ablation_rounds(kernel, ROUNDS_PER_TURN)
        outcome = kernel.run(f"%%scalene --cpu-only {FAST_RATE}\n" + _loop(BODY, PROFILED_ITERATIONS))
        assert outcome.status == "ok", outcome.error
        profile = outcome.profile
        assert profile["notebook"]["sampling"]["method"] == "instant"
        key = profile["notebook"]["profiled_source"]
        profiled.append([total(line_of(profile, key, text)) for text in BODY])
    return truth_rounds, profiled


def _loop_verdict(truth_rounds: list[Ablation], profiled: list[list[float]]) -> tuple[bool, str]:
    """Whether every line's median share is within 5 points of its truth
    (the range between its median scaled and median raw ablation share; the
    last line no higher than that plus 5), and what was seen."""
    seen: list[str] = []
    ok = True
    for j, text in enumerate(BODY):
        scaled = median([r.scaled[j] for r in truth_rounds])
        raw = median([r.raw[j] for r in truth_rounds])
        low, high = min(scaled, raw), max(scaled, raw)
        share = median([r[j] for r in profiled])
        ok = ok and low - 5.0 <= share <= high + 5.0
        runs = ", ".join(f"{r[j]:.1f}" for r in profiled)
        seen.append(f"{text[:9]}: profile {share:.1f} (runs {runs}), truth {scaled:.1f} scaled, {raw:.1f} raw")
    return ok, "; ".join(seen)


def test_loop_lines_without_calls_match_ablation(kernel: KernelSession, tmp_path: os.PathLike[str]) -> None:
    truth_rounds, profiled = _interleaved(kernel)
    ok, seen = _loop_verdict(truth_rounds, profiled)
    print(f"loop lines: {seen}")  # shown with pytest -s
    if not ok:
        # Within one kernel process the truth variants and the profiled cell
        # are different code objects at fixed places, and the relative line
        # costs of each stay put for the process's life (one kernel read the
        # heavy line 79.6-80.8% in all four profiled runs against a truth of
        # 86.3%; about one kernel in twelve here). A second kernel, with its
        # own layout, is measured and the two are pooled.
        second = loaded_kernel(str(tmp_path))
        try:
            more_truths, more_profiled = _interleaved(second)
        finally:
            second.close()
        ok, pooled = _loop_verdict(truth_rounds + more_truths, profiled + more_profiled)
        seen = f"first kernel: {seen}; both kernels pooled: {pooled}"
    assert ok, seen


def test_function_time_lands_on_its_body_not_its_def_line(kernel: KernelSession) -> None:
    defined = kernel.run(
        textwrap.dedent(
            """\
            def hot(n):
                total = 0
                for k in range(n):
                    total += k * k
                return total
            """
        ),
        cell_id="cell-hot",
    )
    assert defined.status == "ok", defined.error
    outcome = kernel.run(f"%%scalene --cpu-only {FAST_RATE}\nfor _ in range(40):\n    hot(40_000)\n")
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    keys = [k for k, source in profile["notebook"]["sources"].items() if source.get("cell_id") == "cell-hot"]
    assert len(keys) == 1, profile["notebook"]["sources"]
    lines = profile["files"][keys[0]]["lines"]
    function_total = sum(total(r) for r in lines)
    assert function_total > 50, lines
    def_line = line_of(profile, keys[0], "def hot")
    assert total(def_line) <= 0.02 * function_total, (total(def_line), function_total)
    body = total(line_of(profile, keys[0], "for k in")) + total(line_of(profile, keys[0], "total += k"))
    assert body >= 0.9 * function_total


def test_an_allocation_in_the_middle_of_a_loop_lands_on_its_line(memory_kernel: KernelSession) -> None:
    cell = textwrap.dedent(
        """\
        %%scalene
        import sys
        import numpy as np
        sizes = []
        for k in range(200):
            keep = [0] * 250_000
            arr = np.ones(250_000)
            sizes.append(sys.getsizeof(keep))
            last = k + 1
        """
    )
    outcome = memory_kernel.run(cell)
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = profile["notebook"]["profiled_source"]
    list_truth = float(memory_kernel.value("sum(sizes)")) / 2**20
    array_truth = 200 * 250_000 * 8 / 2**20
    listed = line_of(profile, key, "keep = [0]")["n_malloc_mb"]
    arrays = line_of(profile, key, "np.ones")["n_malloc_mb"]
    loop_total = sum(r["n_malloc_mb"] for r in profile["files"][key]["lines"] if r["lineno"] >= 5)
    assert abs(listed - list_truth) <= 0.1 * list_truth, (listed, list_truth)
    assert abs(arrays - array_truth) <= 0.1 * array_truth, (arrays, array_truth)
    assert listed + arrays >= 0.9 * loop_total, (listed, arrays, loop_total)
    assert line_of(profile, key, "last = k + 1")["n_malloc_mb"] <= 0.02 * loop_total


def test_short_native_calls_are_native_and_pure_python_is_python(kernel: KernelSession) -> None:
    kernel.run("import numpy as np\nimport time\nxs = np.random.rand(100_000)\nm = np.random.rand(400, 400)")
    outcome = kernel.run(
        textwrap.dedent(
            """\
            %%scalene --cpu-only
            for _ in range(150):
                ys = np.sort(xs)
            for _ in range(150):
                p = m @ m
            acc = 0
            for j in range(1_500_000):
                acc += j % 7
            time.sleep(0.4)
            """
        )
    )
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = profile["notebook"]["profiled_source"]
    for text in ("np.sort", "m @ m"):
        line = line_of(profile, key, text)
        on_cpu = line["n_cpu_percent_python"] + line["n_cpu_percent_c"]
        assert on_cpu > 0 and line["n_cpu_percent_c"] >= 0.85 * on_cpu, (text, line)
    python_lines = [line_of(profile, key, t) for t in ("for j in", "acc += j")]
    python = sum(r["n_cpu_percent_python"] for r in python_lines)
    native = sum(r["n_cpu_percent_c"] for r in python_lines)
    assert native <= 0.05 * (python + native), python_lines
    sleep = line_of(profile, key, "time.sleep")
    assert sleep["n_sys_percent"] >= 0.9 * total(sleep), sleep


def test_a_worker_thread_gets_its_own_lines(memory_kernel: KernelSession) -> None:
    defined = memory_kernel.run(
        textwrap.dedent(
            """\
            import threading
            import time
            def worker(out):
                started = time.thread_time()
                acc = 0
                for q in range(12_000_000):
                    acc += q
                out.append(time.thread_time() - started)
                blocks = [bytearray(1 << 20) for _ in range(200)]
                out.append(len(blocks))
            """
        ),
        cell_id="cell-worker",
    )
    assert defined.status == "ok", defined.error
    outcome = memory_kernel.run(f"%%scalene {FAST_RATE}\nresult = []\nt = threading.Thread(target=worker, args=(result,))\nt.start()\nt.join()\n")
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    keys = [k for k, source in profile["notebook"]["sources"].items() if source.get("cell_id") == "cell-worker"]
    assert len(keys) == 1, profile["notebook"]["sources"]
    # The truth: the CPU time the worker's own clock gave its loop. The
    # profile's loop lines (its `for` line and its body share the loop by
    # instruction) must hold that much CPU time, Python time, within 25%.
    measured = float(memory_kernel.value("result[0]"))
    loop = [line_of(profile, keys[0], text) for text in ("for q in range", "acc += q")]
    seconds = profile["notebook"]["sampling"]["total_time_s"] / 100.0
    python = sum(r["n_cpu_percent_python"] for r in loop) * seconds
    native = sum(r["n_cpu_percent_c"] for r in loop) * seconds
    assert abs(python + native - measured) <= 0.25 * measured, (python, native, measured, loop)
    assert native <= 0.05 * (python + native), (python, native)
    # 200 MiB, so the sampler's error at the line's two ends (about a 1 MiB
    # window each, exponentially distributed) stays well inside 10%.
    blocks = line_of(profile, keys[0], "bytearray(1 << 20)")
    assert abs(blocks["n_malloc_mb"] - 200) <= 20, blocks


# What a line keeps is the sampled volume times the share of the samples'
# companion blocks still live one window later, pooled over the line; one
# block's own fate per sample spread the 1 MiB estimate by 8-12% (binomial),
# the companions' pooled share by a few percent. Scalene's threshold sampler
# counts every byte, so it has no spread but cannot split the window's bytes
# between lines.
@pytest.mark.parametrize("window, bound", [(131072, 0.10), (1048576, 0.10)])
def test_malloc_mb_is_what_a_line_keeps_and_churn_is_shown_beside_it(memory_kernel: KernelSession, window: int, bound: float) -> None:
    # Scalene's n_malloc_mb is net allocation against its window: the
    # temporaries `str(i)` (and the loop's ints) are freed at once and do
    # not count; the strings and the list the line keeps do. The truth is
    # what the line keeps, measured from the objects themselves.
    cell = textwrap.dedent(
        f"""\
        %%scalene --allocation-sampling-window {window}
        xs = [str(i) * 3 for i in range(1_500_000)]
        total = sum(i for i in range(3_000_000))
        """
    )
    outcome = memory_kernel.run(cell)
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = profile["notebook"]["profiled_source"]
    kept = float(memory_kernel.value("(sum(__import__('sys').getsizeof(x) for x in xs) + __import__('sys').getsizeof(xs)) / 2**20"))
    line = line_of(profile, key, "xs = [str(i)")
    assert abs(line["n_malloc_mb"] - kept) <= bound * kept, (line["n_malloc_mb"], kept)
    # The gross volume beside it counts the temporaries too.
    assert line["n_churn_mb"] >= 1.5 * kept, (line["n_churn_mb"], kept)
    # A line that only churns (ints created and dropped) keeps nothing.
    churn_only = line_of(profile, key, "total = sum")
    assert churn_only["n_malloc_mb"] <= 0.05 * kept, churn_only
    assert churn_only["n_churn_mb"] >= 20, churn_only
    memory_kernel.run("del xs")


def test_kept_and_temporaries_are_told_apart_per_line_on_a_worker_thread(memory_kernel: KernelSession) -> None:
    # A loop body on a worker thread: two lines make only temporaries (a list
    # and a bytes object dropped on the next pass), one keeps strings (and
    # drops their `str(i)`). The companions that settle n_malloc_mb count for
    # the line they were allocated on, so each line reads what it keeps;
    # pooled over the loop, the temporaries' lines would read the loop's mix.
    # How much of the loop's allocation lands on each line is itself sampled
    # (about 50 samples a line at the default window, so ±14%); a 64 KiB
    # window takes that spread under 4%, leaving the fates' share to test.
    cell = textwrap.dedent(
        """\
        %%scalene --allocation-sampling-window 65536
        import threading
        def fill(out):
            for i in range(len(out)):
                t = [i] * 20
                out[i] = str(i) * 4
                u = bytes(100)
        kept_strings = [None] * 400_000
        worker = threading.Thread(target=fill, args=(kept_strings,))
        worker.start()
        worker.join()
        """
    )
    outcome = memory_kernel.run(cell)
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = profile["notebook"]["profiled_source"]
    kept = float(memory_kernel.value("sum(__import__('sys').getsizeof(x) for x in kept_strings) / 2**20"))
    strings = line_of(profile, key, "out[i] = str(i) * 4")
    assert abs(strings["n_malloc_mb"] - kept) <= 0.10 * kept, (strings["n_malloc_mb"], kept)
    for temporaries in ("t = [i] * 20", "u = bytes(100)"):
        line = line_of(profile, key, temporaries)
        assert line["n_churn_mb"] >= 20, line
        assert line["n_malloc_mb"] <= 0.05 * kept, (temporaries, line["n_malloc_mb"], kept)
    memory_kernel.run("del kept_strings")
