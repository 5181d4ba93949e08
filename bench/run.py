"""Slowdown of %%scalene against the same cell unprofiled, in a real kernel.

Each workload runs as a notebook cell, unprofiled and under
``%%scalene --cpu-only``, alternating (the order flips every round so drift on
a shared machine hits both sides). The time is what the user waits for: from
sending the execute request to the kernel going idle, profile display
included. Prints, per workload, the median of the per-round ratios with min
and max, and the unprofiled median time.

    .venv/bin/python bench/run.py [--rounds 7] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import sys
import time
from typing import Dict, List

from jupyter_client.manager import KernelManager

SETUP = """
import numpy as np
def py_work(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i * i
        else:
            total -= i // 7
    return total
def np_work(size, reps):
    a = np.random.rand(size, size)
    for _ in range(reps):
        a = np.tanh(a @ a / size)
    return float(a.sum())
"""

WORKLOADS: Dict[str, str] = {
    "pure-python": "r = py_work(8_000_000)",
    "numpy-heavy": "r = np_work(1200, 8)",
    "mixed": (
        "acc = 0.0\n"
        "v = np.random.rand(2000)\n"
        "for k in range(80_000):\n"
        "    acc += float(np.dot(v, v)) * (k % 5)\n"
        "d = {i: str(i) for i in range(800_000)}\n"
        "r = py_work(4_000_000) + np_work(900, 8)"
    ),
}


def run_cell(client, code: str, timeout: float = 600) -> float:
    """Execute ``code``; return the seconds until the kernel is idle again."""
    started = time.perf_counter()
    msg_id = client.execute(code, store_history=True)
    while True:
        try:
            message = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(code) from None
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "error":
            raise RuntimeError("\n".join(message["content"]["traceback"]))
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--json", help="also write the raw times here")
    args = parser.parse_args()

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    try:
        run_cell(client, "%load_ext scalene_lab\n" + SETUP)
        results: Dict[str, Dict[str, List[float]]] = {}
        for name, body in WORKLOADS.items():
            plain: List[float] = []
            profiled: List[float] = []
            run_cell(client, body)  # warm-up: imports, caches, BLAS threads
            run_cell(client, "%%scalene --cpu-only\n" + body)
            for round_ in range(args.rounds):
                order = [(plain, body), (profiled, "%%scalene --cpu-only\n" + body)]
                for times, code in order if round_ % 2 == 0 else reversed(order):
                    times.append(run_cell(client, code))
            results[name] = {"unprofiled": plain, "profiled": profiled}
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    print(f"%%scalene --cpu-only slowdown, {args.rounds} alternating rounds per workload")
    print(f"{'workload':<14} {'unprofiled (median s)':>22} {'median':>8} {'min':>7} {'max':>7}")
    medians = []
    for name, times in results.items():
        ratios = [p / u for p, u in zip(times["profiled"], times["unprofiled"])]
        medians.append(statistics.median(ratios))
        print(
            f"{name:<14} {statistics.median(times['unprofiled']):>22.3f} "
            f"{statistics.median(ratios):>7.3f}x {min(ratios):>6.3f}x {max(ratios):>6.3f}x"
        )
    print(f"{'all':<14} {'':>22} {statistics.median(medians):>7.3f}x")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
