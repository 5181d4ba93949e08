"""Assembles a Scalene-compatible profile (plus the ``notebook`` object) from
the sampler's accumulators."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .exact_sampler import ExactCpuSampler
from .gpu import GPU_DEVICE, GpuLine, GpuSampler
from .line_memory import LineMemory
from .line_window import choose_lines
from .memory import MemorySampler
from .options import ProfileOptions
from .regions import SourceFacts, analyse
from .sampler import CpuSampler
from .sources import Source, SourceResolver
from .stack_profile import StackCollector
from .stats import TimeAccumulator

PROFILE_MIME = "application/vnd.scalene.profile+json"
FORMAT_VERSION = 1


@dataclass
class RunInfo:
    """What was profiled and how it ended."""

    magic: str  # "%%scalene" or "%scrun"
    profiled_filename: str
    status: str = "completed"  # "completed", "error" or "interrupted"
    error: str | None = None
    start_time_absolute: float = 0.0
    messages: list[str] = field(default_factory=list)


def _percent(part: float, whole: float) -> float:
    return min(100.0, 100.0 * part / whole) if whole > 0 else 0.0


def _zero_line(lineno: int, text: str) -> dict[str, Any]:
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
        "n_churn_mb": 0.0,
        "n_mallocs": 0,
        "n_python_fraction": 0.0,
        "n_sys_percent": 0.0,
        "n_usage_fraction": 0.0,
    }


def _time_fields(acc: TimeAccumulator | None, total: float) -> dict[str, Any]:
    if acc is None:
        return {}
    return {
        "cpu_samples_list": sorted(acc.times),
        "n_core_utilization": acc.mean_core_utilization,
        "n_cpu_percent_python": _percent(acc.python, total),
        "n_cpu_percent_c": _percent(acc.native, total),
        "n_sys_percent": _percent(acc.system, total),
    }


def _memory_fields(line: LineMemory | None, net_total: float | None, elapsed: float) -> dict[str, Any]:
    """``net_total``: the run's net allocation (None: no memory profile)."""
    if line is None or net_total is None:
        return {}
    return {
        "n_malloc_mb": line.malloc_mb,
        "n_churn_mb": line.churn_mb,  # beyond Scalene: gross volume, temporaries included
        "n_mallocs": line.mallocs,
        "n_peak_mb": line.peak_mb,
        "n_growth_mb": line.peak_mb,  # Scalene reports the peak here too
        "n_avg_mb": line.footprint_sum / line.mallocs if line.mallocs else 0.0,
        "n_python_fraction": line.python_mb / line.malloc_mb if line.malloc_mb else 0.0,
        "n_usage_fraction": line.malloc_mb / net_total if net_total else 0.0,
        "n_copy_mb_s": line.copy_mb / elapsed if elapsed > 0 else 0.0,
        "memory_samples": line.timeline.shown(),
    }


def _gpu_fields(line: GpuLine | None, torch: bool) -> dict[str, Any]:
    return line.fields(torch) if line is not None else {}


def _line_record(
    lineno: int,
    text: str,
    acc: TimeAccumulator | None,
    total: float,
    facts: SourceFacts,
    sampled_fields: dict[str, Any],
) -> dict[str, Any]:
    record = _zero_line(lineno, text)
    record.update(_time_fields(acc, total))
    record.update(sampled_fields)
    record["start_outermost_loop"], record["end_outermost_loop"] = facts.loop_span(lineno)
    record["start_region_line"], record["end_region_line"] = facts.region_span(lineno)
    record["start_function_line"], record["end_function_line"] = facts.function_span(lineno)
    return record


