"""Where sampled code came from: notebook cells (by execution count and cell
id) or the user's own files, and the text to show for each."""

from __future__ import annotations

import linecache
import re
from dataclasses import dataclass
from typing import Any

_IPYTHON_INPUT = re.compile(r"<ipython-input-(\d+)-[^>]*>")

# Cell ids remembered per execution count; a long-lived kernel keeps at most
# this many so nothing grows without bound.
_MAX_REMEMBERED_CELLS = 10_000


@dataclass
class Source:
    """One entry of the profile's ``files``."""

    key: str
    filename: str
    kind: str  # "cell" or "file"
    lines: list[str]
    execution_count: int | None = None
    cell_id: str | None = None

    def describe(self) -> dict[str, Any]:
        """This source's record in ``notebook.sources``."""
        record: dict[str, Any] = {"kind": self.kind, "filename": self.filename}
        if self.kind == "cell":
            record["execution_count"] = self.execution_count
            record["cell_id"] = self.cell_id
        return record


def cell_text(shell: Any, number: int | None) -> str | None:
    """What the user typed as cell ``number``, from IPython's input history."""
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if number is None or not history or not 0 < number < len(history):
        return None
    text = history[number]
    return text if isinstance(text, str) else None


class CellRegistry:
    """Learns each executed cell's id (JupyterLab sends ``cellId``) from
    IPython's pre/post-run events."""

    def __init__(self) -> None:
        self.current_cell_id: str | None = None
        self._ids: dict[int, str | None] = {}

    def pre_run_cell(self, info: Any) -> None:
        """IPython event: a cell is about to run."""
        self.current_cell_id = getattr(info, "cell_id", None)

    def post_run_cell(self, result: Any) -> None:
        """IPython event: a cell finished; remember its number and id."""
        count = getattr(result, "execution_count", None)
        if isinstance(count, int):
            self._ids[count] = getattr(getattr(result, "info", None), "cell_id", None)
            while len(self._ids) > _MAX_REMEMBERED_CELLS:
                del self._ids[next(iter(self._ids))]

    def cell_id(self, execution_count: int | None, current: int | None) -> str | None:
        """The id of the cell that ran as ``execution_count``, if known."""
        if execution_count is not None and execution_count == current:
            return self.current_cell_id
        return self._ids.get(execution_count) if execution_count is not None else None


class SourceResolver:
    """Turns compiled filenames into :class:`Source` records for one run."""

    def __init__(self, shell: Any, registry: CellRegistry, current_count: int | None) -> None:
        self._shell = shell
        self._registry = registry
        self._current = current_count
        self._cache: dict[str, Source] = {}
        self._keys: dict[str, str] = {}  # key -> filename, to keep keys unique

    def cell_number(self, filename: str) -> int | None:
        """Execution count of the cell compiled as ``filename``, else None."""
        number = getattr(self._shell.compile, "_filename_map", {}).get(filename)
        if isinstance(number, int):
            return number
        match = _IPYTHON_INPUT.fullmatch(filename)
        return int(match.group(1)) if match else None

    def is_cell(self, filename: str) -> bool:
        """True for code compiled from a notebook cell."""
        return self.cell_number(filename) is not None

    def resolve(self, filename: str) -> Source:
        """The source record for ``filename`` (cached per run)."""
        source = self._cache.get(filename)
        if source is None:
            source = self._build(filename)
            if self._keys.setdefault(source.key, filename) != filename:
                # Two compiled versions of one cell (same execution count).
                source.key = f"{source.key} {filename}"
                self._keys[source.key] = filename
            self._cache[filename] = source
        return source

    def _build(self, filename: str) -> Source:
        number = self.cell_number(filename)
        lines = linecache.getlines(filename)
        if number is None:
            return Source(key=filename, filename=filename, kind="file", lines=lines)
        text = cell_text(self._shell, number)
        raw = None if text is None else [line + "\n" for line in text.splitlines()]
        if raw is not None and len(raw) == len(lines):
            lines = raw  # show what the user typed, not IPython's transformed code
        return Source(
            key=f"[{number}]",
            filename=filename,
            kind="cell",
            lines=lines,
            execution_count=number,
            cell_id=self._registry.cell_id(number, self._current),
        )
