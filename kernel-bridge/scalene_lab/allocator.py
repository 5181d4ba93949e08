"""ctypes binding to the native sampling allocator (native/, libscalene_lab_alloc).

Attaching patches the GOT of every loaded object so the malloc family and
memcpy/memmove reach the sampling hooks, and wraps Python's MEM and OBJ
allocator domains; detaching undoes both. The library is loaded once and
never unloaded (hooks may still be on another thread's stack).
"""

from __future__ import annotations

import ctypes
import glob
import os
import struct
import sys
from typing import Any

from .fault_points import reached

_ENV_PATH = "SCALENE_LAB_ALLOCATOR"
_LIBRARY = "scalene_lab_alloc.so"
_HERE = os.path.dirname(os.path.abspath(__file__))

# Where the wheels carry the native library (the platform_reason() checks).
SUPPORTED_PLATFORMS = "Linux x86-64 / AArch64 with glibc, GIL Python"
# What every "not available" notice ends with: the command that says why and what to do.
DOCTOR_HINT = "run `scalene-lab doctor` for details"

RECORD_ALLOC = 1
RECORD_FREE = 2
RECORD_COPY = 3
RECORD_CPU = 4

# Where a CPU sample's program counter was (SL_WHERE_*).
WHERE_INTERPRETER = 0
WHERE_LIBRARY = 1
WHERE_C_LIBRARY = 2

FLAG_TRUNCATED = 1
FLAG_NO_FRAME = 2
FLAG_UNTRACKED = 4
FLAG_BLOCKED = 8
FLAG_REALLOC = 16  # alloc made by realloc: the old block's free record, if sampled, comes just before

MAX_FRAMES = 40  # SL_MAX_FRAMES

_DOMAIN_MEM = 1
_DOMAIN_OBJ = 2


class AllocatorUnavailable(RuntimeError):
    """Memory profiling cannot attach in this process; the message says why."""


class Frame(ctypes.Structure):
    """``sl_frame`` (native/src/records.hpp)."""

    _fields_ = [("code", ctypes.c_uint64), ("lasti", ctypes.c_int32), ("extra", ctypes.c_uint32)]


class Record(ctypes.Structure):
    """``sl_record`` (native/src/records.hpp)."""

    _fields_ = [
        ("kind", ctypes.c_uint8),
        ("python", ctypes.c_uint8),
        ("depth", ctypes.c_uint8),
        ("flags", ctypes.c_uint8),
        ("tid", ctypes.c_uint32),
        ("bytes", ctypes.c_uint64),
        ("pointer", ctypes.c_uint64),
        ("time_ns", ctypes.c_uint64),
        ("cpu_ns", ctypes.c_uint64),
        ("wall_ns", ctypes.c_uint64),
        ("thread_cpu_ns", ctypes.c_uint64),
        ("process_cpu_ns", ctypes.c_uint64),
        ("frames", Frame * MAX_FRAMES),
    ]


# Record's header for struct: kind, python, depth, flags, tid, bytes, pointer,
# time_ns, cpu_ns (alloc: companion entries), wall_ns (alloc: block_bytes),
# thread_cpu_ns, process_cpu_ns; then the frames.
_HEADER = struct.Struct("=BBBBIQQQQQQQ")
_FRAME_SIZE = ctypes.sizeof(Frame)
_FRAMES_AT = Record.frames.offset
_RECORD_SIZE = ctypes.sizeof(Record)
_STACK_LAYOUTS = [struct.Struct("=" + "Qi4x" * depth) for depth in range(MAX_FRAMES + 1)]
_COMPANION_LAYOUTS = [struct.Struct("=" + "QiI" * count) for count in range(MAX_FRAMES + 1)]
COMPANION_KEPT = 1 << 31  # in a companion entry's size: the block was still live