def build_profile(
    sampler: CpuSampler | ExactCpuSampler,
    resolver: SourceResolver,
    options: ProfileOptions,
    run: RunInfo,
    memory: MemorySampler | None = None,
    gpu: GpuSampler | None = None,
) -> dict[str, Any]:
    """The profile dict: Scalene's JSON fields plus ``notebook``."""
    total = sampler.total_time
    elapsed = max(0.0, sampler.stop_wall - sampler.start_wall)
    by_file: dict[str, dict[int, TimeAccumulator]] = defaultdict(dict)
    for (filename, lineno), acc in sampler.lines.items():
        by_file[filename][lineno] = acc
    memory_by_file: dict[str, dict[int, LineMemory]] = defaultdict(dict)
    memory_functions: dict[str, dict[tuple[str, int], LineMemory]] = defaultdict(dict)
    if memory is not None:
        for (filename, lineno), line in memory.lines.items():
            memory_by_file[filename][lineno] = line
        for (filename, name, first), line in memory.functions.items():
            memory_functions[filename][(name, first)] = line
    gpu_by_file: dict[str, dict[int, GpuLine]] = defaultdict(dict)
    gpu_functions: dict[str, dict[tuple[str, int], GpuLine]] = defaultdict(dict)
    if gpu is not None:
        for (filename, lineno), gpu_line in gpu.lines.items():
            gpu_by_file[filename][lineno] = gpu_line
        for (filename, name, first), gpu_line in gpu.functions.items():
            gpu_functions[filename][(name, first)] = gpu_line
    functions_by_file: dict[str, list[tuple[str, int, TimeAccumulator]]] = defaultdict(list)
    for (filename, name, first), acc in sampler.functions.items():
        functions_by_file[filename].append((name, first, acc))

    filenames = set(by_file) | set(memory_by_file) | {run.profiled_filename}
    file_time = {f: sum(a.total for a in by_file[f].values()) for f in filenames}
    ordered = sorted(filenames, key=lambda f: (f != run.profiled_filename, -file_time[f], f))

    net_total = memory.net_allocated_mb if memory is not None else None  # a sum over every line: once
    files: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    hidden: list[str] = []
    for filename in ordered:
        source = resolver.resolve(filename)
        share = _percent(file_time[filename], total)
        has_memory = any(line.mallocs for line in memory_by_file[filename].values())
        if filename != run.profiled_filename and share < options.cpu_percent_threshold and not has_memory:
            hidden.append(source.key)
            continue
        files[source.key] = _file_record(
            source,
            by_file[filename],
            functions_by_file[filename],
            total,
            share,
            options,
            memory_by_file[filename],
            memory_functions[filename],
            memory,
            net_total,
            elapsed,
            gpu_by_file[filename],
            gpu_functions[filename],
            gpu is not None and gpu.torch,
        )
        sources[source.key] = {**source.describe(), "profiled": filename == run.profiled_filename}

    profiled_key = resolver.resolve(run.profiled_filename).key
    profile = {
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
                "method": getattr(sampler, "method", "signal-delay"),
                "profiler_time_s": getattr(sampler, "profiler_time", 0.0),
                "invalid_stacks": getattr(sampler, "invalid_stacks", 0),
            },
        },
    }
    if memory is not None:
        _add_memory(profile, memory, resolver, elapsed)
    if gpu is not None:
        _add_gpu(profile, gpu)
    stacks = getattr(sampler, "stacks", None)  # only the instant sampler reads stacks
    if isinstance(stacks, StackCollector):
        name_of = _stack_names(resolver)
        profile["stacks"] = stacks.cpu_json(total, name_of)
        if memory is not None:
            profile["memory_stacks"] = stacks.memory_json(name_of)
    return profile


def _stack_names(resolver: SourceResolver) -> Callable[[str], str]:
    """How a stack frame names its file: a cell as the notebook shows it
    (``In [N]``), anything else by its path."""

    def name_of(filename: str) -> str:
        source = resolver.resolve(filename)
        return f"In {source.key}" if source.kind == "cell" else source.filename

    return name_of


def _add_memory(profile: dict[str, Any], memory: MemorySampler, resolver: SourceResolver, elapsed: float) -> None:
    """Scalene's top-level memory fields, and how the allocator was attached."""
    peak_line = memory.max_footprint_line
    growth = memory.net_mb
    profile.update(
        {
            "memory": True,
            "alloc_samples": memory.alloc_samples,
            "max_footprint_mb": memory.max_footprint_mb,
            "max_footprint_python_fraction": memory.max_footprint_python_fraction,
            "max_footprint_fname": resolver.resolve(peak_line[0]).key if peak_line else None,
            "max_footprint_lineno": peak_line[1] if peak_line else None,
            "growth_rate": memory.growth_rate,
            "samples": memory.timeline.shown(),
            "native_allocations_mb": memory.allocated_mb - memory.python_mb,
        }
    )
    notebook = profile["notebook"]
    notebook["attach_mode"] = memory.attach_mode
    notebook["memory"] = {
        "allocation_window_bytes": memory.allocation_window,
        "copy_window_bytes": memory.copy_window,
        "coverage": memory.coverage,
        "rss_growth_mb": memory.rss_end_mb - memory.rss_start_mb,
        "sampled_growth_mb": growth,
        "patched_slots": memory.patched_slots,
        "patched_objects": memory.patched_objects,
        "buffer_overflow": memory.buffer_overflow,
        "table_refused": memory.table_refused,
        "untracked_mb": memory.untracked_mb,
        "invalid_stacks": memory.invalid_stacks,
        "kernel_threads_mb": memory.excluded_mb,
        "profiler_mb": memory.profiler_mb,
        "unattributed_mb": memory.unattributed_mb,
    }


