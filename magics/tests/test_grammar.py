"""The option grammar, without a kernel."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from scalene_lab_magics.grammar import build_parser, parse_options, split_statement, tokenize

PARSER = build_parser("%scrun")


def test_statement_follows_the_options_verbatim() -> None:
    tokens, statement = split_statement(PARSER, "--cpu-sampling-rate 0.005 --reduced-profile f(x, '--y')")
    assert tokens == ["--cpu-sampling-rate", "0.005", "--reduced-profile"]
    assert statement == "f(x, '--y')"


def test_double_dash_ends_the_options() -> None:
    assert split_statement(PARSER, "--cli -- -x + 1") == (["--cli"], "-x + 1")


def test_quoted_option_values() -> None:
    tokens, statement = split_statement(PARSER, "--outfile 'my profile.json' run()")
    assert tokens == ["--outfile", "my profile.json"] and statement == "run()"


def test_options_are_converted() -> None:
    options = parse_options(PARSER, ["--profile-only", "a, b", "--cpu-percent-threshold", "5", "--cli"])
    assert options.profile_only == ["a", "b"]
    assert options.cpu_percent_threshold == 5.0
    assert options.view == "cli"
    assert options.argv == ["--profile-only", "a, b", "--cpu-percent-threshold", "5", "--cli"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--cpu-sampling-rate", "0"],
        ["--cpu-sampling-rate", "nan"],
        ["--cpu-sampling-rate", "1e9"],
        ["--bogus"],
        ["--cpu-only=yes"],
        ["--outfile", ""],
        ["--outfile", "  "],
        ["--outfile="],
    ],
)
def test_bad_options_raise_usage_error_with_the_usage_line(argv: list[str]) -> None:
    with pytest.raises(UsageError, match="usage: %scrun"):
        parse_options(PARSER, argv)


def test_gpu_is_on_where_found_unless_cpu_only_or_no_gpu() -> None:
    assert parse_options(PARSER, []).gpu is None and parse_options(PARSER, []).gpu_wanted
    assert not parse_options(PARSER, ["--cpu-only"]).gpu_wanted
    assert parse_options(PARSER, ["--cpu-only", "--gpu"]).gpu_wanted  # asked for by name
    assert parse_options(PARSER, ["--gpu"]).gpu is True
    no_gpu = parse_options(PARSER, ["--no-gpu"])
    assert no_gpu.gpu is False and not no_gpu.gpu_wanted
    with pytest.raises(UsageError, match="not allowed with argument"):
        parse_options(PARSER, ["--gpu", "--no-gpu"])


def test_bad_quoting_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot parse options"):
        tokenize("--outfile 'open")
