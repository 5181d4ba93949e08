"""What every provider does: stream an answer, list models, explain failures."""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from typing import Any

from ..config import KEY_VARIABLES, LABELS, Settings
from ..errors import NO_CLIENT, NO_KEY, NO_MODEL, ProviderError
from ..prompt import Prompt

INSTALL_HINT = "pip install 'scalene-lab[ai]'"


def client_installed(module: str) -> bool:
    """Whether a client module (dotted: ``google.genai`` is not ``google``, a
    namespace other packages fill too) can be imported."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing or broken
        return False


class Provider(ABC):
    """One provider, configured by a request's settings."""

    name: str = ""
    # The official client's top-level module (for the "not installed" message).
    client_module: str = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = settings.model_for(self.name)

    @property
    def label(self) -> str:
        """The provider's name as users know it."""
        return LABELS[self.name]

    def check(self) -> None:
        """Raise the error a request would meet before sending anything:
        no client library, no credentials, no model."""
        if not client_installed(self.client_module):
            raise ProviderError(NO_CLIENT, f"{self.label} needs its client library, which is not installed: {INSTALL_HINT}")
        if self.needs_key() and self.settings.key_source(self.name) is None:
            raise ProviderError(NO_KEY, self.missing_key_message())
        if not self.model:
            raise ProviderError(NO_MODEL, f"No {self.label} model is chosen: set one in Settings > Scalene Lab AI (model)")

    def needs_key(self) -> bool:
        """Whether the provider cannot work without credentials."""
        return bool(KEY_VARIABLES[self.name])

    def missing_key_message(self) -> str:
        """Which variable or setting would supply the key."""
        variables = " or ".join(KEY_VARIABLES[self.name])
        return f"No {self.label} key: set {variables} in the Jupyter server's environment, or the key in Settings > Scalene Lab AI"

    def key(self) -> str | None:
        """The key from the user's settings, or None to let the client read its own variables."""
        return self.settings.key_setting(self.name) or None

    @abstractmethod
    def client(self) -> Any:
        """A new client of the provider's official library for one request."""

    @abstractmethod
    def translate(self, error: Exception) -> ProviderError:
        """The client library's exception as the user's error."""

    def open_client(self) -> Any:
        """:meth:`client`, with the library's own checks (a malformed URL,
        missing arguments) failing as the user's error, like any request."""
        try:
            return self.client()
        except Exception as error:
            raise self.translate(error) from None

    @abstractmethod
    def stream(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """The answer's text as it arrives (ProviderError on failure)."""

    @abstractmethod
    async def models(self) -> list[str]:
        """The models this account can use (ProviderError on failure)."""

    def not_found(self) -> ProviderError:
        """The model named does not exist here."""
        return ProviderError(NO_MODEL, f"{self.label} has no model {self.model!r} (or this key cannot use it): pick one in Settings > Scalene Lab AI")
