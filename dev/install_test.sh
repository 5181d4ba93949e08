#!/usr/bin/env bash
# The install test: what `pip install scalene-lab` gives a user.
#
# 1. Builds the wheel from this checkout as a user would (`python -m build
#    --wheel`, in an isolated build environment: hatch_build.py compiles the
#    allocator and ships the lab extension) and checks it: check-wheel-contents,
#    and `auditwheel show` must derive the platform tag the wheel claims.
# 2. Installs it with the newest JupyterLab 4 and Notebook 7 into a fresh
#    virtual environment and runs dev/install_check.py there with no Node on
#    PATH: the extension is enabled and loaded by both front ends, a kernel
#    profiles memory by hot-attach, the preload kernel installs and profiles.
#
# The other Pythons (3.10-3.13) run the kernel checks against the same wheel
# in dev/python_matrix.sh, which installs it into their environments.
#
#   bash dev/install_test.sh          # leaves the wheel in build/install-test/dist
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$root/build/install-test"
rm -rf "$work"
mkdir -p "$work"

printf '==> building the wheel (python -m build --wheel)\n'
if ! .venv/bin/python -m build --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  echo "install test: the wheel did not build (log: $work/build.log)" >&2
  exit 1
fi
wheel="$(ls "$work"/dist/*.whl)"
echo "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"
.venv/bin/check-wheel-contents "$wheel"
claimed="$(basename "$wheel" .whl | awk -F- '{print $NF}')"
derived="$(.venv/bin/auditwheel show "$wheel" | tr -s ' \n' ' ' | grep -o 'consistent with the following platform tag: "[^"]*"' | cut -d'"' -f2)"
if [ "$claimed" != "$derived" ]; then
  echo "install test: the wheel claims $claimed but auditwheel derives '${derived}'" >&2
  exit 1
fi
echo "auditwheel show: $derived, as the wheel claims"

printf '\n==> a fresh environment: the wheel, the newest JupyterLab 4 and Notebook 7\n'
base_python="$(.venv/bin/python -c 'import sys; print(sys._base_executable)')"
"$base_python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q "$wheel" "jupyterlab>=4,<5" "notebook>=7,<8" ipykernel
"$work/venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(scalene-lab|jupyterlab|notebook|ipykernel) '

printf '\n==> checks, with no Node on PATH\n'
# Only the environment's own commands and a shell: Node lives in /usr/bin.
mkdir -p "$work/bin" "$work/home"
ln -sf "$(command -v sh)" "$work/bin/sh"
env -i HOME="$work/home" PATH="$work/venv/bin:$work/bin" LANG=C.UTF-8 \
  JUPYTER_CONFIG_DIR="$work/home/.jupyter" JUPYTER_DATA_DIR="$work/venv/share/jupyter" \
  "$work/venv/bin/python" dev/install_check.py
