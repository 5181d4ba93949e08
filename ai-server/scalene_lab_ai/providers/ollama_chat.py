"""Ollama's chat API through the official ``ollama`` client (which reads
OLLAMA_HOST itself; by default an Ollama next to the Jupyter server,
localhost:11434). No key: whoever reaches the server may use it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ..errors import ProviderError
from ..prompt import Prompt
from .base import Provider
from .http_errors import from_status, timed_out, unreachable


class OllamaChat(Provider):
    """An Ollama server (the host setting, OLLAMA_HOST, or localhost)."""

    name = "ollama"
    client_module = "ollama"

    def client(self) -> Any:
        """A new async client for this request."""
        import ollama

        return ollama.AsyncClient(host=self.settings.ollama_host or None, timeout=self.settings.timeout_seconds)

    def where(self) -> str:
        """The host, for a connection error's message."""
        return self.settings.ollama_host or self.settings.env("OLLAMA_HOST") or "http://localhost:11434"

    async def stream(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """POST /api/chat, streamed (one JSON object a line)."""
        client = self.open_client()
        options: dict[str, Any] = {"num_predict": self.settings.max_tokens}
        if self.settings.temperature is not None:
            options["temperature"] = self.settings.temperature
        messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
        try:
            async for part in await client.chat(model=self.model, messages=messages, stream=True, options=options):
                text = part.message.content if part.message is not None else None
                if text:
                    yield text
        except Exception as error:
            raise self.translate(error) from None
        finally:
            await client._client.aclose()  # the client has no public close in this version

    async def models(self) -> list[str]:
        """GET /api/tags: the models pulled onto that server."""
        client = self.open_client()
        try:
            listed = await client.list()
            return sorted(str(model.model) for model in listed.models if model.model)
        except Exception as error:
            raise self.translate(error) from None
        finally:
            await client._client.aclose()

    def translate(self, error: Exception) -> ProviderError:
        """The client's exception as the user's error."""
        status = getattr(error, "status_code", None)
        if type(error).__name__ == "ResponseError" and isinstance(status, int):
            return from_status(self.label, status, str(getattr(error, "error", "")), None, self.not_found())
        if isinstance(error, ConnectionError) or "Connect" in type(error).__name__:  # streamed: httpx's own ConnectError
            return unreachable(self.label, self.where())
        if "Timeout" in type(error).__name__:
            return timed_out(self.label, self.settings.timeout_seconds)
        return ProviderError("provider", f"{self.label}: {error}")

    def not_found(self) -> ProviderError:
        """Ollama serves only the models pulled onto it."""
        return ProviderError("no_model", f"Ollama at {self.where()} has no model {self.model!r}: pull it there (ollama pull {self.model}) or pick another")
