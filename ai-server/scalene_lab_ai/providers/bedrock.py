"""Amazon Bedrock's Converse API through the official ``boto3`` client, which
signs each request (SigV4) and finds credentials and the region the way every
AWS tool does: the settings, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN, a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK), AWS_DEFAULT_REGION
or AWS_REGION, a profile (AWS_PROFILE), and AWS_ENDPOINT_URL_BEDROCK_RUNTIME
for a proxy.

boto3 is synchronous: the stream is read in a worker thread and handed to
the server's event loop chunk by chunk."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator
from typing import Any

from ..errors import NO_KEY, REFUSAL, ProviderError
from ..prompt import Prompt
from .base import Provider
from .http_errors import from_status, timed_out, unreachable

# Converse stop reasons that mean the answer was withheld.
WITHHELD = {"guardrail_intervened", "content_filtered"}
_DONE = object()


class Bedrock(Provider):
    """A Bedrock model (a model id or an inference profile's id or ARN)."""

    name = "bedrock"
    client_module = "boto3"

    def needs_key(self) -> bool:
        """boto3's own chain decides (a default profile, SSO, an instance or
        container role count too); no credentials at all come back as
        NoCredentialsError, translated to the same message."""
        return False

    def missing_key_message(self) -> str:
        """AWS credentials come from several places; name the usual ones."""
        return (
            "No AWS credentials for Amazon Bedrock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_DEFAULT_REGION), "
            "or AWS_PROFILE, in the Jupyter server's environment, or the keys in Settings > Scalene Lab AI"
        )

    def _client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        settings = self.settings
        session = boto3.session.Session(
            aws_access_key_id=settings.aws_access_key_id or None,
            aws_secret_access_key=settings.aws_secret_access_key or None,
            aws_session_token=settings.aws_session_token or None,
            # botocore itself reads AWS_DEFAULT_REGION only; AWS_REGION is what other AWS tools read.
            region_name=settings.aws_region or settings.env("AWS_DEFAULT_REGION", "AWS_REGION") or None,
        )
        config = Config(
            read_timeout=settings.timeout_seconds,
            connect_timeout=min(10.0, settings.timeout_seconds),
            retries={"total_max_attempts": 1, "mode": "standard"},  # no retry: the panel says what happened
        )
        try:
            return session.client(service, endpoint_url=settings.bedrock_endpoint_url or None, config=config)
        except Exception as error:
            raise self.translate(error) from None

    def client(self) -> Any:
        """A runtime client (the control plane's is made where models are listed)."""
        return self._client("bedrock-runtime")

    async def stream(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """ConverseStream (AWS event-stream frames), read in a worker thread."""
        request: dict[str, Any] = {
            "modelId": self.model,
            "system": [{"text": prompt.system}],
            "messages": [{"role": "user", "content": [{"text": prompt.user}]}],
            "inferenceConfig": {"maxTokens": self.settings.max_tokens},
        }
        if self.settings.temperature is not None:
            request["inferenceConfig"]["temperature"] = min(1.0, self.settings.temperature)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                client = self.client()
                events = client.converse_stream(**request)["stream"]
                try:
                    for event in events:
                        if stop.is_set():
                            break
                        delta = event.get("contentBlockDelta", {}).get("delta", {})
                        if delta.get("text"):
                            loop.call_soon_threadsafe(queue.put_nowait, delta["text"])
                        reason = event.get("messageStop", {}).get("stopReason")
                        if reason in WITHHELD:
                            raise ProviderError(REFUSAL, f"{self.label} withheld the answer ({reason})")
                finally:
                    events.close()
            except ProviderError as error:
                loop.call_soon_threadsafe(queue.put_nowait, error)
            except Exception as error:
                loop.call_soon_threadsafe(queue.put_nowait, self.translate(error))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        worker = threading.Thread(target=produce, name="scalene-lab-bedrock", daemon=True)
        worker.start()
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, ProviderError):
                    raise item
                yield item
        finally:
            stop.set()  # the reader stopped early (the browser went away): the worker closes the stream

    async def models(self) -> list[str]:
        """ListFoundationModels (text output) on the control-plane endpoint."""

        def listing() -> list[str]:
            client = self._client("bedrock")
            try:
                summaries = client.list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
            except Exception as error:
                raise self.translate(error) from None
            return sorted(str(m["modelId"]) for m in summaries if m.get("modelId"))

        return await asyncio.to_thread(listing)

    def translate(self, error: Exception) -> ProviderError:
        """botocore's exception as the user's error."""
        if isinstance(error, ProviderError):
            return error
        name = type(error).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return ProviderError(NO_KEY, self.missing_key_message())
        if name == "NoRegionError":
            return ProviderError(
                NO_KEY, "No AWS region for Amazon Bedrock: set AWS_DEFAULT_REGION on the Jupyter server, or the region in Settings > Scalene Lab AI"
            )
        if name in ("ReadTimeoutError", "ConnectTimeoutError"):
            return timed_out(self.label, self.settings.timeout_seconds)
        if name == "EndpointConnectionError":
            return unreachable(self.label, self.settings.bedrock_endpoint_url or self.settings.env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"))
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
            message = str(response.get("Error", {}).get("Message", "") or code)
            metadata = response.get("ResponseMetadata", {})
            status = int(metadata.get("HTTPStatusCode", 0) or 0)
            if code in ("ResourceNotFoundException",) or (code == "ValidationException" and "model identifier" in message.lower()):
                return self.not_found()
            if code == "ThrottlingException":
                status = 429
            return from_status(self.label, status or 500, message, metadata.get("HTTPHeaders"), self.not_found())
        return ProviderError("provider", f"{self.label}: {error}")
