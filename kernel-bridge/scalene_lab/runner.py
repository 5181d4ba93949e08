"""Runs user code under the CPU sampler, in the notebook's own namespace.

The code is compiled under a filename IPython knows as the current cell (so
tracebacks read "Cell In[N], line L" with the cell's own line numbers), runs
with the user's globals exactly as an unprofiled cell would, and the last
expression's value is returned so IPython shows it as ``Out[N]``. Whatever
happens, the sampler is disarmed before this module returns or raises.
"""

from __future__ import annotations

import ast
import sys
import time
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from .code_filter import CodeFilter
from .display import publish
from .extension import registry
from .fault_points import reached
from .interrupts import DeferredInterrupts, runs_user_code
from .options import ProfileOptions
from .profile import RunInfo, build_profile
from .session import ProfileSession
from .sources import SourceResolver, cell_text
from .timer import TimerUnavailable

_active: ProfileSession | None = None


@dataclass
class Compiled:
    """The user's code, ready to run: statements plus an optional last expression."""

    filename: str
    body: CodeType
    last_expression: CodeType | None


class CellSyntaxError(Exception):
    """A syntax error in the profiled code, shown the way IPython shows one
    in a plain cell: the offending line, no stack of the magic's internals."""

    def __init__(self, error: SyntaxError, rendered: list[str]) -> None:
        super().__init__(str(error))
        self._rendered = rendered

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for exceptions that format their own traceback."""
        return self._rendered


# The kernel reports the exception by its class name: the user sees SyntaxError.
CellSyntaxError.__name__ = CellSyntaxError.__qualname__ = "SyntaxError"

_AWAIT_NOTE = "scalene-lab: top-level await is not supported inside %%scalene / %scrun yet."


def _syntax_error(shell: Any, error: SyntaxError) -> CellSyntaxError:
    rendered = list(shell.SyntaxTB.structured_traceback(type(error), error, []))
    if "await" in str(error.msg or ""):
        rendered.append(_AWAIT_NOTE)
    return CellSyntaxError(error, rendered)


def _find_cell(resolver: SourceResolver, frame: FrameType | None) -> tuple[str | None, int]:
    """The innermost cell frame calling the magic: (filename, line)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if resolver.is_cell(filename):
            return filename, frame.f_lineno or 1
        frame = frame.f_back
    return None, 1


def compile_user_code(shell: Any, code: str, raw_text: str, first_line: int, number: int) -> Compiled:
    """Compile ``code``, which sits at line ``first_line`` of ``raw_text``."""
    __tracebackhide__ = True  # noqa: F841 - read by IPython's traceback formatter
    filename = shell.compile.cache(raw_text, number=number, raw_code=raw_text)
    padded = "\n" * (first_line - 1) + shell.transform_cell(code)
    tree = shell.compile.ast_parse(padded, filename=filename)
    tree = shell.transform_ast(tree)
    last: CodeType | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        value = tree.body.pop().value
        expression = ast.Expression(ast.copy_location(_then_check(value), value))
        last = shell.compile(ast.fix_missing_locations(expression), filename, "eval")
    if tree.body:
        tree.body.append(ast.copy_location(ast.Expr(_check_call()), tree.body[-1]))
    body = shell.compile(ast.fix_missing_locations(tree), filename, "exec")
    return Compiled(filename, body, last)


def _check_call() -> ast.expr:
    """``().__len__()``: a call into C that touches no user name.

    CPython runs pending signal handlers only at calls and backward jumps, so
    without a call at the end of the user's code a sample held off by a final
    operator (``b = a @ a``) would be taken after the code has returned, where
    it can no longer be charged to the user's line.
    """
    return ast.Call(ast.Attribute(ast.Tuple([], ast.Load()), "__len__", ast.Load()), [], [])


def _then_check(value: ast.expr) -> ast.expr:
    """``(value, ().__len__())[0]``: the value, then a signal check on its line."""
    pair = ast.Tuple([value, ast.copy_location(_check_call(), value)], ast.Load())
    return ast.Subscript(ast.copy_location(pair, value), ast.Constant(0), ast.Load())


