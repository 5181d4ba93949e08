"""The ``text/plain`` fallback: an aligned table for terminals and plain viewers."""

from __future__ import annotations

from typing import Any, Dict, List

from .report import Row, headline, percent, views

_HEADER = f"{'Line':>5} │ {'Python':>7} {'Native':>7} {'System':>7} │ Source"


def _format(label: str, row: Row) -> str:
    cells = " ".join(f"{percent(v):>7}" for v in (row.python, row.native, row.system))
    return f"{label:>5} │ {cells} │ {row.text}"


def render_text(profile: Dict[str, Any]) -> str:
    """Render ``profile`` as monospace text."""
    out: List[str] = [headline(profile)]
    for messages in profile.get("notebook", {}).get("messages", []):
        out.append(f"note: {messages}")
    for view in views(profile):
        out.append("")
        out.append(f"{view.title}: {view.share:.1f}% of sampled time")
        out.append(_HEADER)
        out.extend(_format(str(row.lineno), row) for row in view.rows)
        if view.functions:
            out.append(f"{'':>5} │ {'':>7} {'':>7} {'':>7} │ functions")
            out.extend(_format(str(row.lineno), row) for row in view.functions)
    return "\n".join(out) + "\n"
