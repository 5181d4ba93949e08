"""`--stacks`: Scalene's `stacks` (CPU) and `memory_stacks` fields, built from
the stack each sample recorded at its instant, with cells named `In [N]`."""

from __future__ import annotations

import textwrap
from typing import Any

from kernel_session import KernelSession
from scalene_lab.schema import validation_errors

DEFINITIONS = textwrap.dedent(
    """\
    import numpy as np

    def inner(n):
        total = 0
        for i in range(n):
            total += i * i
        return total

    def outer(n):
        kept = [np.ones(131_072) for _ in range(n)]
        return inner(1_000_000 * n), kept
    """
)


def _stacks_with(entries: list[Any], *needles: str) -> list[Any]:
    return [entry for entry in entries if all(any(needle in frame for frame in entry[0]) for needle in needles)]


def test_stacks_carry_the_call_chain_through_earlier_cells(memory_kernel: KernelSession) -> None:
    defined = memory_kernel.run(DEFINITIONS, cell_id="cell-defs")
    assert defined.status == "ok", defined.error
    outcome = memory_kernel.run("%%scalene --stacks\nfor _ in range(4):\n    result = outer(3)\n")
    assert outcome.status == "ok", outcome.error
    profile: dict[str, Any] = outcome.profile
    assert validation_errors(profile) == []
    assert not any("stacks" in message for message in profile["notebook"]["messages"]), profile["notebook"]["messages"]
    cell = profile["notebook"]["profiled_source"]
    defs = [k for k, s in profile["notebook"]["sources"].items() if s.get("cell_id") == "cell-defs"]
    assert len(defs) == 1
    # CPU: the loop in `inner` is reached from the profiled cell through
    # `outer`; frames run outermost first, named by their cell.
    deep = _stacks_with(profile["stacks"], f"In {defs[0]} inner:", f"In {defs[0]} outer:", f"In {cell} <module>:3;")
    assert deep, profile["stacks"][:5]
    frames = deep[0][0]
    assert frames[0].startswith(f"In {cell} <module>:3") and frames[-1].startswith(f"In {defs[0]} inner:"), frames
    share = sum(entry[1]["python_time"] + entry[1]["c_time"] for entry in deep)
    whole = sum(entry[1]["cpu_samples"] for entry in profile["stacks"])
    # `inner`'s pure-Python loop is most of the run.
    assert share >= 0.6 * whole, (share, whole)
    counts = sum(entry[1]["count"] for entry in profile["stacks"])
    assert counts <= profile["notebook"]["sampling"]["samples"]
    # Memory: the arrays `outer` keeps (12 x 1 MiB) are charged to its stack.
    allocating = [
        entry
        for entry in profile["memory_stacks"]
        if [frame["display_name"] for frame in entry[0]] == ["<module>", "outer", "<listcomp>"]
        or [frame["display_name"] for frame in entry[0]] == ["<module>", "outer"]
        or [frame["display_name"] for frame in entry[0]][-1:] == ["outer.<locals>.<listcomp>"]
    ]
    megabytes = sum(entry[1] for entry in allocating)
    assert 0.9 * 12 <= megabytes <= 1.1 * 12, profile["memory_stacks"][:5]
    assert all(entry[0][0]["filename_or_module"] == f"In {cell}" for entry in allocating)


def test_without_the_option_there_are_no_stacks(kernel: KernelSession) -> None:
    outcome = kernel.run("%%scalene --cpu-only\nsum(i * i for i in range(1_000_000))\n")
    assert outcome.status == "ok", outcome.error
    assert outcome.profile["stacks"] == []
    assert "memory_stacks" not in outcome.profile
