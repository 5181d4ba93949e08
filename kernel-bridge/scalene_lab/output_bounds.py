"""Absolute caps on what one profile puts into the notebook.

line_window.py already makes a profile's size follow its sampled lines; this
is the backstop for runs that sample very many lines (a long straight-line
cell, ``--profile-all`` over a big library). Each entry of the display bundle
has a byte cap; when one is exceeded, the line and function records of least
weight are left out (unsampled context first) and folded into the
``omitted_lines`` gaps, which then say how many sampled lines and how much
time they held. What stays is still a valid Scalene-compatible profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .line_window import gap_record
from .profile import PROFILE_MIME
from .render_html import gap_html, row_html
from .render_text import gap_text, row_text
from .report import Columns, Gap, row_of

# Bytes per bundle entry, as the kernel sends them (UTF-8; the profile as
# compact JSON). 1 MiB in all stays well inside Jupyter's default IOPub rate
# limit (1 MB/s over 3 s) and keeps a notebook of many profiles openable.
MAX_BYTES = {PROFILE_MIME: 512 * 1024, "text/html": 384 * 1024, "text/plain": 128 * 1024}
# A source line longer than this is clipped in the output (a pasted data
# literal can be megabytes on one line).
MAX_LINE_CHARS = 240
# Import statements listed per source (Scalene lists every one).
MAX_IMPORTS = 100
# Aim this far under each cap, since gaps are estimated before rendering.
_HEADROOM = 0.95

Bundle = dict[str, Any]
Render = Callable[[dict[str, Any]], Bundle]


def entry_bytes(value: Any) -> int:
    """Size of one bundle entry as the kernel serialises it."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return len(text.encode("utf-8", errors="surrogateescape"))


def over_caps(bundle: Bundle) -> dict[str, int]:
    """The entries above their cap, with their sizes."""
    sizes = {mime: entry_bytes(value) for mime, value in bundle.items() if mime in MAX_BYTES}
    return {mime: size for mime, size in sizes.items() if size > MAX_BYTES[mime]}


def fit(profile: dict[str, Any], render: Render) -> Bundle:
    """Render ``profile`` with ``render``, cutting it until every entry fits its cap."""
    shown = _clipped(profile)
    bundle = render(shown)
    shrink = 1.0
    for _ in range(6):
        if not over_caps(bundle):
            break
        shown = _cut(shown, bundle, shrink)
        bundle = render(shown)
        shrink *= 0.8
    return bundle


@dataclass
class _Candidate:
    key: str
    field: str  # "lines" or "functions"
    record: dict[str, Any]
    weight: float
    cost: tuple[int, int, int]  # JSON, HTML, text bytes


