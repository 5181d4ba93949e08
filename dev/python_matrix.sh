#!/usr/bin/env bash
# Runs the accuracy suite (kernel-bridge/tests/test_truth.py and
# test_stacks.py: CPU lines, the Python/native/system split, memory lines in
# both ways in, hot-attach and preload) under every Python from 3.10 to 3.13
# this machine has, besides .venv's own (the main pytest run covers that one).
# Each version gets a small virtual environment under .venv-matrix/ with the
# test dependencies and the wheel dev/install_test.sh built (one wheel serves
# every Python 3: the library is loaded with ctypes), so what runs is what a
# pip user gets; dev/install_check.py --kernels-only first checks that a
# kernel there profiles memory by hot-attach and that the preload kernel
# installs (--sys-prefix) and profiles. It says which versions ran and which
# it skipped (not found), and fails if any that ran failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

wheel="$(ls build/install-test/dist/scalene_lab-*.whl 2>/dev/null | head -1)"
if [ -z "$wheel" ]; then
  echo "python matrix: no wheel in build/install-test/dist (run bash dev/install_test.sh first)" >&2
  exit 1
fi

main_version="$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
deps=(ipykernel "jupyter_client>=8" "jsonschema>=4.20" "numpy>=1.26" "pytest>=8" "pytest-timeout>=2.3")

# The newest interpreter of a minor version: pyenv's, else one on PATH.
find_python() {
  local minor="$1" candidate
  for candidate in $(ls -d "$pyenv_root/versions/$minor".* 2>/dev/null | sort -V -r); do
    [ -x "$candidate/bin/python" ] && { echo "$candidate/bin/python"; return; }
  done
  command -v "python$minor" 2>/dev/null || true
}

ran=()
skipped=()
failed=()
for minor in 3.10 3.11 3.12 3.13; do
  if [ "$minor" = "$main_version" ]; then
    skipped+=("$minor (.venv's own: the main pytest run)")
    continue
  fi
  python="$(find_python "$minor")"
  if [ -z "$python" ]; then
    skipped+=("$minor (not found)")
    continue
  fi
  venv=".venv-matrix/$minor"
  stamp="$venv/.scalene-lab-setup"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${deps[*]}" ]; then
    printf '\n==> Python %s: environment (%s)\n' "$minor" "$python"
    rm -rf "$venv"
    "$python" -m venv "$venv" && "$venv/bin/python" -m pip install -q --upgrade pip &&
      "$venv/bin/python" -m pip install -q "ipython>=8.10" "${deps[@]}" && echo "${deps[*]}" > "$stamp" || {
      failed+=("$minor (set-up)")
      continue
    }
  fi
  # The kernels the tests start must be this venv's: ipykernel's own
  # kernelspec names sys.executable, unless a "python3" kernelspec installed
  # elsewhere shadows it (checked here): they import the wheel installed there.
  "$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$wheel" || { failed+=("$minor (installing the wheel)"); continue; }
  export_env=(PATH="$root/$venv/bin:$PATH" JUPYTER_DATA_DIR="$root/$venv/share/jupyter")
  kernel_python="$(env "${export_env[@]}" "$venv/bin/python" -c \
    'from jupyter_client.kernelspec import KernelSpecManager as M; print(M().get_kernel_spec("python3").argv[0])')"
  if [ "$(env "${export_env[@]}" "$kernel_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$minor" ]; then
    echo "python matrix: the python3 kernel here is $kernel_python, not Python $minor" >&2
    failed+=("$minor (kernelspec)")
    continue
  fi
  printf '\n==> Python %s: the installed wheel in kernels\n' "$minor"
  if ! env "${export_env[@]}" "$venv/bin/python" dev/install_check.py --kernels-only; then
    failed+=("$minor (install check)")
    continue
  fi
  printf '\n==> Python %s: accuracy suite\n' "$minor"
  # The truths are timings of unprofiled runs on a shared machine (their own
  # spread is 1.5-3 points); a version whose run fails gets the failed tests
  # once more, and says so.
  cache=(-o "cache_dir=$root/$venv/.pytest_cache")
  if env "${export_env[@]}" "$venv/bin/python" -m pytest -q "${cache[@]}" \
    kernel-bridge/tests/test_truth.py kernel-bridge/tests/test_stacks.py; then
    ran+=("$minor")
  elif echo "python matrix: $minor: running the failed tests once more" &&
    env "${export_env[@]}" "$venv/bin/python" -m pytest -q "${cache[@]}" --last-failed \
      kernel-bridge/tests/test_truth.py kernel-bridge/tests/test_stacks.py; then
    ran+=("$minor (passed on the second try)")
  else
    failed+=("$minor")
  fi
done

echo
echo "python matrix: ran ${ran[*]:-none}; failed ${failed[*]:-none}"
for reason in "${skipped[@]}"; do echo "python matrix: skipped $reason"; done
[ ${#failed[@]} -eq 0 ]
