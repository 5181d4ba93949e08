#!/usr/bin/env bash
# Starts the JupyterLab the ui-tests drive: the project's .venv, a scratch
# root directory, Galata's test configuration.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.jupyter-root"
rm -rf "$root" && mkdir -p "$root"
exec "$here/../.venv/bin/jupyter" lab --config "$here/jupyter_server_test_config.py" --ServerApp.root_dir="$root"
