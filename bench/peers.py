"""scalene-lab side by side with its peers: accuracy against measured truths, and speed.

One command runs the same workloads under scalene-lab (`%%scalene` cells in
a real kernel), Scalene's own command line, py-spy (line attribution only)
and memray (allocations only), and prints one Markdown table: per tool, the
line-attribution error against ablation truths, the native-share error, the
allocation-line error, and the slowdown without and with memory profiling.
The peers come from PyPI into bench/.peers-venv (pinned, set up on first
use). Raw numbers go to bench/results/peers-<time>.json.

    .venv/bin/python bench/peers.py [--quick] [--repeats 5] [--truth-rounds 14] [--rounds 7]
    npm run bench:peers -- --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial

import peer_errors
import peer_truth
from peer_workloads import ABLATION_LOOPS, ALLOC_SCRIPT, NATIVE_SCRIPT
from run import SETUP as SPEED_SETUP
from run import WORKLOADS as SPEED_WORKLOADS
from tools import memray_run, py_spy, scalene_cli
from tools.common import LineReport, ToolUnavailable, bench_env, run_command
from tools.lab import LabKernel
from tools.peers_venv import PINS, PeerTools, ensure_peers_venv

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = ["scalene-lab", "scalene", "py-spy", "memray"]
COLUMNS = ["lines", "native", "allocation", "slowdown-cpu", "slowdown-memory"]
# Every CPU profiler samples once a millisecond in the accuracy runs, so no
# tool wins by sampling more often; the speed runs use each tool's defaults.
RATE_S = 0.001
# Why a tool has no figure in a column, whatever happens at run time.
NOT_APPLICABLE = {
    ("py-spy", "native"): "no Python/native split (without --native it sees no native frames)",
    ("py-spy", "allocation"): "not a memory profiler",
    ("py-spy", "slowdown-memory"): "not a memory profiler",
    ("memray", "lines"): "memory profiler only",
    ("memray", "native"): "memory profiler only",
    ("memray", "slowdown-cpu"): "memory profiler only",
}


@dataclass
class Cell:
    """One tool's figures for one column: per-run values, or why there are none."""

    runs: dict[str, list[float]] = field(default_factory=dict)  # workload -> values
    # Set when the cell has no figure to give (n/a, or the tool cannot run
    # here); nothing more is tried for it.
    reason: str | None = None
    failures: list[str] = field(default_factory=list)
    detail: list[object] = field(default_factory=list)
    _failures_in_a_row: int = 0

    def add(self, workload: str, value: float, detail: object) -> None:
        """Record one run's value (and what it was computed from)."""
        self.runs.setdefault(workload, []).append(value)
        self.detail.append({"workload": workload, "value": value, "detail": detail})
        self._failures_in_a_row = 0

    def fail(self, reason: str) -> None:
        """Record a failed run; three in a row and the tool is not tried again."""
        self.failures.append(reason)
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= 3:
            self.reason = reason


