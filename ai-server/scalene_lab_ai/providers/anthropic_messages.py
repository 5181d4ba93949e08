"""Anthropic's Messages API through the official ``anthropic`` client (which
reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ..errors import REFUSAL, ProviderError
from ..prompt import Prompt
from .base import Provider
from .http_errors import listed_ids, openai_style


class AnthropicMessages(Provider):
    """api.anthropic.com (or ANTHROPIC_BASE_URL, or the base URL setting)."""

    name = "anthropic"
    client_module = "anthropic"

    def client(self) -> Any:
        """A new async client for this request."""
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=self.key(), base_url=self.settings.anthropic_base_url or None, timeout=self.settings.timeout_seconds, max_retries=0
        )

    async def stream(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """Messages, streamed (server-sent events); a refusal ends it with REFUSAL."""
        client = self.open_client()
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.settings.max_tokens,
            "system": prompt.system,
            "messages": [{"role": "user", "content": prompt.user}],
            "stream": True,
        }
        if self.settings.temperature is not None:
            request["temperature"] = min(1.0, self.settings.temperature)  # Anthropic's range is 0-1
        try:
            events = await client.messages.create(**request)
            async for event in events:
                if event.type == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                    yield event.delta.text
                elif event.type == "message_delta" and getattr(event.delta, "stop_reason", None) == "refusal":
                    raise ProviderError(REFUSAL, f"{self.label} declined to answer this request")
        except ProviderError:
            raise
        except Exception as error:
            raise self.translate(error) from None
        finally:
            await client.close()

    async def models(self) -> list[str]:
        """GET /v1/models."""
        return await listed_ids(self)

    def translate(self, error: Exception) -> ProviderError:
        """The client's exception as the user's error."""
        where = self.settings.anthropic_base_url or self.settings.env("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
        return openai_style(error, self.label, self.settings.timeout_seconds, where, self.not_found())
