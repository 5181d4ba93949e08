#!/usr/bin/env bash
# Sets up everything scalene-lab needs, from the project's own files, and is
# quick when nothing changed: the Python virtual environment at .venv with the
# package installed in editable mode, the npm workspace (lab extension,
# native, ui-tests), the native build (node-gyp), the lab extension build
# linked into .venv's JupyterLab.
#
#   bash dev/setup.sh              # what the demo needs
#   bash dev/setup.sh --browser    # also the test command's Debian packages: Chromium and fonts (ui-tests), the aarch64 cross compiler
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

if [ "$want_browser" = 1 ]; then
  missing=()
  [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
  # The test command's aarch64 cross build of the allocator (dev/cross_check.sh).
  if [ "$(uname -m)" = x86_64 ] && ! command -v aarch64-linux-gnu-g++ >/dev/null; then missing+=(g++-aarch64-linux-gnu); fi
  if [ ${#missing[@]} -gt 0 ]; then
    step "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

python="${PYTHON:-python3}"
"$python" - <<'PY' || { echo "setup.sh: scalene-lab needs Python 3.10 to 3.13 (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)
PY

stamp=".venv/.scalene-lab-setup"
want="$(digest pyproject.toml)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "Python environment (.venv)"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

stamp="node_modules/.scalene-lab-setup"
want="$(digest package.json package-lock.json lab-extension/package.json native/package.json ui-tests/package.json)"
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "npm workspace (lab-extension, native, ui-tests)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

stamp="native/build/.scalene-lab-setup"
want="$(digest native/binding.gyp native/src/* native/tests/*)"
if [ ! -x native/build/Release/native_tests ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "Native build (node-gyp)"
  # node-gyp reads Node's headers from the local Node install; it must never
  # try to download them (only package registries are reachable).
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  if [ ! -f "$nodedir/include/node/common.gypi" ]; then
    echo "setup.sh: Node's headers are missing at $nodedir/include/node (install Node with its headers)" >&2
    exit 1
  fi
  (cd native && npx node-gyp rebuild -j 2 --nodedir="$nodedir" --loglevel=warn >/dev/null)
  echo "$want" > "$stamp"
fi

step "Lab extension build"
export PATH="$root/.venv/bin:$PATH"
(cd lab-extension && npm run --silent build:lib && npm run --silent build:labextension >/dev/null)
jupyter labextension develop --overwrite . >/dev/null 2>&1 || { echo "setup.sh: jupyter labextension develop failed" >&2; exit 1; }
jupyter labextension list 2>&1 | grep -q "scalene-lab.*enabled.*OK" || {
  echo "setup.sh: the lab extension is not enabled in .venv's JupyterLab" >&2; exit 1; }
scalene-lab kernelspec install --sys-prefix >/dev/null
# The AI proposals' server extension (a wheel ships its config file; an
# editable install does not).
jupyter server extension enable --sys-prefix scalene_lab_ai >/dev/null 2>&1 || {
  echo "setup.sh: enabling the scalene_lab_ai server extension failed" >&2; exit 1; }
echo "setup: done"
