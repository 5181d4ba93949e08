"""Holding off KeyboardInterrupt while the profiler arms or disarms.

Ctrl-C in a kernel is SIGINT, whose Python-level handler raises
KeyboardInterrupt at the next bytecode boundary: in the middle of arming or
disarming it would leave hooks, handlers or timers half installed. Inside
:class:`DeferredInterrupts` a SIGINT is only noted; when the block ends, the
user's own handler is back and a noted interrupt is raised then, once the
profiler's state is whole again.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Optional, Type


class DeferredInterrupts:
    """Context manager: SIGINT inside the block is raised when it ends."""

    def __init__(self) -> None:
        self.pending = False
        self._previous: Any = None
        self._installed = False

    def _note(self, signum: int, frame: Optional[FrameType]) -> None:
        self.pending = True

    def __enter__(self) -> "DeferredInterrupts":
        __tracebackhide__ = True  # noqa: F841 - read by IPython's traceback formatter
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGINT)
            if callable(current):  # a Python-level handler (the kernel's); SIG_IGN/SIG_DFL raise nothing
                # Swapped in one call: a SIGINT already waiting runs _note,
                # since the handler is looked up when the check comes.
                self._previous = signal.signal(signal.SIGINT, self._note)
                self._installed = True
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], value: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        __tracebackhide__ = True  # noqa: F841
        self.restore()
        if self.pending and kind is None:
            raise KeyboardInterrupt

    def restore(self) -> None:
        """Give SIGINT back to the handler it had (unless the user replaced ours)."""
        __tracebackhide__ = True  # noqa: F841
        if self._installed:
            self._installed = False
            if signal.getsignal(signal.SIGINT) == self._note:
                signal.signal(signal.SIGINT, self._previous)
