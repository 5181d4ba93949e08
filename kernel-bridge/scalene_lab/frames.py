"""Finding the user's line in a stack, shared by the CPU and memory samplers."""

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
