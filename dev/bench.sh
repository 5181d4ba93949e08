#!/usr/bin/env bash
# Sets up as needed, then prints %%scalene's slowdown against unprofiled runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh >/dev/null
exec .venv/bin/python bench/run.py "$@"
