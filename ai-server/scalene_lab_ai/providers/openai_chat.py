"""OpenAI, Azure OpenAI and any OpenAI-compatible endpoint: Chat Completions
through the official ``openai`` client (which reads OPENAI_API_KEY,
OPENAI_BASE_URL, AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT and
OPENAI_API_VERSION itself when the settings leave them out)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ..errors import REFUSAL, ProviderError
from ..prompt import Prompt
from .base import Provider
from .http_errors import listed_ids, openai_style

# Azure's GA data-plane version, used when neither the settings nor
# OPENAI_API_VERSION name one.
AZURE_API_VERSION = "2024-10-21"


class OpenAIChat(Provider):
    """api.openai.com (or OPENAI_BASE_URL, or the base URL setting)."""

    name = "openai"
    client_module = "openai"

    def base_url(self) -> str | None:
        """The endpoint the settings name (None: the client's own default)."""
        return self.settings.openai_base_url or None

    def client(self) -> Any:
        """A new async client for this request."""
        import openai

        return openai.AsyncOpenAI(api_key=self.key(), base_url=self.base_url(), timeout=self.settings.timeout_seconds, max_retries=0)

    def where(self) -> str:
        """The endpoint, for a connection error's message."""
        return self.base_url() or self.settings.env("OPENAI_BASE_URL") or "https://api.openai.com/v1"

    def _request(self, prompt: Prompt) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            "stream": True,
            "max_completion_tokens": self.settings.max_tokens,
        }
        if self.settings.temperature is not None:
            request["temperature"] = self.settings.temperature
        return request

    async def stream(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """Chat Completions, streamed; a refusal ends it with REFUSAL."""
        client = self.open_client()
        try:
            chunks = await client.chat.completions.create(**self._request(prompt))
            async for chunk in chunks:
                for choice in chunk.choices or []:
                    delta = choice.delta
                    refusal = getattr(delta, "refusal", None) if delta is not None else None
                    if refusal:
                        raise ProviderError(REFUSAL, f"{self.label} declined: {refusal}")
                    if delta is not None and delta.content:
                        yield delta.content
                    if choice.finish_reason == "content_filter":
                        raise ProviderError(REFUSAL, f"{self.label}'s content filter stopped the answer")
        except ProviderError:
            raise
        except Exception as error:
            raise self.translate(error) from None
        finally:
            await client.close()

    async def models(self) -> list[str]:
        """GET /models."""
        return await listed_ids(self)

    def translate(self, error: Exception) -> ProviderError:
        """The client's exception as the user's error."""
        return openai_style(error, self.label, self.settings.timeout_seconds, self.where(), self.not_found())


class AzureOpenAIChat(OpenAIChat):
    """A deployment on an Azure OpenAI resource (the model setting, or the
    deployment setting, names the deployment)."""

    name = "azure"

    def missing_key_message(self) -> str:
        """Azure needs both the key and the resource's endpoint."""
        return (
            "No Azure OpenAI key or endpoint: set AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT in the Jupyter server's environment, "
            "or the key and endpoint in Settings > Scalene Lab AI"
        )

    def client(self) -> Any:
        """A new async Azure client for this request."""
        import openai

        settings = self.settings
        return openai.AsyncAzureOpenAI(
            api_key=self.key(),
            azure_endpoint=self.where(),  # the setting, else AZURE_OPENAI_ENDPOINT (check() saw one)
            api_version=settings.azure_api_version or settings.env("OPENAI_API_VERSION") or AZURE_API_VERSION,
            azure_deployment=self.model,
            timeout=settings.timeout_seconds,
            max_retries=0,
        )

    def where(self) -> str:
        """The resource's endpoint."""
        return self.settings.azure_endpoint or self.settings.env("AZURE_OPENAI_ENDPOINT")

    def not_found(self) -> ProviderError:
        """A deployment, not a model, is what Azure could not find."""
        return ProviderError(
            "no_model", f"Azure OpenAI has no deployment {self.model!r} on this resource: set the deployment's name in Settings > Scalene Lab AI"
        )


class CompatibleChat(OpenAIChat):
    """Any server speaking OpenAI's Chat Completions at a base URL (vLLM,
    LM Studio, llama.cpp's server, a gateway); its key is optional."""

    name = "openai-compatible"

    def needs_key(self) -> bool:
        """The base URL is what it needs; many such servers take no key."""
        return True  # key_source() answers for the base URL here

    def missing_key_message(self) -> str:
        """The base URL setting is what is missing."""
        return "No base URL for the OpenAI-compatible endpoint: set it in Settings > Scalene Lab AI"

    def base_url(self) -> str | None:
        """The endpoint setting."""
        return self.settings.compatible_base_url or None

    def key(self) -> str | None:
        # The client insists on a key; servers without auth ignore this one.
        return self.settings.compatible_api_key or "unused"

    def where(self) -> str:
        """The endpoint setting."""
        return self.settings.compatible_base_url

    def _request(self, prompt: Prompt) -> dict[str, Any]:
        # Servers that follow the older API know max_tokens only.
        request = super()._request(prompt)
        request["max_tokens"] = request.pop("max_completion_tokens")
        return request
