"""Every step of a profiled run's set-up, drain, teardown and report, by name.

Each step calls :func:`reached` with its name right after its effect, so a
test can stop the run there (a KeyboardInterrupt raised at that point, or a
real SIGINT arriving then) and check that the kernel comes back exactly as
it was. :data:`STEPS` lists them all in one place: the fault-injection suite
walks it, and checks that the code reaches no name missing from it (and the
list holds no name the code never reaches).

Unarmed, :func:`reached` is one call and two global reads: it stays in the
shipped code, so what is tested is what runs.
"""

from __future__ import annotations

import signal

STEPS: tuple[str, ...] = (
    # set-up (session.py, allocator.py, sampler.py)
    "setup.enter",
    "setup.gpu_opened",
    "setup.gpu_polling",
    "setup.native_loaded",
    "setup.signal_chosen",
    "setup.drain_handler_installed",
    "setup.run_begun",
    "setup.got_patched",
    "setup.python_domain_wrapped",
    "setup.sampling_on",
    "setup.cpu_timer_armed",
    "setup.threads_registered",
    "setup.fallback_timer_created",
    "setup.fallback_handler_installed",
    "setup.fallback_timer_armed",
    "setup.done",
    # drain (session.py), during the run and in teardown
    "drain.enter",
    "drain.records_taken",
    "drain.cpu_charged",
    "drain.memory_charged",
    "drain.exit",
    # teardown (session.py, allocator.py, sampler.py)
    "teardown.enter",
    "teardown.fallback_timer_closed",
    "teardown.cpu_timer_stopped",
    "teardown.memory_paused",
    "teardown.gpu_stopped",
    "teardown.drained",
    "teardown.python_domain_unwrapped",
    "teardown.got_restored",
    "teardown.memory_detached",
    "teardown.run_ended",
    "teardown.last_drain",
    "teardown.drain_handler_restored",
    "teardown.done",
    # report (runner.py)
    "report.enter",
    "report.built",
    "report.published",
)

# What a test asked for: (step, action, a step that must have been reached first).
_plan: tuple[str, str, str | None] | None = None
_reached: list[str] | None = None

ACTIONS = ("raise", "signal", "error")


class InjectedFault(MemoryError):
    """The "error" action: an exception other than KeyboardInterrupt, of a kind
    any step can meet for real (an allocation that fails)."""


def reached(step: str) -> None:
    """Step ``step`` has taken effect (a fault point for tests)."""
    global _plan
    if _reached is not None:
        _reached.append(step)
    plan = _plan
    if plan is None or plan[0] != step or (plan[2] is not None and (_reached is None or plan[2] not in _reached)):
        return
    _plan = None  # one shot
    if plan[1] == "raise":
        raise KeyboardInterrupt
    if plan[1] == "signal":
        signal.raise_signal(signal.SIGINT)  # handled at the next check, wherever that is
    else:
        raise InjectedFault(f"injected at {step}")


def inject(step: str, action: str, after: str | None = None) -> None:
    """At the first time ``step`` is reached (once ``after`` has been, if
    given), do ``action``: "raise" a KeyboardInterrupt there, send the process
    a real "signal" SIGINT, or raise an "error" (:class:`InjectedFault`).
    Also starts recording the steps reached (see :func:`steps_reached`)."""
    global _plan, _reached
    if step not in STEPS or (after is not None and after not in STEPS) or action not in ACTIONS:
        raise ValueError(f"unknown step or action: {step!r}, {action!r}, after {after!r}")
    _reached = []
    _plan = (step, action, after)


def record() -> None:
    """Start recording the steps reached, injecting nothing."""
    global _plan, _reached
    _plan = None
    _reached = []


def steps_reached() -> list[str]:
    """The steps reached since :func:`inject` or :func:`record`, in order."""
    return list(_reached or [])


def pending() -> str | None:
    """The step an injection still waits for (None: done or none asked)."""
    return _plan[0] if _plan is not None else None


def reset() -> None:
    """Inject nothing and stop recording."""
    global _plan, _reached
    _plan = None
    _reached = None
