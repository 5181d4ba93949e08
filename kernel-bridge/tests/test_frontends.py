"""`%load_ext scalene_lab` outside JupyterLab: plain IPython and nbclient."""

from __future__ import annotations

import os
import subprocess
import sys

import nbclient
import nbformat
from kernel_session import PROFILE_MIME

SCRIPT = """
ip = get_ipython()
ip.run_cell("%load_ext scalene_lab", store_history=True)
ip.run_cell("def f(n):\\n    s = 0\\n    for i in range(n):\\n        s += i\\n    return s", store_history=True)
ip.run_cell("%%scalene\\nx = f(3_000_000)\\nx", store_history=True)
"""


def test_plain_ipython_prints_the_text_table(tmp_path: os.PathLike) -> None:
    script = os.path.join(str(tmp_path), "cells.py")
    with open(script, "w") as handle:
        handle.write(SCRIPT)
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", script]
    done = subprocess.run(ipython, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "scalene-lab: %%scalene [3]" in done.stdout
    # f's loop (its `for` line and its body share the time, by instruction)
    # holds most of the Python time.
    loop = [line for line in done.stdout.splitlines() if line.rstrip().endswith(("s += i", "for i in range(n):"))]
    assert len(loop) == 2 and sum(float(line.split("│")[1].split()[0].rstrip("%")) for line in loop) > 50
    assert f"Out[3]: {sum(range(3_000_000))}" in done.stdout


def test_nbclient_saves_the_profile_in_the_notebook(tmp_path: os.PathLike) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext scalene_lab"),
        nbformat.v4.new_code_cell("%%scalene\ntotal = sum(i * i for i in range(2_000_000))"),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = os.path.join(str(tmp_path), "saved.ipynb")
    nbformat.write(nb, path)
    reread = nbformat.read(path, as_version=4)
    (output,) = reread.cells[1].outputs
    assert output["output_type"] == "display_data"
    assert set(output["data"]) == {PROFILE_MIME, "text/html", "text/plain"}
    assert isinstance(output["data"][PROFILE_MIME], dict)
    assert output["data"][PROFILE_MIME]["notebook"]["sources"]["[2]"]["kind"] == "cell"


DEMO = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples", "demo.ipynb")


def test_the_demo_notebook_profiles_every_profiled_cell(tmp_path: os.PathLike) -> None:
    # What `npm run demo` opens, run top to bottom as "Run All Cells" would
    # (the lab extension's autoload is replaced by an explicit %load_ext).
    nb = nbformat.read(DEMO, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("%load_ext scalene_lab"))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    profiled = [c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith(("%%scalene", "%scrun"))]
    assert len(profiled) >= 6
    for cell in profiled:
        profiles = [o["data"][PROFILE_MIME] for o in cell.outputs if o.get("output_type") == "display_data" and PROFILE_MIME in o["data"]]
        assert len(profiles) == 1, cell.source
        # Memory is on by default wherever the allocator attaches.
        assert profiles[0]["memory"] is True and profiles[0]["notebook"]["attach_mode"] == "hot-attach", cell.source
    errors = [c for c in nb.cells if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.outputs)]
    assert [c.source.splitlines()[-1] for c in errors] == ['raise ValueError("the profile above still shows the work done before this line")']
    (memory_cell,) = [c for c in profiled if "grid.copy()" in c.source]
    (profile,) = [o["data"][PROFILE_MIME] for o in memory_cell.outputs if o.get("output_type") == "display_data"]
    key = profile["notebook"]["profiled_source"]
    copies = [r for r in profile["files"][key]["lines"] if "grid.copy()" in r["line"]]
    assert copies and copies[0]["n_copy_mb_s"] > 0
    assert profile["max_footprint_mb"] > 200
