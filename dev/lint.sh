#!/usr/bin/env bash
# Lint, as the test command runs it; every finding fails it. TypeScript and
# CSS: eslint (the JupyterLab extension template's rules), prettier and
# stylelint (lab-extension's `lint:check`); Python: ruff (lint and format
# check, settings in pyproject.toml); C++: clang-format (.clang-format).
# `npm run lint` in lab-extension, `ruff check --fix . && ruff format .` and
# `clang-format -i` fix what they can.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
run() {
  printf 'lint: %s\n' "$*"
  "$@" || status=1
}
run bash -c "cd lab-extension && npm run --silent lint:check"
run .venv/bin/ruff check .
run .venv/bin/ruff format --check .
run .venv/bin/clang-format --dry-run --Werror native/src/*.cpp native/src/*.hpp native/tests/*.cpp native/tests/*.hpp
exit $status
