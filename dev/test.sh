#!/usr/bin/env bash
# Sets up whatever is missing, then runs every suite: type checks, pytest with
# real kernels, the install test (the wheel in a fresh environment), the
# wheel's kernels and the accuracy suite on the other Pythons, the native unit
# tests (also under ASan/UBSan), the allocator's aarch64 cross build, jest,
# and the Galata ui-tests in Debian's Chromium.
set -uo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh --browser || { echo "test: setup failed"; exit 1; }
export PATH="$PWD/.venv/bin:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

passed=0
failed=0
failures=()
suite() {
  local name="$1"; shift
  printf '\n==> %s\n' "$name"
  local started=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "--- $name: ok ($((SECONDS - started)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "--- $name: FAILED ($((SECONDS - started)) s)"
  fi
}

suite "lint (eslint, prettier, stylelint, ruff, clang-format)" bash dev/lint.sh
suite "mypy (kernel-bridge, magics)" mypy
suite "TypeScript strict type check" bash -c "cd lab-extension && npx tsc --noEmit -p tsconfig.test.json"
suite "pytest (real kernels)" python -m pytest
suite "install test (the wheel, newest JupyterLab and Notebook 7, no Node)" bash dev/install_test.sh
suite "the wheel and accuracy suite on the other Pythons 3.10-3.13" bash dev/python_matrix.sh
suite "native unit tests (plain, then ASan + UBSan)" bash -c "cd native && npm test --silent"
suite "aarch64 cross build of the allocator (the wheel's recipe, -Werror)" bash dev/cross_check.sh
suite "jest (renderer)" bash -c "cd lab-extension && npx jest"
suite "Galata ui-tests (JupyterLab in Chromium)" bash -c "cd ui-tests && npx playwright test"

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
