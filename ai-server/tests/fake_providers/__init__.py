"""Loopback fakes of AI providers' HTTP APIs, for testing code that uses their official Python clients offline.

    from fake_providers import serve

    with serve("openai", keys={"sk-test"}) as fake:
        client = openai.OpenAI(api_key="sk-test", base_url=fake.url, max_retries=0)
        fake.answer("Hi there")
        assert client.chat.completions.create(model="gpt-4o-mini", messages=[...]).choices[0].message.content == "Hi there"
        assert fake.last_request.headers["Authorization"] == "Bearer sk-test"

See README.md in this directory for what each fake implements and where its formats come from.
"""

from __future__ import annotations

from typing import Any

from ._core import Answer, Failure, FakeProvider, Hang, Headers, RecordedRequest, Refusal, Reply, Route
from .anthropic_fake import AnthropicFake
from .bedrock_fake import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, BedrockFake
from .gemini_fake import GeminiFake
from .ollama_fake import OllamaFake
from .openai_fake import AzureOpenAIFake, OpenAIFake

PROVIDERS: dict[str, type[FakeProvider]] = {
    "openai": OpenAIFake,
    "azure": AzureOpenAIFake,
    "anthropic": AnthropicFake,
    "gemini": GeminiFake,
    "bedrock": BedrockFake,
    "ollama": OllamaFake,
}


def serve(provider: str, **options: Any) -> FakeProvider:
    """A started fake of `provider` (a key of PROVIDERS); use it as a context manager so it stops afterwards.

    `options` go to the provider's constructor: the common `keys`, `models`, `default_answer`, `chunk_delay`, `port`,
    and each provider's own (OpenAI `base_path`; Azure `deployment_models`, `api_versions`; Anthropic `versions`;
    Bedrock `aws_credentials`, `regions`).
    """
    try:
        cls = PROVIDERS[provider]
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}") from None
    return cls(**options).start()


__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_SECRET_ACCESS_KEY",
    "PROVIDERS",
    "Answer",
    "AnthropicFake",
    "AzureOpenAIFake",
    "BedrockFake",
    "Failure",
    "FakeProvider",
    "GeminiFake",
    "Hang",
    "Headers",
    "OllamaFake",
    "OpenAIFake",
    "RecordedRequest",
    "Refusal",
    "Reply",
    "Route",
    "serve",
]
