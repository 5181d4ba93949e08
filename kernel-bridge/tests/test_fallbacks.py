"""The static fallbacks (text/html, text/plain) and the schema, on real profiles."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from typing import Any

import pytest
from kernel_session import KernelSession
from scalene_lab.display import bundle
from scalene_lab.schema import validation_errors

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "lab-extension", "test-fixtures")


def fixture(name: str) -> dict[str, Any]:
    with open(os.path.join(FIXTURES, f"{name}.json")) as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@pytest.mark.parametrize("name", ["mixed", "error", "markup", "scrun", "memory", "gpu"])
def test_saved_profiles_validate(name: str) -> None:
    assert validation_errors(fixture(name)) == []


def test_schema_rejects_a_broken_profile() -> None:
    profile = fixture("mixed")
    key = profile["notebook"]["profiled_source"]
    profile["files"][key]["lines"][0]["n_cpu_percent_python"] = 140
    del profile["elapsed_time_sec"]
    problems = validation_errors(profile)
    assert any("elapsed_time_sec" in p for p in problems)
    assert any("140" in p for p in problems)


def test_live_profile_validates(kernel: KernelSession) -> None:
    outcome = kernel.run("%%scalene\nimport time\nx = sum(range(1_000_000))\ntime.sleep(0.05)")
    assert validation_errors(outcome.profile) == []


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set = set()
        self.attributes: set = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_html_is_static_and_escaped() -> None:
    html = bundle(fixture("markup"))["text/html"]
    parsed = _Tags()
    parsed.feed(html)
    assert parsed.tags <= {"div", "p", "strong", "span", "table", "thead", "tbody", "tr", "th", "td", "code", "svg", "rect"}
    assert not any(name.startswith("on") or name in ("href", "src") for name in parsed.attributes)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<svg" in html


def test_text_table_is_aligned_and_lists_every_cell_line() -> None:
    profile = fixture("mixed")
    text = bundle(profile)["text/plain"]
    key = profile["notebook"]["profiled_source"]
    for record in profile["files"][key]["lines"]:
        assert record["line"].rstrip("\n") in text
    table_rows = [line for line in text.splitlines() if "│" in line]
    assert len({row.index("│") for row in table_rows}) == 1