# One drained record: the header fields, the stack as a flat tuple (code
# address, instruction index, code address, instruction index, ...), then
# for an allocation sample the companions of its thread's previous sample
# (native fate_group.hpp), flat: (code address, instruction index, size |
# COMPANION_KEPT if still live, ...), code 0 where no Python frame was read.
RawRecord = tuple[int, int, int, int, int, int, int, int, int, int, int, int, tuple[int, ...], tuple[int, ...]]
_NO_COMPANIONS: tuple[int, ...] = ()


class PythonLayout(ctypes.Structure):
    """``sl_python_layout`` (native/src/records.hpp)."""

    _fields_ = [
        ("version", ctypes.c_int32),
        ("instr_is_pointer", ctypes.c_int32),
        ("tstate_frame", ctypes.c_int64),
        ("cframe_current", ctypes.c_int64),
        ("frame_previous", ctypes.c_int64),
        ("frame_code", ctypes.c_int64),
        ("frame_instr", ctypes.c_int64),
        ("frame_owner", ctypes.c_int64),
        ("code_units", ctypes.c_int64),
        ("code_bytes", ctypes.c_int64),
        ("bytes_data", ctypes.c_int64),
        ("object_type", ctypes.c_int64),
        ("var_size", ctypes.c_int64),
        ("code_type", ctypes.c_uint64),
        ("get_thread_state", ctypes.c_uint64),
        ("set_interrupt", ctypes.c_uint64),
    ]


