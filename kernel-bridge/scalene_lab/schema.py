"""Validation against ``schema/profile.schema.json`` (the shared contract)."""

from __future__ import annotations

import json
import os
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
# Installed wheels carry a copy inside the package; a source checkout reads
# the repository's schema/ folder directly.
_CANDIDATES = (
    os.path.join(_HERE, "profile.schema.json"),
    os.path.join(_HERE, os.pardir, os.pardir, "schema", "profile.schema.json"),
)


def load_schema() -> dict[str, Any]:
    """The profile JSON Schema."""
    for path in _CANDIDATES:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                schema: dict[str, Any] = json.load(handle)
                return schema
    raise FileNotFoundError("profile.schema.json is missing from this installation")


def validation_errors(profile: Any) -> list[str]:
    """Human-readable schema violations of ``profile``; empty when it is valid."""
    try:
        import jsonschema
    except ImportError:  # a development dependency, not a runtime one
        return ["cannot validate: install jsonschema (pip install jsonschema)"]
    validator = jsonschema.Draft202012Validator(load_schema())
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}" for error in validator.iter_errors(profile)]
