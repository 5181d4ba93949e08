"""CPU time lands on the right lines with the right Python / native / system split."""

from __future__ import annotations

import os
import textwrap

from kernel_session import KernelSession, line_of, total


def test_python_native_and_system_lines(kernel: KernelSession) -> None:
    kernel.run("import time\nimport numpy as np\na = np.random.rand(1500, 1500)")
    cell = textwrap.dedent(
        """\
        %%scalene
        acc = 0
        for i in range(4_000_000):
            acc += i * 2
        b = a @ a @ a
        time.sleep(0.8)
        """
    )
    outcome = kernel.run(cell, cell_id="cell-mixed")
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = profile["notebook"]["profiled_source"]
    loop, matmul, sleep = (line_of(profile, key, t) for t in ("acc += i", "a @ a", "time.sleep"))
    lines = profile["files"][key]["lines"]
    # Each kind of time is largest where it is spent: Python time in the loop
    # (its `for` line and its body share it, as each sample's instruction says) ...
    loop_head = line_of(profile, key, "for i in range(4_000_000)")
    loop_python = loop["n_cpu_percent_python"] + loop_head["n_cpu_percent_python"]
    assert loop_python >= max(r["n_cpu_percent_python"] for r in lines if r is not loop and r is not loop_head)
    assert max(r["n_cpu_percent_c"] for r in lines) == matmul["n_cpu_percent_c"]
    assert max(r["n_sys_percent"] for r in lines) == sleep["n_sys_percent"]
    # ... and dominates that line.
    assert loop_python > 0.7 * (total(loop) + total(loop_head))
    # (On a busy machine the main thread is off-CPU for part of the product,
    # which shows as system time; native still beats Python there.)
    assert matmul["n_cpu_percent_c"] > matmul["n_cpu_percent_python"]
    assert sleep["n_sys_percent"] > 0.8 * total(sleep)
    # The sleep is most of the run's wall time and must be shown as such.
    assert total(sleep) > 20
    assert profile["notebook"]["sources"][key] == {
        "kind": "cell",
        "filename": profile["notebook"]["sources"][key]["filename"],
        "execution_count": outcome.execution_count,
        "cell_id": "cell-mixed",
        "profiled": True,
    }


def test_functions_from_earlier_cells_are_charged_to_their_cell(kernel: KernelSession) -> None:
    define = kernel.run("def spin(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s", cell_id="cell-define")
    outcome = kernel.run("%scrun spin(3_000_000)", cell_id="cell-run")
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = f"[{define.execution_count}]"
    assert profile["notebook"]["sources"][key]["cell_id"] == "cell-define"
    assert profile["notebook"]["sources"][key]["execution_count"] == define.execution_count
    assert profile["notebook"]["sources"][key]["profiled"] is False
    # spin's loop: its `for` line and its body share the time by instruction.
    hot = line_of(profile, key, "s += i * i")
    assert total(hot) + total(line_of(profile, key, "for i in range(n)")) > 60
    assert [f["line"] for f in profile["files"][key]["functions"]] == ["spin"]
    # The last expression's value is the cell's result, as without the magic.
    assert outcome.result is not None and outcome.result["text/plain"] == str(sum(i * i for i in range(3_000_000)))


