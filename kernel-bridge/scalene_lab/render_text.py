"""The ``text/plain`` fallback: an aligned table for terminals and plain viewers."""

from __future__ import annotations

from typing import Any, Dict, List

from .report import Row, headline, megabytes, percent, views

_MEMORY_HEADER = f" {'Peak MB':>8} {'Alloc MB':>8} {'Copy MB/s':>9} │"


def _header(memory: bool) -> str:
    return f"{'Line':>5} │ {'Python':>7} {'Native':>7} {'System':>7} │" + (_MEMORY_HEADER if memory else "") + " Source"


def _format(label: str, row: Row, memory: bool) -> str:
    cells = " ".join(f"{percent(v):>7}" for v in (row.python, row.native, row.system))
    sizes = ""
    if memory:
        sizes = f" {megabytes(row.peak_mb):>8} {megabytes(row.malloc_mb):>8} {megabytes(row.copy_mb_s):>9} │"
    return f"{label:>5} │ {cells} │{sizes} {row.text}"


def render_text(profile: Dict[str, Any]) -> str:
    """Render ``profile`` as monospace text."""
    memory = bool(profile.get("memory"))
    out: List[str] = [headline(profile)]
    for messages in profile.get("notebook", {}).get("messages", []):
        out.append(f"note: {messages}")
    for view in views(profile):
        out.append("")
        out.append(f"{view.title}: {view.share:.1f}% of sampled time")
        out.append(_header(memory))
        out.extend(_format(str(row.lineno), row, memory) for row in view.rows)
        if view.functions:
            out.append(_format("", Row(0, "functions", 0.0, 0.0, 0.0), memory))
            out.extend(_format(str(row.lineno), row, memory) for row in view.functions)
    return "\n".join(out) + "\n"
