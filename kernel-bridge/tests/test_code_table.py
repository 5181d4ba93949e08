"""What the code table tells the CPU sampler about an instruction: its line,
and whether it is a call (a sample stopped there is native time)."""

from __future__ import annotations

import dis
import glob
import os
import subprocess
import sys
import types
from collections.abc import Iterator

from scalene_lab.code_table import _CALL_NAMES, CodeInfo, CodeTable, _call_units


def _calls_by_dis(code: types.CodeType) -> bytes:
    """The call units as ``dis`` names them: a call instruction and its inline caches."""
    units = max(1, len(code.co_code) // 2)
    calls = bytearray(units)
    instructions = list(dis.get_instructions(code))
    for position, instruction in enumerate(instructions):
        if instruction.opname in _CALL_NAMES:
            end = instructions[position + 1].offset if position + 1 < len(instructions) else units * 2
            for unit in range(instruction.offset // 2, min(units, end // 2)):
                calls[unit] = 1
    return bytes(calls)


def _nested(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _nested(const)


def test_call_instructions_match_dis_over_the_standard_library() -> None:
    # The scan reads opcodes straight from co_code; dis is the reference.
    # Thousands of code objects cover every call opcode of this interpreter,
    # EXTENDED_ARG prefixes and the inline caches of 3.11+.
    checked = 0
    for path in sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))[:150]:
        try:
            with open(path, encoding="utf-8") as handle:
                top = compile(handle.read(), path, "exec")
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for code in _nested(top):
            units = max(1, len(code.co_code) // 2)
            assert _call_units(code.co_code, units) == _calls_by_dis(code), f"{path}: {code.co_name}"
            checked += 1
    assert checked > 1000


def test_a_sample_at_a_call_is_told_from_one_in_bytecode() -> None:
    source = "def f(xs):\n    total = 0\n    for x in xs:\n        total += x * 2\n    return sorted(xs)\n"
    namespace: dict = {}
    exec(compile(source, "<test>", "exec"), namespace)
    code = namespace["f"].__code__
    info = CodeInfo(code)
    by_line: dict = {}
    for instruction in dis.get_instructions(code):
        unit = instruction.offset // 2
        by_line.setdefault(info.line_at(unit), set()).add(info.calls_at(unit))
    assert by_line[4] == {False}  # arithmetic: Python time
    assert True in by_line[5]  # sorted(xs): the call


def test_resolve_learns_live_code_on_the_stack_and_keeps_it() -> None:
    def sampled() -> CodeTable:
        table = CodeTable()
        here = sampled.__code__
        table.resolve((id(here), id(test_resolve_learns_live_code_on_the_stack_and_keeps_it.__code__)))
        found = table.lookup(id(here))
        assert found is not None and found.code is here
        # A second look at the same stack is answered from what the table holds.
        table.resolve((id(here), id(test_resolve_learns_live_code_on_the_stack_and_keeps_it.__code__)))
        assert table.lookup(id(here)) is found
        return table

    sampled()


def test_a_code_object_dying_at_shutdown_prints_nothing() -> None:
    # At interpreter shutdown the module's globals are cleared (to None)
    # before the last code objects die; their weakref callbacks must not
    # look up a global then, or every kernel shutdown after a profiled cell
    # prints "Exception ignored ... 'NoneType' object is not callable".
    program = (
        "import gc\n"
        "from scalene_lab import code_table\n"
        "code = compile('def dying(): pass', '<cell>', 'exec')\n"
        "code_table._remember_all([code])\n"
        "code_table._forget = None\n"
        "del code\n"
        "gc.collect()\n"
    )
    bridge = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": bridge}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr


def test_the_search_of_stacks_reads_only_the_innermost_frame_of_other_threads() -> None:
    # Following f_back through another thread's frames, which change
    # whenever the GIL passes to it, crashed a kernel on Python 3.11
    # (frames.py). Its deeper code is left to the collector search; this
    # thread's whole stack is read.
    import threading

    from scalene_lab import code_table

    started, release = threading.Event(), threading.Event()

    def outer_frame_of_worker() -> None:
        inner_frame_of_worker()

    def inner_frame_of_worker() -> None:
        started.set()
        release.wait(30)

    def own_caller() -> list[types.CodeType]:
        return list(code_table._stack_codes())

    worker = threading.Thread(target=outer_frame_of_worker)
    worker.start()
    try:
        assert started.wait(30)
        names = {code.co_name for code in own_caller()}
    finally:
        release.set()
        worker.join()
    assert {"own_caller", "test_the_search_of_stacks_reads_only_the_innermost_frame_of_other_threads"} <= names
    assert "wait" in names  # the worker's innermost frame (threading.Event.wait)
    assert "inner_frame_of_worker" not in names and "outer_frame_of_worker" not in names
