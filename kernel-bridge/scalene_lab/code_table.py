"""From the native reader's frames (code object address, instruction index)
to code objects, lines and what the instruction does.

A sample names its code objects by address. An address is only turned back
into an object when that object is known to be alive: it is on a thread's
stack now, it is reachable from the profiled code, or a function, generator
or coroutine the garbage collector tracks holds it. What the searches find
is remembered for the life of the process through weak references (a code
object that dies drops out; its address is never mistaken for a new one),
so the costly search over the collector's objects runs about once per
kernel, not once per run. A run's table keeps a strong reference to every
code object it resolved, so an address it knows cannot be reused while the
run lasts. An address found nowhere (code that ran and was freed before the
drain, such as a string passed to ``exec``) is left unresolved and its frame
skipped.
"""

from __future__ import annotations

import dis
import gc
import sys
import threading
import time
import types
import weakref
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

# Opcodes whose instruction calls something: a frame stopped at one (with no
# newer Python frame above it) is inside a function that is not bytecode.
_CALL_NAMES = frozenset(
    {
        "CALL",
        "CALL_KW",
        "CALL_FUNCTION",
        "CALL_FUNCTION_KW",
        "CALL_FUNCTION_EX",
        "CALL_METHOD",
        "PRECALL",
    }
)

_CALL_OPCODES = frozenset(dis.opmap[name] for name in _CALL_NAMES if name in dis.opmap)
# The inline cache entries after an instruction (3.11+; absent before) belong
# to it: the interpreter can stop with its instruction pointer on one.
_CACHE_OPCODE = dis.opmap.get("CACHE", -1)


def _call_units(bytecode: bytes, units: int) -> bytes:
    """Per code unit: 1 where it belongs to a call instruction.

    A scan of the opcodes themselves (``co_code`` is the unspecialised
    bytecode, one opcode per two-byte unit): ``dis`` built an Instruction per
    unit for the same answer, and each profiled cell's new code object paid
    that inside the run."""
    calls = bytearray(units)
    in_call = False
    for unit, opcode in enumerate(bytecode[0 : 2 * units : 2]):
        if opcode in _CALL_OPCODES:
            in_call = True
        elif opcode != _CACHE_OPCODE:
            in_call = False
        if in_call:
            calls[unit] = 1
    return bytes(calls)


# The slow search (every function the collector tracks) runs at most this often.
_RESCAN_SECONDS = 0.5
_searched = False  # whether this process has had its first collector search

# Process-wide, weakly held: every code object a search found, by address,
# and the facts (line per code unit, call instructions) worked out for one.
_KNOWN: dict[int, weakref.ReferenceType[types.CodeType]] = {}
_FACTS: dict[int, tuple[weakref.ReferenceType[types.CodeType], array[int], bytes]] = {}


def _alive(address: int) -> types.CodeType | None:
    """The code object a search found at ``address``, if it is still alive."""
    ref = _KNOWN.get(address)
    return ref() if ref is not None else None


