"""The ``scalene-lab`` command: check and read saved profiles outside Jupyter, install the
preload kernel, and report what works in this environment (``doctor``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import __version__
from .render_text import render_text
from .schema import validation_errors


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scalene-lab`` command."""
    parser = argparse.ArgumentParser(prog="scalene-lab", description=__doc__)
    parser.add_argument("--version", action="version", version=f"scalene-lab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check profile JSON files against the profile schema")
    check.add_argument("files", nargs="+")
    show = commands.add_parser("show", help="print a saved profile as a text table")
    show.add_argument("file")
    kernelspec = commands.add_parser("kernelspec", help="manage the 'Python 3 (Scalene)' kernel (allocator preloaded)")
    kernelspec.add_argument("action", choices=["install"])
    where = kernelspec.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true", help="install into this Python's prefix")
    where.add_argument("--prefix", help="install into this prefix")
    doctor = commands.add_parser("doctor", help="say what works in this environment, and what to do where something does not")
    doctor.add_argument("--json", action="store_true", help="print the findings as a JSON list of {item, ok, detail}")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from .doctor import main as doctor_main

        return doctor_main(as_json=args.json)
    if args.command == "kernelspec":
        from .kernelspec import install

        prefix = sys.prefix if args.sys_prefix else args.prefix
        try:
            print(f"installed {install(user=args.user, prefix=prefix)}")
        except RuntimeError as problem:
            print(f"scalene-lab: {problem}", file=sys.stderr)
            return 1
        return 0
    if args.command == "validate":
        failed = 0
        for path in args.files:
            problems = validation_errors(_load(path))
            failed += bool(problems)
            print(f"{path}: {'ok' if not problems else problems[0]}")
        return 1 if failed else 0
    sys.stdout.write(render_text(_load(args.file)))
    return 0


def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not a profile (expected a JSON object)")
    return data


if __name__ == "__main__":
    sys.exit(main())
