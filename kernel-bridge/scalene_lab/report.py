"""The reading of a profile that both static fallbacks print: a headline,
then per source a title and its rows of Python / native / system shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List


@dataclass
class Row:
    """One line (or function) of a source, with its time shares in percent."""

    lineno: int
    text: str
    python: float
    native: float
    system: float
    peak_mb: float = 0.0
    malloc_mb: float = 0.0
    copy_mb_s: float = 0.0

    @property
    def total(self) -> float:
        """Python + native + system share."""
        return self.python + self.native + self.system


@dataclass
class SourceView:
    """A source's title and rows."""

    key: str
    title: str
    share: float
    rows: List[Row]
    functions: List[Row]


def _row(record: Dict[str, Any]) -> Row:
    return Row(
        lineno=int(record.get("lineno", 0)),
        text=str(record.get("line", "")).rstrip("\n"),
        python=float(record.get("n_cpu_percent_python", 0.0)),
        native=float(record.get("n_cpu_percent_c", 0.0)),
        system=float(record.get("n_sys_percent", 0.0)),
        peak_mb=float(record.get("n_peak_mb", 0.0)),
        malloc_mb=float(record.get("n_malloc_mb", 0.0)),
        copy_mb_s=float(record.get("n_copy_mb_s", 0.0)),
    )


def source_title(key: str, meta: Dict[str, Any]) -> str:
    """``In [5] (cell 1a2b3c4d)`` for cells, the path for files."""
    if meta.get("kind") == "cell":
        title = f"In [{meta.get('execution_count', '?')}]"
        if meta.get("cell_id"):
            title += f" (cell {meta['cell_id']})"
        return title
    return key


def headline(profile: Dict[str, Any]) -> str:
    """One sentence: what was profiled, how long, how many samples, how it ended."""
    nb = profile.get("notebook", {})
    sampling = nb.get("sampling", {})
    parts = [
        f"scalene-lab: {nb.get('magic', 'profile')} {profile.get('program', '')}".rstrip(),
        f"{float(profile.get('elapsed_time_sec', 0.0)):.3f} s elapsed",
        f"{int(sampling.get('samples', 0))} CPU samples",
    ]
    if profile.get("memory"):
        parts.append(f"peak {float(profile.get('max_footprint_mb', 0.0)):.1f} MB")
        memory = nb.get("memory", {})
        coverage = memory.get("coverage")
        attach = str(nb.get("attach_mode", ""))
        parts.append(f"memory by {attach}" + (f" (covers ~{100 * coverage:.0f}% of RSS growth)" if coverage else ""))
        lost = int(memory.get("buffer_overflow", 0)) + int(memory.get("table_refused", 0))
        if lost:
            parts.append(f"{lost} memory samples lost to full buffers")
    status = nb.get("status", "completed")
    if status != "completed":
        parts.append(f"stopped early ({status}: {nb.get('error') or 'no detail'})")
    return ", ".join(parts)


def views(profile: Dict[str, Any]) -> List[SourceView]:
    """Each reported source in profile order."""
    sources = profile.get("notebook", {}).get("sources", {})
    result = []
    for key, detail in profile.get("files", {}).items():
        meta = sources.get(key, {})
        result.append(
            SourceView(
                key=key,
                title=source_title(key, meta),
                share=float(detail.get("percent_cpu_time", 0.0)),
                rows=[_row(r) for r in detail.get("lines", [])],
                functions=[_row(r) for r in detail.get("functions", [])],
            )
        )
    return result


def megabytes(value: float) -> str:
    """A size in MB, or blank when it rounds to nothing."""
    return f"{value:.1f}" if value >= 0.05 else ""


def percent(value: float) -> str:
    """A share as ``12.3%``, or blank when it rounds to nothing."""
    return f"{value:5.1f}%" if value >= 0.05 else ""