def _clipped(profile: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy with long source lines clipped and import lists capped."""
    files: dict[str, Any] = {}
    for key, detail in profile.get("files", {}).items():
        lines = [_clip(record) for record in detail.get("lines", [])]
        files[key] = {**detail, "lines": lines, "imports": list(detail.get("imports", []))[:MAX_IMPORTS]}
    return {**profile, "files": files}


def _clip(record: dict[str, Any]) -> dict[str, Any]:
    text = str(record.get("line", ""))
    if len(text) <= MAX_LINE_CHARS:
        return record
    body = text.rstrip("\n")
    clipped = body[:MAX_LINE_CHARS] + f" ... ({len(body) - MAX_LINE_CHARS:,} more characters)"
    return {**record, "line": clipped + ("\n" if text.endswith("\n") else "")}


def _has_samples(record: dict[str, Any]) -> bool:
    return row_of(record).total > 0 or int(record.get("n_mallocs", 0)) > 0 or float(record.get("n_malloc_mb", 0.0)) > 0


def _candidates(profile: dict[str, Any]) -> list[_Candidate]:
    """Every line and function record, heaviest first (ties: earlier line first)."""
    columns = Columns.of(profile)
    records = [(key, field, record) for key, detail in profile.get("files", {}).items() for field in ("lines", "functions") for record in detail.get(field, [])]
    malloc = sum(float(r.get("n_malloc_mb", 0.0)) for _, f, r in records if f == "lines") or 1.0
    copy = sum(float(r.get("n_copy_mb_s", 0.0)) for _, f, r in records if f == "lines") or 1.0
    result = []
    for key, field, record in records:
        row = row_of(record)
        # Time share plus shares of the allocation and copy volume, so a line
        # that only allocates ranks by how much of the memory it accounts for.
        weight = row.total + 100 * row.malloc_mb / malloc + 100 * row.copy_mb_s / copy
        cost = (
            entry_bytes(record) + 2,
            len(row_html(str(row.lineno), row, columns)) + 1,
            len(row_text(str(row.lineno), row, columns)) + 1,
        )
        result.append(_Candidate(key, field, record, weight, cost))
    result.sort(key=lambda c: (-c.weight, c.field != "lines", int(c.record.get("lineno", 0))))
    return result


def _gap_cost(columns: Columns) -> tuple[int, int, int]:
    """An upper bound on what one more gap row costs in each format."""
    widest = gap_record(10**9, 2 * 10**9, 10**9, 100.0, 10.0**9)
    gap = Gap(10**9, 2 * 10**9, 10**9, 100.0, 10.0**9)
    return (entry_bytes(widest) + 2, len(gap_html(gap, 99)) + 1, len(gap_text(gap, columns)) + 1)


def _cut(profile: dict[str, Any], bundle: Bundle, shrink: float) -> dict[str, Any]:
    """Keep the heaviest records that fit every cap; fold the rest into gaps."""
    candidates = _candidates(profile)
    sizes = [entry_bytes(bundle[mime]) for mime in (PROFILE_MIME, "text/html", "text/plain")]
    limits = [MAX_BYTES[mime] for mime in (PROFILE_MIME, "text/html", "text/plain")]
    gap = _gap_cost(Columns.of(profile))
    room = []
    for i in range(3):
        overhead = sizes[i] - sum(c.cost[i] for c in candidates)
        room.append(limits[i] * _HEADROOM * shrink - overhead)
    kept: set[int] = set()
    for candidate in candidates:
        # Each kept record can open at most one new gap after it.
        need = [candidate.cost[i] + gap[i] for i in range(3)]
        if any(need[i] > room[i] for i in range(3)):
            break
        room = [room[i] - need[i] for i in range(3)]
        kept.add(id(candidate.record))
    return _without(profile, kept)


def _without(profile: dict[str, Any], kept: set[int]) -> dict[str, Any]:
    """``profile`` with only the ``kept`` records; the others become gaps."""
    files: dict[str, Any] = {}
    for key, detail in profile.get("files", {}).items():
        lines = [r for r in detail.get("lines", []) if id(r) in kept]
        dropped = [r for r in detail.get("lines", []) if id(r) not in kept]
        functions = [r for r in detail.get("functions", []) if id(r) in kept]
        cut_functions = [r for r in detail.get("functions", []) if id(r) not in kept]
        updated = {**detail, "lines": lines, "functions": functions}
        updated["omitted_lines"] = _merged_gaps(list(detail.get("omitted_lines", [])), dropped)
        if cut_functions:
            before = detail.get("omitted_functions") or {}
            updated["omitted_functions"] = {
                "count": int(before.get("count", 0)) + len(cut_functions),
                "percent_cpu_time": float(before.get("percent_cpu_time", 0.0)) + sum(row_of(r).total for r in cut_functions),
            }
        files[key] = updated
    return {**profile, "files": files}


def _merged_gaps(gaps: list[dict[str, Any]], dropped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Old gaps plus one-line gaps for ``dropped``, adjacent runs joined."""
    pieces = [dict(g) for g in gaps]
    for record in dropped:
        n = int(record.get("lineno", 0))
        row = row_of(record)
        pieces.append(gap_record(n, n, int(_has_samples(record)), row.total, row.malloc_mb))
    pieces.sort(key=lambda g: int(g["first"]))
    merged: list[dict[str, Any]] = []
    for piece in pieces:
        if merged and int(piece["first"]) == int(merged[-1]["last"]) + 1:
            last = merged[-1]
            last["last"] = piece["last"]
            last["sampled_lines"] = int(last["sampled_lines"]) + int(piece["sampled_lines"])
            last["percent_cpu_time"] = float(last["percent_cpu_time"]) + float(piece["percent_cpu_time"])
            last["n_malloc_mb"] = float(last["n_malloc_mb"]) + float(piece["n_malloc_mb"])
        else:
            merged.append(piece)
    return merged
