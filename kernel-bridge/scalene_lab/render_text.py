"""The ``text/plain`` fallback: an aligned table for terminals and plain viewers."""

from __future__ import annotations

from typing import Any

from .report import Columns, Gap, Row, SourceView, headline, megabytes, percent, views

_MEMORY_HEADER = f" {'Peak MB':>8} {'Alloc MB':>8} {'Churn MB':>8} {'Copy MB/s':>9} │"
_GPU_HEADER = f" {'GPU':>7} {'GPU MB':>8} │"


def _header(columns: Columns) -> str:
    return (
        f"{'Line':>5} │ {'Python':>7} {'Native':>7} {'System':>7} │"
        + (_MEMORY_HEADER if columns.memory else "")
        + (_GPU_HEADER if columns.gpu else "")
        + " Source"
    )


def row_text(label: str, row: Row, columns: Columns) -> str:
    """One table row: the line's shares (and sizes), then its source text."""
    cells = " ".join(f"{percent(v):>7}" for v in (row.python, row.native, row.system))
    sizes = ""
    if columns.memory:
        sizes = f" {megabytes(row.peak_mb):>8} {megabytes(row.malloc_mb):>8} {megabytes(row.churn_mb):>8} {megabytes(row.copy_mb_s):>9} │"
    if columns.gpu:
        sizes += f" {percent(row.gpu_percent):>7} {megabytes(row.gpu_peak_mb):>8} │"
    return f"{label:>5} │ {cells} │{sizes} {row.text}"


def gap_text(gap: Gap, columns: Columns) -> str:
    """The one row that stands for a run of lines without a record."""
    return row_text("...", Row(0, f"({gap.describe()})", 0.0, 0.0, 0.0), columns)


def _source(view: SourceView, columns: Columns) -> list[str]:
    out = [f"{view.title}: {view.share:.1f}% of sampled time"]
    if view.cut_note():
        out.append(f"note: {view.cut_note()}")
    out.append(_header(columns))
    for entry in view.entries():
        out.append(gap_text(entry, columns) if isinstance(entry, Gap) else row_text(str(entry.lineno), entry, columns))
    if view.functions or view.omitted_functions:
        out.append(row_text("", Row(0, "functions", 0.0, 0.0, 0.0), columns))
        out.extend(row_text(str(row.lineno), row, columns) for row in view.functions)
    if view.omitted_functions:
        out.append(row_text("...", Row(0, f"({view.functions_note()})", 0.0, 0.0, 0.0), columns))
    return out


def render_text(profile: dict[str, Any]) -> str:
    """Render ``profile`` as monospace text."""
    columns = Columns.of(profile)
    out: list[str] = [headline(profile)]
    for messages in profile.get("notebook", {}).get("messages", []):
        out.append(f"note: {messages}")
    for view in views(profile):
        out.append("")
        out.extend(_source(view, columns))
    return "\n".join(out) + "\n"
