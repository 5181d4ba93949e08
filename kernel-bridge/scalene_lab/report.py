"""The reading of a profile that both static fallbacks print: a headline,
then per source a title and its rows of Python / native / system shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


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
    churn_mb: float = 0.0
    copy_mb_s: float = 0.0
    gpu_percent: float = 0.0
    gpu_peak_mb: float = 0.0

    @property
    def total(self) -> float:
        """Python + native + system share."""
        return self.python + self.native + self.system


@dataclass
class Gap:
    """A run of lines the profile has no record for, shown as one row."""

    first: int
    last: int
    sampled_lines: int = 0
    percent: float = 0.0
    malloc_mb: float = 0.0

    @property
    def count(self) -> int:
        """How many lines the run spans."""
        return self.last - self.first + 1

    def describe(self) -> str:
        """``lines 2-10,001: 10,000 lines without samples`` (or what was cut)."""
        span = f"line {self.first:,}" if self.count == 1 else f"lines {self.first:,}-{self.last:,}"
        noun = "line" if self.count == 1 else "lines"
        if not self.sampled_lines:
            return f"{span}: {self.count:,} {noun} without samples"
        held = [f"{self.percent:.1f}% of time"]
        if self.malloc_mb >= 0.05:
            held.append(f"{self.malloc_mb:.1f} MB allocated")
        return f"{span}: {self.count:,} {noun} not shown, {self.sampled_lines:,} with samples ({', '.join(held)})"


@dataclass
class SourceView:
    """A source's title, rows, the gaps between them, and its functions."""

    key: str
    title: str
    share: float
    rows: list[Row]
    functions: list[Row]
    gaps: list[Gap] = field(default_factory=list)
    omitted_functions: int = 0
    omitted_functions_percent: float = 0.0

    def entries(self) -> Iterator[Row | Gap]:
        """Rows and gap rows in line order."""
        gaps = sorted(self.gaps, key=lambda g: g.first)
        index = 0
        for row in self.rows:
            while index < len(gaps) and gaps[index].first < row.lineno:
                yield gaps[index]
                index += 1
            yield row
        yield from gaps[index:]

    def cut_note(self) -> str:
        """Empty, or a sentence saying the output cap left sampled lines out."""
        cut = [gap for gap in self.gaps if gap.sampled_lines]
        if not cut:
            return ""
        lines = sum(gap.sampled_lines for gap in cut)
        share = sum(gap.percent for gap in cut)
        return (
            f"{lines:,} sampled lines ({share:.1f}% of time) are left out to keep the output small; "
            "the heaviest are shown, the rest are counted in the ... rows"
        )

    def functions_note(self) -> str:
        """What the output cap left out of the function list."""
        return f"{self.omitted_functions:,} more functions not shown to keep the output small ({self.omitted_functions_percent:.1f}% of time)"


@dataclass(frozen=True)
class Columns:
    """Which column groups a profile's tables have besides time."""

    memory: bool = False
    gpu: bool = False

    @classmethod
    def of(cls, profile: dict[str, Any]) -> Columns:
        """The groups ``profile`` has data for."""
        return cls(memory=bool(profile.get("memory")), gpu=bool(profile.get("gpu")))


def row_of(record: dict[str, Any]) -> Row:
    """The figures a viewer shows for one line (or function) record."""
    return Row(
        lineno=int(record.get("lineno", 0)),
        text=str(record.get("line", "")).rstrip("\n"),
        python=float(record.get("n_cpu_percent_python", 0.0)),
        native=float(record.get("n_cpu_percent_c", 0.0)),
        system=float(record.get("n_sys_percent", 0.0)),
        peak_mb=float(record.get("n_peak_mb", 0.0)),
        malloc_mb=float(record.get("n_malloc_mb", 0.0)),
        churn_mb=float(record.get("n_churn_mb", 0.0)),
        copy_mb_s=float(record.get("n_copy_mb_s", 0.0)),
        gpu_percent=float(record.get("n_gpu_percent", 0.0)),
        gpu_peak_mb=float(record.get("n_gpu_peak_memory_mb", 0.0)),
    )


def source_title(key: str, meta: dict[str, Any]) -> str:
    """``In [5] (cell 1a2b3c4d)`` for cells, the path for files."""
    if meta.get("kind") == "cell":
        title = f"In [{meta.get('execution_count', '?')}]"
        if meta.get("cell_id"):
            title += f" (cell {meta['cell_id']})"
        return title
    return key


def headline(profile: dict[str, Any]) -> str:
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
    if profile.get("gpu"):
        devices = nb.get("gpu", {}).get("devices") or [str(profile.get("gpu_device") or "GPU")]
        parts.append(f"GPU: {', '.join(str(d) for d in devices)}")
    status = nb.get("status", "completed")
    if status != "completed":
        parts.append(f"stopped early ({status}: {nb.get('error') or 'no detail'})")
    return ", ".join(parts)


def _gaps(detail: dict[str, Any], rows: list[Row]) -> list[Gap]:
    """The file's ``omitted_lines``; for a profile without them (Scalene's own
    ``--reduced-profile``), the holes between consecutive line numbers."""
    recorded = detail.get("omitted_lines")
    if isinstance(recorded, list):
        return [
            Gap(
                first=int(g.get("first", 0)),
                last=int(g.get("last", 0)),
                sampled_lines=int(g.get("sampled_lines", 0)),
                percent=float(g.get("percent_cpu_time", 0.0)),
                malloc_mb=float(g.get("n_malloc_mb", 0.0)),
            )
            for g in recorded
            if isinstance(g, dict)
        ]
    numbers = sorted(row.lineno for row in rows)
    return [Gap(a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b - a > 1]


def views(profile: dict[str, Any]) -> list[SourceView]:
    """Each reported source in profile order."""
    sources = profile.get("notebook", {}).get("sources", {})
    result = []
    for key, detail in profile.get("files", {}).items():
        meta = sources.get(key, {})
        rows = [row_of(r) for r in detail.get("lines", [])]
        cut = detail.get("omitted_functions") or {}
        result.append(
            SourceView(
                key=key,
                title=source_title(key, meta),
                share=float(detail.get("percent_cpu_time", 0.0)),
                rows=rows,
                functions=[row_of(r) for r in detail.get("functions", [])],
                gaps=_gaps(detail, rows),
                omitted_functions=int(cut.get("count", 0)),
                omitted_functions_percent=float(cut.get("percent_cpu_time", 0.0)),
            )
        )
    return result


def megabytes(value: float) -> str:
    """A size in MB, or blank when it rounds to nothing."""
    return f"{value:.1f}" if value >= 0.05 else ""


def percent(value: float) -> str:
    """A share as ``12.3%``, or blank when it rounds to nothing."""
    return f"{value:5.1f}%" if value >= 0.05 else ""
