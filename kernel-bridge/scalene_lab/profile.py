"""Assembles a Scalene-compatible profile (plus the ``notebook`` object) from
the sampler's accumulators."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from . import __version__
from .options import ProfileOptions
from .regions import SourceFacts, analyse
from .sampler import CpuSampler
from .sources import Source, SourceResolver
from .stats import TimeAccumulator

PROFILE_MIME = "application/vnd.scalene.profile+json"
FORMAT_VERSION = 1


@dataclass
class RunInfo:
    """What was profiled and how it ended."""

    magic: str  # "%%scalene" or "%scrun"
    profiled_filename: str
    status: str = "completed"  # "completed", "error" or "interrupted"
    error: Optional[str] = None
    start_time_absolute: float = 0.0
    messages: List[str] = field(default_factory=list)


def _percent(part: float, whole: float) -> float:
    return min(100.0, 100.0 * part / whole) if whole > 0 else 0.0


def _zero_line(lineno: int, text: str) -> Dict[str, Any]:
    return {
        "line": text,
        "lineno": lineno,
        "memory_samples": [],
        "cpu_samples_list": [],
        "n_avg_mb": 0.0,
        "n_copy_mb_s": 0.0,
        "n_core_utilization": 0.0,
        "n_cpu_percent_c": 0.0,
        "n_cpu_percent_python": 0.0,
        "n_gpu_avg_memory_mb": 0.0,
        "n_gpu_peak_memory_mb": 0.0,
        "n_gpu_percent": 0.0,
        "n_growth_mb": 0.0,
        "n_peak_mb": 0.0,
        "n_malloc_mb": 0.0,
        "n_mallocs": 0,
        "n_python_fraction": 0.0,
        "n_sys_percent": 0.0,
        "n_usage_fraction": 0.0,
    }


def _time_fields(acc: Optional[TimeAccumulator], total: float) -> Dict[str, Any]:
    if acc is None:
        return {}
    return {
        "cpu_samples_list": sorted(acc.times),
        "n_core_utilization": acc.mean_core_utilization,
        "n_cpu_percent_python": _percent(acc.python, total),
        "n_cpu_percent_c": _percent(acc.native, total),
        "n_sys_percent": _percent(acc.system, total),
    }


def _line_record(
    lineno: int, text: str, acc: Optional[TimeAccumulator], total: float, facts: SourceFacts
) -> Dict[str, Any]:
    record = _zero_line(lineno, text)
    record.update(_time_fields(acc, total))
    record["start_outermost_loop"], record["end_outermost_loop"] = facts.loop_span(lineno)
    record["start_region_line"], record["end_region_line"] = facts.region_span(lineno)
    record["start_function_line"], record["end_function_line"] = facts.function_span(lineno)
    return record


def build_profile(
    sampler: CpuSampler,
    resolver: SourceResolver,
    options: ProfileOptions,
    run: RunInfo,
) -> Dict[str, Any]:
    """The profile dict: Scalene's JSON fields plus ``notebook``."""
    total = sampler.total_time
    elapsed = max(0.0, sampler.stop_wall - sampler.start_wall)
    by_file: Dict[str, Dict[int, TimeAccumulator]] = defaultdict(dict)
    for (filename, lineno), acc in sampler.lines.items():
        by_file[filename][lineno] = acc
    functions_by_file: Dict[str, List[Tuple[str, int, TimeAccumulator]]] = defaultdict(list)
    for (filename, name, first), acc in sampler.functions.items():
        functions_by_file[filename].append((name, first, acc))

    filenames = set(by_file) | {run.profiled_filename}
    file_time = {f: sum(a.total for a in by_file[f].values()) for f in filenames}
    ordered = sorted(filenames, key=lambda f: (f != run.profiled_filename, -file_time[f], f))

    files: Dict[str, Any] = {}
    sources: Dict[str, Any] = {}
    hidden: List[str] = []
    for filename in ordered:
        source = resolver.resolve(filename)
        share = _percent(file_time[filename], total)
        if filename != run.profiled_filename and share < options.cpu_percent_threshold:
            hidden.append(source.key)
            continue
        files[source.key] = _file_record(source, by_file[filename], functions_by_file[filename], total, share, options)
        sources[source.key] = {**source.describe(), "profiled": filename == run.profiled_filename}

    profiled_key = resolver.resolve(run.profiled_filename).key
    return {
        "program": profiled_key,
        "entrypoint_dir": os.getcwd(),
        "args": list(options.argv),
        "filename": profiled_key,
        "alloc_samples": 0,
        "elapsed_time_sec": elapsed,
        "start_time_absolute": run.start_time_absolute,
        "start_time_perf": sampler.start_wall,
        "growth_rate": 0.0,
        "max_footprint_mb": 0.0,
        "max_footprint_python_fraction": 0.0,
        "max_footprint_fname": None,
        "max_footprint_lineno": None,
        "files": files,
        "gpu": False,
        "gpu_device": "",
        "memory": False,
        "samples": [],
        "stacks": [],
        "notebook": {
            "format_version": FORMAT_VERSION,
            "tool": {"name": "scalene-lab", "version": __version__},
            "magic": run.magic,
            "profiled_source": profiled_key,
            "status": run.status,
            "error": run.error,
            "attach_mode": "cpu-only",
            "options": options.to_json(),
            "sources": sources,
            "hidden_sources": hidden,
            "messages": list(run.messages),
            "sampling": {
                "interval_s": sampler.interval,
                "samples": sampler.samples,
                "timer": sampler.timer_description,
                "total_time_s": total,
                "unattributed_time_s": sampler.unattributed_time,
                "handler_errors": sampler.handler_errors,
            },
        },
    }


def _file_record(
    source: Source,
    lines: Dict[int, TimeAccumulator],
    functions: List[Tuple[str, int, TimeAccumulator]],
    total: float,
    share: float,
    options: ProfileOptions,
) -> Dict[str, Any]:
    text = "".join(source.lines)
    facts = analyse(_parsable(text))
    # Cells are short and shown whole; a user's .py file can be thousands of
    # lines, so only its sampled lines travel inside the notebook.
    whole = source.kind == "cell" and not options.reduced_profile
    numbers = range(1, len(source.lines) + 1) if whole else sorted(n for n in lines if n >= 1)
    records = []
    for lineno in numbers:
        text_line = source.lines[lineno - 1] if lineno <= len(source.lines) else ""
        records.append(_line_record(lineno, text_line, lines.get(lineno), total, facts))
    function_records = []
    for name, first, acc in sorted(functions, key=lambda item: item[1]):
        record = _zero_line(first, name)
        record.update(_time_fields(acc, total))
        function_records.append(record)
    return {
        "functions": function_records,
        "imports": facts.imports,
        "leaks": {},
        "lines": records,
        "percent_cpu_time": share,
    }


def _parsable(text: str) -> str:
    """Blank out IPython-only lines (magics, shell escapes) so ``ast`` can parse."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        out.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out) + "\n"
