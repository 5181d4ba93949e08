"""The kernel's process state that a profiled run must leave exactly as it
found it, read from inside a real kernel.

The in-kernel half (:func:`capture`) uses only
the standard library and reads the process itself: Python's allocator
functions (``PyMem_GetAllocator`` for the RAW, MEM and OBJ domains), every
GOT slot of the hooked symbols in every loaded ELF object (parsed from the
objects' own dynamic sections, independently of the native patcher), the
C-level ``sigaction`` of the real-time signals and the ones the profiler
touches, Python's signal table, the main thread's blocked and pending
signals, POSIX timers (``/proc/self/timers``), itimers, threads, and the
native library's own flags when it is loaded. It is sent to the kernel as
source and run in a scratch namespace, so it leaves no module behind.

The test half (:func:`state_of`, :func:`differences`)
drives it through :class:`kernel_session.KernelSession`.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_session import KernelSession

_HERE = os.path.abspath(__file__)
_HOOK_LIST = os.path.join(os.path.dirname(_HERE), os.pardir, os.pardir, "native", "src", "hook_list.hpp")
_LIBRARY = "scalene_lab_alloc.so"

# ---------------------------------------------------------------------------
# In the kernel
# ---------------------------------------------------------------------------


class _PhdrInfo(ctypes.Structure):
    _fields_ = [
        ("addr", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("phdr", ctypes.c_void_p),
        ("phnum", ctypes.c_uint16),
    ]


class _PyAllocator(ctypes.Structure):
    _fields_ = [(name, ctypes.c_void_p) for name in ("ctx", "malloc", "calloc", "realloc", "free")]


class _SigAction(ctypes.Structure):
    # glibc's struct sigaction on x86-64 and AArch64.
    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_uint8 * 128),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_PLTRELSZ, _DT_STRTAB, _DT_SYMTAB, _DT_RELA, _DT_RELASZ, _DT_PLTREL, _DT_JMPREL = 0, 2, 5, 6, 7, 8, 20, 23
_DT_RELA_KIND = 7
# JUMP_SLOT and GLOB_DAT: the relocations a GOT patcher can re-point.
_SLOT_TYPES = {"x86_64": (7, 6), "aarch64": (1026, 1025)}


def _u64(address: int) -> int:
    return int(ctypes.c_uint64.from_address(address).value)


def _objects() -> list[tuple[str, int, list[tuple[int, int, int, int]]]]:
    """Every loaded ELF object: (name, load address, program headers)."""
    found: list[tuple[str, int, list[tuple[int, int, int, int]]]] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_PhdrInfo), ctypes.c_size_t, ctypes.c_void_p)

    def visit(info: Any, size: int, data: Any) -> int:
        entry = info.contents
        headers = []
        for index in range(entry.phnum):
            at = entry.phdr + index * 56  # Elf64_Phdr
            kind = int(ctypes.c_uint32.from_address(at).value)
            flags = int(ctypes.c_uint32.from_address(at + 4).value)
            headers.append((kind, flags, _u64(at + 16), _u64(at + 40)))  # type, flags, vaddr, memsz
        found.append(((entry.name or b"").decode(errors="replace"), int(entry.addr), headers))
        return 0

    callback = callback_type(visit)
    ctypes.CDLL(None).dl_iterate_phdr(callback, None)
    return found


def _got_slots(symbols: list[str]) -> Iterator[tuple[str, str, int, int]]:
    """(object, symbol, slot offset, slot value) for every JUMP_SLOT/GLOB_DAT
    relocation of a hooked symbol in every loaded object with a dynamic section."""
    wanted = {name.encode() for name in symbols}
    types = _SLOT_TYPES.get(os.uname().machine, ())
    for name, base, headers in _objects():
        if "linux-vdso" in name:
            continue
        dynamic = [base + vaddr for kind, _f, vaddr, _m in headers if kind == _PT_DYNAMIC]
        if not dynamic:
            continue
        tags: dict[int, int] = {}
        at = dynamic[0]
        while True:
            tag, value = _u64(at), _u64(at + 8)
            if tag == _DT_NULL:
                break
            tags.setdefault(tag, value)
            at += 16

        def rebased(value: int, base: int = base) -> int:
            return value + base if value < base else value

        if _DT_SYMTAB not in tags or _DT_STRTAB not in tags:
            continue
        symtab, strtab = rebased(tags[_DT_SYMTAB]), rebased(tags[_DT_STRTAB])
        tables = []
        if _DT_JMPREL in tags and tags.get(_DT_PLTREL, _DT_RELA_KIND) == _DT_RELA_KIND:
            tables.append((rebased(tags[_DT_JMPREL]), tags.get(_DT_PLTRELSZ, 0)))
        if _DT_RELA in tags:
            tables.append((rebased(tags[_DT_RELA]), tags.get(_DT_RELASZ, 0)))
        for start, size in tables:
            for offset in range(0, size, 24):  # Elf64_Rela
                info = _u64(start + offset + 8)
                if (info & 0xFFFFFFFF) not in types:
                    continue
                symbol = symtab + (info >> 32) * 24  # Elf64_Sym
                symbol_name = ctypes.string_at(strtab + int(ctypes.c_uint32.from_address(symbol).value))
                if symbol_name in wanted:
                    slot = _u64(start + offset)
                    yield name, symbol_name.decode(), slot, _u64(base + slot)


def _library_text() -> list[tuple[int, int]]:
    """The executable segments of the native library, when it is loaded."""
    return [
        (base + vaddr, base + vaddr + size)
        for name, base, headers in _objects()
        if name.endswith(_LIBRARY)
        for kind, flags, vaddr, size in headers
        if kind == _PT_LOAD and flags & 1
    ]


def _sigactions() -> dict[str, list[Any]]:
    libc = ctypes.CDLL(None, use_errno=True)
    numbers = [int(n) for n in (signal.SIGINT, signal.SIGSEGV, signal.SIGBUS, signal.SIGPROF, signal.SIGALRM, signal.SIGVTALRM)]
    numbers += list(range(signal.SIGRTMIN, signal.SIGRTMAX + 1))
    actions: dict[str, list[Any]] = {}
    for number in numbers:
        current = _SigAction()
        if libc.sigaction(number, None, ctypes.byref(current)) == 0:
            handler = current.handler or 0
            if handler in (0, 1):  # SIG_DFL, SIG_IGN: flags and mask mean nothing then
                actions[str(number)] = [handler, 0, ""]
            else:  # the C library fills only the kernel's 64-bit part of the mask
                actions[str(number)] = [handler, current.flags, bytes(current.mask)[:8].hex()]
    return actions


def _task_status(tid: int) -> dict[str, str]:
    with open(f"/proc/self/task/{tid}/status") as handle:
        rows = dict(row.rstrip("\n").split(":\t", 1) for row in handle if ":\t" in row)
    return {key: rows.get(key, "") for key in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")}


def _native_flags() -> dict[str, int] | None:
    """The native library's own view (hooks attached, sampling on or frees
    still matched; the CPU timer), if loaded."""
    allocator = sys.modules.get("scalene_lab.allocator")
    instance = getattr(getattr(allocator, "NativeAllocator", None), "_instance", None)
    if instance is None:
        return None
    return {"attached": int(instance.lib.sl_attached()), "cpu_running": int(instance.lib.sl_cpu_running())}


def capture(symbols: list[str]) -> dict[str, Any]:
    """Everything a profiled run must leave as it was (JSON-serialisable)."""
    api = ctypes.pythonapi
    api.PyMem_GetAllocator.argtypes = [ctypes.c_int, ctypes.c_void_p]
    api.PyMem_GetAllocator.restype = None
    domains = {}
    for domain, label in enumerate(("raw", "mem", "obj")):
        current = _PyAllocator()
        api.PyMem_GetAllocator(domain, ctypes.byref(current))
        domains[label] = [current.ctx or 0, current.malloc or 0, current.calloc or 0, current.realloc or 0, current.free or 0]
    text = _library_text()
    slots: dict[str, dict[str, int]] = {}
    into_library = []
    for name, symbol, offset, value in _got_slots(symbols):
        slots.setdefault(name, {})[f"{symbol}@{offset:#x}"] = value
        if any(start <= value < end for start, end in text) and not name.endswith(_LIBRARY):
            into_library.append(f"{name}:{symbol}")
    with open("/proc/self/timers") as handle:
        timers = [row.strip() for row in handle if row.startswith(("signal:", "notify:"))]
    main = threading.main_thread().native_id or os.getpid()
    return {
        "allocators": domains,
        "got": slots,
        "got_into_library": sorted(into_library),
        "sigaction": _sigactions(),
        "python_handlers": {str(n): repr(signal.getsignal(n)) for n in range(1, signal.NSIG) if n not in (signal.SIGKILL, signal.SIGSTOP)},
        "blocked": sorted(int(n) for n in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "pending": sorted(int(n) for n in signal.sigpending()),
        "main_thread_signals": _task_status(main),
        "posix_timers": timers,
        "itimers": [list(signal.getitimer(t)) for t in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)],
        "threads": sorted(t.name for t in threading.enumerate()),
        "native_threads": len(os.listdir("/proc/self/task")),
        "profile_hooks": [repr(sys.getprofile()), repr(sys.gettrace())],
        "native": _native_flags(),
    }


# ---------------------------------------------------------------------------
# In the test process
# ---------------------------------------------------------------------------


def hooked_symbols() -> list[str]:
    """The symbols the native allocator hooks, from its own X-macro list."""
    with open(_HOOK_LIST) as handle:
        return re.findall(r"^\s*X\((\w+),", handle.read(), re.MULTILINE)


def _call(kernel: KernelSession, expression: str) -> Any:
    code = (
        "import json as _json\n"
        f"_ks = {{'__name__': 'kernel_state_probe', '__file__': {_HERE!r}}}\n"
        f"exec(compile(open({_HERE!r}).read(), {_HERE!r}, 'exec'), _ks)\n"
        f"print(_json.dumps({expression}))\n"
        "del _ks, _json\n"
    )
    outcome = kernel.run(code, silent=True)
    assert outcome.status == "ok", outcome.error
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def state_of(kernel: KernelSession) -> dict[str, Any]:
    """The kernel's state now (see :func:`capture`)."""
    state: dict[str, Any] = _call(kernel, f"_ks['capture']({hooked_symbols()!r})")
    return state


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed, one line per difference (empty: the same state).

    GOT slots are compared in the objects loaded at both times; an object
    loaded since must have no slot pointing into the native library."""
    found = []
    for key in before:
        if key == "got":
            continue
        if before[key] != after.get(key):
            found.append(f"{key}: {_diff(before[key], after.get(key))}")
    for name, slots in before["got"].items():
        now = after["got"].get(name)
        if now is None:
            continue
        changed = {slot: (value, now.get(slot)) for slot, value in slots.items() if now.get(slot) != value}
        if changed:
            found.append(f"got {name}: {changed}")
    return found


def _diff(before: Any, after: Any) -> str:
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        return ", ".join(f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in keys if before.get(k) != after.get(k))
    return f"{before!r} -> {after!r}"
