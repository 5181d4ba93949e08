"""Regenerate the jest fixtures: real profiles produced by a real kernel.

Run with the project's venv: `.venv/bin/python dev/make-fixtures.py`.
Each fixture is the profile object a %%scalene / %scrun cell displayed.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile

import nbclient
import nbformat

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "kernel-bridge", "tests"))
from fake_nvml import KERNEL_SNIPPET, build_fake_nvml, fake_env  # noqa: E402

MIME = "application/vnd.scalene.profile+json"
OUT = os.path.join(os.path.dirname(__file__), os.pardir, "lab-extension", "test-fixtures")

# The kernel's NVML is the tests' fake (kernel-bridge/tests/fake_nvml): it
# reports no GPU until a prelude cell says otherwise.
SETUP = "%load_ext scalene_lab\nimport time\nimport numpy as np\n" + KERNEL_SNIPPET
HELPER = "def busy(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s"
CELLS = {
    "mixed": (
        "%%scalene --cpu-only\n"
        "a = np.random.rand(1200, 1200)\n"
        "total = 0\n"
        "for i in range(2_000_000):\n"
        "    total += i\n"
        "b = np.dot(a, a)\n"
        "time.sleep(0.4)\n"
        "busy(1_000_000)"
    ),
    "error": "%%scalene\nbusy(1_500_000)\nraise ValueError('bad <b>input</b>')",
    "markup": "%%scalene\nlabel = '<img src=x onerror=alert(1)>'  # <script>alert(2)</script>\nbusy(1_500_000)",
    "scrun": "%scrun busy(2_000_000)",
    "memory": (
        "%%scalene --memory\nbig = np.ones(100 * 1000 * 1000 // 8)\nnames = [str(i) * 3 for i in range(500_000)]\ncopy = big.copy()\ndel big\nbusy(500_000)"
    ),
    # Scalene's `stacks`: the sampled call stacks, cells named In [N].
    "stacks": ("%%scalene --cpu-only --stacks\ndef outer(n):\n    return busy(n) + busy(n // 2)\nouter(1_500_000)\na = np.random.rand(900, 900)\nb = a @ a"),
    # A GPU 85% busy with 2 GiB of the kernel's, then 10% with 512 MiB.
    "gpu": (
        "%%scalene --gpu\n"
        "set_gpu(85, 2048)\n"
        "t = time.perf_counter()\n"
        "while time.perf_counter() - t < 0.6: pass\n"
        "set_gpu(10, 512)\n"
        "t = time.perf_counter()\n"
        "while time.perf_counter() - t < 0.4: pass"
    ),
    # 20,003 lines, three of them sampled: the bounded output (gap rows).
    "long": (
        "%%scalene --cpu-only\n"
        + "\n".join(f"v{i} = {i}" for i in range(10_000))
        + "\ntotal = 0\nfor i in range(3_000_000):\n    total += i\n"
        + "\n".join(f"w{i} = {i}" for i in range(10_000))
    ),
}


# Unprofiled cells run just before a fixture's cell: an idle GPU the kernel
# does not use yet (a run looks for a device as it starts).
PRELUDES = {"gpu": "set_gpu(0, 0)"}


def main() -> int:
    fake = pathlib.Path(tempfile.mkdtemp(prefix="fixtures-nvml-"))
    os.environ.update(fake_env(build_fake_nvml(fake), fake / "scenario"))  # the kernel inherits it
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(HELPER)]
    cells = {}
    for name, code in CELLS.items():
        if name in PRELUDES:
            nb.cells.append(nbformat.v4.new_code_cell(PRELUDES[name]))
        cells[name] = nbformat.v4.new_code_cell(code)
        nb.cells.append(cells[name])
    nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=300).execute()
    os.makedirs(OUT, exist_ok=True)
    wanted = set(sys.argv[1:]) or set(CELLS)  # `make-fixtures.py long` rewrites only long.json
    for name, cell in cells.items():
        if name not in wanted:
            continue
        profiles = [o["data"][MIME] for o in cell.outputs if o.get("output_type") == "display_data" and MIME in o.get("data", {})]
        if len(profiles) != 1:
            print(f"{name}: expected one profile, got {len(profiles)}", file=sys.stderr)
            return 1
        with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as handle:
            json.dump(profiles[0], handle, indent=1)
            handle.write("\n")
        print(f"wrote {name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
