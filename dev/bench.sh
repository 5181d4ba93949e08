#!/usr/bin/env bash
# Sets up as needed, then prints %%scalene's slowdown against unprofiled runs
# (bench/run.py; its options pass through). `--browser` instead opens large
# profiles in JupyterLab in Chromium and prints what they cost the notebook
# (ui-tests/bench/open-notebook.bench.ts; SCALENE_LAB_BENCH_ROUNDS, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--browser" ]; then
  bash dev/setup.sh --browser >/dev/null
  cd ui-tests
  exec env PATH="$PWD/../.venv/bin:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test -c playwright.bench.config.js
fi
bash dev/setup.sh >/dev/null
exec .venv/bin/python bench/run.py "$@"