class CodeInfo:
    """One code object with its line per code unit and its call instructions."""

    __slots__ = ("code", "filename", "_lines", "_calls")

    def __init__(self, code: types.CodeType) -> None:
        self.code = code
        self.filename = code.co_filename
        cached = _FACTS.get(id(code))
        if cached is not None and cached[0]() is code:
            self._lines, self._calls = cached[1], cached[2]
            return
        units = max(1, len(code.co_code) // 2)
        lines = array("i", [code.co_firstlineno]) * units
        last = code.co_firstlineno
        for start, end, line in code.co_lines():
            if line is None:
                line = last
            last = line
            for unit in range(start // 2, min(units, end // 2)):
                lines[unit] = line
        self._lines = lines
        self._calls = _call_units(code.co_code, units)
        _FACTS[id(code)] = (_weak(code, _FACTS), lines, self._calls)

    def line_at(self, lasti: int) -> int:
        """The line of the instruction at ``lasti`` (code units; -1: not started)."""
        if lasti < 0:
            lasti = 0
        lines = self._lines
        return int(lines[lasti] if lasti < len(lines) else lines[-1])

    def calls_at(self, lasti: int) -> bool:
        """Whether the instruction at ``lasti`` is a call."""
        return 0 <= lasti < len(self._calls) and self._calls[lasti] == 1


def _with_nested(codes: Iterable[types.CodeType]) -> Iterator[types.CodeType]:
    stack = list(codes)
    seen: set[int] = set()
    while stack:
        code = stack.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        yield code
        stack.extend(const for const in code.co_consts if isinstance(const, types.CodeType))


class CodeTable:
    """Resolves code addresses for one run and caches what it learns."""

    def __init__(self, roots: Iterable[types.CodeType] = ()) -> None:
        self._infos: dict[int, CodeInfo] = {}
        self._missing: set[int] = set()
        self._complete: set[tuple[int, ...]] = set()
        self.unresolved = 0
        for code in _with_nested(roots):
            self.info(code)
        self._last_scan = -_RESCAN_SECONDS
        global _searched
        if not _searched:
            # The process's first search (tens of thousands of weak
            # references) runs before the user's code, not inside it: made
            # mid-run, its small objects land among the cell's and pin
            # Python's arenas after the cell frees them (40-75 MB of a
            # 1.5 GB free of small objects stayed resident).
            _searched = True
            _remember_all(_collector_codes())

    def info(self, code: types.CodeType) -> CodeInfo:
        """The (cached) facts of a live code object."""
        found = self._infos.get(id(code))
        if found is None or found.code is not code:
            found = self._infos[id(code)] = CodeInfo(code)
            self._missing.discard(id(code))
        return found

    def lookup(self, address: int) -> CodeInfo | None:
        """The code object at ``address`` if it is known to be alive; else None."""
        found = self._infos.get(address)
        if found is None:
            code = _alive(address)
            if code is not None:
                found = self.info(code)
        return found

    def resolve(self, addresses: tuple[int, ...]) -> None:
        """Learn the code objects behind ``addresses`` that are not known yet."""
        if addresses in self._complete:
            return
        infos = self._infos
        wanted: set[int] = set()
        for address in addresses:
            if address not in infos:
                code = _alive(address)
                if code is None:
                    wanted.add(address)
                else:
                    self.info(code)
        if not wanted:
            # Every one is now held by this table, so no address in it can be
            # reused while the run lasts: the same stack (a loop samples the
            # same few) needs no look at all next time.
            self._complete.add(addresses)
            return
        self._learn(wanted, _stack_codes())
        # Addresses a full search already missed in this run are not searched
        # for again (their code is gone); any other unknown address asks for
        # a search, at most every _RESCAN_SECONDS.
        if wanted - self._missing:
            now = time.monotonic()
            if now - self._last_scan >= _RESCAN_SECONDS:
                self._last_scan = now
                _remember_all(_collector_codes())
                self._learn(wanted, (code for code in map(_alive, list(wanted)) if code is not None))
                self._missing |= wanted
                self.unresolved = len(self._missing)

    def _learn(self, wanted: set[int], codes: Iterable[types.CodeType]) -> None:
        for code in codes:
            if id(code) in wanted:
                self.info(code)
                wanted.discard(id(code))
                if not wanted:
                    return


def _forget(table: dict[int, Any], address: int, ref: weakref.ReferenceType[types.CodeType]) -> None:
    """A remembered code object died: drop its entry (unless the address was reused)."""
    entry = table.get(address)
    if entry is ref or (isinstance(entry, tuple) and entry[0] is ref):
        del table[address]


def _weak(code: types.CodeType, table: dict[int, Any]) -> weakref.ReferenceType[types.CodeType]:
    """A weak reference to ``code`` that removes its entry from ``table`` when it dies."""
    address = id(code)
    # Bound now, not looked up when the code dies: at interpreter shutdown
    # the module's globals are cleared (to None) before the last code
    # objects go, and a lookup then prints "Exception ignored" to stderr.
    forget = _forget

    def drop(ref: weakref.ReferenceType[types.CodeType]) -> None:
        forget(table, address, ref)

    return weakref.ref(code, drop)


def _remember_all(codes: Iterable[types.CodeType]) -> None:
    for code in codes:
        address = id(code)
        if _alive(address) is not code:
            _KNOWN[address] = _weak(code, _KNOWN)


def _stack_codes() -> Iterator[types.CodeType]:
    """The code objects of this thread's whole stack, and of the innermost
    frame of every other thread: another thread's stack is never walked
    (frames.py says why); code deeper in it is found by the collector
    search, being reachable from its function."""
    tops = sys._current_frames()
    own = tops.pop(threading.get_ident(), None)
    codes = [top.f_code for top in tops.values()]
    frame: types.FrameType | None = own
    while frame is not None:
        codes.append(frame.f_code)
        frame = frame.f_back
    return iter(codes)


def _collector_codes() -> Iterator[types.CodeType]:
    roots: list[types.CodeType] = []
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            roots.append(obj.__code__)
        elif isinstance(obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
            code = getattr(obj, "gi_code", None) or getattr(obj, "cr_code", None) or getattr(obj, "ag_code", None)
            if code is not None:
                roots.append(code)
    return _with_nested(roots)