class Bench:
    """The whole comparison: truths, profiled runs, and the table."""

    def __init__(self, args: argparse.Namespace, workdir: str) -> None:
        self.args = args
        self.workdir = workdir
        self.cells: dict[str, dict[str, Cell]] = {t: {c: Cell() for c in COLUMNS} for t in TOOLS}
        for (tool, column), reason in NOT_APPLICABLE.items():
            self.cells[tool][column].reason = f"n/a: {reason}"
        self.truths: dict[str, object] = {}
        self.batches: dict[str, list[list[peer_truth.Round]]] = {}
        self.kernel_batches: dict[str, list[list[peer_truth.Round]]] = {}
        self.truth_noise: dict[str, float] = {}
        self.reports: list[tuple[str, str, str, LineReport]] = []
        self.peers: PeerTools | None = None
        self.kernel: LabKernel | None = None

    # -- set-up -------------------------------------------------------------

    def start_tools(self) -> None:
        """The peers' venv and scalene-lab's kernel; a failure blanks that tool's cells."""
        try:
            self.peers = ensure_peers_venv()
        except ToolUnavailable as problem:
            for tool in ("scalene", "py-spy", "memray"):
                self._fail_all(tool, str(problem))
        try:
            self.kernel = LabKernel(self.workdir)
            self.kernel.run(SPEED_SETUP)
        except Exception as problem:  # no kernel, or scalene_lab will not load
            self._fail_all("scalene-lab", f"kernel did not start: {problem}")

    def _fail_all(self, tool: str, reason: str) -> None:
        for cell in self.cells[tool].values():
            if cell.reason is None:
                cell.reason = reason

    def script(self, name: str, text: str) -> str:
        """Write ``text`` to ``name``.py in the work folder; return its path."""
        path = os.path.join(self.workdir, f"{name}.py")
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def attempt(self, tool: str, column: str, workload: str, measure: Callable[[], LineReport]) -> None:
        """One profiled run, kept for scoring once the truths are in, unless
        this cell already has a reason not to run."""
        cell = self.cells[tool][column]
        if cell.reason is not None:
            return
        try:
            self.reports.append((tool, column, workload, measure()))
        except ToolUnavailable as problem:
            cell.fail(str(problem))
            log(f"  {tool:11} {column:10} {workload}: failed: {problem}")
        else:
            log(f"  {tool:11} {column:10} {workload}")

    # -- accuracy -----------------------------------------------------------

    def time_truths(self, rounds: int) -> None:
        """One batch of unprofiled timing rounds of every truth's variants."""
        variants = {w.name: peer_truth.ablation_variants(w) for w in ABLATION_LOOPS}
        variants.update(peer_truth.native_variants())
        for name, (setup, codes) in variants.items():
            self.batches.setdefault(name, []).append(peer_truth.time_rounds(setup, codes, rounds))
        # scalene-lab runs the loops as cells: their truths are timed where
        # they run too (a script's truths put its heavy line 1-3 points
        # higher than the kernel's; py-spy attached to the kernel agrees with
        # the kernel's).
        if self.kernel is not None:
            for w in ABLATION_LOOPS:
                setup, codes = peer_truth.ablation_variants(w)
                try:
                    shown = self.kernel.run(peer_truth.kernel_timer_cell(setup, codes, rounds))
                    self.kernel_batches.setdefault(w.name, []).append(peer_truth.kernel_rounds(shown))
                except (ToolUnavailable, ValueError) as problem:
                    log(f"  kernel truth timing of {w.name} failed: {problem}")

    def accuracy(self) -> None:
        """Every tool on every accuracy workload, ``repeats`` times, each run
        after a batch of truth timings; then the truths, then the errors."""
        cpu_lab = f"--cpu-only --cpu-sampling-rate {RATE_S}"
        cpu_scalene = ["--cpu-only", "--cpu-sampling-rate", str(RATE_S)]
        rate_hz = int(round(1 / RATE_S))
        for repeat in range(self.args.repeats):
            log(f"accuracy, run {repeat + 1} of {self.args.repeats}: truth timings, then the tools")
            self.time_truths(self.args.truth_rounds)
            runs: list[tuple[str, str, str, Callable[[], LineReport]]] = []
            for workload in ABLATION_LOOPS:
                text, path = workload.script(), self.script(workload.name, workload.script())
                runs += [
                    ("scalene-lab", "lines", workload.name, partial(self._lab, text, cpu_lab)),
                    ("scalene", "lines", workload.name, partial(self._scalene, path, cpu_scalene)),
                    ("py-spy", "lines", workload.name, partial(self._py_spy, path, rate_hz)),
                ]
            path = self.script("native_share", NATIVE_SCRIPT)
            runs += [
                ("scalene-lab", "native", "native-share", partial(self._lab, NATIVE_SCRIPT, cpu_lab)),
                ("scalene", "native", "native-share", partial(self._scalene, path, cpu_scalene)),
            ]
            # Memory runs: each tool's default settings (scalene-lab and
            # Scalene sample every 1 MiB on average; memray traces everything).
            path = self.script("allocation", ALLOC_SCRIPT)
            runs += [
                ("scalene-lab", "allocation", "mid-loop-alloc", partial(self._lab, ALLOC_SCRIPT, "")),
                ("scalene", "allocation", "mid-loop-alloc", partial(self._scalene, path, [])),
                ("memray", "allocation", "mid-loop-alloc", partial(self._memray, path)),
            ]
            # The order rotates each run, so no tool always runs at the same
            # point after the truth timings or after another tool.
            shift = repeat % len(runs)
            for tool, column, workload_name, measure in runs[shift:] + runs[:shift]:
                self.attempt(tool, column, workload_name, measure)
        self.score()

    def score(self) -> None:
        """Truths from the rounds of all batches; every kept run's error against them."""
        loops = {w.name: w for w in ABLATION_LOOPS}
        pooled = {name: [r for batch in batches for r in batch] for name, batches in self.batches.items()}
        line_truths = {name: peer_truth.ablation_truths(w, pooled[name]) for name, w in loops.items()}
        native_truths = peer_truth.native_truths(pooled)
        # The truth's own noise: how far one batch's truth is from the pooled
        # one (one batch has nothing to compare with).
        if len(self.batches.get(ABLATION_LOOPS[0].name, [])) > 1:
            for name, w in loops.items():
                self.truth_noise[name] = max(
                    abs(peer_truth.ablation_truths(w, batch)[n] - line_truths[name][n]) for batch in self.batches[name] for n in w.body_linenos
                )
            for name in peer_truth.native_variants():
                self.truth_noise[name] = max(abs(peer_truth.native_truths({**pooled, name: batch})[name] - native_truths[name]) for batch in self.batches[name])
        alloc_truths = peer_truth.allocation_truths()
        kernel_truths = {
            name: peer_truth.ablation_truths(w, [r for batch in self.kernel_batches[name] for r in batch])
            for name, w in loops.items()
            if self.kernel_batches.get(name)
        }
        self.truths = {
            "lines": line_truths,
            "lines in scalene-lab's kernel": kernel_truths,
            "native": native_truths,
            "allocation": alloc_truths,
            "largest batch deviation (pts)": self.truth_noise,
        }
        log(f"truths: {json.dumps(self.truths, default=lambda v: round(v, 2))}")
        for tool, column, workload, report in self.reports:
            error: float
            detail: object
            if column == "lines":
                truth = kernel_truths.get(workload) if tool == "scalene-lab" else line_truths[workload]
                if truth is None:
                    self.cells[tool][column].fail("no truth timed in its kernel")
                    continue
                error, detail = peer_errors.line_error(report, loops[workload], truth)
            elif column == "native":
                error, detail = peer_errors.native_error(report, native_truths)
            else:
                error, detail = peer_errors.allocation_error(report, alloc_truths)
            self.cells[tool][column].add(workload, error, detail)

    def _scalene(self, path: str, options: list[str]) -> LineReport:
        return scalene_cli.profile(self._peers(), path, options)

    def _py_spy(self, path: str, rate_hz: int) -> LineReport:
        return py_spy.profile(self._peers(), path, rate_hz)

    def _memray(self, path: str) -> LineReport:
        return memray_run.profile(self._peers(), path)

    def _peers(self) -> PeerTools:
        if self.peers is None:
            raise ToolUnavailable("the peers' venv is not set up")
        return self.peers

    def _lab(self, text: str, options: str) -> LineReport:
        if self.kernel is None:
            raise ToolUnavailable("no kernel")
        return self.kernel.profile(text, options)

    # -- speed --------------------------------------------------------------

    def speed(self) -> None:
        """Each speed workload unprofiled and under each tool, interleaved; ratios per round."""
        for name, body in SPEED_WORKLOADS.items():
            path = self.script(f"speed_{name.replace('-', '_')}", f"{SPEED_SETUP}\n{body}\n")
            lab = self._lab_timed
            runs: dict[str, Callable[[], float]] = {
                "plain": partial(self._timed_plain, path),
                "lab-plain": partial(lab, body),
                "scalene-lab/slowdown-cpu": partial(lab, f"%%scalene --cpu-only\n{body}"),
                "scalene-lab/slowdown-memory": partial(lab, f"%%scalene\n{body}"),
                "scalene/slowdown-cpu": partial(self._scalene_timed, path, ["--cpu-only"]),
                "scalene/slowdown-memory": partial(self._scalene_timed, path, []),
                "py-spy/slowdown-cpu": partial(self._py_spy_timed, path),
                "memray/slowdown-memory": partial(self._memray_timed, path),
            }
            log(f"speed: {name}, {self.args.rounds} rounds")
            for warm_up in ("plain", "lab-plain", "scalene-lab/slowdown-memory"):
                self._time_one(runs, warm_up)
            for round_ in range(self.args.rounds):
                order = list(runs)
                shift = round_ % len(order)
                order = order[shift:] + order[:shift]
                walls = {key: self._time_one(runs, key) for key in (order if round_ % 2 == 0 else order[::-1])}
                for key, wall in walls.items():
                    if "/" not in key or wall is None:
                        continue
                    tool, column = key.split("/")
                    base = walls["lab-plain" if tool == "scalene-lab" else "plain"]
                    if base is not None and self.cells[tool][column].reason is None:
                        self.cells[tool][column].add(name, wall / base, {"wall_s": wall, "unprofiled_s": base})

    def _time_one(self, runs: dict[str, Callable[[], float]], key: str) -> float | None:
        if "/" in key:
            tool, column = key.split("/")
            if self.cells[tool][column].reason is not None:
                return None
        try:
            return runs[key]()
        except ToolUnavailable as problem:
            tool, _, column = key.partition("/")
            if column:
                self.cells[tool][column].fail(str(problem))
            else:  # an unprofiled run: the tools measured against it lose this round
                for tool in ["scalene-lab"] if key == "lab-plain" else ["scalene", "py-spy", "memray"]:
                    for column in ("slowdown-cpu", "slowdown-memory"):
                        if self.cells[tool][column].reason is None:
                            self.cells[tool][column].fail(f"unprofiled run failed: {problem}")
            return None

    def _scalene_timed(self, path: str, options: list[str]) -> float:
        return scalene_cli.timed(self._peers(), path, options)

    def _py_spy_timed(self, path: str) -> float:
        return py_spy.timed(self._peers(), path)

    def _memray_timed(self, path: str) -> float:
        return memray_run.timed(self._peers(), path)

    def _timed_plain(self, path: str) -> float:
        return run_command([self._peers().python, path], cwd=self.workdir)

    def _lab_timed(self, code: str) -> float:
        if self.kernel is None:
            raise ToolUnavailable("no kernel")
        return self.kernel.timed(code)

    def close(self) -> None:
        """Shut the kernel down."""
        if self.kernel is not None:
            self.kernel.close()