def test_user_files_are_profiled_and_libraries_charged_to_the_caller(kernel: KernelSession, tmp_path: os.PathLike) -> None:
    module = os.path.join(str(tmp_path), "mywork.py")
    with open(module, "w") as handle:
        handle.write(
            "import json\n\ndef crunch(n):\n    total = 0\n    for i in range(n):\n        total += i % 7\n    return total\n\n"
            "def encode(data):\n    return json.dumps(data)\n"
        )
    kernel.run(f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport mywork\ndata = [{{'k': list(range(20))}} for _ in range(20000)]")
    # 2 ms sampling: the cell runs for about 0.2 s here, and 10 ms would give
    # it only some twenty samples.
    outcome = kernel.run("%%scalene --cpu-sampling-rate 0.002\nmywork.crunch(3_000_000)\nfor _ in range(4):\n    mywork.encode(data)")
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    assert profile["notebook"]["sources"][module]["kind"] == "file"
    # crunch's loop: its `for` line and its body share the time by instruction.
    assert total(line_of(profile, module, "total += i % 7")) + total(line_of(profile, module, "for i in range(n)")) > 15
    # json's own code is stdlib: its time is charged to the user's line that called it.
    assert not any("json" in key and key != module for key in profile["files"])
    assert total(line_of(profile, module, "return json.dumps")) > 10

    widened = kernel.run("%%scalene --profile-system-libraries\nfor _ in range(4):\n    mywork.encode(data)")
    assert any(os.sep + "json" + os.sep in key for key in widened.profile["files"]), list(widened.profile["files"])


def test_threads_started_by_the_cell_are_sampled(kernel: KernelSession) -> None:
    # CPU attribution of threads, without the allocator: its drain signals
    # wake the joining main thread, which then competes for the GIL and moves
    # part of the worker's time from Python to native (test_memory.py covers
    # threads with memory on).
    cell = (
        "%%scalene --cpu-only\n"
        "import threading, time\n"
        "def worker():\n"
        "    x = 0\n"
        "    for i in range(6_000_000):\n"
        "        x += i\n"
        "t = threading.Thread(target=worker)\n"
        "t.start()\n"
        "t.join()\n"
    )
    outcome = kernel.run(cell)
    assert outcome.status == "ok", outcome.error
    profile = outcome.profile
    key = profile["notebook"]["profiled_source"]
    # The worker's loop (its `for` line and its body: time is charged to the
    # line each sample's instruction belongs to) holds its Python time.
    worker_loop = [line_of(profile, key, text) for text in ("for i in range(6_000_000)", "x += i")]
    assert sum(r["n_cpu_percent_python"] for r in worker_loop) > 20
    # The kernel's own threads (IOPub, heartbeat, control, shell channel) are never charged.
    for source in profile["files"]:
        assert "ipykernel" not in source and "zmq" not in source and "threading.py" not in source


def test_profile_only_exclude_threshold_and_reduced(kernel: KernelSession, tmp_path: os.PathLike) -> None:
    module = os.path.join(str(tmp_path), "hotspot.py")
    with open(module, "w") as handle:
        handle.write("def work(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n")
    kernel.run(f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport hotspot")
    # The cell's own loop runs slower per iteration (global stores), so
    # hotspot.work gets ~6M iterations to hold about half of the time.
    cell = "\n".join(["hotspot.work(6_000_000)", "y = 0", "for j in range(3_000_000):", "    y += j"])

    excluded = kernel.run("%%scalene --profile-exclude hotspot\n" + cell).profile
    key = excluded["notebook"]["profiled_source"]
    assert module not in excluded["files"]
    assert total(line_of(excluded, key, "hotspot.work")) > 15  # charged to the calling line

    only = kernel.run("%%scalene --profile-only no_such_file\n" + cell).profile
    assert module not in only["files"] and only["notebook"]["profiled_source"] in only["files"]

    # (Sources with memory samples are always shown, as in Scalene: CPU only here.)
    high = kernel.run("%%scalene --cpu-only --cpu-percent-threshold 99\n" + cell).profile
    assert module not in high["files"] and module in high["notebook"]["hidden_sources"]

    reduced = kernel.run("%%scalene --reduced-profile\n" + cell).profile
    rows = reduced["files"][reduced["notebook"]["profiled_source"]]["lines"]
    # Lines with samples: CPU time, or memory samples (allocations are now
    # charged at the instant, so a `for` line whose iterator makes ints has them).
    assert rows and all(total(r) > 0 or r["n_mallocs"] > 0 for r in rows)
    assert not any(r["line"].startswith("%%scalene") for r in rows)
