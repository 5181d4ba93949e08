"""After every profiled run the kernel is exactly as before, and nothing
accumulates across runs."""

from __future__ import annotations

from typing import Any

from kernel_session import KernelSession

SNAPSHOT = r"""
import builtins, os, signal, sys, threading, json as _json
def _listening():
    found = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for row in handle:
                    parts = row.split()
                    if parts[3] == "0A":
                        found.add(parts[9])
        except OSError:
            pass
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    return len(found & mine)
_state = {
    "handlers": {str(n): repr(signal.getsignal(n)) for n in range(1, signal.NSIG) if n not in (signal.SIGKILL, signal.SIGSTOP)},
    "itimers": [signal.getitimer(t) for t in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)],
    "profile": repr(sys.getprofile()), "trace": repr(sys.gettrace()),
    "monitoring": [repr(sys.monitoring.get_tool(i)) for i in range(6)] if hasattr(sys, "monitoring") else [],
    "threads": sorted(t.name for t in threading.enumerate()),
    # ipykernel swaps builtins.input for every request itself; everything else must stay.
    "builtins": sorted((k, id(v)) for k, v in vars(builtins).items() if k.strip("_") and k != "input"),
    "os": sorted((k, id(v)) for k, v in vars(os).items() if callable(v)),
    "exit": id(sys.exit), "argv": list(sys.argv),
    "cwd_files": sorted(os.listdir(".")),
    "listening": _listening(),
    "events": {k: len(v) for k, v in get_ipython().events.callbacks.items()},
}
print(_json.dumps(_state))
del _state, _listening, _json
"""


def snapshot(kernel: KernelSession) -> dict[str, Any]:
    import json

    outcome = kernel.run(SNAPSHOT, silent=True)
    assert outcome.status == "ok", outcome.error
    state: dict[str, Any] = json.loads(outcome.stdout.strip().splitlines()[-1])
    return state


def test_state_is_restored_after_success_error_and_interrupt(fresh_kernel: KernelSession) -> None:
    fresh_kernel.run("import numpy as np, threading\nfrom concurrent.futures import ThreadPoolExecutor")
    before = snapshot(fresh_kernel)
    runs = [
        "%%scalene\nsum(range(2_000_000))",
        "%%scalene\nx = np.ones((500, 500)) @ np.ones((500, 500))\nraise RuntimeError('x')",
        "%scrun [t.join() for t in [threading.Thread(target=sum, args=(range(10**6),)) for _ in range(2)] if not t.start()]",
        "%%scalene --outfile p.json\nwith ThreadPoolExecutor(2) as pool:\n    list(pool.map(sum, [range(10**6)] * 4))",
    ]
    for code in runs:
        fresh_kernel.run(code)
    fresh_kernel.run("import os; os.remove('p.json')")
    after = snapshot(fresh_kernel)
    assert after == before


def test_twenty_runs_accumulate_nothing(fresh_kernel: KernelSession) -> None:
    fresh_kernel.run("import tracemalloc, gc")
    for _ in range(3):  # warm caches (imports, bytecode caches)
        fresh_kernel.run("%%scalene\ns = sum(i * i for i in range(200_000))")
    before = snapshot(fresh_kernel)
    fresh_kernel.run("gc.collect(); tracemalloc.start(); _base = tracemalloc.get_traced_memory()[0]")
    for _ in range(20):
        outcome = fresh_kernel.run("%%scalene\ns = sum(i * i for i in range(200_000))")
        assert outcome.status == "ok" and len(outcome.profiles) == 1
    grown = fresh_kernel.value("(gc.collect(), tracemalloc.get_traced_memory()[0] - _base)[1]")
    fresh_kernel.run("tracemalloc.stop()")
    assert snapshot(fresh_kernel) == before
    # IPython itself keeps each cell's input and compiled source; what is
    # left over per run must stay at that scale, not grow with samples.
    assert grown / 20 < 64 * 1024, f"{grown / 20:.0f} bytes kept per profiled run"