# -- report -----------------------------------------------------------------

LABELS = {
    "scalene-lab": "scalene-lab (`%%scalene`)",
    "scalene": f"Scalene CLI ({PINS[0].replace('==', ' ')})",
    "py-spy": f"py-spy ({PINS[1].split('==')[1]})",
    "memray": f"memray ({PINS[2].split('==')[1]})",
}


def summarize(cell: Cell, column: str) -> str:
    """The table's text for one cell."""
    if cell.reason is not None and not cell.runs:
        return cell.reason
    per_workload = {w: statistics.median(v) for w, v in cell.runs.items()}
    if not per_workload:
        return "no runs"
    if column.startswith("slowdown"):
        values = sorted(per_workload.values())
        text = f"{statistics.median(values):.2f}x (worst {values[-1]:.2f}x)"
    else:
        unit = "%" if column == "allocation" else " pts"
        worst = max(per_workload.items(), key=lambda item: item[1])
        text = f"{worst[1]:.2f}{unit}" if column == "allocation" else f"{worst[1]:.1f}{unit}"
        if len(per_workload) > 1:
            text += " (" + ", ".join(f"{w} {v:.1f}" for w, v in per_workload.items()) + ")"
    if cell.failures:
        text += f"; {len(cell.failures)} run(s) failed: {cell.failures[0]}"
    return text


