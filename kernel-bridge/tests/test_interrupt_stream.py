"""Real interrupts, the way the notebook's stop button sends them, at random
moments against a stream of short profiled runs.

Each interrupt lands wherever the kernel happens to be: before the magic,
in set-up, in the user's code, in a drain, in teardown, in the report, or
after the cell. Whatever it hit, the user sees their own KeyboardInterrupt
(no frame of scalene_lab's in the traceback), and afterwards the kernel is
exactly as before the stream (kernel_state.py: hooks, wrappers, sampling,
frees still matched, timers, threads, signals), and a profiled cell still
profiles memory.
"""

from __future__ import annotations

import queue
import random
import time

from kernel_session import GarbledReply, KernelSession, line_of
from kernel_state import differences, state_of

SEED = 20261201
WANTED_INTERRUPTS = 30  # cells that ended in a KeyboardInterrupt
MAX_CELLS = 120

# Short: set-up, drains, teardown and the report are a good part of its time.
CELL = (
    "%%scalene\n"
    "_stream_blocks = []\n"
    "for _i in range(30):\n"
    "    _stream_blocks.append(bytearray(300_000))\n"
    "    _stream_sum = sum(range(30_000))\n"
    "del _stream_blocks\n"
)
MEMORY_CELL = "%%scalene\n_stream_kept = [bytearray(1 << 20) for _ in range(48)]\n"


def _round_trip(kernel: KernelSession) -> float:
    """Median seconds from sending the cell to its reply."""
    times = []
    for _ in range(5):
        began = time.monotonic()
        assert kernel.run(CELL).status == "ok"
        times.append(time.monotonic() - began)
    return sorted(times)[2]


def test_random_interrupts_against_short_profiled_runs(fresh_kernel: KernelSession) -> None:
    kernel = fresh_kernel
    kernel.run(MEMORY_CELL)
    kernel.run("del _stream_kept")
    duration = _round_trip(kernel)
    before = state_of(kernel)

    rng = random.Random(SEED)
    interrupted = 0
    kinds: dict[str, int] = {}
    problems: list[str] = []
    for cell in range(MAX_CELLS):
        if interrupted >= WANTED_INTERRUPTS:
            break
        request = kernel.start(CELL)
        time.sleep(rng.uniform(0.0, duration))
        kernel.interrupt()
        try:
            outcome = kernel.finish(request, timeout=60, reply_wait=3.0)
        except (queue.Empty, GarbledReply) as lost:
            # The interrupt landed in ipykernel's own request handling: it
            # logs "KeyboardInterrupt caught in kernel" and sends no reply,
            # or, caught while sending one, a cut message the next is
            # appended to. Plain cells lose their reply the same ways.
            assert kernel.manager.is_alive(), f"the kernel died at cell {cell}"
            how = "garbled" if isinstance(lost, GarbledReply) else "lost"
            kinds[f"reply {how} in ipykernel"] = kinds.get(f"reply {how} in ipykernel", 0) + 1
            continue
        assert kernel.manager.is_alive(), f"the kernel died at cell {cell}"
        if outcome.error is None:
            kinds["not interrupted"] = kinds.get("not interrupted", 0) + 1
            continue
        if outcome.error["ename"] != "KeyboardInterrupt":
            problems.append(f"cell {cell}: {outcome.error['ename']}: {outcome.error['evalue']}")
            continue
        interrupted += 1
        trace = "\n".join(outcome.error["traceback"])
        if "scalene_lab" in trace:
            problems.append(f"cell {cell}: the traceback shows scalene_lab's frames:\n{trace[-1200:]}")
        if outcome.profiles:
            status = outcome.profiles[0]["notebook"]["status"]
            # "completed": the interrupt came while the finished run's profile was shown.
            if status not in ("interrupted", "completed"):
                problems.append(f"cell {cell}: an interrupted cell's profile says {status!r}")
            kinds[f"profile {status}"] = kinds.get(f"profile {status}", 0) + 1
        else:
            kinds["no profile"] = kinds.get("no profile", 0) + 1
        for noise in ("Exception ignored", "race condition", "could not produce the profile"):
            if noise in outcome.stderr:
                problems.append(f"cell {cell}: stderr says {outcome.stderr.strip()[-400:]!r}")
    print(f"interrupts by outcome: {kinds}")  # shown with pytest -s
    assert interrupted >= WANTED_INTERRUPTS, (interrupted, kinds)
    assert not problems, "\n".join(problems)

    time.sleep(0.3)  # a timer left armed would have fired by now
    assert differences(before, state_of(kernel)) == [], kinds

    outcome = kernel.run(MEMORY_CELL)
    profile = kernel.profile_of(outcome)
    kept_mb = kernel.value("sum(len(b) for b in _stream_kept) / 2**20")
    line = line_of(profile, profile["notebook"]["profiled_source"], "_stream_kept = ")
    assert abs(line["n_malloc_mb"] - kept_mb) < 0.15 * kept_mb, (line["n_malloc_mb"], kept_mb)
    assert differences(before, state_of(kernel)) == []
