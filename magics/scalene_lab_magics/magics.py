"""``%scrun``, ``%scalene`` and ``%%scalene``: parse, then hand over to the bridge."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from scalene_lab.interrupts import show_as_users
from scalene_lab.runner import run_profiled

from .grammar import build_parser, parse_options, split_statement, tokenize

_LINE_PARSER = build_parser("%scrun")
_CELL_PARSER = build_parser("%%scalene")

_LINE_USAGE = _LINE_PARSER.format_usage().strip() + " statement"
_CELL_USAGE = _CELL_PARSER.format_usage().strip()

_INTRO = """Profile with scalene-lab: Python, native and system time, line by line.

Results appear as the cell's output (a rich view in JupyterLab, static HTML
and text elsewhere). Time in libraries is charged to the line of yours that
called them. The code runs in the notebook's namespace exactly as it would
without the magic.
"""


def _doc(usage: str, parser_help: str, example: str) -> str:
    options = parser_help.split("\n", 1)[1] if "\n" in parser_help else ""
    return f"{_INTRO}\n{usage}\n\n{options.strip()}\n\nExample:\n\n{example}\n"


def _profile_statement(shell: Any, line: str) -> Any:
    __tracebackhide__ = True  # noqa: F841
    tokens, statement = split_statement(_LINE_PARSER, line)
    options = parse_options(_LINE_PARSER, tokens)
    if not statement:
        raise UsageError(f"%scrun needs a statement to profile\n{_LINE_USAGE}")
    return run_profiled(shell, statement, options, magic="%scrun")


@magics_class
class ScaleneMagics(Magics):
    """The scalene-lab magics."""

    @line_magic
    def scrun(self, line: str) -> Any:
        """(docstring set below from the option grammar)"""
        __tracebackhide__ = True  # noqa: F841 - hides this frame in IPython tracebacks
        try:
            return _profile_statement(self.shell, line)
        except KeyboardInterrupt as interrupt:  # wherever it landed, shown as the user's
            show_as_users(self.shell, interrupt)
            raise

    @line_cell_magic
    def scalene(self, line: str, cell: str | None = None) -> Any:
        """(docstring set below from the option grammar)"""
        __tracebackhide__ = True  # noqa: F841
        try:
            if cell is None:
                return _profile_statement(self.shell, line)
            options = parse_options(_CELL_PARSER, tokenize(line))
            return run_profiled(self.shell, cell, options, magic="%%scalene", magic_line=line)
        except KeyboardInterrupt as interrupt:  # wherever it landed, shown as the user's
            show_as_users(self.shell, interrupt)
            raise


ScaleneMagics.scrun.__doc__ = _doc(_LINE_USAGE, _LINE_PARSER.format_help(), "    %scrun --cpu-sampling-rate 0.005 train(model, data)")
ScaleneMagics.scalene.__doc__ = _doc(
    _CELL_USAGE + "\n%scalene [options] statement   (line mode, same as %scrun)",
    _CELL_PARSER.format_help(),
    "    %%scalene --reduced-profile\n    total = sum(i * i for i in range(10_000_000))",
)


def register_magics(ipython: Any) -> None:
    """Register the magics with ``ipython`` (idempotent)."""
    ipython.register_magics(ScaleneMagics)


def unregister_magics(ipython: Any) -> None:
    """Remove the magics from ``ipython``."""
    table = ipython.magics_manager.magics
    for kind, name in (("line", "scrun"), ("line", "scalene"), ("cell", "scalene")):
        table[kind].pop(name, None)
