"""A real ipykernel driven over jupyter_client, the way a notebook drives it."""

from __future__ import annotations

import json
import os
import queue
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

PROFILE_MIME = "application/vnd.scalene.profile+json"
# In a kernel's working directory: its stderr, and its core if it crashed.
STDERR_LOG = "kernel-stderr.log"
CORE = "core"


def _allow_core_dumps() -> None:
    """In the kernel's process before exec: a crash leaves a core (the
    machine's core_pattern decides where; "core" puts it in the cwd)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


@dataclass
class CellResult:
    """Everything one execute request produced."""

    status: str
    execution_count: int | None
    displays: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None

    @property
    def profiles(self) -> list[dict[str, Any]]:
        """The profile objects of this cell's display_data outputs."""
        return [d[PROFILE_MIME] for d in self.displays if PROFILE_MIME in d]

    @property
    def profile(self) -> dict[str, Any]:
        """The one profile this cell showed."""
        assert len(self.profiles) == 1, f"expected one profile, got {len(self.profiles)}: {self}"
        return self.profiles[0]


class GarbledReply(Exception):
    """The kernel's shell reply arrived unreadable: a Ctrl-C that lands in
    ipykernel while it sends a reply cuts the multipart message, and the
    next one is appended to the cut one (the signature check then fails).
    ipykernel's own doing, for plain cells too; the reply is lost."""


