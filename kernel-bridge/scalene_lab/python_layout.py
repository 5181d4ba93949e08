"""Where this interpreter keeps its frames, for the native frame reader.

The native signal handler and allocation hooks read the sampled thread's
Python stack from CPython's own structures. From 3.13 on CPython publishes
those offsets for out-of-process tools as ``_Py_DebugOffsets`` at the start of
``_PyRuntime``; they are read from there, so a later version with the same
table works without new code. For 3.10 to 3.12 the layout is fixed per minor
version (the values below come from each version's internal headers, as
py-spy and austin read them). Whatever the source, :func:`check` reads the
calling stack natively and compares it with ``sys._getframe()``; a layout
that disagrees is never used.
"""

from __future__ import annotations

import ctypes
import sys
import types
from typing import Any

from .allocator import PythonLayout, Record
from .code_table import CodeTable

# (tstate frame, cframe.current_frame, frame.previous, frame.code,
#  frame.instruction, frame.owner, code units, code.co_code, bytes.ob_sval)
_FIXED: dict[tuple[int, int], tuple[int, int, int, int, int, int, int, int, int]] = {
    (3, 10): (24, -1, 24, 32, 96, -1, -1, 48, 32),
    (3, 11): (56, 8, 48, 32, 56, 69, 184, -1, -1),
    (3, 12): (56, 0, 8, 0, 56, 70, 192, -1, -1),
}

_COOKIE = b"xdebugpy"


class _DebugOffsets313(ctypes.Structure):
    """The head of CPython 3.13's ``_Py_DebugOffsets`` (Include/internal/pycore_runtime.h)."""

    _fields_ = [
        ("cookie", ctypes.c_char * 8),
        ("version", ctypes.c_uint64),
        ("free_threaded", ctypes.c_uint64),
        ("runtime_state", ctypes.c_uint64 * 3),
        ("interpreter_state", ctypes.c_uint64 * 13),
        # thread_state: size, prev, next, interp, current_frame, thread_id, native_thread_id, datastack_chunk, status
        ("thread_state", ctypes.c_uint64 * 9),
        # interpreter_frame: size, previous, executable, instr_ptr, localsplus, owner
        ("interpreter_frame", ctypes.c_uint64 * 6),
        # code_object: size, filename, name, qualname, linetable, firstlineno, argcount,
        # localsplusnames, localspluskinds, co_code_adaptive
        ("code_object", ctypes.c_uint64 * 10),
        ("pyobject", ctypes.c_uint64 * 2),  # size, ob_type
    ]


class LayoutUnavailable(RuntimeError):
    """The frame layout of this interpreter is unknown or did not check out."""


def _function_address(name: str) -> int:
    return int(ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value or 0)


def _from_debug_offsets() -> PythonLayout | None:
    try:
        runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    except ValueError:
        return None
    offsets = _DebugOffsets313.from_address(runtime)
    if bytes(offsets.cookie) != _COOKIE or offsets.free_threaded:
        return None
    layout = PythonLayout()
    layout.tstate_frame = offsets.thread_state[4]
    layout.cframe_current = -1
    layout.frame_previous = offsets.interpreter_frame[1]
    layout.frame_code = offsets.interpreter_frame[2]
    layout.frame_instr = offsets.interpreter_frame[3]
    layout.frame_owner = offsets.interpreter_frame[5]
    layout.code_units = offsets.code_object[9]
    layout.object_type = offsets.pyobject[1]
    return layout


def build() -> PythonLayout:
    """The layout of the running interpreter; LayoutUnavailable if unknown."""
    version = sys.version_info[:2]
    if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
        raise LayoutUnavailable("free-threaded Python keeps its frames differently")
    if version in _FIXED:
        tstate, cframe, previous, code, instr, owner, units, co_code, sval = _FIXED[version]
        layout = PythonLayout()
        layout.tstate_frame, layout.cframe_current = tstate, cframe
        layout.frame_previous, layout.frame_code, layout.frame_instr, layout.frame_owner = previous, code, instr, owner
        layout.code_units, layout.code_bytes, layout.bytes_data = units, co_code, sval
        layout.object_type = 8
    elif version >= (3, 13):
        found = _from_debug_offsets()
        if found is None:
            raise LayoutUnavailable(f"Python {version[0]}.{version[1]} publishes no frame offsets this code can read")
        layout = found
        layout.code_bytes = layout.bytes_data = -1
    else:
        raise LayoutUnavailable(f"Python {version[0]}.{version[1]} is not supported")
    layout.version = (version[0] << 8) | version[1]
    layout.instr_is_pointer = 0 if version == (3, 10) else 1
    layout.var_size = 16
    layout.code_type = id(types.CodeType)
    layout.get_thread_state = _function_address("PyGILState_GetThisThreadState")
    layout.set_interrupt = _function_address("PyErr_SetInterruptEx")
    return layout


def check(lib: Any, table: CodeTable) -> None:
    """Read this very stack natively and compare it with Python's own view:
    every frame's code object and line must agree. LayoutUnavailable if not."""
    record = Record()
    depth, probe_line = int(lib.sl_probe_stack(ctypes.byref(record))), sys._getframe().f_lineno
    frame: types.FrameType | None = sys._getframe()
    if depth <= 0:
        raise LayoutUnavailable("the native frame reader found no Python frame")
    for position in range(min(depth, 8)):
        if frame is None:
            raise LayoutUnavailable("the native frame reader found more frames than Python has")
        native = record.frames[position]
        if native.code != id(frame.f_code):
            raise LayoutUnavailable(f"frame {position}: the native reader saw another code object")
        line = table.info(frame.f_code).line_at(native.lasti)
        expected = probe_line if position == 0 else frame.f_lineno
        if line != expected:
            raise LayoutUnavailable(f"frame {position}: native line {line}, Python says {expected}")
        frame = frame.f_back
