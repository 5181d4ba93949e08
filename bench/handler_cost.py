"""Cost of one CPU sample: the signal handler's work, timed in a loop.

    .venv/bin/python bench/handler_cost.py

Runs the sampler's handler (record the sample, re-arm) on a fixed frame
with the real clocks and a no-op timer, and prints microseconds per sample
(median of 5 batches). At the default 100 samples a second, 10 µs is 0.1%.
"""

from __future__ import annotations

import os
import statistics
import sys
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "kernel-bridge"))

from scalene_lab.code_filter import CodeFilter  # noqa: E402
from scalene_lab.options import ProfileOptions  # noqa: E402
from scalene_lab.sampler import CpuSampler  # noqa: E402


class _NoTimer:
    signum = 0
    description = "none"

    def arm(self, first: float, period: float) -> None:
        pass

    def close(self) -> None:
        pass


def main() -> int:
    sampler = CpuSampler(0.01, CodeFilter(ProfileOptions(), lambda name: name == __file__), timer_factory=_NoTimer)
    sampler._timer = _NoTimer()
    sampler._baseline_count = 10**6  # measure the main-thread path
    sampler._mark(sampler._clock.wall())
    frame = sys._getframe()
    batch = 20000
    times = [timeit.timeit(lambda: sampler._on_signal(0, frame), number=batch) / batch for _ in range(5)]
    print(f"CPU sample handler: {statistics.median(times) * 1e6:.1f} µs per sample (median of 5 x {batch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
