"""The magics as a user meets them: options, errors, results, tracebacks."""

from __future__ import annotations

import json
import os
import time

from kernel_session import KernelSession, line_of


def test_unknown_option_is_a_usage_error_and_nothing_runs(kernel: KernelSession) -> None:
    outcome = kernel.run("%%scalene --no-such-flag\nran_anyway = True")
    assert outcome.status == "error"
    # IPython shows a UsageError as one message on stderr, with no traceback.
    assert outcome.stderr.startswith("UsageError: unrecognized arguments: --no-such-flag")
    assert "usage: %%scalene" in outcome.stderr
    assert outcome.error is None
    assert outcome.profiles == []
    assert kernel.value("'ran_anyway' in globals()") is False


def test_malformed_values_are_usage_errors(kernel: KernelSession) -> None:
    for line in (
        "%scrun --cpu-sampling-rate 0 x = 1",
        "%scrun --cpu-sampling-rate -1 x = 1",
        "%scrun --cpu-sampling-rate fast x = 1",
        "%scrun --cpu-percent-threshold 150 x = 1",
        "%scrun --outfile /no/such/dir/p.json x = 1",
        "%scrun --html --cli x = 1",
        "%scrun",
        "%%scalene --profile-only ,\nx = 1",
        "%%scalene --outfile 'unclosed\nx = 1",
    ):
        outcome = kernel.run(line)
        assert outcome.status == "error", line
        assert outcome.stderr.startswith("UsageError: "), (line, outcome.stderr)
        assert "usage:" in outcome.stderr or "cannot parse" in outcome.stderr, line
        assert outcome.error is None and "Traceback" not in outcome.stderr, line


def test_an_empty_outfile_is_a_usage_error_and_nothing_runs(kernel: KernelSession) -> None:
    kernel.run("survivor = 41")
    files_before = kernel.value("sorted(__import__('os').listdir())")
    for line in (
        "%%scalene --outfile ''\nsurvivor += 1",
        "%%scalene --outfile '   '\nsurvivor += 1",
        "%scrun --outfile '' survivor += 1",
        "%scrun --outfile= survivor += 1",
    ):
        outcome = kernel.run(line)
        assert outcome.status == "error", line
        assert outcome.stderr.startswith("UsageError: argument --outfile: needs a file name"), (line, outcome.stderr)
        assert "usage: %" in outcome.stderr and "Traceback" not in outcome.stderr, line
        assert outcome.profiles == [] and outcome.error is None, line
    # Nothing ran, nothing was written, and the kernel profiles as before.
    assert kernel.value("survivor") == 41
    assert kernel.value("sorted(__import__('os').listdir())") == files_before
    after = kernel.run("%scrun survivor += 1")
    assert after.status == "ok" and len(after.profiles) == 1, after.stderr
    assert kernel.value("survivor") == 42


def test_code_runs_in_the_notebook_namespace(kernel: KernelSession) -> None:
    kernel.run("base = 40")
    outcome = kernel.run("%%scalene\nimport math\nanswer = base + 2\nanswer * 10")
    assert outcome.status == "ok", outcome.error
    assert outcome.result is not None and outcome.result["text/plain"] == "420"
    assert kernel.value("[answer, 'math' in globals(), _]") == [42, True, 420]
    line = kernel.run("%scalene shared = [answer] * 3")
    assert line.status == "ok" and len(line.profiles) == 1
    assert kernel.value("shared") == [42, 42, 42]


def test_gpu_asked_for_without_a_gpu_says_why_in_one_line(kernel: KernelSession) -> None:
    # This kernel has no NVIDIA driver (test_gpu.py gives kernels a fake one).
    outcome = kernel.run("%%scalene --gpu --stacks\ny = sum(range(100))")
    assert outcome.status == "ok", outcome.error
    notes = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert notes == ["scalene-lab: --gpu: no NVIDIA driver (libnvidia-ml.so.1 not found); profiling without the GPU."]
    profile = outcome.profile
    assert profile["notebook"]["messages"] == [notes[0].removeprefix("scalene-lab: ")]
    assert profile["gpu"] is False and profile["gpu_device"] == ""
    quiet = kernel.run("%%scalene\ny = sum(range(100))")
    assert quiet.stderr == "" and quiet.profile["notebook"]["messages"] == []


