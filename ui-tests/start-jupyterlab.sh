#!/usr/bin/env bash
# Starts the JupyterLab the ui-tests drive: the project's .venv, a scratch
# root directory, Galata's test configuration.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.jupyter-root"
rm -rf "$root" && mkdir -p "$root"
# The tests' fake NVML (kernel-bridge/tests/fake_nvml) for the kernels: with
# no scenario file it reports no GPU, so only the GPU test, which writes one
# from its cell, sees a device.
fake="$here/.fake-nvml"
"$here/../.venv/bin/python" -c 'import pathlib, sys; sys.path.insert(0, sys.argv[1]); from fake_nvml import build_fake_nvml; build_fake_nvml(pathlib.Path(sys.argv[2]))' \
  "$here/../kernel-bridge/tests" "$fake"
rm -f "$fake/scenario"
export LD_LIBRARY_PATH="$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" FAKE_NVML_SCENARIO="$fake/scenario"
exec "$here/../.venv/bin/jupyter" lab --config "$here/jupyter_server_test_config.py" --ServerApp.root_dir="$root"
