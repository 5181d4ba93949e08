"""Finding the user's line in a stack, shared by the CPU and memory samplers.

Only the calling thread's stack is walked (``f_back``). Another thread's
frames can change whenever the GIL passes to it, which a walk in Python
code cannot prevent (any loop may hand the GIL over), and on Python 3.11
following ``f_back`` through a frame that thread has meanwhile left can
read a freed frame: a kernel died so (SIGSEGV in ``PyFrame_GetBack``, frame
pointer 0x3) while a drain walked ipykernel's and the GPU poller's stacks,
as Sentry's and ddtrace's samplers did (getsentry/sentry-python#2386,
DataDog/dd-trace-py#13567). Of another thread only the innermost frame is
read, which ``sys._current_frames()`` hands over whole.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FrameType


def user_frame(
    frame: FrameType | None,
    is_user_file: Callable[[str], bool],
    boundary: CodeType | None,
) -> FrameType | None:
    """The innermost frame of the user's code in ``frame``'s stack.

    With a ``boundary`` (the code object that runs the profiled code), only
    a frame *inside* it counts: a stack that does not pass through the
    boundary is the profiler or IPython working before or after the user's
    code, and even the cell that called the magic is not charged for that.
    """
    found: FrameType | None = None
    while frame is not None:
        code = frame.f_code
        if code is boundary:
            return found
        if found is None and is_user_file(code.co_filename):
            if boundary is None:
                return frame
            found = frame
        frame = frame.f_back
    return None


def other_thread_user_frame(top: FrameType | None, is_user_file: Callable[[str], bool]) -> FrameType | None:
    """Another thread's innermost frame (from ``sys._current_frames()``) if it
    is the user's code, else None: never a walk of its stack (see above)."""
    if top is not None and is_user_file(top.f_code.co_filename):
        return top
    return None
