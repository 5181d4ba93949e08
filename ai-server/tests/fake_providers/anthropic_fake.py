"""Anthropic Messages API.

Wire format: the Anthropic API reference (Messages, Streaming Messages, Models, Errors, Rate limits), checked against
the installed `anthropic` client (`_client.py`, `_base_client.py`, `_streaming.py`, `_exceptions.py`,
`_error_classes.py`, `types/`).

Routes: POST /v1/messages (JSON or an SSE stream), POST /v1/messages/count_tokens, GET /v1/models[/{id}] (paged with
`limit`, `after_id`, `before_id`).

Auth: the API documents `x-api-key: <key>`; the installed client (2.x) sends the key as `Authorization: Bearer <key>`
instead. Both are accepted and recorded (`auth_scheme` "x-api-key" or "bearer"). `anthropic-version` is required
(any YYYY-MM-DD value unless `versions=` narrows it).

Provider-specific `fail(..., **details)`: `type=` overrides the error type (e.g. "overloaded_error").
`refuse(message, category=..., explanation=...)`: stop_reason "refusal" with `stop_details`, as the streaming
classifiers produce it; the message text, if any, is the partial output before the refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from ._core import Answer, Failure, FakeProvider, RecordedRequest, Refusal, Reply, count_tokens, dumps, json_reply, new_id, split_text, texts_in

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found.",
    429: "Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); "
    "see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
    500: "Internal server error",
    503: "Service unavailable",
    529: "Overloaded",
}
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AnthropicFake(FakeProvider):
    name = "anthropic"
    default_models: ClassVar[tuple[str, ...]] = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
    default_keys: ClassVar[tuple[str, ...]] = ("sk-ant-test",)

    def __init__(self, *, versions: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.versions = frozenset(versions) if versions is not None else None

    # -- helpers ---------------------------------------------------------------------------------------------------

    def response_headers(self) -> list[tuple[str, str]]:
        # `request-id` is what the client exposes as `_request_id` and on APIStatusError.request_id.
        return [("request-id", new_id("req_011C", 20)), ("anthropic-organization-id", "00000000-0000-4000-8000-00000000fa4e")]

    def error(self, status: int, message: str, *, type: str | None = None, headers: Sequence[tuple[str, str]] = ()) -> Reply:
        error_type = type or _ERROR_TYPES.get(status, "api_error")
        request_headers = self.response_headers()
        request_id = request_headers[0][1]
        body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
        # x-should-retry is the API's explicit retry hint, which the client obeys before its own status rules.
        should_retry = "true" if status in (408, 409, 429) or status >= 500 else "false"
        return json_reply(status, body, [*request_headers, ("x-should-retry", should_retry), *headers])

    def failure_reply(self, failure: Failure) -> Reply:
        headers: list[tuple[str, str]] = []
        if failure.status == 429:
            headers += [("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0")]
            if failure.retry_after is not None:
                headers += [("retry-after", f"{failure.retry_after:g}")]
        message = failure.message or _DEFAULT_MESSAGES.get(failure.status, "Request failed.")
        return self.error(failure.status, message, type=failure.details.get("type"), headers=headers)

    # -- routing ---------------------------------------------------------------------------------------------------

    def route_of(self, request: RecordedRequest) -> str | None:
        return {"/v1/messages": "chat", "/v1/messages/count_tokens": "count_tokens"}.get(
            request.path, "models" if request.path.startswith("/v1/models") else None
        )

    def dispatch(self, request: RecordedRequest) -> Reply:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        version = request.headers.get("anthropic-version")
        request.extras["anthropic_version"] = version
        request.extras["anthropic_beta"] = request.headers.get("anthropic-beta")
        if version is None:
            return self.error(400, "anthropic-version: header is required")
        if not _VERSION.match(version) or (self.versions is not None and version not in self.versions):
            return self.error(400, f"anthropic-version: invalid version '{version}'")
        path, method = request.path, request.method
        if method == "POST" and path == "/v1/messages":
            return self._messages(request)
        if method == "POST" and path == "/v1/messages/count_tokens":
            return self._count_tokens(request)
        if method == "GET" and path == "/v1/models":
            return self._list_models(request)
        if method == "GET" and path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            request.route, request.model = "models", model
            if not self.known_model(model):
                return self.error(404, f"model: {model}")
            return json_reply(200, self._model_info(model), self.response_headers())
        return self.error(404, "Not Found")

    def _authenticate(self, request: RecordedRequest) -> Reply | None:
        api_key = request.headers.get("x-api-key")
        authorization = request.headers.get("Authorization", "")
        if api_key is not None:
            request.auth_scheme, request.credential = "x-api-key", api_key
        elif authorization.startswith("Bearer "):
            request.auth_scheme, request.credential = "bearer", authorization[len("Bearer ") :].strip()
        else:
            return self.error(401, "x-api-key header is required")
        if request.credential not in self.keys:
            return self.error(401, "invalid x-api-key" if request.auth_scheme == "x-api-key" else "Invalid bearer token")
        return None

    # -- models ----------------------------------------------------------------------------------------------------

    def _model_info(self, model: str) -> dict[str, Any]:
        display = " ".join(part.capitalize() for part in re.split(r"[-_]", model))
        return {"type": "model", "id": model, "display_name": display, "created_at": "2025-09-29T00:00:00Z", "lifecycle": "active"}

    def _list_models(self, request: RecordedRequest) -> Reply:
        request.route = "models"
        outcome = self.take("models")
        if isinstance(outcome, Failure):
            return self.failure_reply(outcome)
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self.error(400, "limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return self.error(400, "limit: Input should be between 1 and 1000")
        models = list(self.models)
        after, before = request.query.get("after_id"), request.query.get("before_id")
        if after is not None:
            start = models.index(after) + 1 if after in models else len(models)
            page = models[start : start + limit]
            has_more = start + limit < len(models)
        elif before is not None:
            end = models.index(before) if before in models else 0
            page = models[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page, has_more = models[:limit], limit < len(models)
        body = {
            "data": [self._model_info(m) for m in page],
            "has_more": has_more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }
        return json_reply(200, body, self.response_headers())

    # -- messages --------------------------------------------------------------------------------------------------

    def _validate(self, request: RecordedRequest, *, needs_max_tokens: bool) -> Reply | None:
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "There was an error parsing the body of your request: expected a JSON object")
        for name in ("model", "messages", *(("max_tokens",) if needs_max_tokens else ())):
            if name not in body:
                return self.error(400, f"{name}: Field required")
        if needs_max_tokens and (not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1):
            return self.error(400, "max_tokens: Input should be greater than or equal to 1")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return self.error(400, "messages: at least one message is required")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                return self.error(400, f"messages.{index}.role: Input should be 'user' or 'assistant'")
            if not isinstance(message.get("content"), (str, list)):
                return self.error(400, f"messages.{index}.content: Field required")
        model = body["model"]
        if not isinstance(model, str):
            return self.error(400, "model: Input should be a valid string")
        request.model = model
        if not self.known_model(model):
            return self.error(404, f"model: {model}")
        return None

    def _count_tokens(self, request: RecordedRequest) -> Reply:
        request.route = "count_tokens"
        invalid = self._validate(request, needs_max_tokens=False)
        if invalid is not None:
            return invalid
        return json_reply(200, {"input_tokens": count_tokens(texts_in(request.json))}, self.response_headers())

    def _messages(self, request: RecordedRequest) -> Reply:
        request.route = "chat"
        invalid = self._validate(request, needs_max_tokens=True)
        if invalid is not None:
            return invalid
        body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
        model: str = body["model"]
        request.stream = body.get("stream") is True
        outcome = self.take("chat")
        if isinstance(outcome, Failure) and (outcome.after_chunks is None or not request.stream):
            return self.failure_reply(outcome)
        input_tokens = count_tokens(texts_in({"system": body.get("system"), "messages": body["messages"]}))
        if request.stream:
            return self._stream(outcome, model, input_tokens)
        assert isinstance(outcome, (Answer, Refusal))
        text = outcome.text if isinstance(outcome, Answer) else (outcome.message or "")
        message = self._message(model, input_tokens)
        message["content"] = [{"type": "text", "text": text}] if text else []
        message["stop_reason"] = "end_turn" if isinstance(outcome, Answer) else "refusal"
        if isinstance(outcome, Refusal):
            message["stop_details"] = self._stop_details(outcome)
        message["usage"]["output_tokens"] = count_tokens(text)
        return json_reply(200, message, self.response_headers())

    def _message(self, model: str, input_tokens: int) -> dict[str, Any]:
        return {
            "id": new_id("msg_01", 22),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
                "service_tier": "standard",
            },
        }

    @staticmethod
    def _stop_details(refusal: Refusal) -> dict[str, Any]:
        return {"type": "refusal", "category": refusal.details.get("category"), "explanation": refusal.details.get("explanation")}

    def _stream(self, outcome: Answer | Failure | Refusal, model: str, input_tokens: int) -> Reply:
        def event(name: str, payload: dict[str, Any]) -> bytes:
            return b"event: " + name.encode() + b"\ndata: " + dumps(payload) + b"\n\n"

        if isinstance(outcome, Answer):
            pieces, text = outcome.chunks, outcome.text
        elif isinstance(outcome, Refusal):
            text = outcome.message or ""
            pieces = split_text(text)
        else:
            pieces = split_text(self.default_answer)[: outcome.after_chunks]
            text = "".join(pieces)
        events = [event("message_start", {"type": "message_start", "message": self._message(model, input_tokens)})]
        text_events: list[int] = []
        if pieces:
            events.append(event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
            # The API interleaves ping events; the client skips them, and a client that does not is wrong.
            events.append(event("ping", {"type": "ping"}))
            for piece in pieces:
                text_events.append(len(events))
                events.append(event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}))
        if isinstance(outcome, Failure):
            # A stream that fails after it started ends with an `error` event carrying the usual error body.
            error_body = {
                "type": "error",
                "error": {
                    "type": outcome.details.get("type") or _ERROR_TYPES.get(outcome.status, "api_error"),
                    "message": outcome.message or _DEFAULT_MESSAGES.get(outcome.status, "Request failed."),
                },
            }
            events.append(event("error", error_body))
            return Reply(
                200, [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"), *self.response_headers()], stream=self.paced(events)
            )
        if pieces:
            events.append(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        delta: dict[str, Any] = {"stop_reason": "end_turn" if isinstance(outcome, Answer) else "refusal", "stop_sequence": None}
        if isinstance(outcome, Refusal):
            delta["stop_details"] = self._stop_details(outcome)
        events.append(event("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": count_tokens(text)}}))
        events.append(event("message_stop", {"type": "message_stop"}))
        answer = outcome if isinstance(outcome, Answer) else None
        return Reply(
            200,
            [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"), *self.response_headers()],
            stream=self.paced(events, answer, text_events=text_events),
        )
