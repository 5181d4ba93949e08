"""ctypes binding to the native sampling allocator (native/, libscalene_lab_alloc).

Attaching patches the GOT of every loaded object so the malloc family and
memcpy/memmove reach the sampling hooks, and wraps Python's MEM and OBJ
allocator domains; detaching undoes both. The library is loaded once and
never unloaded (hooks may still be on another thread's stack).
"""

from __future__ import annotations

import ctypes
import glob
import struct
import os
import sys
from typing import List, Optional, Tuple

_ENV_PATH = "SCALENE_LAB_ALLOCATOR"
_LIBRARY = "scalene_lab_alloc.so"

RECORD_ALLOC = 1
RECORD_FREE = 2
RECORD_COPY = 3

_DOMAIN_MEM = 1
_DOMAIN_OBJ = 2


class AllocatorUnavailable(RuntimeError):
    """Memory profiling cannot attach in this process; the message says why."""


class Record(ctypes.Structure):
    """``sl_record`` (native/src/records.hpp)."""

    _fields_ = [
        ("kind", ctypes.c_uint8),
        ("python", ctypes.c_uint8),
        ("reserved", ctypes.c_uint16),
        ("tid", ctypes.c_uint32),
        ("bytes", ctypes.c_uint64),
        ("pointer", ctypes.c_uint64),
        ("time_ns", ctypes.c_uint64),
    ]


# Record's layout for struct: kind, python, reserved (skipped), tid, bytes, pointer, time_ns.
_RECORD_LAYOUT = struct.Struct("=BB2xIQQQ")


class _Config(ctypes.Structure):
    _fields_ = [
        ("allocation_window", ctypes.c_uint64),
        ("copy_window", ctypes.c_uint64),
        ("signal_number", ctypes.c_int32),
        ("notify_tid", ctypes.c_int32),
    ]


class Stats(ctypes.Structure):
    """``sl_stats`` (native/src/records.hpp)."""

    _fields_ = [
        ("buffer_overflow", ctypes.c_uint64),
        ("table_refused", ctypes.c_uint64),
        ("patched_slots", ctypes.c_uint64),
        ("patched_objects", ctypes.c_uint64),
        ("live_sampled", ctypes.c_uint64),
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


def library_path() -> Optional[str]:
    """Where the built library is: preloaded, $SCALENE_LAB_ALLOCATOR, the package, or the source tree."""
    preloaded = _preloaded_path()
    if preloaded:
        return preloaded
    explicit = os.environ.get(_ENV_PATH)
    if explicit:
        return explicit if os.path.exists(explicit) else None
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(here, _LIBRARY)]
    candidates += glob.glob(os.path.join(here, os.pardir, os.pardir, "native", "build", "Release", _LIBRARY))
    return next((os.path.realpath(p) for p in candidates if os.path.exists(p)), None)


def _preloaded_path() -> Optional[str]:
    """The library's path if this process was started with it preloaded."""
    try:
        with open("/proc/self/maps") as maps:
            for row in maps:
                if row.rstrip().endswith(_LIBRARY):
                    return row.split(None, 5)[-1].strip()
    except OSError:
        pass
    return None


def unsupported_reason() -> Optional[str]:
    """Why memory profiling cannot work in this interpreter, or None."""
    if not sys.platform.startswith("linux"):
        return f"memory profiling needs Linux (this is {sys.platform})"
    if os.uname().machine not in ("x86_64", "aarch64"):
        return f"memory profiling supports x86-64 and AArch64 (this is {os.uname().machine})"
    libc, _ = _libc_version()
    if libc != "glibc":
        return "memory profiling needs glibc (musl and other C libraries are not supported yet)"
    if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
        return "memory profiling does not support free-threaded Python yet"
    if library_path() is None:
        return "the native allocator is not built (run bash dev/setup.sh)"
    return None


def _libc_version() -> Tuple[str, str]:
    import platform

    name, version = platform.libc_ver()
    return name, version


