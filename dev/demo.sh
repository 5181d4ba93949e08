#!/usr/bin/env bash
# Sets scalene-lab up (see setup.sh) and opens JupyterLab on the demo notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-root)
exec .venv/bin/jupyter lab "${extra[@]}" "$@" examples/demo.ipynb
