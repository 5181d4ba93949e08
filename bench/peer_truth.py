"""Truths of the peer benchmark, measured unprofiled in a fresh interpreter
(and, for scalene-lab's line truths, in its kernel).

Each truth runs the project's interpreter (the kernel's) as a child process
with the same single-threaded BLAS as every profiled run. Timing truths
compile every variant once and run them back to back in rounds (the order
flips each round), each timed by the thread's CPU clock, so time another
process takes the CPU away adds nothing (it falls on every line in
proportion to its time, so it does not move a line's share). A truth is
computed per round, from that round's variants only, and the median over
all rounds is the truth. The benchmark times rounds in batches spread over
its run (one before each accuracy run); how far one batch's truth strays
from the pooled one is reported as the truth's own noise.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence

from peer_workloads import ALLOC_SCRIPT, ALLOC_TRUTHS, NATIVE_REGIONS, NATIVE_SCRIPT, NATIVE_SETUP_LINES, AblationLoop
from tools.common import bench_env

# One round: every variant's CPU seconds, in the variants' order.
Round = list[float]

# Times every variant in rounds (the order flips each round) by the thread's
# CPU clock, after running the set-up in the namespace `_peer_ns`; each
# variant runs in `{variant_globals}`. Its names carry a prefix, since in a
# kernel they land in the user's namespace.
_ROUNDS = """\
import time as _peer_time
{prelude}
exec(compile({setup!r}, "<setup>", "exec"), _peer_ns)
_peer_codes = [compile(_v, "<variant>", "exec") for _v in {variants!r}]
_peer_rounds = []
for _peer_round in range({rounds}):
    _peer_times = [0.0] * len(_peer_codes)
    _peer_order = list(range(len(_peer_codes)))
    for _peer_k in (_peer_order if _peer_round % 2 == 0 else reversed(_peer_order)):
        _peer_globals = {variant_globals}
        _peer_t0 = _peer_time.thread_time()
        exec(_peer_codes[_peer_k], _peer_globals)
        _peer_times[_peer_k] = _peer_time.thread_time() - _peer_t0
    _peer_rounds.append(_peer_times)
{emit}
"""

# In a child process: a fresh namespace, each variant in a copy of it, the
# rounds printed as JSON.
_SCRIPT_PARTS = {
    "prelude": "import json as _peer_json\n_peer_ns = {}",
    "variant_globals": "dict(_peer_ns)",
    "emit": "print(_peer_json.dumps(_peer_rounds))",
}

# Inside scalene-lab's kernel: the user namespace a profiled cell runs in
# (IPython's, not a fresh dict: every line of these loops is a LOAD_NAME or
# STORE_NAME, and the dictionary they use moves the lines' relative costs by
# a few points). The rounds come back as a display.
_KERNEL_PARTS = {
    "prelude": "from IPython.display import display as _peer_display\n_peer_ns = get_ipython().user_ns",
    "variant_globals": "_peer_ns",
    "emit": '_peer_display({"application/json": {"rounds": _peer_rounds}}, raw=True)',
}


def kernel_timer_cell(setup: str, variants: list[str], rounds: int) -> str:
    """The cell that times ``rounds`` rounds of ``variants`` in a kernel's user namespace."""
    return _ROUNDS.format(setup=setup, variants=variants, rounds=rounds, **_KERNEL_PARTS)


def kernel_rounds(displays: Sequence[Mapping[str, object]]) -> list[Round]:
    """The rounds a :func:`kernel_timer_cell` showed."""
    for data in displays:
        shown = data.get("application/json")
        if isinstance(shown, dict) and "rounds" in shown:
            return [[float(t) for t in r] for r in shown["rounds"]]
    raise ValueError("the timing cell showed no rounds")


def _run_probe(program: str) -> str:
    done = subprocess.run([sys.executable, "-c", program], env=bench_env(), stdout=subprocess.PIPE, check=True)
    return done.stdout.decode().strip().splitlines()[-1]


def time_rounds(setup: str, variants: list[str], rounds: int) -> list[Round]:
    """``rounds`` rounds of every variant's CPU time, after ``setup``."""
    return [[float(t) for t in r] for r in json.loads(_run_probe(_ROUNDS.format(setup=setup, variants=variants, rounds=rounds, **_SCRIPT_PARTS)))]


def ablation_variants(workload: AblationLoop) -> tuple[str, list[str]]:
    """(set-up, variants) to time for a loop's ablation truths: the full loop,
    then the loop without each body line in turn (the set-up includes the
    workload's preset names, so every variant runs)."""
    n = workload.truth_iterations
    variants = [workload.loop(workload.body, n)]
    variants += [workload.loop(workload.body[:j] + workload.body[j + 1 :], n) for j in range(len(workload.body))]
    return "".join(f"{line}\n" for line in workload.setup + workload.preset), variants


def _ablation_round(workload: AblationLoop, times: Round) -> dict[int, float]:
    # Line j costs what the loop loses without it. Removal, not a stand-in
    # statement whose own cost must be estimated: that estimate (what one
    # more trivial line adds to the full loop) swung from -11% to +4% of the
    # loop under a neighbour's memory traffic (see test_truth.py).
    base, *without = times
    return {n: 100.0 * (base - time) / base for n, time in zip(workload.body_linenos, without)}


def ablation_truths(workload: AblationLoop, rounds: Sequence[Round]) -> dict[int, float]:
    """Percent of the loop's time each body line costs (by script line): the
    median over rounds of :func:`ablation_variants` timed together."""
    per_round = [_ablation_round(workload, r) for r in rounds]
    return {n: max(0.0, statistics.median(p[n] for p in per_round)) for n in workload.body_linenos}


def native_variants() -> dict[str, tuple[str, list[str]]]:
    """Per region with a native call: (set-up, [the loop, the loop with the
    call replaced by a plain assignment])."""
    lines = NATIVE_SCRIPT.splitlines(keepends=True)
    setup = "".join(lines[:NATIVE_SETUP_LINES])
    variants: dict[str, tuple[str, list[str]]] = {}
    for name, ((first, last), swap) in NATIVE_REGIONS.items():
        if swap is not None:
            region = "".join(lines[first - 1 : last])
            variants[name] = (setup, [region, region.replace(swap[0], swap[1])])
    return variants


def native_truths(rounds: Mapping[str, Sequence[Round]]) -> dict[str, float]:
    """Percent of each region's time spent in its native call: the loop's
    time less the loop without the call, median over rounds. A pure-Python
    region's is 0."""
    truths: dict[str, float] = {}
    for name, (_lines, swap) in NATIVE_REGIONS.items():
        if swap is None:
            truths[name] = 0.0
        else:
            truths[name] = max(0.0, statistics.median(100.0 * (full - bare) / full for full, bare in rounds[name]))
    return truths


def allocation_truths() -> dict[int, float]:
    """MiB each allocating line of the allocation script allocates, as the
    script's own process counts them (sys.getsizeof, ndarray.nbytes)."""
    readout = ", ".join(f"{lineno}: {expression}" for lineno, expression in ALLOC_TRUTHS.items())
    program = f"{ALLOC_SCRIPT}\nimport json as _json\nprint(_json.dumps({{{readout}}}))\n"
    return {int(k): float(v) / 2**20 for k, v in json.loads(_run_probe(program)).items()}
