"""Holding off KeyboardInterrupt while the profiler arms, drains or disarms,
and showing the user an interrupt as their own.

Ctrl-C in a kernel is SIGINT, whose Python-level handler raises
KeyboardInterrupt at the next bytecode boundary: in the middle of arming or
disarming it would leave hooks, handlers or timers half installed. Inside
:class:`DeferredInterrupts` a SIGINT is only noted; when the block ends, the
user's own handler is back and a noted interrupt is raised then, once the
profiler's state is whole again.

An interrupt raised that way (or one that lands before the handler is
swapped, or in what the profiler calls) comes out of the profiler's own
frames, and IPython always shows the innermost frame of a traceback, hidden
or not. :func:`show_as_users`, in each magic's ``except KeyboardInterrupt``, gives
such an exception a traceback renderer that leaves the profiler's frames out, so the
user sees the interrupt at the line of theirs that was running, as with any
other Ctrl-C.
"""

from __future__ import annotations

# The C module under `signal`: its getsignal/signal skip the wrapper's
# conversion of every handler to an enum (which raises and catches a
# ValueError for a Python handler), a third of each drain's fixed cost.
import _signal
import os
import signal
import threading
from collections.abc import Callable
from types import CodeType, FrameType, TracebackType
from typing import Any, TypeVar

# Path components of the profiler's own code (this package and the magics).
_OWN_PACKAGES = ("scalene_lab", "scalene_lab_magics")
# Our functions that run the user's code (runner's exec of the cell).
_USER_CODE_ENTRIES: set[CodeType] = set()

_Function = TypeVar("_Function", bound=Callable[..., Any])


class DeferredInterrupts:
    """Context manager: SIGINT inside the block is raised when it ends.

    Nested inside another one it does nothing: the outermost block raises."""

    def __init__(self) -> None:
        self.pending = False
        self._previous: Any = None
        self._installed = False

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.pending = True

    def __enter__(self) -> DeferredInterrupts:
        __tracebackhide__ = True  # noqa: F841 - read by IPython's traceback formatter
        if threading.current_thread() is threading.main_thread():
            current = _signal.getsignal(signal.SIGINT)
            # A Python-level handler (the kernel's) that is not already an
            # outer block's; SIG_IGN/SIG_DFL raise nothing to defer.
            if callable(current) and not isinstance(getattr(current, "__self__", None), DeferredInterrupts):
                # Swapped in one call: a SIGINT already waiting runs _note,
                # since the handler is looked up when the check comes.
                self._previous = _signal.signal(signal.SIGINT, self._note)
                self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        __tracebackhide__ = True  # noqa: F841
        self.restore()
        if self.pending and kind is None:
            raise KeyboardInterrupt

    def restore(self) -> None:
        """Give SIGINT back to the handler it had (unless the user replaced ours)."""
        __tracebackhide__ = True  # noqa: F841
        if self._installed:
            self._installed = False
            if _signal.getsignal(signal.SIGINT) == self._note:
                _signal.signal(signal.SIGINT, self._previous)


def runs_user_code(function: _Function) -> _Function:
    """Mark a function of ours that runs the user's code: the frames it calls
    are the user's, and stay in what the user is shown."""
    _USER_CODE_ENTRIES.add(function.__code__)
    return function


def is_own_frame(frame: FrameType) -> bool:
    """Whether ``frame`` runs the profiler's own code."""
    folders = frame.f_code.co_filename.split(os.sep)[:-1]
    return any(name in folders for name in _OWN_PACKAGES)


def _is_hidden(frame: FrameType) -> bool:
    try:
        return bool(frame.f_locals.get("__tracebackhide__"))
    except Exception:  # a frame whose locals cannot be read is shown
        return False


def users_traceback(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` as the user should see it: without the profiler's frames and
    what they called (the standard library, say), keeping the user's code
    that the profiler ran, and without the hidden frames (IPython's own, the
    magic's) that would then be innermost."""
    kept: list[TracebackType] = []
    inside_ours = False
    while tb is not None:
        frame = tb.tb_frame
        if is_own_frame(frame):
            inside_ours = frame.f_code not in _USER_CODE_ENTRIES
        elif not inside_ours:
            kept.append(tb)
        tb = tb.tb_next
    while kept and _is_hidden(kept[-1].tb_frame):
        kept.pop()
    rebuilt: TracebackType | None = None
    for entry in reversed(kept):
        rebuilt = TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


def show_as_users(shell: Any, interrupt: KeyboardInterrupt) -> None:
    """Give ``interrupt``, leaving a magic, a traceback renderer without the
    profiler's frames (IPython asks an exception for ``_render_traceback_``
    before formatting it itself, and otherwise always shows the innermost
    frame, hidden or not).

    Called from the magic's own ``except KeyboardInterrupt``, not from a
    context manager's ``__exit__``: an interrupt can land on the entry of
    ``__exit__`` itself, outside the block, and would then show that frame."""
    formatter = getattr(shell, "InteractiveTB", None)
    if formatter is None:
        return

    def render() -> list[str]:
        # Read when shown: by then the traceback also holds the frames
        # above the magic (IPython's run_code, the cell's own line).
        lines: list[str] = formatter.structured_traceback(type(interrupt), interrupt, users_traceback(interrupt.__traceback__))
        return lines

    interrupt._render_traceback_ = render  # type: ignore[attr-defined]  # IPython's hook, set on this one exception
