"""Bytecode facts the sampler needs to place native time on the right line.

CPython runs a pending signal handler only at "eval breaker" checks: calls,
backward jumps and function entries. Operators such as ``a @ b`` do not check,
so the native time of ``b = a @ a`` is noticed at the next call, often on a
later line. When a late sample lands on an instruction, the time it was held
off is charged to the most recent heavy operator since the previous check,
if that operator sits on another line.
"""

from __future__ import annotations

import dis
from types import CodeType, FrameType

_CALL_PREFIXES = ("CALL", "PRECALL")
_CHECK_PREFIXES = _CALL_PREFIXES + ("JUMP_BACKWARD", "RESUME", "JUMP_ABSOLUTE", "YIELD_VALUE")
_HEAVY_PREFIXES = (
    "BINARY_",
    "INPLACE_",
    "UNARY_",
    "COMPARE_OP",
    "CONTAINS_OP",
    "STORE_SUBSCR",
    "DELETE_SUBSCR",
    "STORE_SLICE",
)
_SCAN_LIMIT = 64

# (offset, is_check, is_heavy, line, is_call) per instruction
_Instruction = tuple[int, bool, bool, int, bool]


def _instructions(code: CodeType) -> list[_Instruction]:
    result: list[_Instruction] = []
    line = code.co_firstlineno
    for ins in dis.get_instructions(code):
        positions = getattr(ins, "positions", None)
        if positions is not None and positions.lineno is not None:
            line = positions.lineno
        elif ins.starts_line:
            line = int(ins.starts_line)
        name = ins.opname
        result.append(
            (
                ins.offset,
                name.startswith(_CHECK_PREFIXES),
                name.startswith(_HEAVY_PREFIXES),
                line,
                name.startswith(_CALL_PREFIXES),
            )
        )
    return result


class CodeIndex:
    """Per-code-object caches, built lazily from the signal handler."""

    def __init__(self) -> None:
        self._code: dict[CodeType, tuple[list[_Instruction], dict[int, int]]] = {}

    def _lookup(self, code: CodeType) -> tuple[list[_Instruction], dict[int, int]]:
        entry = self._code.get(code)
        if entry is None:
            instructions = _instructions(code)
            entry = self._code[code] = (instructions, {ins[0]: i for i, ins in enumerate(instructions)})
        return entry

    def at_call(self, frame: FrameType) -> bool:
        """Whether the frame's current instruction is a call (into native code, for a
        thread that is not running Python)."""
        instructions, index = self._lookup(frame.f_code)
        position = index.get(frame.f_lasti)
        return position is not None and instructions[position][4]

    def deferred_line(self, frame: FrameType) -> int | None:
        """The line of the heavy operator a late sample should have landed on, if
        it is not the frame's current line."""
        instructions, index = self._lookup(frame.f_code)
        position = index.get(frame.f_lasti)
        if position is None:
            return None
        current = instructions[position][3]
        for _offset, is_check, is_heavy, line, _is_call in reversed(instructions[max(0, position - _SCAN_LIMIT) : position]):
            if is_heavy:
                return line if line != current else None
            if is_check:
                return None
        return None
