"""The ``text/html`` fallback: a static table with inline SVG bars.

It is for every place the lab extension is absent (VS Code, nbviewer, GitHub,
nbconvert): no script, no external asset, every string escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .report import Columns, Gap, Row, headline, megabytes, percent, views

# Scalene's colours for the three kinds of time.
COLOURS = {"python": "#3b6fb6", "native": "#2ca58d", "system": "#e0a030"}
_BAR_WIDTH = 120


def _bar(row: Row) -> str:
    x = 0.0
    rects = []
    for kind, value in (("python", row.python), ("native", row.native), ("system", row.system)):
        width = _BAR_WIDTH * min(value, 100.0) / 100.0
        if width > 0:
            rects.append(f'<rect x="{x:.2f}" y="1" width="{width:.2f}" height="10" fill="{COLOURS[kind]}"/>')
            x += width
    return (
        f'<svg width="{_BAR_WIDTH}" height="12" role="img" aria-label="{row.total:.1f}% of time">'
        f'<rect x="0" y="1" width="{_BAR_WIDTH}" height="10" fill="none" stroke="#8888" stroke-width="0.5"/>' + "".join(rects) + "</svg>"
    )


def row_html(label: str, row: Row, columns: Columns) -> str:
    """One table row: line number, bar, shares (and sizes), source text."""
    cells = [percent(v) for v in (row.python, row.native, row.system)]
    if columns.memory:
        cells += [megabytes(v) for v in (row.peak_mb, row.malloc_mb, row.churn_mb, row.copy_mb_s)]
    if columns.gpu:
        cells += [percent(row.gpu_percent), megabytes(row.gpu_peak_mb)]
    shares = "".join(f'<td style="text-align:right">{escape(c)}</td>' for c in cells)
    # A line without time gets no bar: an empty outline per idle line only adds bytes.
    bar = _bar(row) if row.total >= 0.05 else ""
    return (
        f'<tr><td style="text-align:right">{escape(label)}</td><td>{bar}</td>{shares}'
        f'<td style="text-align:left"><code style="white-space:pre">{escape(row.text)}</code></td></tr>'
    )


def note_html(text: str, columns: int) -> str:
    """A summary row across the table (a gap, or functions left out)."""
    return (
        f'<tr><td style="text-align:right;color:#888">&#8943;</td>'
        f'<td colspan="{columns}" style="text-align:left;color:#888;font-style:italic">{escape(text)}</td></tr>'
    )


def gap_html(gap: Gap, columns: int) -> str:
    """The one row that stands for a run of lines without a record."""
    return note_html(gap.describe(), columns)


def render_html(profile: dict[str, Any], as_text: str | None = None) -> str:
    """Render ``profile`` as static HTML; ``as_text`` shows a preformatted table instead."""
    if as_text is not None:
        return f'<pre class="scalene-lab-static">{escape(as_text)}</pre>'
    layout = Columns.of(profile)
    columns = ["Line", "Time", "Python", "Native", "System"] + (["Peak MB", "Alloc MB", "Churn MB", "Copy MB/s"] if layout.memory else [])
    columns += ["GPU", "GPU MB"] if layout.gpu else []
    head = "".join(f"<th>{c}</th>" for c in columns) + '<th style="text-align:left">Source</th>'
    out: list[str] = ['<div class="scalene-lab-static">', f"<p><strong>{escape(headline(profile))}</strong></p>"]
    legend = " ".join(f'<span style="color:{colour}">&#9632;</span> {escape(kind)}' for kind, colour in COLOURS.items())
    out.append(f"<p>{legend}</p>")
    for view in views(profile):
        out.append(f"<p>{escape(view.title)}: {view.share:.1f}% of sampled time</p>")
        if view.cut_note():
            out.append(f'<p style="font-style:italic">{escape(view.cut_note())}</p>')
        out.append('<table style="border-collapse:collapse;font-size:12px">')
        out.append(f"<thead><tr>{head}</tr></thead><tbody>")
        for entry in view.entries():
            out.append(gap_html(entry, len(columns)) if isinstance(entry, Gap) else row_html(str(entry.lineno), entry, layout))
        if view.functions or view.omitted_functions:
            out.append(f'<tr><th colspan="{len(columns) + 1}" style="text-align:left">Functions</th></tr>')
            out.extend(row_html(str(row.lineno), row, layout) for row in view.functions)
        if view.omitted_functions:
            out.append(note_html(view.functions_note(), len(columns)))
        out.append("</tbody></table>")
    out.append("</div>")
    return "\n".join(out)
