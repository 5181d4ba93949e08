#!/usr/bin/env bash
# Builds the allocator library for aarch64 with the wheel's own recipe (the
# sources and flags hatch_build.py takes from native/binding.gyp, plus
# -Werror) using Debian's cross compiler (dev/setup.sh --browser installs
# it), and checks what an aarch64 manylinux wheel needs: the library links
# only libc and libm, and its glibc symbol versions give the tag. There is
# no aarch64 machine here, so this shows that the aarch64 branches (the
# interrupted program counter, the GOT patcher's relocation types) compile
# and link cleanly, not that they run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -m)" != "x86_64" ]; then
  echo "cross check: skipped (this host is $(uname -m); its own wheel build compiles the library natively)"
  exit 0
fi
compiler="$(command -v aarch64-linux-gnu-g++ || true)"
if [ -z "$compiler" ]; then
  echo "cross check: aarch64-linux-gnu-g++ not found (Debian's g++-aarch64-linux-gnu; bash dev/setup.sh --browser installs it)" >&2
  exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
.venv/bin/python - "$compiler" "$out" <<'PY'
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, ".")
import hatch_build

compiler, out = sys.argv[1], Path(sys.argv[2])
try:
    library = hatch_build.build_native(out, compiler=compiler, extra_flags=["-Werror"])
except hatch_build.BuildFailure as failure:  # it has printed the compiler's output
    sys.exit(f"cross check: the aarch64 build failed: {failure}")
header = subprocess.run(["readelf", "--file-header", str(library)], capture_output=True, text=True, check=True).stdout
if "AArch64" not in header:
    sys.exit("cross check: the library built is not an AArch64 ELF file")
dynamic = subprocess.run(["readelf", "--dynamic", "--wide", str(library)], capture_output=True, text=True, check=True).stdout
needed = sorted(line.split("[")[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line)
if needed != ["libc.so.6", "libm.so.6"]:
    sys.exit(f"cross check: the aarch64 library needs {', '.join(needed)}; a manylinux wheel may need only libc.so.6 and libm.so.6")
tag = hatch_build.manylinux_tag(library, "aarch64")
print(f"cross check: aarch64 library built with -Werror ({library.stat().st_size // 1024} KiB), needs {' and '.join(needed)}; wheel tag py3-none-{tag}")
PY
