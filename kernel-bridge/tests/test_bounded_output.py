"""What a profile puts into the notebook follows its sampled lines, not the
cell's length: a 20,000-line cell must not put megabytes into the notebook
(it put 24 MB there: 12 MB profile JSON, 10 MB HTML, 1.6 MB text)."""

from __future__ import annotations

import json
import os
from typing import Any

import nbclient
import nbformat
from kernel_session import KernelSession, line_of, total
from scalene_lab.display import unbounded_bundle
from scalene_lab.line_window import CONTEXT_LINES, SHORTEST_GAP
from scalene_lab.output_bounds import MAX_BYTES, entry_bytes, over_caps
from scalene_lab.schema import validation_errors

PROFILE_MIME = "application/vnd.scalene.profile+json"
# The bound README states for a long cell with a handful of sampled lines:
# all three entries of the bundle together.
FEW_SAMPLED_LINES_BOUND = 256 * 1024


def long_cell(magic: str, loop: int = 6_000_000) -> str:
    """20,000 assignments around a timed loop; the cell measures its own CPU time."""
    body = ["import time as _time", "_cell0 = _time.thread_time()"]
    body += [f"v{i} = {i}" for i in range(10_000)]
    body += [
        "_loop0 = _time.thread_time()",
        "total = 0",
        f"for i in range({loop}):",
        "    total += i",
        "_loop_cpu = _time.thread_time() - _loop0",
    ]
    body += [f"w{i} = {i}" for i in range(10_000)]
    body.append("_cell_cpu = _time.thread_time() - _cell0")
    return magic + "\n" + "\n".join(body)


def has_samples(record: dict[str, Any]) -> bool:
    """Whether the line shows any activity: time, allocation (kept or
    churned) or copying. A memcpy sample can land on a line that takes no
    CPU sample and allocates nothing."""
    memory = ("n_mallocs", "n_malloc_mb", "n_churn_mb", "n_copy_mb_s")
    return total(record) > 0 or any(record.get(field, 0) > 0 for field in memory)


def covered(detail: dict[str, Any]) -> list[tuple[int, int]]:
    """Every line as (first, last): the records and the omitted runs, sorted."""
    spans = [(r["lineno"], r["lineno"]) for r in detail["lines"]]
    spans += [(g["first"], g["last"]) for g in detail["omitted_lines"]]
    return sorted(spans)


def test_a_20000_line_cell_puts_its_sampled_lines_and_gap_rows_into_the_notebook(kernel: KernelSession) -> None:
    cell = long_cell("%%scalene")
    source = cell.splitlines()
    outcome = kernel.run(cell, timeout=300)
    assert outcome.status == "ok", (outcome.error, outcome.stderr)
    # The cell ran whole, in the notebook's namespace.
    assert kernel.value("[v9999, w9999, total]") == [9999, 9999, sum(range(6_000_000))]

    (display,) = outcome.displays
    sizes = {mime: entry_bytes(value) for mime, value in display.items()}
    assert set(sizes) == {PROFILE_MIME, "text/html", "text/plain"}
    assert sum(sizes.values()) < FEW_SAMPLED_LINES_BOUND, sizes
    assert all(sizes[mime] <= MAX_BYTES[mime] for mime in sizes), sizes

    profile = display[PROFILE_MIME]
    assert validation_errors(profile) == []
    key = profile["notebook"]["profiled_source"]
    detail = profile["files"][key]
    # Records and omitted runs cover the cell's lines exactly once, in order.
    spans = covered(detail)
    assert spans[0][0] == 1 and spans[-1][1] == len(source)
    assert all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:])), spans
    # Each record is the cell's own line; the runs left out hold no samples.
    for record in detail["lines"]:
        assert record["line"].rstrip("\n") == source[record["lineno"] - 1]
    assert all(g["sampled_lines"] == 0 and g["percent_cpu_time"] == 0 for g in detail["omitted_lines"])
    # Records follow the sampled lines: each unsampled record is context near one.
    sampled = [r["lineno"] for r in detail["lines"] if has_samples(r)]
    reach = CONTEXT_LINES + SHORTEST_GAP - 1
    for record in detail["lines"]:
        assert min(abs(record["lineno"] - n) for n in sampled) <= reach, record
    assert len(detail["lines"]) <= (2 * reach + 1) * len(sampled)

    # The loop holds the cell's time, as the cell's own CPU clock says.
    loop_cpu, cell_cpu = kernel.value("[_loop_cpu, _cell_cpu]")
    loop_share = total(line_of(profile, key, "for i in range(")) + total(line_of(profile, key, "total += i"))
    assert loop_share > 100 * loop_cpu / cell_cpu - 15, (loop_share, loop_cpu, cell_cpu)

    # Both fallbacks show one row per run left out, with its size.
    for gap in detail["omitted_lines"]:
        count = gap["last"] - gap["first"] + 1
        row = f"lines {gap['first']:,}-{gap['last']:,}: {count:,} lines without samples"
        assert row in display["text/plain"] and row in display["text/html"], row
    assert "    total += i" in display["text/plain"]


