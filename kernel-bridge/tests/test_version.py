"""One version source: lab-extension/package.json. The Python package reads it
at build time (hatch-nodejs-version); the other npm packages of the workspace
and the built lab extension must say the same."""

from __future__ import annotations

import json
from pathlib import Path

import scalene_lab

ROOT = Path(__file__).resolve().parents[2]


def _version(path: Path) -> str:
    return str(json.loads(path.read_text())["version"])


def test_every_package_has_the_lab_extensions_version() -> None:
    source = _version(ROOT / "lab-extension" / "package.json")
    for manifest in ("package.json", "native/package.json", "ui-tests/package.json"):
        assert _version(ROOT / manifest) == source, manifest
    # An editable install reads the version when it is installed: a stale
    # one (package.json bumped since) shows up here.
    assert scalene_lab.__version__ == source
    built = ROOT / "kernel-bridge" / "scalene_lab" / "labextension" / "package.json"
    if built.exists():
        assert _version(built) == source