class NativeAllocator:
    """The loaded library (one per process)."""

    _instance: Optional["NativeAllocator"] = None

    def __init__(self, path: str) -> None:
        self._lib = ctypes.CDLL(path, mode=os.RTLD_LOCAL | getattr(os, "RTLD_NODELETE", 0))
        lib = self._lib
        lib.sl_attach.argtypes = [ctypes.POINTER(_Config)]
        lib.sl_attach.restype = ctypes.c_long
        lib.sl_set_sampling.argtypes = [ctypes.c_int]
        lib.sl_detach.argtypes = []
        lib.sl_drain.argtypes = [ctypes.POINTER(Record), ctypes.c_size_t]
        lib.sl_drain.restype = ctypes.c_size_t
        lib.sl_get_stats.argtypes = [ctypes.POINTER(Stats)]
        lib.sl_wrap_python_allocator.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.sl_wrap_python_allocator.restype = ctypes.c_int
        lib.sl_release_python_allocator.argtypes = [ctypes.c_int]
        lib.sl_set_small_requests_pooled.argtypes = [ctypes.c_int]
        lib.sl_preloaded.argtypes = []
        lib.sl_preloaded.restype = ctypes.c_int
        self._drain_buffer = (Record * 4096)()
        # Wrapper structs must outlive their installation: kept for the process.
        self._wrappers: List[Tuple[int, int, _PyAllocator, _PyAllocator]] = []
        api = ctypes.pythonapi
        api.PyMem_GetAllocator.argtypes = [ctypes.c_int, ctypes.c_void_p]
        api.PyMem_GetAllocator.restype = None
        api.PyMem_SetAllocator.argtypes = [ctypes.c_int, ctypes.c_void_p]
        api.PyMem_SetAllocator.restype = None

    @classmethod
    def load(cls) -> "NativeAllocator":
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
        return cls._instance

    def attach(self, allocation_window: int, copy_window: int, signal_number: int, notify_tid: int) -> int:
        """Patch every loaded object and wrap Python's allocators; returns patched slots."""
        config = _Config(allocation_window, copy_window, signal_number, notify_tid)
        patched = int(self._lib.sl_attach(ctypes.byref(config)))
        if patched < 0:
            raise AllocatorUnavailable("the C library's allocation functions could not be resolved")
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
        """Unwrap Python's allocators and restore every patched slot."""
        self.set_sampling(False)
        self._unwrap_python()
        self._lib.sl_detach()

    def drain(self) -> List[Tuple[int, int, int, int, int, int]]:
        """Every pending record as (kind, python, tid, bytes, pointer, time_ns)."""
        out: List[Tuple[int, int, int, int, int, int]] = []
        buffer = self._drain_buffer
        raw = memoryview(buffer).cast("B")  # one unpack per record, not six ctypes lookups
        while True:
            count = int(self._lib.sl_drain(buffer, len(buffer)))
            out.extend(_RECORD_LAYOUT.iter_unpack(raw[: count * _RECORD_LAYOUT.size]))
            if count < len(buffer):
                return out

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
                self._unwrap_python()
                raise AllocatorUnavailable("too many allocator wrappers are still held by other tools")
            api.PyMem_SetAllocator(domain, ctypes.byref(wrapper))
            self._wrappers.append((domain, slot, current, wrapper))

    def _unwrap_python(self) -> None:
        api = ctypes.pythonapi
        while self._wrappers:
            domain, slot, original, wrapper = self._wrappers.pop()
            now = _PyAllocator()
            api.PyMem_GetAllocator(domain, ctypes.byref(now))
            if now.malloc == wrapper.malloc and now.ctx == wrapper.ctx:
                api.PyMem_SetAllocator(domain, ctypes.byref(original))
                self._lib.sl_release_python_allocator(slot)
            else:
                # Another tool (tracemalloc, say) wrapped ours since: leave our
                # wrapper in its chain as a pass-through (sampling is off) and
                # keep its slot taken for good.
                _PINNED.append((original, wrapper))


def _pymalloc_pools_small_requests() -> bool:
    """Whether small Python allocations come from pymalloc's pools, not malloc:
    not with PYTHONMALLOC=malloc or debug hooks (dev mode, debug builds)."""
    setting = os.environ.get("PYTHONMALLOC", "")
    if setting and setting not in ("pymalloc", "mimalloc"):
        return False
    return not (sys.flags.dev_mode or hasattr(sys, "gettotalrefcount"))


# Wrapper structs that stay installed inside another tool's chain.
_PINNED: List[Tuple[_PyAllocator, _PyAllocator]] = []
