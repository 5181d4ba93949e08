"""The ``text/plain`` fallback: an aligned table for terminals and plain viewers."""

from __future__ import annotations

from typing import Any

from .report import Gap, Row, SourceView, headline, megabytes, percent, views

_MEMORY_HEADER = f" {'Peak MB':>8} {'Alloc MB':>8} {'Churn MB':>8} {'Copy MB/s':>9} │"


def _header(memory: bool) -> str:
    return f"{'Line':>5} │ {'Python':>7} {'Native':>7} {'System':>7} │" + (_MEMORY_HEADER if memory else "") + " Source"


def row_text(label: str, row: Row, memory: bool) -> str:
    """One table row: the line's shares (and sizes), then its source text."""
    cells = " ".join(f"{percent(v):>7}" for v in (row.python, row.native, row.system))
    sizes = ""
    if memory:
        sizes = f" {megabytes(row.peak_mb):>8} {megabytes(row.malloc_mb):>8} {megabytes(row.churn_mb):>8} {megabytes(row.copy_mb_s):>9} │"
    return f"{label:>5} │ {cells} │{sizes} {row.text}"


def gap_text(gap: Gap, memory: bool) -> str:
    """The one row that stands for a run of lines without a record."""
    return row_text("...", Row(0, f"({gap.describe()})", 0.0, 0.0, 0.0), memory)


def _source(view: SourceView, memory: bool) -> list[str]:
    out = [f"{view.title}: {view.share:.1f}% of sampled time"]
    if view.cut_note():
        out.append(f"note: {view.cut_note()}")
    out.append(_header(memory))
    for entry in view.entries():
        out.append(gap_text(entry, memory) if isinstance(entry, Gap) else row_text(str(entry.lineno), entry, memory))
    if view.functions or view.omitted_functions:
        out.append(row_text("", Row(0, "functions", 0.0, 0.0, 0.0), memory))
        out.extend(row_text(str(row.lineno), row, memory) for row in view.functions)
    if view.omitted_functions:
        out.append(row_text("...", Row(0, f"({view.functions_note()})", 0.0, 0.0, 0.0), memory))
    return out


def render_text(profile: dict[str, Any]) -> str:
    """Render ``profile`` as monospace text."""
    memory = bool(profile.get("memory"))
    out: list[str] = [headline(profile)]
    for messages in profile.get("notebook", {}).get("messages", []):
        out.append(f"note: {messages}")
    for view in views(profile):
        out.append("")
        out.extend(_source(view, memory))
    return "\n".join(out) + "\n"