def test_help_documents_the_options(kernel: KernelSession) -> None:
    doc = kernel.value("get_ipython().find_cell_magic('scalene').__doc__")
    for flag in ("--cpu-only", "--cpu-sampling-rate", "--profile-only", "--outfile", "--cli", "--memory"):
        assert flag in doc
    assert "--cpu-sampling-rate" in kernel.value("get_ipython().find_line_magic('scrun').__doc__")


def test_an_exception_shows_the_users_traceback_and_the_profile(kernel: KernelSession) -> None:
    kernel.run("def helper(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s")
    outcome = kernel.run("%%scalene\nhelper(2_000_000)\nvalue = 1\nraise ValueError('broken')\n")
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["ename"] == "ValueError"
    trace = "\n".join(outcome.error["traceback"])
    assert f"In[{outcome.execution_count}]" in trace and "line 4" in trace
    for ours in ("runner.py", "magics.py", "run_profiled"):
        assert ours not in trace
    profile = outcome.profile
    assert profile["notebook"]["status"] == "error"
    assert profile["notebook"]["error"] == "ValueError: broken"
    assert kernel.value("value") == 1


def test_keyboard_interrupt_keeps_the_partial_profile(fresh_kernel: KernelSession) -> None:
    msg_id = fresh_kernel.start("%%scalene\nimport time\nfor _ in range(300):\n    time.sleep(0.05)\n")
    time.sleep(2.0)
    fresh_kernel.interrupt()
    outcome = fresh_kernel.finish(msg_id)
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["ename"] == "KeyboardInterrupt"
    profile = outcome.profile
    assert profile["notebook"]["status"] == "interrupted"
    key = profile["notebook"]["profiled_source"]
    assert line_of(profile, key, "time.sleep")["n_sys_percent"] > 50
    assert fresh_kernel.run("1 + 1").status == "ok"


def test_nested_profiling_is_reported_and_the_outer_profile_continues(kernel: KernelSession) -> None:
    outcome = kernel.run("%%scalene\nouter = sum(range(2_000_000))\nget_ipython().run_cell_magic('scalene', '', 'inner = sum(range(10))')\n")
    assert outcome.status == "ok", outcome.error
    assert "already being profiled" in outcome.stderr
    assert len(outcome.profiles) == 1
    assert kernel.value("[outer, inner]") == [sum(range(2_000_000)), 45]


def test_outfile_writes_the_profile(kernel: KernelSession, tmp_path: os.PathLike) -> None:
    target = os.path.join(str(tmp_path), "cell profile.json")
    outcome = kernel.run(f"%scrun --outfile '{target}' total = sum(range(1_000_000))")
    assert outcome.status == "ok", outcome.error
    with open(target) as handle:
        saved = json.load(handle)
    assert saved["files"].keys() == outcome.profile["files"].keys()


def test_cli_view_puts_the_text_table_in_the_html_fallback(kernel: KernelSession) -> None:
    outcome = kernel.run("%%scalene --cli\nx = sum(range(100_000))")
    html = outcome.displays[0]["text/html"]
    assert html.startswith("<pre") and "Python" in html and "<table" not in html


def test_syntax_errors_show_the_cell_line_not_the_magic(kernel: KernelSession) -> None:
    outcome = kernel.run("%%scalene\nx = 1\ny = (2 +\n")
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["ename"] == "SyntaxError"
    trace = "\n".join(outcome.error["traceback"])
    assert "line 3" in trace and "y = (2 +" in trace
    assert "runner.py" not in trace and "magics.py" not in trace and "interactiveshell" not in trace
    assert outcome.profiles == []

    awaiting = kernel.run("%%scalene\nimport asyncio\nawait asyncio.sleep(0)")
    assert awaiting.error is not None and "top-level await is not supported" in "\n".join(awaiting.error["traceback"])
