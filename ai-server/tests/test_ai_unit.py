"""The extension's parts without a server: settings over the environment, the
default provider, the prompt, the answer's code and diff, scrubbing, and a
missing client library."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from scalene_lab_ai.answer import parse_answer
from scalene_lab_ai.config import Settings
from scalene_lab_ai.errors import ProviderError, scrub
from scalene_lab_ai.prompt import build_prompt
from scalene_lab_ai.providers import provider_for

CELL = "%%scalene --memory\nxs = []\nfor i in range(10):\n    xs.append(i * i)\n"


def _settings(data: dict[str, Any] | None = None, **environ: str) -> Settings:
    return Settings.from_json(data or {}, environ=environ)


def test_the_only_configured_provider_is_the_default_and_settings_come_first() -> None:
    assert _settings(OPENAI_API_KEY="sk-1").chosen_provider() == "openai"
    assert _settings(ANTHROPIC_API_KEY="a").chosen_provider() == "anthropic"
    assert _settings(GEMINI_API_KEY="g").key_source("gemini") == "GEMINI_API_KEY"
    assert _settings(GOOGLE_API_KEY="g", GEMINI_API_KEY="h").key_source("gemini") == "GOOGLE_API_KEY"  # google-genai's order
    assert _settings(AZURE_OPENAI_API_KEY="z").key_source("azure") is None  # no endpoint: not configured
    assert _settings(AZURE_OPENAI_API_KEY="z", AZURE_OPENAI_ENDPOINT="https://r.openai.azure.com").chosen_provider() == "azure"
    assert _settings(AWS_BEARER_TOKEN_BEDROCK="t").chosen_provider() == "bedrock"
    assert _settings(OLLAMA_HOST="http://gpu-box:11434").chosen_provider() == "ollama"
    assert _settings().chosen_provider() is None
    both = _settings({"anthropicApiKey": "from-settings"}, OPENAI_API_KEY="sk-1")
    assert both.chosen_provider() == "openai"  # auto: the first configured, in the documented order
    assert _settings({"provider": "anthropic", "anthropicApiKey": "k"}, OPENAI_API_KEY="sk-1").chosen_provider() == "anthropic"
    with pytest.raises(ProviderError, match="No AI provider is configured: set OPENAI_API_KEY"):
        provider_for(_settings())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"provider": "gpt"}, "unknown AI provider 'gpt'"),
        ({"maxTokens": "many"}, "maxTokens has a wrong value"),
        ({"temperature": 3}, "temperature has a wrong value"),
        ({"timeoutSeconds": 0}, "timeoutSeconds has a wrong value"),
        ({"openaiApiKey": 5}, "openaiApiKey has a wrong value"),
    ],
)
def test_wrong_settings_are_bad_requests(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderError, match=message) as raised:
        Settings.from_json(data, environ={})
    assert raised.value.kind == "bad_request"


def test_the_prompt_numbers_the_code_and_carries_the_profile() -> None:
    prompt = build_prompt(
        {
            "target": {"kind": "function", "first": 2, "last": 4, "name": "build"},
            "cell": {"key": "[5]", "source": CELL},
            "context": [{"key": "[2]", "source": "def square(x):\n    return x * x\n"}, {"key": "[3]", "source": "   "}],
            "imports": ["import math"],
            "lines": [
                {"lineno": 4, "n_cpu_percent_python": 61.25, "n_malloc_mb": 12.5, "n_gpu_percent": 0},
                {"lineno": 2, "n_cpu_percent_python": 0.01},  # nothing worth a row
            ],
            "profile": {"elapsed_time_sec": 1.5},
        }
    )
    assert prompt.cell_source == CELL
    assert "Optimize the function build (lines 2-4)" in prompt.user
    assert "   1 | %%scalene --memory\n   2 | xs = []" in prompt.user
    assert "Code it calls, from [2]:\n```python\ndef square(x):" in prompt.user and "from [3]" not in prompt.user
    assert "Imports in use: import math" in prompt.user
    assert "Profile of one run (1.500 s)" in prompt.user
    assert "   4 | 61.2 |  |  | 12.5 |  |  |  | " in prompt.user and "   2 |" not in prompt.user.split("Profile of one run")[1]
    assert "```python code block" in prompt.system


@pytest.mark.parametrize(
    "request_body",
    [None, {"target": {}, "cell": {"source": "x"}}, {"target": {"kind": "line", "first": 3, "last": 2}, "cell": {"source": "x"}}],
)
def test_malformed_requests_are_bad_requests(request_body: Any) -> None:
    with pytest.raises(ProviderError) as raised:
        build_prompt(request_body)
    assert raised.value.kind == "bad_request"


def test_the_answer_keeps_the_magic_line_and_takes_the_whole_cell_block() -> None:
    text = "Use a comprehension.\n\n```python\nxs = [i * i for i in range(10)]\n```\n\nFor example `x` ```py\nx\n```"
    proposal = parse_answer(text, CELL)
    assert proposal.code == "%%scalene --memory\nxs = [i * i for i in range(10)]\n"
    assert proposal.explanation.startswith("Use a comprehension.")
    assert proposal.diff.startswith("--- cell\n+++ proposal\n") and "+xs = [i * i for i in range(10)]\n" in proposal.diff
    again = parse_answer("```python\n%%scalene --memory\nxs = list(map(lambda i: i * i, range(10)))\n```", CELL)
    assert again.code == "%%scalene --memory\nxs = list(map(lambda i: i * i, range(10)))\n"  # one magic line, not two
    with pytest.raises(ProviderError, match="The answer has no code to apply: It is fine as it is.") as raised:
        parse_answer("It is fine as it is.", CELL)
    assert raised.value.kind == "no_code"


def test_a_shell_block_never_swallows_the_prose_after_it() -> None:
    text = "Install it:\n```bash\npip install numba\n```\nThen the loop compiles, and a long explanation follows here.\n```python\nxs = fast()\n```"
    proposal = parse_answer(text, CELL)
    assert proposal.code == "%%scalene --memory\nxs = fast()\n"
    assert proposal.explanation == "Install it:\n```bash\npip install numba\n```\nThen the loop compiles, and a long explanation follows here."


def test_keys_are_scrubbed_longest_first() -> None:
    assert scrub("bad key sk-abcdef and sk-abcdef-long", ["sk-abcdef", "sk-abcdef-long"]) == "bad key *** and ***"
    settings = _settings({"openaiApiKey": "sk-settings-1234"}, ANTHROPIC_API_KEY="sk-ant-env-5678", AWS_SECRET_ACCESS_KEY="aws/secret/9")
    assert set(settings.secrets()) >= {"sk-settings-1234", "sk-ant-env-5678", "aws/secret/9"}


def test_a_missing_client_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "anthropic" else real(name, *a))
    provider = provider_for(_settings({"provider": "anthropic"}, ANTHROPIC_API_KEY="k"))
    with pytest.raises(ProviderError, match=r"Anthropic needs its client library, which is not installed: pip install 'scalene-lab\[ai\]'") as raised:
        provider.check()
    assert raised.value.kind == "no_client"