def test_a_saved_notebook_grows_by_the_bounded_output(tmp_path: os.PathLike[str]) -> None:
    cell = long_cell("%%scalene --cpu-only", loop=2_000_000)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("%load_ext scalene_lab"), nbformat.v4.new_code_cell(cell)]
    empty = os.path.join(tmp_path, "empty.ipynb")
    nbformat.write(notebook, empty)
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    saved = os.path.join(tmp_path, "saved.ipynb")
    nbformat.write(notebook, saved)

    (output,) = [o for o in notebook.cells[1].outputs if o["output_type"] == "display_data"]
    assert set(output["data"]) == {PROFILE_MIME, "text/html", "text/plain"}
    growth = os.path.getsize(saved) - os.path.getsize(empty)
    assert growth < FEW_SAMPLED_LINES_BOUND, growth
    # The cell's source itself is most of the file, saved once.
    assert os.path.getsize(empty) > len(cell)


def test_many_sampled_lines_are_capped_and_the_gap_rows_say_what_they_hold(kernel: KernelSession, tmp_path: os.PathLike[str]) -> None:
    # 4,000 lines of about 0.3 ms each, sampled every 0.5 ms: thousands of
    # sampled lines, more than the caps hold.
    cell = "\n".join(f"x{i} = sum(range(20_000))" for i in range(4_000))
    full_path = os.path.join(tmp_path, "full.json")
    outcome = kernel.run(f"%%scalene --cpu-only --cpu-sampling-rate 0.0005 --outfile {full_path}\n" + cell, timeout=300)
    assert outcome.status == "ok", (outcome.error, outcome.stderr)
    (display,) = outcome.displays
    assert over_caps(display) == {}, {mime: entry_bytes(v) for mime, v in display.items()}

    # The file gets the whole profile; rendered whole it would break the caps.
    with open(full_path, encoding="utf-8") as handle:
        full = json.load(handle)
    assert over_caps(unbounded_bundle(full)) != {}, "the workload did not sample enough lines to need the cap"

    profile = display[PROFILE_MIME]
    assert validation_errors(profile) == []
    key = profile["notebook"]["profiled_source"]
    shown, whole = profile["files"][key], full["files"][key]
    by_line = {r["lineno"]: r for r in whole["lines"]}
    # What is shown is the full profile's own records.
    for record in shown["lines"]:
        assert record == by_line[record["lineno"]]
    # Each run left out says how many sampled lines and how much time it holds.
    cut_totals = []
    for gap in shown["omitted_lines"]:
        inside = [r for n, r in by_line.items() if gap["first"] <= n <= gap["last"]]
        assert gap["sampled_lines"] == sum(1 for r in inside if has_samples(r))
        assert abs(gap["percent_cpu_time"] - sum(total(r) for r in inside)) < 1e-6
        cut_totals += [total(r) for r in inside if has_samples(r)]
    assert cut_totals, "nothing was cut"
    # The heaviest lines are the ones kept.
    kept = [total(r) for r in shown["lines"] if has_samples(r)]
    assert kept and min(kept) >= max(cut_totals)
    # Shown and cut time add up to the source's share, as in the full profile.
    shares = sum(total(r) for r in shown["lines"]) + sum(g["percent_cpu_time"] for g in shown["omitted_lines"])
    assert abs(shares - sum(total(r) for r in whole["lines"])) < 1e-6
    note = f"{len(cut_totals):,} sampled lines ({sum(cut_totals):.1f}% of time) are left out"
    assert note in display["text/plain"] and note in display["text/html"]


def test_a_megabyte_line_is_clipped_in_the_output(kernel: KernelSession) -> None:
    literal = "[" + ", ".join(["12345"] * 200_000) + "]"
    outcome = kernel.run(f"%%scalene --cpu-only\ndata = {literal}\nn = sum(data)")
    assert outcome.status == "ok", (outcome.error, outcome.stderr)
    assert kernel.value("n") == 12345 * 200_000
    (display,) = outcome.displays
    assert over_caps(display) == {}
    sizes = {mime: entry_bytes(value) for mime, value in display.items()}
    # The line itself is 1.4 MB; each entry carries a clipped copy.
    assert len(literal) > 1_000_000 and max(sizes.values()) < 64 * 1024, sizes
    record = line_of(display[PROFILE_MIME], display[PROFILE_MIME]["notebook"]["profiled_source"], "data = [")
    hidden = len(f"data = {literal}") - len(record["line"].split(" ... (")[0])
    assert record["line"].rstrip("\n").endswith(f" ... ({hidden:,} more characters)")
