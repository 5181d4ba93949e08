"""The user's line in a natively captured stack (CPU and memory samples).

A stack is a flat tuple ``(code address, instruction index, ...)``, innermost
frame first, as the native reader recorded it at the instant of the sample.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType

from .code_table import CodeInfo, CodeTable

Site = tuple[CodeInfo, int]  # the user's frame and its instruction index


def user_site(
    table: CodeTable,
    stack: tuple[int, ...],
    is_user_file: Callable[[str], bool],
    boundary: CodeType | None,
    truncated: bool = False,
) -> Site | None:
    """The innermost frame of the user's code in ``stack``.

    With a ``boundary`` (the code object that runs the profiled code) only a
    frame inside it counts: a stack that does not pass through it is the
    profiler or IPython at work before or after the user's code. A stack cut
    short (``truncated``) cannot show the boundary; its user frame counts.
    """
    found: Site | None = None
    for position in range(0, len(stack), 2):
        info = table.lookup(stack[position])
        if info is None:
            continue
        if boundary is not None and info.code is boundary:
            return found
        if found is None and is_user_file(info.filename):
            if boundary is None:
                return info, stack[position + 1]
            found = info, stack[position + 1]
    return found if truncated else None