def table(bench: Bench) -> str:
    """The Markdown table the README shows."""
    header = [
        "tool",
        "line attribution error (max pts over loop body lines)",
        "native-share error (max pts over loops)",
        "allocation-line error (max % over lines)",
        "slowdown, CPU (median of 4 workloads)",
        "slowdown, with memory (median of 4 workloads)",
    ]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for tool in TOOLS:
        cells = [summarize(bench.cells[tool][column], column) for column in COLUMNS]
        rows.append("| " + " | ".join([LABELS[tool], *cells]) + " |")
    return "\n".join(rows)


def details(bench: Bench) -> str:
    """Per workload: each tool's median error or slowdown (the main table's worst or median of these)."""
    rows = ["| column | workload | " + " | ".join(LABELS[t] for t in TOOLS) + " |", "|" + " --- |" * (len(TOOLS) + 2)]
    for column in COLUMNS:
        workloads: list[str] = []
        for tool in TOOLS:
            workloads += [w for w in bench.cells[tool][column].runs if w not in workloads]
        for workload in workloads:
            texts = []
            for tool in TOOLS:
                values = bench.cells[tool][column].runs.get(workload)
                if not values:
                    texts.append("")
                elif column.startswith("slowdown"):
                    texts.append(f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})")
                else:
                    texts.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
            rows.append(f"| {column} | {workload} | " + " | ".join(texts) + " |")
    return "\n".join(rows)