def locate(shell: Any, code: str, magic_line: str | None, caller: FrameType | None) -> tuple[str, int, int]:
    """Where ``code`` sits in the notebook: (cell text, first line, execution count).

    ``magic_line`` is the ``%%scalene`` options line for the cell magic, None
    for ``%scrun``.
    """
    resolver = SourceResolver(shell, registry, None)
    cell_file, cell_line = _find_cell(resolver, caller)
    number = resolver.cell_number(cell_file) if cell_file else None
    if number is None:
        number = max(1, int(getattr(shell, "execution_count", 1)) - 1)
    raw = cell_text(shell, number)
    if magic_line is not None:
        lines = raw.splitlines() if raw else []
        head = next((i for i, text in enumerate(lines) if text.lstrip().startswith("%%")), None)
        if head is not None and "\n".join(lines[head + 1 :]).rstrip() == code.rstrip():
            return raw or "", head + 2, number
        return f"%%scalene {magic_line}".rstrip() + "\n" + code, 2, number
    if raw is not None and cell_file is not None:
        return raw, cell_line, number
    return code, 1, number


def run_profiled(
    shell: Any,
    code: str,
    options: ProfileOptions,
    magic: str,
    magic_line: str | None = None,
) -> Any:
    """Run ``code`` profiled; show the profile; return the last expression's value."""
    global _active
    __tracebackhide__ = True  # noqa: F841
    caller = sys._getframe(1)
    raw_text, first_line, number = locate(shell, code, magic_line, caller)
    try:
        compiled = compile_user_code(shell, code, raw_text, first_line, number)
    except SyntaxError as error:
        raise _syntax_error(shell, error) from None
    if _active is not None:
        print(
            f"scalene-lab: {magic} inside code that is already being profiled; it runs as part of the outer profile.",
            file=sys.stderr,
        )
        return _execute(shell, compiled)

    resolver = SourceResolver(shell, registry, number)
    run = RunInfo(magic=magic, profiled_filename=compiled.filename, messages=options.notices())
    for notice in run.messages:
        print(f"scalene-lab: {notice}", file=sys.stderr)
    roots = [code for code in (compiled.body, compiled.last_expression) if code is not None]
    session = ProfileSession(options, CodeFilter(options, resolver.is_cell), _execute.__code__, roots, run.messages)
    try:
        run.start_time_absolute = time.time()
        session.start()
    except (TimerUnavailable, ValueError, OSError) as problem:
        session.stop()
        print(f"scalene-lab: cannot sample CPU here ({problem}); running unprofiled.", file=sys.stderr)
        return _execute(shell, compiled)
    except BaseException:
        session.stop_quietly()  # the user's interrupt is the one to show
        raise
    _active = session
    failure: BaseException | None = None
    try:
        result = _execute(shell, compiled)
    except BaseException as exc:
        failure = exc
    finally:
        failure = _finish(session, resolver, options, run, failure)
    if failure is not None:
        raise failure
    return result


def _finish(session: ProfileSession, resolver: SourceResolver, options: ProfileOptions, run: RunInfo, failure: BaseException | None) -> BaseException | None:
    """Disarm, then show the profile up to this point; returns what the cell
    raised, or else what interrupted the disarming or the report."""
    global _active
    __tracebackhide__ = True  # noqa: F841
    try:
        session.stop()
    except BaseException as exc:  # noqa: B902 - a Ctrl-C noted while disarming: shown after the profile
        failure = failure or exc
    finally:
        _active = None
    if failure is not None:
        run.status = "interrupted" if isinstance(failure, KeyboardInterrupt) else "error"
        run.error = f"{type(failure).__name__}: {failure}".rstrip(": ")
    try:
        _report(session, resolver, options, run)
    except BaseException as exc:  # noqa: B902 - as above
        failure = failure or exc
    return failure


@runs_user_code
def _execute(shell: Any, compiled: Compiled) -> Any:
    __tracebackhide__ = True  # noqa: F841
    exec(compiled.body, shell.user_global_ns, shell.user_ns)
    if compiled.last_expression is not None:
        return eval(compiled.last_expression, shell.user_global_ns, shell.user_ns)
    return None


def _report(session: ProfileSession, resolver: SourceResolver, options: ProfileOptions, run: RunInfo) -> None:
    """Build and show the profile; a failure here must not hide the user's result."""
    __tracebackhide__ = True  # noqa: F841
    if session.cpu is None:
        return
    try:
        with DeferredInterrupts():
            reached("report.enter")
            profile = build_profile(session.cpu, resolver, options, run, session.memory, session.gpu)
            reached("report.built")
            publish(profile, options)
            reached("report.published")
    except KeyboardInterrupt:
        raise
    except Exception as problem:  # our bug: say so in one line, keep the user's outcome
        print(f"scalene-lab: could not produce the profile: {problem!r}", file=sys.stderr)
