"""The server's AI endpoints, behind Jupyter's own authentication and XSRF
check (every one is a POST: the settings, keys included when the user keeps
them there, travel in the body, never in a URL or a log line).

- ``POST /scalene-lab/ai/status``: each provider, whether it is configured
  and by what (a variable's name or "settings", never a key), whether its
  client is installed, and the default provider.
- ``POST /scalene-lab/ai/models``: the models a provider offers this account.
- ``POST /scalene-lab/ai/propose``: the proposal, streamed as JSON lines:
  ``{"type": "delta", "text"}`` as the model writes, ``{"type": "status",
  "message"}`` (a rate-limit wait), then one ``{"type": "proposal",
  "explanation", "code", "diff", "provider", "model"}`` or ``{"type":
  "error", "kind", "message", "retry_after"?}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from tornado.iostream import StreamClosedError

from .answer import parse_answer
from .config import DEFAULT_MODELS, LABELS, PROVIDERS, Settings
from .errors import BAD_REQUEST, PROVIDER, RATE_LIMIT, ProviderError, scrub
from .prompt import Prompt, build_prompt
from .providers import CLASSES, Provider, provider_for
from .providers.base import client_installed

# A 429 that asks for at most this long is waited out once, in the panel's
# sight; a longer wait is the user's call.
RETRY_WAIT_LIMIT = 20.0


class AiHandler(APIHandler):
    """Shared: the JSON body, the settings, errors as answers."""

    def body(self) -> dict[str, Any]:
        """The request's JSON object (BAD_REQUEST if it is not one)."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ProviderError(BAD_REQUEST, "the request body is not JSON") from None
        if not isinstance(data, dict):
            raise ProviderError(BAD_REQUEST, "the request body must be a JSON object")
        return data

    def settings_of(self, data: dict[str, Any]) -> Settings:
        """The request's settings over the server's environment."""
        return Settings.from_json(data.get("settings"))

    def provider_named(self, data: dict[str, Any], settings: Settings) -> Provider:
        """The body's provider and model (a panel's own choice; absent: the
        settings'), BAD_REQUEST if there is no such provider."""
        name, model = data.get("provider"), data.get("model")
        if name is not None and name not in PROVIDERS:
            raise ProviderError(BAD_REQUEST, f"unknown AI provider {name!r}")
        if model is not None and not isinstance(model, str):
            raise ProviderError(BAD_REQUEST, "the model must be text")
        if model:
            settings.model = model.strip()
        return provider_for(settings, name)

    def answer_error(self, error: ProviderError, settings: Settings | None) -> None:
        """An error as a 200 answer the panel shows (HTTP errors are for HTTP's own failures)."""
        error.message = scrub(error.message, settings.secrets() if settings else [])
        self.finish(json.dumps({"error": error.as_json()}))


class StatusHandler(AiHandler):
    """Which providers are usable, and by what."""

    @tornado.web.authenticated
    async def post(self) -> None:
        """Answer the status for the settings in the body."""
        settings = None
        try:
            settings = self.settings_of(self.body())
            providers = []
            for name in PROVIDERS:
                module = CLASSES[name].client_module
                providers.append(
                    {
                        "name": name,
                        "label": LABELS[name],
                        "source": settings.key_source(name),
                        "client_installed": client_installed(module),
                        "default_model": settings.model_for(name) if settings.provider == name else DEFAULT_MODELS[name],
                    }
                )
            self.finish(json.dumps({"providers": providers, "default": settings.chosen_provider()}))
        except ProviderError as error:
            self.answer_error(error, settings)
        except Exception as error:  # a bug here is still an answer, never a traceback page
            self.answer_error(unexpected(error), settings)


class ModelsHandler(AiHandler):
    """The models one provider offers."""

    @tornado.web.authenticated
    async def post(self) -> None:
        """List the models of the body's provider (or the default one)."""
        settings = None
        try:
            data = self.body()
            settings = self.settings_of(data)
            provider = self.provider_named(data, settings)
            provider.model = provider.model or "-"  # listing needs no model
            provider.check()
            models = await provider.models()
            self.finish(json.dumps({"provider": provider.name, "models": models}))
        except ProviderError as error:
            self.answer_error(error, settings)
        except Exception as error:
            self.answer_error(unexpected(error), settings)


class ProposeHandler(AiHandler):
    """One optimization proposal, streamed."""

    @tornado.web.authenticated
    async def post(self) -> None:
        """Stream the answer as JSON lines; the last line is the proposal or the error."""
        self.set_header("Content-Type", "application/x-ndjson; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # a proxy in front must not hold the stream back
        self._task = asyncio.current_task()
        settings = None
        try:
            data = self.body()
            settings = self.settings_of(data)
            prompt = build_prompt(data.get("request"))
            provider = self.provider_named(data, settings)
            provider.check()
            text = await self._stream_with_one_retry(provider, prompt)
            proposal = parse_answer(text, prompt.cell_source)
            await self._send({**proposal.as_json(), "provider": provider.label, "model": provider.model})
        except (StreamClosedError, asyncio.CancelledError):
            return  # the panel was closed: nothing more to say
        except Exception as error:
            failure = error if isinstance(error, ProviderError) else unexpected(error)
            failure.message = scrub(failure.message, settings.secrets() if settings else [])
            try:
                await self._send(failure.as_json())
            except StreamClosedError:
                return
        self.finish()

    def on_connection_close(self) -> None:
        """The panel went away (closed, Stop, Ask again): stop the provider's
        request now rather than at the next line written."""
        task = getattr(self, "_task", None)
        if task is not None and not task.done():
            task.cancel()
        super().on_connection_close()

    async def _stream_with_one_retry(self, provider: Provider, prompt: Prompt) -> str:
        for attempt in (1, 2):
            parts: list[str] = []
            stream = provider.stream(prompt)
            try:
                async for piece in stream:
                    parts.append(piece)
                    await self._send({"type": "delta", "text": piece})
                return "".join(parts)
            except ProviderError as error:
                wait = error.retry_after
                if error.kind != RATE_LIMIT or attempt == 2 or parts or wait is None or wait > RETRY_WAIT_LIMIT:
                    raise
                await self._send({"type": "status", "message": f"{provider.label} is rate limiting this key: retrying in {wait:g} s"})
                await asyncio.sleep(wait)
            finally:
                await stream.aclose()  # a closed panel stops the provider's request too
        raise AssertionError("unreachable")

    async def _send(self, line: dict[str, Any]) -> None:
        self.write(json.dumps(line) + "\n")
        await self.flush()


def unexpected(error: Exception) -> ProviderError:
    """An exception no provider translated (a client's own check, a bug), as an answer."""
    return ProviderError(PROVIDER, f"The request failed: {type(error).__name__}: {error}")


def handlers(base_url: str) -> list[tuple[str, type[AiHandler]]]:
    """The routes under the server's base URL."""
    root = base_url.rstrip("/") + "/scalene-lab/ai"
    return [(root + "/status", StatusHandler), (root + "/models", ModelsHandler), (root + "/propose", ProposeHandler)]
