"""The workloads of the peer benchmark, as script text.

The same text is written to a script file for the command-line profilers
and sent as a `%%scalene` cell to scalene-lab, so line n is line n for every
tool. The shapes are the accuracy suite's (kernel-bridge/tests/test_truth.py,
copied, not imported) plus one loop whose body mixes a short numpy call
with Python lines; the speed workloads are bench/run.py's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AblationLoop:
    """A loop whose body lines each get a truth by ablation.

    The ablated variant of line j is the loop without it; ``preset`` runs
    before every variant's loop and binds the names the body binds, to
    values of the sizes the body gives them, so the lines after a removed
    one still run and do the same work.
    """

    name: str
    setup: list[str]
    body: list[str]
    preset: list[str]
    profiled_iterations: int
    truth_iterations: int

    def loop(self, body: list[str], iterations: int) -> str:
        """The `for` statement alone, with ``body``."""
        return f"for i in range({iterations}):\n" + "".join(f"    {line}\n" for line in body)

    def script(self) -> str:
        """What is profiled: the set-up lines, then the loop."""
        return "".join(f"{line}\n" for line in self.setup) + self.loop(self.body, self.profiled_iterations)

    @property
    def for_lineno(self) -> int:
        """The script line of the `for` statement."""
        return len(self.setup) + 1

    @property
    def body_linenos(self) -> list[int]:
        """The script lines of the body, in order."""
        return [self.for_lineno + 1 + j for j in range(len(self.body))]


# The accuracy suite's loop: one heavy line between three light ones, no calls.
PYTHON_LOOP = AblationLoop(
    name="python-loop",
    setup=["s = 0"],
    body=["a = i + 1", "b = " + " + ".join(["a"] * 40), "c = a + b", "s += c"],
    preset=["a = 50_001", "b = 40 * a", "c = a + b"],
    profiled_iterations=2_000_000,
    truth_iterations=100_000,
)

# A short native call (a few microseconds of numpy) between Python lines:
# where a profiler that attributes late puts native time on the next line.
MIXED_LOOP = AblationLoop(
    name="mixed-loop",
    setup=["import numpy as np", "xs = np.random.rand(200)", "s = 0"],
    body=["a = i + 1", "b = " + " + ".join(["a"] * 20), "ys = np.sort(xs)", "s += b"],
    preset=["a = 50_001", "b = 20 * a"],
    profiled_iterations=250_000,
    truth_iterations=30_000,
)

ABLATION_LOOPS = [PYTHON_LOOP, MIXED_LOOP]

# The accuracy suite's native-share workload. Each region is (first line,
# last line) of a loop; a region with a replacement gets its truth from the
# loop timed with and without its native call, a region without one is pure
# Python (truth 0).
NATIVE_SCRIPT = """\
import numpy as np
xs = np.random.rand(100_000)
m = np.random.rand(400, 400)
for _ in range(150):
    ys = np.sort(xs)
for _ in range(60):
    p = m @ m
acc = 0
for j in range(1_500_000):
    acc += j % 7
"""
NATIVE_SETUP_LINES = 3  # the lines before the first loop: set-up, not measured
# region name: ((first line, last line), (native line text, trivial replacement) or None)
NATIVE_REGIONS: dict[str, tuple[tuple[int, int], tuple[str, str] | None]] = {
    "np.sort loop": ((4, 5), ("ys = np.sort(xs)", "ys = xs")),
    "matmul loop": ((6, 7), ("p = m @ m", "p = m")),
    "pure-Python loop": ((9, 10), None),
}

# The accuracy suite's mid-loop allocations. The script records what it
# allocates, so the truth is read from the process that ran it.
ALLOC_SCRIPT = """\
import sys
import numpy as np
sizes = []
for k in range(200):
    keep = [0] * 250_000
    arr = np.ones(250_000)
    sizes.append(sys.getsizeof(keep))
    last = k + 1
"""
# script line -> expression (over the script's final namespace) of the bytes it allocated
ALLOC_TRUTHS = {5: "sum(sizes)", 6: "arr.nbytes * last"}
