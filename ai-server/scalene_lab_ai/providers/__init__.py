"""The providers, by the names the settings use."""

from __future__ import annotations

from ..config import PROVIDERS, Settings
from ..errors import NO_PROVIDER, ProviderError
from .anthropic_messages import AnthropicMessages
from .base import Provider
from .bedrock import Bedrock
from .gemini import Gemini
from .ollama_chat import OllamaChat
from .openai_chat import AzureOpenAIChat, CompatibleChat, OpenAIChat

CLASSES: dict[str, type[Provider]] = {
    "openai": OpenAIChat,
    "anthropic": AnthropicMessages,
    "gemini": Gemini,
    "azure": AzureOpenAIChat,
    "bedrock": Bedrock,
    "ollama": OllamaChat,
    "openai-compatible": CompatibleChat,
}
assert tuple(CLASSES) == PROVIDERS


def provider_for(settings: Settings, name: str | None = None) -> Provider:
    """The provider a request uses: ``name``, the setting, or the first one configured."""
    chosen = name or settings.chosen_provider()
    if chosen is None:
        raise ProviderError(
            NO_PROVIDER,
            "No AI provider is configured: set OPENAI_API_KEY (or ANTHROPIC_API_KEY, GEMINI_API_KEY, AZURE_OPENAI_API_KEY with "
            "AZURE_OPENAI_ENDPOINT, AWS credentials, or OLLAMA_HOST) in the Jupyter server's environment, or choose a provider "
            "and its key in Settings > Scalene Lab AI",
        )
    return CLASSES[chosen](settings)


__all__ = ["CLASSES", "Provider", "provider_for"]
