"""The prompt for one optimization request: the code, its profile, the ask.

The request names a target (a line, a function, or a range of lines of the
profiled cell) and carries the cell's code, the code of earlier cells whose
functions ran, the imports, and the profile of the cell's lines. The model is
asked for a faster or leaner version that keeps behaviour, as an explanation
followed by the whole cell rewritten in one Python block, so that the
proposal is a diff against the cell and can be applied to it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BAD_REQUEST, ProviderError

SYSTEM = (
    "You are an expert in Python performance. You are given a Jupyter notebook cell, "
    "the code it calls from earlier cells, and a line-level profile of one run of it from "
    "Scalene (CPU time split into Python, native and system time, memory, copy volume and GPU). "
    "Propose an optimized version that is faster or uses less memory and keeps the cell's behaviour "
    "exactly: the same results, the same names defined, the same output. Prefer vectorized or "
    "built-in operations, better algorithms and data structures; keep the code readable. "
    "Answer with a short explanation of what makes the code slow and what you changed, then the "
    "complete optimized cell in a single ```python code block (the whole cell, not only the changed "
    "lines; no magic command line). If the code cannot be improved, say so and give no code block."
)

# Profile columns in the prompt: (record field, heading, format).
COLUMNS = (
    ("n_cpu_percent_python", "Python %", "{:.1f}"),
    ("n_cpu_percent_c", "native %", "{:.1f}"),
    ("n_sys_percent", "system %", "{:.1f}"),
    ("n_malloc_mb", "alloc MB", "{:.1f}"),
    ("n_peak_mb", "peak MB", "{:.1f}"),
    ("n_copy_mb_s", "copy MB/s", "{:.1f}"),
    ("n_gpu_percent", "GPU %", "{:.1f}"),
    ("n_gpu_peak_memory_mb", "GPU MB", "{:.1f}"),
)

MAX_SOURCE_CHARS = 60_000  # a pasted data literal must not become a huge prompt


@dataclass(frozen=True)
class Target:
    """What the user asked to optimize."""

    kind: str  # "line", "function" or "range"
    first: int
    last: int
    name: str = ""

    def describe(self) -> str:
        """The ask's subject, in words."""
        if self.kind == "function":
            return f"the function {self.name or 'at line ' + str(self.first)} (lines {self.first}-{self.last})"
        if self.kind == "line" or self.first == self.last:
            return f"line {self.first}"
        return f"lines {self.first}-{self.last}"


@dataclass(frozen=True)
class Prompt:
    """System text and user text (every provider takes these two)."""

    system: str
    user: str
    target: Target
    cell_source: str


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ProviderError(BAD_REQUEST, f"the request's {what} must be text")
    return value


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _numbered(source: str) -> str:
    return "\n".join(f"{n:>4} | {line}" for n, line in enumerate(source.splitlines(), start=1))


def _profile_table(lines: list[Any]) -> str:
    rows = []
    for record in lines:
        if not isinstance(record, dict):
            continue
        values = [_number(record.get(key)) for key, _, _ in COLUMNS]
        if not any(v >= 0.05 for v in values):
            continue
        cells = [fmt.format(v) if v >= 0.05 else "" for v, (_, _, fmt) in zip(values, COLUMNS)]
        rows.append(f"{int(_number(record.get('lineno'))):>4} | " + " | ".join(cells))
    if not rows:
        return "(no line of this cell has samples)"
    head = "line | " + " | ".join(heading for _, heading, _ in COLUMNS)
    return "\n".join([head, *rows])


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProviderError(BAD_REQUEST, f"the request's {what} must be a list")
    return value


def build_prompt(request: Any) -> Prompt:
    """The prompt for a request body (BAD_REQUEST when it is malformed)."""
    if not isinstance(request, dict):
        raise ProviderError(BAD_REQUEST, "the request must be an object")
    target_json = request.get("target")
    cell = request.get("cell")
    if not isinstance(target_json, dict) or not isinstance(cell, dict):
        raise ProviderError(BAD_REQUEST, "the request needs a target and a cell")
    source = _text(cell.get("source"), "cell source")
    if not source.strip():
        raise ProviderError(BAD_REQUEST, "the cell has no code to optimize")
    if len(source) > MAX_SOURCE_CHARS:
        raise ProviderError(BAD_REQUEST, f"the cell is too long to send ({len(source):,} characters; the limit is {MAX_SOURCE_CHARS:,})")
    kind = target_json.get("kind")
    first, last = target_json.get("first"), target_json.get("last")
    if kind not in ("line", "function", "range") or not isinstance(first, int) or not isinstance(last, int) or not 1 <= first <= last:
        raise ProviderError(BAD_REQUEST, "the target must be a line, a function or a range of lines")
    name = target_json.get("name")
    target = Target(kind, first, last, name if isinstance(name, str) else "")

    parts = [f"Optimize {target.describe()} of this notebook cell (line numbers added, not part of the code):", "```python", _numbered(source), "```"]
    context = _list(request.get("context"), "context")
    earlier = [c for c in context if isinstance(c, dict) and isinstance(c.get("source"), str) and c["source"].strip()]
    budget = MAX_SOURCE_CHARS - len(source)
    for item in earlier:
        code = item["source"]
        if len(code) > budget:
            break
        budget -= len(code)
        label = item.get("key") if isinstance(item.get("key"), str) else "an earlier cell"
        parts += [f"Code it calls, from {label}:", "```python", code.rstrip("\n"), "```"]
    imports = [i for i in _list(request.get("imports"), "imports") if isinstance(i, str)]
    if imports:
        parts += ["Imports in use: " + "; ".join(imports)]
    profile = request.get("profile")
    elapsed = _number(profile.get("elapsed_time_sec")) if isinstance(profile, dict) else 0.0
    parts += [
        f"Profile of one run ({elapsed:.3f} s), per line with samples; percentages are shares of the run's sampled time:",
        _profile_table(_list(request.get("lines"), "lines")),
        f"Focus on {target.describe()}, and return the complete cell.",
    ]
    return Prompt(SYSTEM, "\n".join(parts), target, source)