class KernelSession:
    """One kernel process; ``run`` executes a cell and waits for it."""

    def __init__(self, cwd: str | None = None, kernel_name: str = "python3", kernel_dirs: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        if kernel_dirs is None:
            self.manager = KernelManager(kernel_name=kernel_name)
        else:
            self.manager = KernelManager(kernel_name=kernel_name, kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs))
        # The way memory profiling attaches in this kernel ("hot-attach" or
        # "preload"); set by the memory fixtures.
        self.attach_mode = "hot-attach"
        # ``env``: added to this process's environment for the kernel. A
        # crash must say where it happened, also in CI: the core dump in
        # ``cwd`` gives every thread's native stack, and faulthandler's
        # Python stacks go to the kernel's stderr, kept in a file beside it
        # (the preload kernel's reach it; the plain launcher's ipykernel
        # forwards fd 2 to the notebook, so there only the core tells).
        self.cwd = cwd
        self._stderr = open(os.path.join(cwd, STDERR_LOG), "wb") if cwd is not None else None
        launch: dict[str, Any] = {"env": {**os.environ, **(env or {}), "PYTHONFAULTHANDLER": "1"}}
        if self._stderr is not None:
            launch.update(stderr=self._stderr, preexec_fn=_allow_core_dumps)
        self.manager.start_kernel(cwd=cwd, **launch)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, cell_id: str | None = None, timeout: float = 120, silent: bool = False) -> CellResult:
        """Execute ``code`` as a notebook cell (JupyterLab sends ``cellId``)."""
        content = {
            "code": code,
            "silent": silent,
            "store_history": not silent,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = self.client.session.msg("execute_request", content, metadata=metadata)
        self.client.shell_channel.send(msg)
        return self._collect(msg["header"]["msg_id"], timeout)

    def start(self, code: str) -> str:
        """Send a cell without waiting; returns the request id for :meth:`finish`."""
        return str(self.client.execute(code))

    def finish(self, msg_id: str, timeout: float = 120, reply_wait: float | None = None) -> CellResult:
        """Wait for a request sent with :meth:`start`. ``reply_wait``: how long
        the shell reply may lag the kernel going idle (queue.Empty after that;
        ipykernel loses the reply when a Ctrl-C lands in its own code)."""
        return self._collect(msg_id, timeout, reply_wait)

    def _collect(self, msg_id: str, timeout: float, reply_wait: float | None = None) -> CellResult:
        deadline = time.monotonic() + timeout
        result = CellResult(status="", execution_count=None)
        idle = False
        while not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell did not finish in {timeout} s; {self.post_mortem()}")
            try:
                message = self.client.get_iopub_msg(timeout=min(remaining, 2.0))
            except queue.Empty:
                if not self.manager.is_alive():
                    raise RuntimeError(f"the kernel died during the cell; {self.post_mortem()}") from None
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, body = message["msg_type"], message["content"]
            if kind == "display_data":
                result.displays.append(body["data"])
            elif kind == "stream":
                if body["name"] == "stdout":
                    result.stdout += body["text"]
                else:
                    result.stderr += body["text"]
            elif kind == "error":
                result.error = body
            elif kind == "execute_result":
                result.result = body["data"]
            elif kind == "status" and body["execution_state"] == "idle":
                idle = True
        if reply_wait is not None:
            deadline = min(deadline, time.monotonic() + reply_wait)
        reply = self._shell_reply(deadline)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self._shell_reply(deadline)
        result.status = reply["content"]["status"]
        result.execution_count = reply["content"].get("execution_count")
        return result

    def _shell_reply(self, deadline: float) -> dict[str, Any]:
        try:
            return self.client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))  # type: ignore[no-any-return]
        except ValueError as problem:
            if "Signature" not in str(problem):
                raise
            raise GarbledReply(str(problem)) from None

    def profile_of(self, outcome: CellResult) -> dict[str, Any]:
        """The memory profile a cell showed, checked to be this kernel's way in."""
        assert outcome.status == "ok", (outcome.error, outcome.stderr)
        profile = outcome.profile
        assert profile["memory"] is True and profile["notebook"]["attach_mode"] == self.attach_mode, profile["notebook"]
        return profile

    def value(self, expression: str) -> Any:
        """Evaluate ``expression`` in the kernel and return it (JSON-decoded)."""
        outcome = self.run(f"import json as _j; print(_j.dumps({expression})); del _j", silent=True)
        assert outcome.status == "ok", outcome.error
        return json.loads(outcome.stdout.strip().splitlines()[-1])

    def _crash_report(self, argv: Any, pid: int) -> str:
        """The native stacks from the core of a crashed kernel (gdb, where
        the machine has it) and the tail of its stderr (faulthandler's
        Python stacks); the core is deleted once read."""
        if self.cwd is None:
            return ""
        parts = []
        # "core", or "core.PID" where the machine's core_uses_pid is set.
        cores = [os.path.join(self.cwd, name) for name in (CORE, f"{CORE}.{pid}") if os.path.exists(os.path.join(self.cwd, name))]
        core = cores[0] if cores else ""
        gdb = shutil.which("gdb")
        if core and gdb is not None and isinstance(argv, list):
            try:
                dump = subprocess.run(
                    [gdb, "-batch", "-ex", "bt 40", "-ex", "thread apply all bt 12", argv[0], core],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    env={**os.environ, "DEBUGINFOD_URLS": ""},
                ).stdout
                frames = [line for line in dump.splitlines() if line.startswith(("#", "Thread ", "Program terminated"))]
                parts.append("the crashing thread, then all threads, from its core:\n" + "\n".join(frames[:400]))
            except (OSError, subprocess.SubprocessError) as error:
                parts.append(f"gdb failed on its core: {error}")
            os.unlink(core)
        if self._stderr is not None:
            self._stderr.flush()
            with open(self._stderr.name, "rb") as log:
                parts.append("its stderr ends:\n" + log.read()[-6000:].decode(errors="replace"))
        return "".join("\n" + part for part in parts)

    def interrupt(self) -> None:
        """What the notebook's stop button does."""
        self.manager.interrupt_kernel()

    def post_mortem(self) -> str:
        """What became of a kernel that never finished a cell: its exit
        status if it died, else every thread's native stack (gdb, where the
        machine has it), so that a hang in CI says where it hangs."""
        process = getattr(self.manager.provisioner, "process", None)
        if process is None:
            return "no kernel process"
        code = process.poll()
        if code is not None:
            return f"kernel exit status {code}" + (f" (signal {-code})" if code < 0 else "") + self._crash_report(process.args, process.pid)
        gdb = shutil.which("gdb")
        if gdb is None:
            return f"kernel {process.pid} alive (no gdb for its stacks)"
        try:
            dump = subprocess.run(
                [gdb, "-p", str(process.pid), "-batch", "-ex", "thread apply all bt 30"],
                capture_output=True,
                text=True,
                timeout=90,
                env={**os.environ, "DEBUGINFOD_URLS": ""},
            ).stdout
        except (OSError, subprocess.SubprocessError) as error:
            return f"kernel {process.pid} alive; gdb failed: {error}"
        frames = [line for line in dump.splitlines() if line.startswith(("#", "Thread "))]
        return f"kernel {process.pid} alive; its threads:\n" + "\n".join(frames[:400])

    def close(self) -> None:
        """Shut the kernel down."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        if self._stderr is not None:
            self._stderr.close()


def line_of(profile: dict[str, Any], source_key: str, text: str) -> dict[str, Any]:
    """The profile record of the line in ``source_key`` whose text contains ``text``."""
    matches = [r for r in profile["files"][source_key]["lines"] if text in r["line"]]
    assert len(matches) == 1, f"{text!r} matches {len(matches)} lines of {source_key}"
    return matches[0]


def total(record: dict[str, Any]) -> float:
    """Python + native + system share of a line, in percent."""
    return float(record["n_cpu_percent_python"] + record["n_cpu_percent_c"] + record["n_sys_percent"])


def loaded_kernel(cwd: str, mode: str = "hot-attach", preload_kernel_dirs: list[str] | None = None, env: dict[str, str] | None = None) -> KernelSession:
    """A kernel with scalene_lab loaded. ``mode`` says how its memory
    profiling comes in: "hot-attach" (a plain kernel) or "preload" (the
    "Python 3 (Scalene)" kernel, from the kernelspec directories given).
    ``env``: added to the kernel's environment."""
    from scalene_lab.kernelspec import NAME

    if mode == "preload":
        session = KernelSession(cwd=cwd, kernel_name=NAME, kernel_dirs=preload_kernel_dirs, env=env)
    else:
        session = KernelSession(cwd=cwd, env=env)
    session.attach_mode = mode
    loaded = session.run("%load_ext scalene_lab")
    assert loaded.status == "ok", loaded.error
    return session
