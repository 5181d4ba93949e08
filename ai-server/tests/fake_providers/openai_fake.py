"""OpenAI Chat Completions, any OpenAI-compatible endpoint, and Azure OpenAI.

Wire format: the OpenAI API reference (Chat Completions, Models, Errors) and the Azure OpenAI data-plane reference,
checked against what the installed `openai` client sends and parses (`openai/_client.py`, `_base_client.py`,
`_streaming.py`, `lib/azure.py`).

OpenAI:  POST {base}/chat/completions, GET {base}/models[/{id}]; `Authorization: Bearer <key>`; base defaults to
         `/v1` and is configurable (`base_path="/compat/v1"`) for "an OpenAI-compatible server at this base URL".
Azure:   POST /openai/deployments/{deployment}/chat/completions?api-version=...  (AzureOpenAI)
         POST /openai/v1/chat/completions                                     (the v1 GA surface, plain OpenAI client)
         GET  /openai/models?api-version=...,  GET /openai/v1/models,  GET /openai/deployments?api-version=... (legacy)
         `api-key: <key>` or `Authorization: Bearer <key or Entra token>`.

Provider-specific `fail(..., **details)`: `code=`, `type=`, `param=` override the error body fields.
`refuse()`: OpenAI puts the text in `message.refusal` (content null), streamed as `delta.refusal`. Azure's content
filter: `refuse()` filters the completion (finish_reason "content_filter", content_filter_results); `refuse(where="prompt")`
rejects the prompt with the real 400 `content_filter` error.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from ._core import Answer, Failure, FakeProvider, RecordedRequest, Refusal, Reply, count_tokens, dumps, json_reply, new_id, split_text, texts_in

_RESULTS_SAFE = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}


class OpenAIFake(FakeProvider):
    name = "openai"
    default_models: ClassVar[tuple[str, ...]] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1")
    default_keys: ClassVar[tuple[str, ...]] = ("sk-test",)

    def __init__(self, *, base_path: str = "/v1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""

    @property
    def url(self) -> str:
        """The `base_url` for `openai.OpenAI(base_url=...)`: origin plus the configured path prefix."""
        return self.origin + self.base_path

    # -- routing ---------------------------------------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest) -> Reply:
        path = request.path
        if not (path == self.base_path or path.startswith(self.base_path + "/")):
            return self._invalid_url(request)
        sub = path[len(self.base_path) :]
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        if request.method == "POST" and sub == "/chat/completions":
            return self._chat(request, self._model_from_body(request))
        if request.method == "GET" and sub == "/models":
            return self._list_models(request)
        if request.method == "GET" and sub.startswith("/models/"):
            return self._get_model(request, sub[len("/models/") :])
        return self._invalid_url(request)

    def route_of(self, request: RecordedRequest) -> str | None:
        if request.path.endswith("/chat/completions"):
            return "chat"
        if request.path.endswith("/models") or "/models/" in request.path or request.path.endswith("/deployments"):
            return "models"
        return None

    def _invalid_url(self, request: RecordedRequest) -> Reply:
        message = f"Invalid URL ({request.method} {request.path})"
        return self.error(404, message, type="invalid_request_error")

    # -- auth ------------------------------------------------------------------------------------------------------

    def _authenticate(self, request: RecordedRequest) -> Reply | None:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or not authorization[len("Bearer ") :].strip():
            return self.error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
                "(i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
                type="invalid_request_error",
            )
        key = authorization[len("Bearer ") :].strip()
        request.auth_scheme, request.credential = "bearer", key
        if key not in self.keys:
            # The real message echoes a masked key ("sk-wro****key"); the fake never repeats a key in a response.
            return self.error(
                401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", code="invalid_api_key"
            )
        return None

    # -- errors ----------------------------------------------------------------------------------------------------

    def response_headers(self) -> list[tuple[str, str]]:
        # x-request-id is what the client exposes as `_request_id` and puts on APIStatusError.request_id.
        return [("x-request-id", new_id("req_", 32)), ("openai-version", "2020-10-01"), ("openai-processing-ms", "42")]

    def error(
        self,
        status: int,
        message: str,
        *,
        type: str | None = "invalid_request_error",  # `type`: the field's name in the API
        param: str | None = None,
        code: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Reply:
        body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        return json_reply(status, body, [*self.response_headers(), *headers])

    def failure_reply(self, failure: Failure, model: str | None) -> Reply:
        status = 503 if failure.status == 529 else failure.status  # 529 is Anthropic's overloaded status, not OpenAI's
        defaults: dict[int, tuple[str, str | None, str | None]] = {
            400: ("Invalid request.", "invalid_request_error", None),
            401: (
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            ),
            403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
            404: (f"The model `{model}` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
            429: (
                f"Rate limit reached for {model or 'gpt-4o-mini'} in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. "
                f"Please try again in {failure.retry_after or 1:g}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
                "requests",
                "rate_limit_exceeded",
            ),
            500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
            503: ("The engine is currently overloaded, please try again later.", "server_error", None),
        }
        message, type_, code = defaults.get(status, ("Request failed.", "server_error" if status >= 500 else "invalid_request_error", None))
        headers: list[tuple[str, str]] = []
        if status == 429:
            headers += [("x-ratelimit-limit-requests", "500"), ("x-ratelimit-remaining-requests", "0")]
            if failure.retry_after is not None:
                headers += [("retry-after", f"{failure.retry_after:g}"), ("x-ratelimit-reset-requests", f"{failure.retry_after:g}s")]
        return self.error(
            status,
            failure.message or message,
            type=failure.details.get("type", type_),
            param=failure.details.get("param"),
            code=failure.details.get("code", code),
            headers=headers,
        )

    def error_payload(self, failure: Failure, model: str | None) -> dict[str, Any]:
        """The error object a failing stream carries in its last `data:` event (the same body as the HTTP error)."""
        payload: dict[str, Any] = json.loads(self.failure_reply(failure, model).body)
        return payload

    # -- models ----------------------------------------------------------------------------------------------------

    def model_object(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 1715367049, "owned_by": "system"}

    def _list_models(self, request: RecordedRequest) -> Reply:
        request.route = "models"
        outcome = self.take("models")
        if isinstance(outcome, Failure):
            return self.failure_reply(outcome, None)
        return json_reply(200, {"object": "list", "data": [self.model_object(m) for m in self.models]}, self.response_headers())

    def _get_model(self, request: RecordedRequest, model: str) -> Reply:
        request.route, request.model = "models", model
        if not self.known_model(model):
            return self.error(404, f"The model '{model}' does not exist", param="model", code="model_not_found")
        return json_reply(200, self.model_object(model), self.response_headers())

    # -- chat ------------------------------------------------------------------------------------------------------

    def _model_from_body(self, request: RecordedRequest) -> str | None:
        body = request.json
        return body.get("model") if isinstance(body, dict) and isinstance(body.get("model"), str) else None

    def validate_chat(self, request: RecordedRequest) -> Reply | None:
        """The checks the real endpoint makes before generating: a JSON object, a model, a non-empty messages list."""
        body = request.json
        if not isinstance(body, dict):
            return self.error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. "
                "The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            )
        if "messages" not in body:
            return self.error(400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return self.error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages", code="empty_array")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant", "tool", "function"):
                return self.error(400, f"Invalid value for 'messages[{index}].role'.", param=f"messages[{index}].role", code="invalid_value")
        return None

    def unknown_model(self, model: str) -> Reply:
        return self.error(404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found")

    def _chat(self, request: RecordedRequest, model: str | None) -> Reply:
        request.route = "chat"
        invalid = self.validate_chat(request)
        if invalid is not None:
            return invalid
        body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
        if model is None:
            return self.error(400, "you must provide a model parameter", param="model")
        request.model = model
        if not self.known_model(model):
            return self.unknown_model(model)
        request.stream = body.get("stream") is True
        include_usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage") is True
        outcome = self.take("chat")
        if isinstance(outcome, Failure) and (outcome.after_chunks is None or not request.stream):
            return self.failure_reply(outcome, model)
        prompt_tokens = count_tokens(texts_in(body["messages"]))
        response_model = self.response_model(model)
        if isinstance(outcome, Refusal):
            refused = self.refusal_reply(outcome, response_model, prompt_tokens, request.stream)
            if refused is not None:
                return refused
        if request.stream:
            return self._stream(outcome, response_model, prompt_tokens, include_usage)
        assert isinstance(outcome, (Answer, Refusal))
        return json_reply(200, self.completion(outcome, response_model, prompt_tokens), self.response_headers())

    def response_model(self, model: str) -> str:
        """The `model` field of the response; Azure answers with the deployed model's name, not the deployment's."""
        return model

    def refusal_reply(self, refusal: Refusal, model: str, prompt_tokens: int, stream: bool) -> Reply | None:
        """A refusal that is an HTTP error rather than a completion (Azure's prompt filter); None for a normal one."""
        return None

    def refusal_text(self, refusal: Refusal) -> str:
        return refusal.message or "I'm sorry, but I can't help with that."

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }

    def choice_extras(self, refused: bool) -> dict[str, Any]:
        return {}

    def completion(self, outcome: Answer | Refusal, model: str, prompt_tokens: int) -> dict[str, Any]:
        if isinstance(outcome, Refusal):
            text = self.refusal_text(outcome)
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": text, "annotations": []}
        else:
            text = outcome.text
            message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        return {
            "id": new_id("chatcmpl-", 29),
            "object": "chat.completion",
            "created": self.now(),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop", **self.choice_extras(False)}],
            "usage": self.usage(prompt_tokens, count_tokens(text)),
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
            **self.completion_extras(),
        }

    def completion_extras(self) -> dict[str, Any]:
        return {}

    def _stream(self, outcome: Answer | Failure | Refusal, model: str, prompt_tokens: int, include_usage: bool) -> Reply:
        completion_id, created = new_id("chatcmpl-", 29), self.now()

        def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason, **self.choice_extras(False)}
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0001",
                "choices": [choice],
                **({"usage": None} if include_usage else {}),
                **extra,
            }
            return b"data: " + dumps(payload) + b"\n\n"

        events: list[bytes] = list(self.stream_preamble(completion_id, created, model))
        events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        text_events: list[int] = []
        field = "refusal" if isinstance(outcome, Refusal) else "content"
        if isinstance(outcome, Refusal):
            text = self.refusal_text(outcome)
            pieces: Sequence[str] = split_text(text)
        elif isinstance(outcome, Failure):
            text = self.default_answer
            pieces = split_text(text)[: outcome.after_chunks]
        else:
            text, pieces = outcome.text, outcome.chunks
        for piece in pieces:
            text_events.append(len(events))
            events.append(chunk({field: piece}))
        if isinstance(outcome, Failure):
            # The API ends a stream that fails part-way with one `data:` event carrying the usual error object.
            events.append(b"data: " + dumps(self.error_payload(outcome, model)) + b"\n\n")
            return Reply(200, [("Content-Type", "text/event-stream; charset=utf-8"), *self.response_headers()], stream=self.paced(events))
        events.append(chunk({}, "stop"))
        if include_usage:
            usage_chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0001",
                "choices": [],
                "usage": self.usage(prompt_tokens, count_tokens(text)),
            }
            events.append(b"data: " + dumps(usage_chunk) + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        answer = outcome if isinstance(outcome, Answer) else None
        return Reply(
            200,
            [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"), *self.response_headers()],
            stream=self.paced(events, answer, text_events=text_events),
        )

    def stream_preamble(self, completion_id: str, created: int, model: str) -> Iterable[bytes]:
        return ()


_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


class AzureOpenAIFake(OpenAIFake):
    """Azure OpenAI: deployments instead of models, `api-version`, `api-key` auth and the content filter.

    `models` are the deployment names; `deployment_models` maps a deployment to the model it serves, which is what
    Azure reports in a completion's `model` field (default: the deployment's own name). `api_versions` limits the
    accepted `api-version` values (default: any well-formed date, as a fake cannot know which ones the service has).
    """

    name = "azure"
    default_models: ClassVar[tuple[str, ...]] = ("gpt-4o-mini", "gpt-4o")
    default_keys: ClassVar[tuple[str, ...]] = ("azure-test-key",)

    def __init__(
        self,
        *,
        deployment_models: Mapping[str, str] | None = None,
        api_versions: Iterable[str] | None = None,
        region: str = "eastus",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("base_path", None)
        super().__init__(base_path="/openai", **kwargs)
        self.deployment_models = dict(deployment_models or {})
        self.api_versions = frozenset(api_versions) if api_versions is not None else None
        self.region = region

    @property
    def url(self) -> str:
        """The `azure_endpoint` for `openai.AzureOpenAI(azure_endpoint=...)`: the resource origin, no path."""
        return self.origin

    @property
    def v1_url(self) -> str:
        """The `base_url` of the v1 surface, for the plain `openai.OpenAI(base_url=..., api_key=...)` client."""
        return self.origin + "/openai/v1/"

    def response_headers(self) -> list[tuple[str, str]]:
        request_id = str(uuid.uuid4())
        return [("apim-request-id", request_id), ("x-request-id", request_id), ("x-ms-region", self.region)]

    def dispatch(self, request: RecordedRequest) -> Reply:
        path, method = request.path, request.method
        v1 = path.startswith("/openai/v1/")
        if not path.startswith("/openai/"):
            return self.azure_error(404, "404", "Resource not found")
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        version = request.query.get("api-version")
        request.extras["api_version"] = version
        request.extras["surface"] = "v1" if v1 else "deployments"
        if v1:
            # The v1 surface needs no api-version; "preview" and "latest" select the preview features.
            if version not in (None, "preview", "latest", "v1"):
                return self.azure_error(400, "BadRequest", "API version not supported")
        else:
            if version is None:
                return self.azure_error(404, "404", "Resource not found")
            if not _API_VERSION.match(version) or (self.api_versions is not None and version not in self.api_versions):
                return self.azure_error(400, "BadRequest", "API version not supported")
        match = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", path)
        if method == "POST" and match:
            request.extras["deployment"] = match.group(1)
            return self._chat(request, match.group(1))
        if method == "POST" and path == "/openai/v1/chat/completions":
            return self._chat(request, self._model_from_body(request))
        if method == "GET" and path in ("/openai/models", "/openai/v1/models"):
            return self._list_models(request)
        if method == "GET" and path == "/openai/deployments":
            request.route = "models"
            return json_reply(200, {"data": [self._deployment(d) for d in self.models], "object": "list"}, self.response_headers())
        return self.azure_error(404, "404", "Resource not found")

    def _authenticate(self, request: RecordedRequest) -> Reply | None:
        api_key = request.headers.get("api-key")
        authorization = request.headers.get("Authorization", "")
        if api_key is not None:
            request.auth_scheme, request.credential = "api-key", api_key
            if api_key in self.keys:
                return None
        elif authorization.startswith("Bearer "):
            # An Entra ID token on the deployments surface, or the key itself as a bearer token on the v1 surface.
            token = authorization[len("Bearer ") :].strip()
            request.auth_scheme, request.credential = "bearer", token
            if token in self.keys:
                return None
            return self.azure_error(
                401, "401", "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."
            )
        return self.azure_error(
            401,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active "
            "subscription and use a correct regional API endpoint for your resource.",
        )

    def azure_error(self, http_status: int, code: str, message: str, /, *, headers: Sequence[tuple[str, str]] = (), **extra: Any) -> Reply:
        return json_reply(http_status, {"error": {"code": code, "message": message, **extra}}, [*self.response_headers(), *headers])

    def unknown_model(self, model: str) -> Reply:
        return self.azure_error(
            404,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
        )

    def failure_reply(self, failure: Failure, model: str | None) -> Reply:
        status = 503 if failure.status == 529 else failure.status
        defaults: dict[int, tuple[str, str]] = {
            400: ("BadRequest", "Invalid request."),
            401: ("401", "Access denied due to invalid subscription key or wrong API endpoint."),
            403: ("403", "Public access is disabled. Please configure private endpoint."),
            404: ("DeploymentNotFound", "The API deployment for this resource does not exist."),
            429: (
                "429",
                f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your "
                f"current OpenAI S0 pricing tier. Please retry after {failure.retry_after or 1:g} seconds. Please go here: "
                "https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
            ),
            500: ("InternalServerError", "The server had an error while processing your request. Sorry about that!"),
            503: ("ServiceUnavailable", "The service is temporarily unable to process your request. Please try again later."),
        }
        code, message = defaults.get(status, (str(status), "Request failed."))
        headers: list[tuple[str, str]] = []
        if status == 429 and failure.retry_after is not None:
            # Azure sends both; the openai client prefers retry-after-ms when it is present.
            headers += [("retry-after", f"{failure.retry_after:g}"), ("retry-after-ms", f"{failure.retry_after * 1000:g}")]
        return self.azure_error(status, failure.details.get("code", code), failure.message or message, headers=headers)

    def response_model(self, model: str) -> str:
        return self.deployment_models.get(model, model)

    def model_object(self, model: str) -> dict[str, Any]:
        return {
            "id": self.deployment_models.get(model, model),
            "object": "model",
            "created_at": 1715367049,
            "status": "succeeded",
            "capabilities": {"chat_completion": True, "completion": False, "embeddings": False, "fine_tune": False, "inference": True},
            "lifecycle_status": "generally-available",
        }

    def _deployment(self, deployment: str) -> dict[str, Any]:
        return {
            "id": deployment,
            "model": self.deployment_models.get(deployment, deployment),
            "owner": "organization-owner",
            "object": "deployment",
            "status": "succeeded",
            "scale_settings": {"scale_type": "standard"},
            "created_at": 1715367049,
            "updated_at": 1715367049,
        }

    # -- the content filter ----------------------------------------------------------------------------------------

    def completion_extras(self) -> dict[str, Any]:
        return {"prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _RESULTS_SAFE}]}

    def choice_extras(self, refused: bool) -> dict[str, Any]:
        results = {**_RESULTS_SAFE, "hate": {"filtered": True, "severity": "high"}} if refused else _RESULTS_SAFE
        return {"content_filter_results": results}

    def stream_preamble(self, completion_id: str, created: int, model: str) -> Iterable[bytes]:
        # Azure opens every stream with a chunk that has no choices, only the prompt's filter results: client code that
        # reads `chunk.choices[0]` unguarded fails here first, so the fake sends it too.
        payload = {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _RESULTS_SAFE}],
        }
        yield b"data: " + dumps(payload) + b"\n\n"

    def refusal_reply(self, refusal: Refusal, model: str, prompt_tokens: int, stream: bool) -> Reply | None:
        if refusal.details.get("where", "completion") == "prompt":
            return self.azure_error(
                400,
                "content_filter",
                refusal.message
                or "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and "
                "retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
                param="prompt",
                type=None,
                status=400,
                innererror={
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {
                        **_RESULTS_SAFE,
                        "hate": {"filtered": True, "severity": "high"},
                        "jailbreak": {"filtered": False, "detected": False},
                    },
                },
            )
        return self._filtered_completion(model, prompt_tokens, stream)

    def _filtered_completion(self, model: str, prompt_tokens: int, stream: bool) -> Reply:
        # A filtered completion: the choice stops with finish_reason "content_filter" and carries no content.
        choice_results = self.choice_extras(True)
        if not stream:
            payload = {
                "id": new_id("chatcmpl-", 29),
                "object": "chat.completion",
                "created": self.now(),
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant"}, "logprobs": None, "finish_reason": "content_filter", **choice_results}],
                "usage": self.usage(prompt_tokens, 0),
                "system_fingerprint": "fp_fake0001",
                **self.completion_extras(),
            }
            return json_reply(200, payload, self.response_headers())
        completion_id, created = new_id("chatcmpl-", 29), self.now()
        events = list(self.stream_preamble(completion_id, created, model))
        for delta, finish in (({"role": "assistant", "content": ""}, None), ({}, "content_filter")):
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake0001",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish, **(choice_results if finish else self.choice_extras(False))}
                ],
            }
            events.append(b"data: " + dumps(payload) + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        return Reply(200, [("Content-Type", "text/event-stream; charset=utf-8"), *self.response_headers()], stream=self.paced(events))