class CpuConfig(ctypes.Structure):
    """``sl_cpu_config`` (native/src/records.hpp)."""

    _fields_ = [
        ("interval_s", ctypes.c_double),
        ("signal_number", ctypes.c_int32),
        ("main_tid", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
        ("drain_interval_us", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


class _Config(ctypes.Structure):
    _fields_ = [
        ("allocation_window", ctypes.c_uint64),
        ("copy_window", ctypes.c_uint64),
    ]


class Stats(ctypes.Structure):
    """``sl_stats`` (native/src/records.hpp)."""

    _fields_ = [
        ("buffer_overflow", ctypes.c_uint64),
        ("table_refused", ctypes.c_uint64),
        ("patched_slots", ctypes.c_uint64),
        ("patched_objects", ctypes.c_uint64),
        ("live_sampled", ctypes.c_uint64),
        ("invalid_stacks", ctypes.c_uint64),
        ("cpu_samples", ctypes.c_uint64),
        ("thread_signals", ctypes.c_uint64),
        ("records_pushed", ctypes.c_uint64),
        ("records_drained", ctypes.c_uint64),
    ]


class _PyAllocator(ctypes.Structure):
    """CPython's ``PyMemAllocatorEx``."""

    _fields_ = [
        ("ctx", ctypes.c_void_p),
        ("malloc", ctypes.c_void_p),
        ("calloc", ctypes.c_void_p),
        ("realloc", ctypes.c_void_p),
        ("free", ctypes.c_void_p),
    ]


def library_path() -> str | None:
    """Where the built library is: preloaded, $SCALENE_LAB_ALLOCATOR, the package, or the source tree."""
    preloaded = _preloaded_path()
    if preloaded:
        return preloaded
    explicit = os.environ.get(_ENV_PATH)
    if explicit:
        return explicit if os.path.exists(explicit) else None
    candidates = [os.path.join(_HERE, _LIBRARY)]
    candidates += glob.glob(os.path.join(_HERE, os.pardir, os.pardir, "native", "build", "Release", _LIBRARY))
    return next((os.path.realpath(p) for p in candidates if os.path.exists(p)), None)


def source_checkout() -> str | None:
    """The root of the source checkout this package runs from, or None when it
    is an installed package (a wheel): a checkout has ``native/binding.gyp``
    two levels above the package, beside the build library_path() looks for."""
    root = os.path.realpath(os.path.join(_HERE, os.pardir, os.pardir))
    return root if os.path.isfile(os.path.join(root, "native", "binding.gyp")) else None


def build_hint() -> str | None:
    """How to build the native library here: only a source checkout has the
    developer set-up script, so this is the one place that may name it; an
    installed package gets its library from the wheel instead (None)."""
    return "run `bash dev/setup.sh`" if source_checkout() is not None else None


def missing_library_reason() -> str:
    """Why library_path() found no library, in one clause that fits this kind
    of installation (notices add where to read more: DOCTOR_HINT)."""
    explicit = os.environ.get(_ENV_PATH)
    if explicit:
        return f"${_ENV_PATH} is set to {explicit}, which does not exist"
    hint = build_hint()
    if hint is not None:
        return f"the native allocator is not built in this source checkout: {hint}"
    # A supported platform (platform_reason() passed) without the library: pip
    # took a wheel or source build for this platform that carries none.
    return f"this installation has no native library: the wheel for this platform has none, only those for {SUPPORTED_PLATFORMS} have it"


def _preloaded_path() -> str | None:
    """The library's path if it is mapped into this process: preloaded, or
    already loaded (a process keeps using the copy it has)."""
    try:
        with open("/proc/self/maps") as maps:
            for row in maps:
                if row.rstrip().endswith(_LIBRARY):
                    return row.split(None, 5)[-1].strip()
    except OSError:
        pass
    return None


def platform_reason() -> str | None:
    """Why the native library cannot work on this platform or interpreter at all, or None."""
    if not sys.platform.startswith("linux"):
        return f"the native sampler needs Linux (this is {sys.platform})"
    if os.uname().machine not in ("x86_64", "aarch64"):
        return f"the native sampler supports x86-64 and AArch64 (this is {os.uname().machine})"
    libc, _ = _libc_version()
    if libc != "glibc":
        return "the native sampler needs glibc (musl and other C libraries are not supported yet)"
    if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
        return "free-threaded Python is not supported yet"
    return None


def unsupported_reason() -> str | None:
    """Why the native library (exact CPU sampling, memory) cannot work in this interpreter, or None."""
    reason = platform_reason()
    if reason is None and library_path() is None:
        reason = missing_library_reason()
    return reason


# Every function of native/src/api.cpp this version calls, with its C
# signature as ctypes types: (argument types, result type; None is void). A
# library that lacks one is another version's build (`scalene-lab doctor`
# says so; NativeAllocator would fail on it).
SIGNATURES: dict[str, tuple[list[Any], Any]] = {
    "sl_set_python_layout": ([ctypes.POINTER(PythonLayout)], None),
    "sl_begin_run": ([ctypes.c_int], None),
    "sl_end_run": ([], None),
    "sl_probe_stack": ([ctypes.POINTER(Record)], ctypes.c_int),
    "sl_cpu_start": ([ctypes.POINTER(CpuConfig)], ctypes.c_int),
    "sl_cpu_stop": ([], None),
    "sl_cpu_running": ([], ctypes.c_int),
    "sl_cpu_set_threads": ([ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t], None),
    "sl_set_profiler_busy": ([ctypes.c_int], ctypes.c_int),
    "sl_attach": ([ctypes.POINTER(_Config)], ctypes.c_long),
    "sl_preloaded": ([], ctypes.c_int),
    "sl_set_sampling": ([ctypes.c_int], None),
    "sl_detach": ([], None),
    "sl_drain": ([ctypes.POINTER(Record), ctypes.c_size_t], ctypes.c_size_t),
    "sl_live_filter": ([ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t], None),
    "sl_get_stats": ([ctypes.POINTER(Stats)], None),
    "sl_wrap_python_allocator": ([ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int),
    "sl_set_small_requests_pooled": ([ctypes.c_int], None),
    "sl_release_python_allocator": ([ctypes.c_int], None),
    "sl_signal_is_free": ([ctypes.c_int], ctypes.c_int),
    "sl_attached": ([], ctypes.c_int),
}


def declare_signatures(lib: ctypes.CDLL) -> None:
    """Give each of the library's functions its C signature (ctypes would
    otherwise pass every argument as an int and read every result as one)."""
    for name, (argtypes, restype) in SIGNATURES.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype


def _libc_version() -> tuple[str, str]:
    import platform

    name, version = platform.libc_ver()
    return name, version


class NativeAllocator:
    """The loaded library (one per process)."""

    _instance: NativeAllocator | None = None

    def __init__(self, path: str) -> None:
        # PyDLL: every call keeps the GIL, so nothing of ours runs beside
        # another thread's Python code (the allocator wrappers are swapped
        # and the drain consumes records under the GIL).
        self._lib = ctypes.PyDLL(path, mode=os.RTLD_LOCAL | getattr(os, "RTLD_NODELETE", 0))
        lib = self._lib
        declare_signatures(lib)
        self._drain_buffer = (Record * 512)()
        self.attached = False
        # Wrapper structs must outlive their installation: kept for the process.
        self._wrappers: list[tuple[int, int, _PyAllocator, _PyAllocator]] = []
        api = ctypes.pythonapi
        api.PyMem_GetAllocator.argtypes = [ctypes.c_int, ctypes.c_void_p]
        api.PyMem_GetAllocator.restype = None
        api.PyMem_SetAllocator.argtypes = [ctypes.c_int, ctypes.c_void_p]
        api.PyMem_SetAllocator.restype = None

    @classmethod
    def load(cls) -> NativeAllocator:
        """Load the library once; AllocatorUnavailable if this process cannot use it."""
        if cls._instance is None:
            reason = unsupported_reason()
            if reason is not None:
                raise AllocatorUnavailable(reason)
            path = library_path()
            assert path is not None
            try:
                cls._instance = cls(path)
            except OSError as problem:
                raise AllocatorUnavailable(f"cannot load {path}: {problem}") from None
            except AttributeError as problem:
                # An older build that lacks a function this version calls.
                raise AllocatorUnavailable(f"{path} is from another version of scalene-lab ({problem})") from None
        return cls._instance

    @property
    def lib(self) -> ctypes.PyDLL:
        """The loaded library, for the CPU sampler and the drain."""
        return self._lib

    def attach(self, allocation_window: int, copy_window: int) -> int:
        """Patch every loaded object and wrap Python's allocators; returns patched slots."""
        config = _Config(allocation_window, copy_window)
        self.attached = True  # set first: a detach after any failure below undoes what was done
        patched = int(self._lib.sl_attach(ctypes.byref(config)))
        if patched < 0:
            self.detach()
            raise AllocatorUnavailable("the C library's allocation functions could not be resolved")
        reached("setup.got_patched")
        self._wrap_python()
        return patched

    @property
    def preloaded(self) -> bool:
        """Whether the library was preloaded (the "Python 3 (Scalene)" kernel)."""
        return bool(self._lib.sl_preloaded())

    def set_sampling(self, enabled: bool) -> None:
        """Start or stop sampling (sampled frees are matched either way)."""
        self._lib.sl_set_sampling(1 if enabled else 0)

    def detach(self) -> None:
        """Unwrap Python's allocators and restore every patched slot; idempotent."""
        self.set_sampling(False)
        self._unwrap_python()
        if self.attached:
            self._lib.sl_detach()  # idempotent: cleared only once it has run
            self.attached = False
            reached("teardown.got_restored")

    def drain(self) -> list[RawRecord]:
        """Every pending record, oldest first."""
        out: list[RawRecord] = []
        buffer = self._drain_buffer
        raw = memoryview(buffer).cast("B")
        header = _HEADER.unpack_from
        while True:
            count = int(self._lib.sl_drain(buffer, len(buffer)))
            for index in range(count):
                at = index * _RECORD_SIZE
                fields = header(raw, at)
                depth = fields[2]
                stack = _STACK_LAYOUTS[depth].unpack_from(raw, at + _FRAMES_AT)
                companions = _NO_COMPANIONS
                if fields[0] == RECORD_ALLOC and fields[8]:
                    entries = min(fields[8], MAX_FRAMES - depth)
                    companions = _COMPANION_LAYOUTS[entries].unpack_from(raw, at + _FRAMES_AT + depth * _FRAME_SIZE)
                out.append(fields + (stack, companions))
            if count < len(buffer):
                return out

    def still_live(self, pointers: list[int]) -> list[int]:
        """Those of ``pointers`` (sampled blocks) the native live table still
        holds: the others were freed, whether or not their free record came."""
        if not pointers:
            return []
        table = (ctypes.c_uint64 * len(pointers))(*pointers)
        self._lib.sl_live_filter(table, len(pointers))
        return [pointer for pointer in table if pointer]

    def stats(self) -> Stats:
        """Overflow and patch counters."""
        stats = Stats()
        self._lib.sl_get_stats(ctypes.byref(stats))
        return stats

    def _wrap_python(self) -> None:
        self._lib.sl_set_small_requests_pooled(1 if _pymalloc_pools_small_requests() else 0)
        api = ctypes.pythonapi
        for domain in (_DOMAIN_MEM, _DOMAIN_OBJ):
            current = _PyAllocator()
            api.PyMem_GetAllocator(domain, ctypes.byref(current))
            wrapper = _PyAllocator()
            slot = int(self._lib.sl_wrap_python_allocator(ctypes.byref(current), ctypes.byref(wrapper)))
            if slot < 0:
                self.detach()
                raise AllocatorUnavailable("too many allocator wrappers are still held by other tools")
            # Recorded before it is installed: whatever interrupts this, the
            # detach that follows finds it (installed or not) and undoes it.
            self._wrappers.append((domain, slot, current, wrapper))
            api.PyMem_SetAllocator(domain, ctypes.byref(wrapper))
            reached("setup.python_domain_wrapped")

    def _unwrap_python(self) -> None:
        api = ctypes.pythonapi
        while self._wrappers:
            domain, slot, original, wrapper = self._wrappers[-1]
            now = _PyAllocator()
            api.PyMem_GetAllocator(domain, ctypes.byref(now))
            if _same(now, wrapper):
                api.PyMem_SetAllocator(domain, ctypes.byref(original))
            elif _same(now, original):
                pass  # never installed (interrupted in between)
            elif now.ctx:
                # Another tool wrapped ours since (tracemalloc started inside
                # the cell). tracemalloc keeps the allocator it wrapped in the
                # struct its ctx points at: where that struct is exactly our
                # wrapper, ours is spliced out of its chain by pointing it at
                # what ours forwarded to. Any other chain is left alone; ours
                # then stays in it as a pass-through (sampling is off).
                beneath = _PyAllocator.from_address(now.ctx)
                if _same(beneath, wrapper):
                    ctypes.memmove(now.ctx, ctypes.byref(original), ctypes.sizeof(_PyAllocator))
                else:
                    _PINNED.append((original, wrapper))
                    self._wrappers.pop()
                    continue
            # Released before it is forgotten: a retry finds it again (now
            # uninstalled) and releases it once more, which is harmless.
            self._lib.sl_release_python_allocator(slot)
            self._wrappers.pop()
            reached("teardown.python_domain_unwrapped")


def _same(a: _PyAllocator, b: _PyAllocator) -> bool:
    return (a.ctx, a.malloc, a.calloc, a.realloc, a.free) == (b.ctx, b.malloc, b.calloc, b.realloc, b.free)


def _pymalloc_pools_small_requests() -> bool:
    """Whether small Python allocations come from pymalloc's pools, not malloc:
    not with PYTHONMALLOC=malloc or debug hooks (dev mode, debug builds)."""
    setting = os.environ.get("PYTHONMALLOC", "")
    if setting and setting not in ("pymalloc", "mimalloc"):
        return False
    return not (sys.flags.dev_mode or hasattr(sys, "gettotalrefcount"))


# Wrapper structs that stay installed inside another tool's chain.
_PINNED: list[tuple[_PyAllocator, _PyAllocator]] = []
