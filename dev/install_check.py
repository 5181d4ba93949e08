"""Checks an environment where scalene-lab was installed from its wheel, as
a user would use it (run by dev/install_test.sh with that environment's
Python, no Node on PATH):

- ``jupyter labextension list`` says the extension is enabled and OK;
- JupyterLab's /lab and Notebook 7's /tree pages load it (their page config
  lists it among the federated extensions, not among the disabled ones);
- the AI server extension is enabled and answers behind the server's token,
  and, installed without the ``[ai]`` extra, says that no provider's client
  is installed;
- a plain kernel profiles a cell with memory by hot-attach;
- ``scalene-lab kernelspec install --sys-prefix`` installs "Python 3
  (Scalene)", and that kernel profiles with the allocator preloaded;
- ``scalene-lab validate`` accepts those profiles with the package's own
  dependencies.

    python dev/install_check.py [--kernels-only]

``--kernels-only`` runs the kernel checks alone (the other Pythons' venvs
have no JupyterLab, and their tests run with the developer's PATH). Prints one line per check; exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

MIME = "application/vnd.scalene.profile+json"
CELL = "%%scalene --memory\nblocks = [bytearray(1_000_000) for _ in range(64)]\ntotal = sum(len(b) for b in blocks)\n"


def say(ok: bool, what: str) -> None:
    """One line per check; stop at the first failure."""
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        sys.exit(1)


def command(name: str) -> str:
    """The path of a console script installed beside this interpreter (the
    environment under test, whose bin/ need not be on PATH)."""
    return os.path.join(os.path.dirname(sys.executable), name)


def jupyter(*args: str) -> str:
    """Run this environment's ``jupyter`` and return what it printed."""
    exe = command("jupyter")
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def check_labextension_list(version: str) -> None:
    """The extension is enabled and compatible with this JupyterLab."""
    listing = re.sub(r"\x1b\[[0-9;]*m", "", jupyter("labextension", "list"))
    line = next((row.strip() for row in listing.splitlines() if row.strip().startswith("scalene-lab ")), "")
    say(line.split()[:4] == ["scalene-lab", f"v{version}", "enabled", "OK"], f"jupyter labextension list: {line or listing.strip()!r}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_server_extension_list() -> None:
    """The AI server extension is enabled (from the config file the wheel ships) and imports."""
    listing = re.sub(r"\x1b\[[0-9;]*m", "", jupyter("server", "extension", "list"))
    rows = [row.strip() for row in listing.splitlines() if "scalene_lab_ai" in row]
    say(any("enabled" in row for row in rows) and any(row.endswith("OK") for row in rows), f"jupyter server extension list: {rows or listing.strip()!r}")


def check_ai_endpoint(port: int, token: str) -> None:
    """POST /scalene-lab/ai/status answers with the token and refuses without it."""
    url = f"http://127.0.0.1:{port}/scalene-lab/ai/status"
    refused = False
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=10)
    except urllib.error.HTTPError as error:
        refused = error.code == 403
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        status = json.loads(reply.read())
    names = [p.get("name") for p in status.get("providers", [])]
    installed = [p["name"] for p in status.get("providers", []) if p.get("client_installed")]
    say(
        refused and len(names) == 7 and not installed,
        f"AI endpoint: refuses without the token ({refused}), lists {len(names)} providers, clients installed without [ai]: {installed}",
    )


def check_page_loads_extension(app: str, page: str) -> None:
    """The server's page for ``app`` lists scalene-lab as a federated extension that is not disabled."""
    port = _free_port()
    token = "install-check"
    exe = command("jupyter")
    argv = [exe, app, "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")  # CI containers run as root; the server refuses otherwise
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        html = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{page}?token={token}", timeout=10) as reply:
                    html = reply.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        if not html:
            log.seek(0)
            say(False, f"jupyter {app}: no page at /{page} (server exit {server.poll()}): {log.read()[-1500:]}")
        found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
        config: dict[str, Any] = json.loads(found.group(1)) if found else {}
        names = [ext.get("name") for ext in config.get("federated_extensions", [])]
        disabled = config.get("disabledExtensions", [])
        loaded = "scalene-lab" in names and not any(str(d).startswith("scalene-lab") for d in disabled)
        say(loaded, f"jupyter {app}: /{page} loads scalene-lab (federated: {'scalene-lab' in names}, disabled: {disabled})")
        check_ai_endpoint(port, token)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def profile_in(kernel_name: str) -> dict[str, Any]:
    """Run the memory cell under %%scalene in a new ``kernel_name`` kernel; the profile it shows."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name=kernel_name)
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=90)
        for code in ("%load_ext scalene_lab", CELL):
            msg_id = client.execute(code)
            profile: dict[str, Any] = {}
            errors: list[str] = []
            while True:
                try:
                    message = client.get_iopub_msg(timeout=120)
                except queue.Empty:
                    raise TimeoutError(code) from None
                if message["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "error":
                    errors.append("\n".join(content["traceback"]))
                if kind in ("display_data", "update_display_data") and MIME in content["data"]:
                    profile = content["data"][MIME]
                if kind == "status" and content["execution_state"] == "idle":
                    break
            say(not errors, f"{kernel_name}: {code.splitlines()[0]} ran" + (f": {errors[0][-400:]}" if errors else ""))
        return profile
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def check_kernel(kernel_name: str, attach_mode: str) -> None:
    """A profile with memory, attached the expected way, with the cell's bytes on its line."""
    profile = profile_in(kernel_name)
    notebook = profile.get("notebook", {})
    say(
        profile.get("memory") is True and notebook.get("attach_mode") == attach_mode,
        f"{kernel_name} (Python {sys.version.split()[0]}): memory profiled by {notebook.get('attach_mode')!r}, expected {attach_mode!r}",
    )
    lines = [line for record in profile.get("files", {}).values() for line in record.get("lines", [])]
    allocated = max((line.get("n_malloc_mb", 0.0) for line in lines if "bytearray" in line.get("line", "")), default=0.0)
    say(allocated > 30, f"{kernel_name}: the allocating line shows {allocated:.1f} MB (64 MB allocated)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as saved:
        json.dump(profile, saved)
    checked = subprocess.run([command("scalene-lab"), "validate", saved.name], capture_output=True, text=True)
    os.unlink(saved.name)
    say(checked.returncode == 0, f"scalene-lab validate (the package's own dependencies): {(checked.stdout + checked.stderr).strip()}")


def main() -> None:
    """Run the checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels-only", action="store_true")
    args = parser.parse_args()
    import scalene_lab

    if not args.kernels_only:
        say(shutil.which("node") is None, f"no Node on PATH ({shutil.which('node')})")
    location = os.path.dirname(scalene_lab.__file__)
    say("site-packages" in location, f"scalene_lab {scalene_lab.__version__} imported from the installed wheel ({location})")
    from scalene_lab.allocator import library_path

    library = library_path() or ""
    say(library.startswith(location + os.sep), f"the native library ships in the package ({library or 'none found'})")
    if not args.kernels_only:
        check_labextension_list(scalene_lab.__version__)
        check_server_extension_list()
        check_page_loads_extension("lab", "lab")
        check_page_loads_extension("notebook", "tree")
    check_kernel("python3", "hot-attach")
    installed = subprocess.run([command("scalene-lab"), "kernelspec", "install", "--sys-prefix"], capture_output=True, text=True)
    say(installed.returncode == 0, f"scalene-lab kernelspec install --sys-prefix: {(installed.stdout + installed.stderr).strip()}")
    check_kernel("scalene-python3", "preload")


if __name__ == "__main__":
    main()
