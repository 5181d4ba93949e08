"""Cost of one allocation sample in the allocator's hooks, companions included.

    .venv/bin/python bench/allocation_sample_cost.py [--window BYTES] [--rounds N]

Runs a fixed Python allocation workload (small strings and tuples, kept and
dropped) alternately without the allocator and with it attached and sampling
at a small window (4 KiB by default, so that samples are many), reading no
records until each round is over, and prints the extra CPU time per
allocation sample in microseconds (medians of the rounds; a noisy machine
moves single rounds, not medians much). That is the hooks' whole cost per
sample: the stack read, the record, and the eight companions each sample
follows (native fate_group.hpp); at the default 1 MiB window and a few
hundred megabytes a second of allocation, 2 µs a sample is about 0.1%.
SCALENE_LAB_ALLOCATOR may point at another build of the library to compare.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "kernel-bridge"))

from scalene_lab import python_layout  # noqa: E402
from scalene_lab.allocator import RECORD_ALLOC, NativeAllocator  # noqa: E402


def _workload() -> int:
    kept = [str(i) * 3 for i in range(600_000)]
    table = {}
    for i in range(200_000):
        table[i] = (i, str(i))
    return len(kept) + len(table)


def _cpu_seconds() -> float:
    gc.collect()
    start = time.process_time()
    _workload()
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=4096, help="allocation sampling window in bytes")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    allocator = NativeAllocator.load()
    allocator.lib.sl_set_python_layout(python_layout.build())
    allocator.lib.sl_begin_run(0)
    plain: list[float] = []
    profiled: list[float] = []
    samples: list[int] = []
    for _ in range(args.rounds):
        plain.append(_cpu_seconds())
        allocator.attach(args.window, 7 << 20)
        allocator.set_sampling(True)
        try:
            profiled.append(_cpu_seconds())
        finally:
            allocator.set_sampling(False)
            samples.append(sum(1 for record in allocator.drain() if record[0] == RECORD_ALLOC))
            allocator.detach()
    extra = statistics.median(profiled) - statistics.median(plain)
    per_sample = extra / statistics.median(samples) * 1e6
    print(
        f"allocation sample at a {args.window}-byte window: {per_sample:.2f} µs per sample "
        f"({statistics.median(samples):.0f} samples a round; CPU {statistics.median(plain):.3f} s plain, "
        f"{statistics.median(profiled):.3f} s sampled, medians of {args.rounds})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