def log(message: str) -> None:
    """Progress, on stderr so stdout is the table."""
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    """Run everything and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="defaults of 1 accuracy run, 14 truth rounds, 3 speed rounds")
    parser.add_argument("--repeats", type=int, help="accuracy runs per tool and workload, median (default 5)")
    parser.add_argument("--truth-rounds", type=int, help="unprofiled rounds per truth batch, one batch per run (default 14)")
    parser.add_argument("--rounds", type=int, help="speed rounds per workload, median ratio (default 7)")
    parser.add_argument("--skip-speed", action="store_true", help="accuracy only")
    parser.add_argument("--json", help="where the raw numbers go (default bench/results/peers-<time>.json)")
    args = parser.parse_args()
    for name, full, quick in (("repeats", 5, 1), ("truth_rounds", 14, 14), ("rounds", 7, 3)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scalene-lab-peers-") as workdir:
        bench = Bench(args, workdir)
        try:
            bench.start_tools()
            bench.accuracy()
            if not args.skip_speed:
                bench.speed()
        finally:
            bench.close()
    elapsed = time.perf_counter() - started
    print(table(bench))
    noise = ", ".join(f"{name} {value:.1f}" for name, value in bench.truth_noise.items()) or "needs 2 or more runs"
    print(f"\nTruth noise (largest distance in points of one batch's truth from the pooled truth): {noise}")
    print("\nPer workload, median (min-max) over runs:\n")
    print(details(bench))
    print(
        f"\n{time.strftime('%Y-%m-%d')}, {elapsed / 60:.1f} min; accuracy: median of {args.repeats} run(s) "
        f"per workload, truths median of {args.repeats * args.truth_rounds} rounds; speed: {args.rounds} rounds"
    )
    out = args.json or os.path.join(HERE, "results", time.strftime("peers-%Y%m%d-%H%M%S.json"))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as handle:
        json.dump(
            {
                "args": vars(args),
                "elapsed_s": elapsed,
                "pins": PINS,
                "env": {k: bench_env()[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
                "truths": bench.truths,
                "cells": {t: {c: asdict(cell) for c, cell in cols.items()} for t, cols in bench.cells.items()},
            },
            handle,
            indent=1,
            default=str,
        )
    print(f"raw numbers: {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
