"""A model's answer as a proposal: the explanation, the code, the diff.

The prompt asks for the whole cell in one ```python block; the block is the
proposed cell and the text around it the explanation. An answer without a
block is an error of its own kind (the panel shows the text and says that
there is nothing to apply).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .errors import NO_CODE, ProviderError

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[ \t]*$")
_PYTHON = {"", "python", "py", "python3", "ipython"}


@dataclass(frozen=True)
class Proposal:
    """What the panel shows and applies."""

    explanation: str
    code: str
    diff: str  # unified diff of the cell's code against the proposal

    def as_json(self) -> dict[str, str]:
        """The proposal line of the streamed answer."""
        return {"type": "proposal", "explanation": self.explanation, "code": self.code, "diff": self.diff}


def _without_magic(source: str) -> tuple[str, str]:
    """A %%scalene cell's first line apart: the proposal is the code under it."""
    first, newline, rest = source.partition("\n")
    if first.lstrip().startswith("%%"):
        return first + newline, rest
    return "", source


def _blocks(text: str) -> tuple[list[str], str]:
    """The fenced Python (or untagged) blocks in order, and the rest: the
    explanation, other languages' blocks included. Fences pair line by
    line, so a block in another language never swallows the prose after it."""
    blocks: list[str] = []
    prose: list[str] = []
    body: list[str] | None = None
    python = False
    opening = ""
    for line in text.splitlines():
        fence = _FENCE.match(line)
        if body is None and fence is not None:
            body, python, opening = [], fence.group(1).lower() in _PYTHON, line
        elif body is not None and fence is not None and not fence.group(1):
            if python and "".join(body).strip():
                blocks.append("\n".join(body))
            elif not python:
                prose += [opening, *body, line]  # a shell command or output belongs to the explanation
            body = None
        elif body is not None:
            body.append(line)
        else:
            prose.append(line)
    if body is not None and python and "".join(body).strip():  # an answer cut off inside its block
        blocks.append("\n".join(body))
    return blocks, "\n".join(prose)


def parse_answer(text: str, cell_source: str) -> Proposal:
    """The proposal in ``text`` (NO_CODE when it has no Python block)."""
    blocks, explanation = _blocks(text)
    if not blocks:
        raise ProviderError(NO_CODE, "The answer has no code to apply: " + (text.strip()[:400] or "(empty)"))
    code = max(blocks, key=len)  # the whole cell; shorter blocks are illustrations
    explanation = re.sub(r"\n{3,}", "\n\n", explanation).strip()
    magic, body = _without_magic(cell_source)
    if code.lstrip().startswith("%%"):  # the model kept the magic line after all
        _, code = _without_magic(code)
    proposed = magic + code.rstrip("\n") + ("\n" if body.endswith("\n") else "")
    # Lines without their ends: a last line with no newline must not run
    # into the next line of the diff.
    diff = "".join(line + "\n" for line in difflib.unified_diff(cell_source.splitlines(), proposed.splitlines(), "cell", "proposal", lineterm=""))
    return Proposal(explanation, proposed, diff)
