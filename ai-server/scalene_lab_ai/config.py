"""Which provider, which model, and where each one's key and endpoint come from.

Settings first (the user's JupyterLab settings, sent with each request), then
the environment variables each provider's official client reads, so a proxy
or a local server works without code changes:

| provider | key | endpoint |
| --- | --- | --- |
| openai | OPENAI_API_KEY | OPENAI_BASE_URL |
| anthropic | ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) | ANTHROPIC_BASE_URL |
| gemini | GEMINI_API_KEY or GOOGLE_API_KEY | GOOGLE_GEMINI_BASE_URL |
| azure | AZURE_OPENAI_API_KEY | AZURE_OPENAI_ENDPOINT (+ OPENAI_API_VERSION) |
| bedrock | AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_BEARER_TOKEN_BEDROCK, a profile | AWS_DEFAULT_REGION, AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME |
| ollama | none | OLLAMA_HOST |
| openai-compatible | its key setting (optional) | its base URL setting |

A key from the environment stays on the server: what the browser learns is
only which variable supplies it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import BAD_REQUEST, ProviderError

# In the order "auto" tries them: with only one provider configured (say only
# an OpenAI key), that one is the default.
PROVIDERS = ("openai", "anthropic", "gemini", "azure", "bedrock", "ollama", "openai-compatible")

LABELS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google Gemini",
    "azure": "Azure OpenAI",
    "bedrock": "Amazon Bedrock",
    "ollama": "Ollama",
    "openai-compatible": "OpenAI-compatible endpoint",
}

# Used when the settings name no model; each is one the provider serves to
# any account (Azure has no default: a deployment is the user's own name).
DEFAULT_MODELS = {
    "openai": "gpt-4o",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "azure": "",
    "bedrock": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "ollama": "llama3.2",
    "openai-compatible": "",
}

# Environment variables that hold each provider's key, in the client's order.
KEY_VARIABLES = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
    "gemini": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),  # google-genai prefers GOOGLE_API_KEY
    "azure": ("AZURE_OPENAI_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID",),
    "ollama": (),
    "openai-compatible": (),
}


@dataclass
class Settings:
    """The ``scalene-lab:ai`` settings a request carries (camelCase there)."""

    provider: str = "auto"
    model: str = ""
    max_tokens: int = 4096
    temperature: float | None = None
    timeout_seconds: float = 120.0
    openai_api_key: str = ""
    openai_base_url: str = ""
    anthropic_api_key: str = ""
    anthropic_base_url: str = ""
    gemini_api_key: str = ""
    gemini_base_url: str = ""
    azure_api_key: str = ""
    azure_endpoint: str = ""
    azure_api_version: str = ""
    azure_deployment: str = ""
    aws_region: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    aws_session_token: str = ""
    bedrock_endpoint_url: str = ""
    ollama_host: str = ""
    compatible_base_url: str = ""
    compatible_api_key: str = ""
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)

    @classmethod
    def from_json(cls, data: Any, environ: dict[str, str] | None = None) -> Settings:
        """Read the settings object (BAD_REQUEST on a wrong type); unknown keys are ignored."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProviderError(BAD_REQUEST, "the AI settings must be an object")
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name == "environ":
                continue
            camel = _camel(item.name)
            if camel not in data or data[camel] is None:
                continue
            value = data[camel]
            default = getattr(cls, item.name, None)
            if item.name == "temperature":
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 2
            elif isinstance(default, bool) or default is None:
                ok = False
            elif isinstance(default, (int, float)):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ProviderError(BAD_REQUEST, f"the AI setting {camel} has a wrong value: {value!r}")
            values[item.name] = value.strip() if isinstance(value, str) else value
        settings = cls(**values)
        if environ is not None:
            settings.environ = environ
        if settings.provider != "auto" and settings.provider not in PROVIDERS:
            raise ProviderError(BAD_REQUEST, f"unknown AI provider {settings.provider!r} (one of: auto, {', '.join(PROVIDERS)})")
        return settings

    def env(self, *names: str) -> str:
        """The first of these environment variables that is set, else ''."""
        for name in names:
            value = self.environ.get(name, "").strip()
            if value:
                return value
        return ""

    def key_source(self, provider: str) -> str | None:
        """Where the provider's credentials come from ("settings" or the
        variable's name), or None when it has none (for Ollama: whether it
        was asked for by a host setting or OLLAMA_HOST)."""
        if provider == "ollama":
            return "settings" if self.ollama_host else ("OLLAMA_HOST" if self.env("OLLAMA_HOST") else None)
        if provider == "openai-compatible":
            return "settings" if self.compatible_base_url else None
        if provider == "bedrock":
            if self.aws_access_key_id and self.aws_secret_access_key:
                return "settings"
            if self.env("AWS_ACCESS_KEY_ID") and self.env("AWS_SECRET_ACCESS_KEY"):
                return "AWS_ACCESS_KEY_ID"
            for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE"):
                if self.env(name):
                    return name
            return None
        if provider == "azure" and not (self.azure_endpoint or self.env("AZURE_OPENAI_ENDPOINT")):
            return None  # a key is no use without the resource it belongs to
        if self.key_setting(provider):
            return "settings"
        for name in KEY_VARIABLES[provider]:
            if self.env(name):
                return name
        return None

    def key_setting(self, provider: str) -> str:
        """The key the user's settings hold for ``provider`` ('' if none)."""
        return {
            "openai": self.openai_api_key,
            "anthropic": self.anthropic_api_key,
            "gemini": self.gemini_api_key,
            "azure": self.azure_api_key,
            "bedrock": self.aws_secret_access_key,
            "openai-compatible": self.compatible_api_key,
        }.get(provider, "")

    def chosen_provider(self) -> str | None:
        """The provider to use: the setting, or the first one configured."""
        if self.provider != "auto":
            return self.provider
        for name in PROVIDERS:
            if self.key_source(name) is not None:
                return name
        return None

    def model_for(self, provider: str) -> str:
        """The model setting, or the provider's default (Azure: the deployment)."""
        if self.model:
            return self.model
        if provider == "azure":
            return self.azure_deployment
        return DEFAULT_MODELS[provider]

    def secrets(self) -> list[str]:
        """Every secret this request could use, for scrubbing messages."""
        names = [name for variables in KEY_VARIABLES.values() for name in variables if name != "AWS_ACCESS_KEY_ID"]
        names += ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AZURE_OPENAI_AD_TOKEN", "OLLAMA_API_KEY"]
        from_settings = [
            self.openai_api_key,
            self.anthropic_api_key,
            self.gemini_api_key,
            self.azure_api_key,
            self.aws_secret_access_key,
            self.aws_session_token,
            self.compatible_api_key,
        ]
        return [s for s in from_settings + [self.env(name) for name in names] if s]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
