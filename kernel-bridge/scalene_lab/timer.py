"""Sampling timer that interrupts the kernel's main thread.

The sampler re-arms the timer after every sample with a fresh, exponentially
jittered interval. The timer keeps firing at that interval until then, so a
blocking call (``time.sleep``, I/O) is interrupted and sampled while it
blocks, instead of being folded into one late sample with whatever ran
before it.

On Linux the timer is a POSIX per-process timer (``timer_create``) aimed at the
main thread with a free real-time signal. That leaves the user's own
``SIGALRM`` / ``ITIMER_REAL`` (``signal.alarm`` time-outs, test harnesses)
untouched while a cell is profiled, and wakes the main thread itself out of
``sleep``/``select`` so blocked lines are sampled promptly. Where
``timer_create`` cannot be reached (non-Linux libcs), ``ITIMER_REAL`` with
``SIGALRM`` is used instead, and only if nobody else has armed it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
import threading
from typing import Protocol


class TimerUnavailable(RuntimeError):
    """No signal-delivering timer can be set up in this process right now."""


class SampleTimer(Protocol):
    """A timer whose expiries raise ``signum`` in the main thread."""

    signum: int
    description: str

    def arm(self, first: float, period: float) -> None:
        """Fire ``first`` seconds from now, then every ``period`` seconds until re-armed."""

    def close(self) -> None:
        """Cancel any pending expiry and release the timer."""


_CLOCK_MONOTONIC = 1
_SIGEV_THREAD_ID = 4  # Linux: deliver to the thread named in _tid


class _SigEvent(ctypes.Structure):
    # glibc's struct sigevent: 64 bytes on every Linux ABI we support.
    _fields_ = [
        ("sigev_value", ctypes.c_void_p),
        ("sigev_signo", ctypes.c_int),
        ("sigev_notify", ctypes.c_int),
        ("sigev_tid", ctypes.c_int),
        ("_pad", ctypes.c_int * 11),
    ]


class _TimeSpec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("it_interval", _TimeSpec), ("it_value", _TimeSpec)]


def _set_timespec(spec: _TimeSpec, seconds: float) -> None:
    whole = int(seconds)
    spec.tv_sec = whole
    spec.tv_nsec = max(1, int((seconds - whole) * 1e9))


def _load_librt() -> ctypes.CDLL | None:
    for name in (None, ctypes.util.find_library("rt")):
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            lib.timer_create  # noqa: B018 - probe that the symbol exists
            return lib
        except (OSError, AttributeError):
            continue
    return None


def free_realtime_signal() -> int | None:
    """A real-time signal nobody (Python or native) has a handler for."""
    if not hasattr(signal, "SIGRTMIN"):
        return None
    # Leave SIGRTMIN itself and the top few to other libraries by convention.
    for signum in range(signal.SIGRTMIN + 4, signal.SIGRTMAX - 4):
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            return signum
    return None


class PosixThreadTimer:
    """``timer_create`` timer that signals the calling (main) thread only."""

    def __init__(self, lib: ctypes.CDLL, signum: int) -> None:
        self._lib = lib
        self.signum = signum
        self.description = f"posix-timer:SIGRTMIN+{signum - int(signal.SIGRTMIN)}"
        self._timer = ctypes.c_void_p()
        event = _SigEvent()
        event.sigev_signo = signum
        event.sigev_notify = _SIGEV_THREAD_ID
        event.sigev_tid = threading.get_native_id()
        if lib.timer_create(_CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(self._timer)) != 0:
            raise TimerUnavailable(f"timer_create failed (errno {ctypes.get_errno()})")
        self._open = True

    def arm(self, first: float, period: float) -> None:
        """Fire after ``first``, then every ``period`` (nothing once closed:
        a handler already tripped may still ask)."""
        if not self._open:
            return
        spec = _ITimerSpec()
        _set_timespec(spec.it_value, first)
        _set_timespec(spec.it_interval, period)
        self._lib.timer_settime(self._timer, 0, ctypes.byref(spec), None)

    def close(self) -> None:
        """Delete the kernel timer; a pending expiry is discarded with it."""
        if self._open:
            self._open = False
            self._lib.timer_delete(self._timer)


class RealIntervalTimer:
    """Fallback: ``ITIMER_REAL`` / ``SIGALRM``, used only when it is idle."""

    signum = int(signal.SIGALRM) if hasattr(signal, "SIGALRM") else 0
    description = "itimer-real"

    def __init__(self) -> None:
        if signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
            raise TimerUnavailable("ITIMER_REAL is already armed by other code")
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None):
            raise TimerUnavailable("SIGALRM already has a handler")

    def arm(self, first: float, period: float) -> None:
        """Fire after ``first``, then every ``period``."""
        signal.setitimer(signal.ITIMER_REAL, first, period)

    def close(self) -> None:
        """Disarm ``ITIMER_REAL``."""
        signal.setitimer(signal.ITIMER_REAL, 0)


def open_timer() -> SampleTimer:
    """Create the best timer this process supports (call from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        raise TimerUnavailable("profiling must start on the main thread")
    if sys.platform.startswith("linux"):
        lib = _load_librt()
        signum = free_realtime_signal()
        if lib is not None and signum is not None:
            return PosixThreadTimer(lib, signum)
    if not hasattr(signal, "setitimer"):
        raise TimerUnavailable("this platform has no interval timers")
    return RealIntervalTimer()
