"""What can go wrong when asking a provider, as one clear sentence each.

Errors are answers, not tracebacks: every failure reaches the proposal panel
as a kind (so the panel can offer the right next step) and a message that
names what to do. A message never carries a key: :func:`scrub` takes every
secret the request used out of any text that came back from a client library
(an exception's text can quote a URL with a key parameter, or a header).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The kinds the panel knows.
NO_PROVIDER = "no_provider"
NO_KEY = "no_key"
NO_CLIENT = "no_client"
AUTH = "auth"
RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
NO_MODEL = "no_model"
REFUSAL = "refusal"
NO_CODE = "no_code"
UNREACHABLE = "unreachable"
PROVIDER = "provider"
BAD_REQUEST = "bad_request"


@dataclass
class ProviderError(Exception):
    """A failure the user can act on."""

    kind: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message

    def as_json(self) -> dict[str, object]:
        """The error line of the streamed answer."""
        line: dict[str, object] = {"type": "error", "kind": self.kind, "message": self.message}
        if self.retry_after is not None:
            line["retry_after"] = self.retry_after
        return line


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced (longest first, so a key that
    contains another is not left half shown)."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def retry_after_seconds(headers: object) -> float | None:
    """The Retry-After (or retry-after-ms) a 429 carried, in seconds."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    milliseconds = get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000.0
        except ValueError:
            pass
    value = get("retry-after")
    if value:
        try:
            return float(value)
        except ValueError:
            return None  # an HTTP date: rare for these APIs; the message says "later"
    return None
