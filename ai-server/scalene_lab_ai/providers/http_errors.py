"""Turning an HTTP failure into the error the user reads.

The OpenAI and Anthropic clients raise the same shapes (a status error with
the response, a timeout, a connection error); Gemini's and Ollama's carry a
status code; Bedrock's is a botocore ClientError. Each provider reduces its
own to (status, provider's message, headers) and calls :func:`from_status`.
"""

from __future__ import annotations

from typing import Any

from ..errors import AUTH, PROVIDER, RATE_LIMIT, TIMEOUT, UNREACHABLE, ProviderError, retry_after_seconds
from .base import Provider


def from_status(label: str, status: int, detail: str, headers: Any = None, model_missing: ProviderError | None = None) -> ProviderError:
    """The error for an HTTP status from ``label``'s API."""
    detail = detail.strip().rstrip(".")
    said = f" ({detail})" if detail else ""
    if status in (401, 403):
        return ProviderError(AUTH, f"{label} refused the key{said}: check the key in Settings > Scalene Lab AI or the server's environment")
    if status == 429:
        wait = retry_after_seconds(headers)
        when = f"retry in {wait:g} s" if wait is not None else "retry in a little while"
        return ProviderError(RATE_LIMIT, f"{label} is rate limiting this key{said}: {when}", retry_after=wait)
    if status == 404 and model_missing is not None:
        return model_missing
    if status in (408, 504):
        return ProviderError(TIMEOUT, f"{label} timed out{said}: try again, or raise the timeout in Settings > Scalene Lab AI")
    return ProviderError(PROVIDER, f"{label} answered with an error (HTTP {status}){said}")


def timed_out(label: str, seconds: float) -> ProviderError:
    """No answer within the timeout."""
    return ProviderError(TIMEOUT, f"{label} did not answer within {seconds:g} s: try again, or raise the timeout in Settings > Scalene Lab AI")


def unreachable(label: str, where: str) -> ProviderError:
    """No connection at all."""
    return ProviderError(UNREACHABLE, f"Cannot reach {label}{' at ' + where if where else ''}: check the endpoint setting and that the server can reach it")


def openai_style(error: Exception, label: str, seconds: float, where: str, model_missing: ProviderError) -> ProviderError:
    """The OpenAI and Anthropic clients' exceptions (they share a design)."""
    name = type(error).__name__
    if name == "APITimeoutError":
        return timed_out(label, seconds)
    if name == "APIConnectionError":
        return unreachable(label, where)
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        detail = getattr(error, "api_message", None) or _body_message(getattr(error, "body", None)) or ""
        response = getattr(error, "response", None)
        return from_status(label, status, str(detail), getattr(response, "headers", None), model_missing)
    return ProviderError(PROVIDER, f"{label}: {error}")


def _body_message(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return ""


async def listed_ids(provider: Provider) -> list[str]:
    """The model ids an OpenAI-style client's ``models.list()`` pages through (the client is closed after)."""
    client = provider.open_client()
    try:
        return sorted([model.id async for model in client.models.list()])
    except Exception as error:
        raise provider.translate(error) from None
    finally:
        await client.close()
