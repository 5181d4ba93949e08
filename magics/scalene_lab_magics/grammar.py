"""The option grammar of ``%scrun`` / ``%%scalene``: Scalene's own flags,
parsed by argparse, every error turned into IPython's UsageError with the
usage line."""

from __future__ import annotations

import argparse
import io
import os
import shlex
from collections.abc import Sequence
from typing import NoReturn

from IPython.core.error import UsageError
from scalene_lab.options import (
    DEFAULT_ALLOCATION_WINDOW,
    DEFAULT_CPU_PERCENT_THRESHOLD,
    DEFAULT_CPU_SAMPLING_RATE,
    ProfileOptions,
)

MIN_SAMPLING_RATE = 0.0001  # 100 µs: below this the handler itself dominates
MAX_SAMPLING_RATE = 10.0
MIN_ALLOCATION_WINDOW = 4096  # smaller windows make every allocation a sample
MAX_ALLOCATION_WINDOW = 1 << 30


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError((message or "").strip() or self.format_usage().strip())


def _rate(text: str) -> float:
    value = _number(text)
    if not MIN_SAMPLING_RATE <= value <= MAX_SAMPLING_RATE:
        raise argparse.ArgumentTypeError(f"must be between {MIN_SAMPLING_RATE} and {MAX_SAMPLING_RATE} seconds, got {text}")
    return value


def _window(text: str) -> int:
    value = _number(text)
    if value != int(value) or not MIN_ALLOCATION_WINDOW <= value <= MAX_ALLOCATION_WINDOW:
        raise argparse.ArgumentTypeError(f"must be a whole number of bytes between {MIN_ALLOCATION_WINDOW} and {MAX_ALLOCATION_WINDOW}, got {text}")
    return int(value)


def _threshold(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be a percentage between 0 and 100, got {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expects a comma-separated list of names")
    return names


def _outfile(text: str) -> str:
    if not text.strip():
        # An empty name would silently write nothing (or a file named "  ").
        raise argparse.ArgumentTypeError("needs a file name, got an empty one")
    path = os.path.expanduser(text)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text} is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"directory {parent} does not exist")
    return path


def build_parser(prog: str) -> argparse.ArgumentParser:
    """The parser for one magic; its help is the magic's docstring."""
    parser = _Parser(prog=prog, add_help=False, allow_abbrev=False)
    add = parser.add_argument
    add("--cpu-only", action="store_true", help="profile CPU time only (no memory or GPU)")
    add(
        "--cpu-sampling-rate",
        type=_rate,
        default=DEFAULT_CPU_SAMPLING_RATE,
        metavar="S",
        help=f"mean seconds between CPU samples (default {DEFAULT_CPU_SAMPLING_RATE}); intervals are exponentially jittered",
    )
    add(
        "--cpu-percent-threshold",
        type=_threshold,
        default=DEFAULT_CPU_PERCENT_THRESHOLD,
        metavar="P",
        help=f"leave out sources with less than P%% of the time (default {DEFAULT_CPU_PERCENT_THRESHOLD:g})",
    )
    add("--reduced-profile", action="store_true", help="list only lines that have samples")
    add("--profile-all", action="store_true", help="also charge time to installed libraries' own lines")
    add(
        "--profile-only",
        type=_name_list,
        default=[],
        metavar="A,B",
        help="charge time only to files whose path contains one of these strings (cells always count)",
    )
    add("--profile-exclude", type=_name_list, default=[], metavar="A,B", help="never charge time to files whose path contains one of these strings")
    add("--profile-system-libraries", action="store_true", help="also charge time to the standard library's and installed libraries' lines")
    add("--outfile", type=_outfile, default=None, metavar="FILE.json", help="also write the profile (Scalene's JSON format) to FILE.json")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--html", dest="view", action="store_const", const="html", help="frontends without scalene-lab show the HTML table (default)")
    view.add_argument("--cli", dest="view", action="store_const", const="cli", help="frontends without scalene-lab show the text table")
    add("--memory", action="store_true", help="profile memory and copy volume too (the default where the native allocator can attach)")
    add(
        "--allocation-sampling-window",
        type=_window,
        default=DEFAULT_ALLOCATION_WINDOW,
        metavar="BYTES",
        help=f"mean bytes between allocation samples (default {DEFAULT_ALLOCATION_WINDOW})",
    )
    gpu = parser.add_mutually_exclusive_group()
    gpu.add_argument(
        "--gpu",
        dest="gpu",
        action="store_const",
        const=True,
        help="profile GPU utilisation and memory per line (the default where NVML finds an NVIDIA GPU; says why not when it cannot)",
    )
    gpu.add_argument("--no-gpu", dest="gpu", action="store_const", const=False, help="leave the GPU out")
    add("--stacks", action="store_true", help="also record your call stacks (Scalene's stacks and memory_stacks; needs the native frame reader)")
    parser.set_defaults(view="html", memory=True, gpu=None)
    return parser


def _option_arity(parser: argparse.ArgumentParser) -> dict[str, bool]:
    arity: dict[str, bool] = {}
    for action in parser._actions:
        for flag in action.option_strings:
            arity[flag] = action.nargs != 0
    return arity


def split_statement(parser: argparse.ArgumentParser, line: str) -> tuple[list[str], str]:
    """Split ``%scrun`` input into its leading option tokens and the statement.

    The statement is returned as typed (no shell-style unquoting); options end
    at the first token that does not start with ``-`` or at ``--``.
    """
    arity = _option_arity(parser)
    tokens: list[str] = []
    rest = line.strip()
    expects_value = False
    while rest:
        stream = io.StringIO(rest)
        lexer = shlex.shlex(stream, posix=True)
        lexer.whitespace_split = True
        token = lexer.get_token()
        if token is None:
            break
        consumed = stream.tell()
        if expects_value:
            tokens.append(token)
            expects_value = False
        elif token == "--":
            rest = rest[consumed:].strip()
            break
        elif token.startswith("-") and len(token) > 1 and (token[1].isalpha() or token[1] == "-"):
            name = token.split("=", 1)[0]
            tokens.append(token)
            expects_value = arity.get(name, False) and "=" not in token
        else:
            break
        rest = rest[consumed:].strip()
    return tokens, rest


def parse_options(parser: argparse.ArgumentParser, tokens: Sequence[str]) -> ProfileOptions:
    """Validate ``tokens`` into :class:`ProfileOptions` (UsageError when wrong)."""
    args = vars(parser.parse_args(list(tokens)))
    # Every option's dest is the ProfileOptions field of the same name.
    return ProfileOptions(**args, argv=list(tokens))


def tokenize(line: str) -> list[str]:
    """Shell-style split of a ``%%scalene`` options line (UsageError on bad quoting)."""
    try:
        return shlex.split(line)
    except ValueError as problem:
        raise UsageError(f"cannot parse options: {problem}") from None