def _add_gpu(profile: dict[str, Any], gpu: GpuSampler) -> None:
    """Scalene's top-level GPU fields, the devices, and how the reads went."""
    profile["gpu"] = True
    profile["gpu_device"] = GPU_DEVICE
    notebook = profile["notebook"]
    notebook["gpu"] = gpu.describe()
    if gpu.read_errors:
        notebook["messages"].append(f"the GPU could not be read {gpu.read_errors} times (last: {gpu.last_error}); those samples have no GPU figures.")


def _leaks(memory_lines: dict[int, LineMemory], growth_rate: float, elapsed: float) -> dict[str, Any]:
    """Likely leaks, in Scalene's sense: lines whose sampled allocations the
    run kept rather than freed, reported only when the run's footprint grew."""
    leaks: dict[str, Any] = {}
    if growth_rate < 1.0 or elapsed <= 0:
        return leaks
    for lineno, line in sorted(memory_lines.items()):
        if line.mallocs < 3 or line.current_mb <= 0:
            continue
        # Scalene's rule-of-succession score: frees seen are reclamations,
        # sampled blocks still held are failures to reclaim.
        likelihood = 1.0 - (line.frees + 1) / (line.mallocs - line.frees + 2)
        if likelihood >= 0.95:
            leaks[str(lineno)] = {"likelihood": likelihood, "velocity_mb_s": line.current_mb / elapsed}
    return leaks


def _file_record(
    source: Source,
    lines: dict[int, TimeAccumulator],
    functions: list[tuple[str, int, TimeAccumulator]],
    total: float,
    share: float,
    options: ProfileOptions,
    memory_lines: dict[int, LineMemory],
    memory_functions: dict[tuple[str, int], LineMemory],
    memory: MemorySampler | None,
    net_total: float | None,
    elapsed: float,
    gpu_lines: dict[int, GpuLine],
    gpu_functions: dict[tuple[str, int], GpuLine],
    torch: bool,
) -> dict[str, Any]:
    text = "".join(source.lines)
    facts = analyse(_parsable(text))
    # Records follow the sampled lines, not the source's length (line_window.py):
    # cells keep context around them, files and --reduced-profile do not.
    with_context = source.kind == "cell" and not options.reduced_profile
    window = choose_lines(len(source.lines), set(lines) | set(memory_lines) | set(gpu_lines), with_context)
    numbers = window.shown
    records = []
    for lineno in numbers:
        text_line = source.lines[lineno - 1] if lineno <= len(source.lines) else ""
        sampled = _memory_fields(memory_lines.get(lineno), net_total, elapsed)
        sampled.update(_gpu_fields(gpu_lines.get(lineno), torch))
        records.append(_line_record(lineno, text_line, lines.get(lineno), total, facts, sampled))
    cpu_functions = {(name, first): acc for name, first, acc in functions}
    function_records = []
    for name, first in sorted(set(cpu_functions) | set(memory_functions) | set(gpu_functions), key=lambda item: item[1]):
        record = _zero_line(first, name)
        record.update(_time_fields(cpu_functions.get((name, first)), total))
        record.update(_memory_fields(memory_functions.get((name, first)), net_total, elapsed))
        record.update(_gpu_fields(gpu_functions.get((name, first)), torch))
        function_records.append(record)
    return {
        "functions": function_records,
        "imports": facts.imports,
        "leaks": _leaks(memory_lines, memory.growth_rate, elapsed) if memory is not None else {},
        "lines": records,
        "omitted_lines": window.omitted_records(),  # beyond Scalene: runs of lines without a record
        "percent_cpu_time": share,
    }


def _parsable(text: str) -> str:
    """Blank out IPython-only lines (magics, shell escapes) so ``ast`` can parse."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        out.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out) + "\n"
