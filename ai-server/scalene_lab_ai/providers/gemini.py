"""Google's Gemini API through the official ``google-genai`` client (which
reads GOOGLE_API_KEY or GEMINI_API_KEY, and GOOGLE_GEMINI_BASE_URL, itself)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ..errors import REFUSAL, ProviderError
from ..prompt import Prompt
from .base import Provider
from .http_errors import from_status, timed_out, unreachable

# Finish reasons that mean the model would not answer.
BLOCKED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}


class Gemini(Provider):
    """generativelanguage.googleapis.com (or the base URL setting or variable)."""

    name = "gemini"
    client_module = "google.genai"

    def client(self) -> Any:
        """A new client for this request (its ``aio`` side is used)."""
        from google import genai
        from google.genai import types

        options = types.HttpOptions(base_url=self.settings.gemini_base_url or None, timeout=int(self.settings.timeout_seconds * 1000))
        return genai.Client(api_key=self.key(), http_options=options)

    async def stream(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """streamGenerateContent (server-sent events); a block ends it with REFUSAL."""
        client = self.open_client()
        from google.genai import types  # importable once the client is built

        config = types.GenerateContentConfig(
            system_instruction=prompt.system, max_output_tokens=self.settings.max_tokens, temperature=self.settings.temperature
        )
        try:
            chunks = await client.aio.models.generate_content_stream(model=self.model, contents=prompt.user, config=config)
            async for chunk in chunks:
                feedback = getattr(chunk, "prompt_feedback", None)
                if feedback is not None and getattr(feedback, "block_reason", None):
                    raise ProviderError(REFUSAL, f"{self.label} blocked the request ({_name(feedback.block_reason)})")
                for candidate in chunk.candidates or []:
                    for part in getattr(candidate.content, "parts", None) or []:
                        if getattr(part, "text", None) and not getattr(part, "thought", False):
                            yield part.text
                    reason = _name(getattr(candidate, "finish_reason", None))
                    if reason in BLOCKED:
                        raise ProviderError(REFUSAL, f"{self.label} stopped the answer ({reason})")
        except ProviderError:
            raise
        except Exception as error:
            raise self.translate(error) from None
        finally:
            await client.aio.aclose()

    async def models(self) -> list[str]:
        """GET /v1beta/models: the ones that generate content."""
        client = self.open_client()
        try:
            pager = await client.aio.models.list()
            names = []
            async for model in pager:
                actions = getattr(model, "supported_actions", None) or []
                if not actions or "generateContent" in actions:
                    names.append(str(model.name).removeprefix("models/"))
            return sorted(names)
        except Exception as error:
            raise self.translate(error) from None
        finally:
            await client.aio.aclose()

    def translate(self, error: Exception) -> ProviderError:
        """The client's exception as the user's error."""
        code = getattr(error, "code", None)
        if isinstance(code, int) and type(error).__module__.startswith("google.genai"):
            detail = getattr(error, "message", None) or ""
            if code == 400 and "API key" in str(detail):
                code = 401  # Gemini answers a wrong key with 400 INVALID_ARGUMENT
            return from_status(self.label, code, str(detail), getattr(getattr(error, "response", None), "headers", None), self.not_found())
        name = type(error).__name__
        if "Timeout" in name:
            return timed_out(self.label, self.settings.timeout_seconds)
        if "Connect" in name:
            return unreachable(self.label, self.settings.gemini_base_url or self.settings.env("GOOGLE_GEMINI_BASE_URL"))
        return ProviderError("provider", f"{self.label}: {error}")


def _name(value: Any) -> str:
    """An enum member's name (the client gives enums, or strings for new values)."""
    return str(getattr(value, "value", value) or "")
