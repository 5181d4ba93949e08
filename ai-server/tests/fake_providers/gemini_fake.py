"""Google Gemini API (generativelanguage.googleapis.com), as the google-genai client reaches it with a custom base URL.

Wire format: the Gemini API reference (models.generateContent, models.streamGenerateContent, models.list,
models.countTokens, the google.rpc error model), checked against the installed `google-genai` client
(`_api_client.py`, `_base_url.py`, `errors.py`, `models.py`).

Routes, under any of /v1, /v1beta and /v1alpha (the installed client defaults to **v1**, not v1beta, and
`GOOGLE_GENAI_API_VERSION` or `http_options.api_version` changes it; the version used is recorded in
`extras["api_version"]`):
  POST /{v}/models/{model}:generateContent
  POST /{v}/models/{model}:streamGenerateContent?alt=sse   (SSE `data: <GenerateContentResponse>`; without alt=sse a JSON array)
  POST /{v}/models/{model}:countTokens
  GET  /{v}/models?pageSize=&pageToken=,  GET /{v}/models/{model}

Auth: `x-goog-api-key: <key>` (what the client sends) or `?key=<key>` (what REST examples use); both are accepted and
`auth_scheme` says which ("x-goog-api-key" or "key-query"). A wrong key gets the real answer, which is **400
INVALID_ARGUMENT with reason API_KEY_INVALID**, not 401; a missing key gets 403 PERMISSION_DENIED. `fail(401)` still
gives the 401 UNAUTHENTICATED body the API uses for bad OAuth tokens.

Rate limits: 429 RESOURCE_EXHAUSTED carries the wait as a `google.rpc.RetryInfo` detail (`retryDelay: "17s"`); the
real API sends no Retry-After header, so the fake sends one only with `fail(429, retry_after=..., retry_after_header=True)`.

`refuse()` blocks the prompt (`promptFeedback.blockReason`, no candidates); `refuse(where="candidate")` blocks the
answer (`finishReason: "SAFETY"`, no content). `reason=` changes the block reason (e.g. "PROHIBITED_CONTENT").
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from ._core import Answer, Failure, FakeProvider, RecordedRequest, Refusal, Reply, count_tokens, dumps, json_reply, new_id, split_text, texts_in

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    429: "You exceeded your current quota, please check your plan and billing details. For more information on this error, "
    "head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
_HARM_CATEGORIES = ("HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_DANGEROUS_CONTENT")
_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/models(?:/([^/:]+)(?::([A-Za-z]+))?)?$")


class GeminiFake(FakeProvider):
    name = "gemini"
    default_models: ClassVar[tuple[str, ...]] = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash")
    default_keys: ClassVar[tuple[str, ...]] = ("gemini-test-key",)
    server_header = "scaffolding on HTTPServer2"

    # -- helpers ---------------------------------------------------------------------------------------------------

    @staticmethod
    def response_headers() -> list[tuple[str, str]]:
        return [("Vary", "Origin, X-Origin, Referer"), ("Server-Timing", "gfet4t7; dur=120"), ("X-Content-Type-Options", "nosniff")]

    def error(self, code: int, message: str, details: Sequence[dict[str, Any]] = (), headers: Sequence[tuple[str, str]] = ()) -> Reply:
        body: dict[str, Any] = {"error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}}
        if details:
            body["error"]["details"] = list(details)
        return json_reply(code, body, [*self.response_headers(), *headers], content_type="application/json; charset=UTF-8")

    def failure_body(self, failure: Failure) -> tuple[int, str, list[dict[str, Any]]]:
        code = 503 if failure.status == 529 else failure.status
        message = failure.message or _DEFAULT_MESSAGES.get(code, "Request failed.")
        details: list[dict[str, Any]] = []
        if code == 429:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        }
                    ],
                }
            )
            if failure.retry_after is not None:
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{failure.retry_after:g}s"})
        elif code == 401:
            details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED", "domain": "googleapis.com"})
        return code, message, details

    def failure_reply(self, failure: Failure) -> Reply:
        code, message, details = self.failure_body(failure)
        headers = [("Retry-After", f"{failure.retry_after:g}")] if failure.retry_after is not None and failure.details.get("retry_after_header") else []
        return self.error(code, message, details, headers)

    # -- routing ---------------------------------------------------------------------------------------------------

    def route_of(self, request: RecordedRequest) -> str | None:
        match = _ROUTE.match(request.path)
        if match is None:
            return None
        action = match.group(3)
        return {"generateContent": "chat", "streamGenerateContent": "chat", "countTokens": "count_tokens", None: "models"}.get(action)

    def dispatch(self, request: RecordedRequest) -> Reply:
        match = _ROUTE.match(request.path)
        if match is None:
            return self.error(404, f"Method not found: {request.path}")
        version, model, action = match.groups()
        request.extras["api_version"] = version
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        if request.method == "GET" and model is None:
            return self._list_models(request)
        if request.method == "GET" and model is not None and action is None:
            request.route, request.model = "models", model
            if not self.known_model(model):
                return self.error(
                    404,
                    f"models/{model} is not found for API version {version}, or is not supported for get. "
                    "Call ListModels to see the list of available models and their supported methods.",
                )
            return json_reply(200, self._model(model), self.response_headers(), content_type="application/json; charset=UTF-8")
        if request.method == "POST" and model is not None and action in ("generateContent", "streamGenerateContent", "countTokens"):
            return self._generate(request, version, model, action)
        return self.error(404, f"Method not found: {request.path}")

    def _authenticate(self, request: RecordedRequest) -> Reply | None:
        header_key, query_key = request.headers.get("x-goog-api-key"), request.query.get("key")
        request.extras["key_sources"] = [name for name, value in (("x-goog-api-key", header_key), ("key-query", query_key)) if value is not None]
        if header_key is not None:
            request.auth_scheme, request.credential = "x-goog-api-key", header_key
        elif query_key is not None:
            request.auth_scheme, request.credential = "key-query", query_key
        else:
            return self.error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer "
                "identity to call this API.",
            )
        if request.credential not in self.keys:
            message = "API key not valid. Please pass a valid API key."
            details: list[dict[str, Any]] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
            ]
            return self.error(400, message, details)
        return None

    # -- models ----------------------------------------------------------------------------------------------------

    def _model(self, model: str) -> dict[str, Any]:
        display = " ".join(part.capitalize() for part in model.split("-"))
        return {
            "name": f"models/{model}",
            "version": "001",
            "displayName": display,
            "description": f"{display} (fake)",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
        }

    def _list_models(self, request: RecordedRequest) -> Reply:
        request.route = "models"
        outcome = self.take("models")
        if isinstance(outcome, Failure):
            return self.failure_reply(outcome)
        try:
            size = int(request.query.get("pageSize", "50"))
            token = request.query.get("pageToken")
            start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except ValueError:
            return self.error(400, "Invalid page token." if request.query.get("pageToken") else "Invalid value at 'page_size' (TYPE_INT32)")
        size = min(max(size, 1), 1000) if size > 0 else 50
        page = self.models[start : start + size]
        body: dict[str, Any] = {"models": [self._model(m) for m in page]}
        if start + size < len(self.models):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return json_reply(200, body, self.response_headers(), content_type="application/json; charset=UTF-8")

    # -- generation ------------------------------------------------------------------------------------------------

    def _validate(self, request: RecordedRequest, version: str, model: str, action: str) -> Reply | None:
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "Invalid JSON payload received. Expected an object.")
        contents = body.get("contents")
        if not contents:
            return self.error(400, "* GenerateContentRequest.contents: contents is not specified\n")
        if not isinstance(contents, list):
            return self.error(400, 'Invalid JSON payload received. Unknown name "contents": Proto field is not repeating, cannot start list.')
        for content in contents:
            if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model", "function"):
                return self.error(400, "Please use a valid role: user, model.")
            if not isinstance(content.get("parts"), list) or not content["parts"]:
                return self.error(400, "* GenerateContentRequest.contents: contents.parts must not be empty.\n")
        if not self.known_model(model):
            return self.error(
                404,
                f"models/{model} is not found for API version {version}, or is not supported for {action}. "
                "Call ListModels to see the list of available models and their supported methods.",
            )
        return None

    def _usage(self, prompt_tokens: int, answer_tokens: int | None) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens + (answer_tokens or 0)}
        if answer_tokens is not None:
            usage["candidatesTokenCount"] = answer_tokens
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
        return usage

    def _generate(self, request: RecordedRequest, version: str, model: str, action: str) -> Reply:
        request.route, request.model = ("count_tokens" if action == "countTokens" else "chat"), model
        invalid = self._validate(request, version, model, action)
        if invalid is not None:
            return invalid
        body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
        prompt_tokens = count_tokens(texts_in(body.get("contents")) + " " + texts_in(body.get("systemInstruction")))
        if action == "countTokens":
            return json_reply(
                200, {"totalTokens": prompt_tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}, self.response_headers()
            )
        request.stream = action == "streamGenerateContent"
        sse = request.query.get("alt") == "sse"
        request.extras["alt"] = request.query.get("alt")
        outcome = self.take("chat")
        if isinstance(outcome, Failure) and (outcome.after_chunks is None or not request.stream):
            return self.failure_reply(outcome)
        response_id = new_id("", 22)

        def response(parts: Sequence[str] | None, finish: str | None, answer_tokens: int | None) -> dict[str, Any]:
            candidate: dict[str, Any] = {}
            if parts is not None:
                candidate["content"] = {"parts": [{"text": p} for p in parts], "role": "model"}
            if finish is not None:
                candidate["finishReason"] = finish
            candidate["index"] = 0
            return {"candidates": [candidate], "usageMetadata": self._usage(prompt_tokens, answer_tokens), "modelVersion": model, "responseId": response_id}

        objects: list[dict[str, Any]]
        text_objects: list[int] = []
        if isinstance(outcome, Refusal):
            objects = [self._blocked(outcome, model, prompt_tokens, response_id)]
        elif isinstance(outcome, Failure):
            pieces = split_text(self.default_answer)[: outcome.after_chunks]
            objects = [response([p], None, None) for p in pieces]
            text_objects = list(range(len(objects)))
            code, message, details = self.failure_body(outcome)
            error: dict[str, Any] = {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}
            if details:
                error["details"] = details
            objects.append({"error": error})
        elif request.stream:
            pieces = outcome.chunks or ("",)
            objects = [response([p], None, None) for p in pieces[:-1]]
            objects.append(response([pieces[-1]], "STOP", count_tokens(outcome.text)))
            text_objects = list(range(len(objects)))
        else:
            objects = [response([outcome.text], "STOP", count_tokens(outcome.text))]
        if not request.stream:
            return json_reply(200, objects[0], self.response_headers(), content_type="application/json; charset=UTF-8")
        answer = outcome if isinstance(outcome, Answer) else None
        if sse:
            # The service separates events with CRLF pairs; the client's line decoder takes CR, LF or CRLF.
            events = [b"data: " + dumps(obj) + b"\r\n\r\n" for obj in objects]
            headers = [("Content-Type", "text/event-stream"), ("Content-Disposition", "attachment"), *self.response_headers()]
            return Reply(200, headers, stream=self.paced(events, answer, text_events=text_objects))
        # Without alt=sse the stream is one JSON array, sent element by element.
        pieces_out = [(b"[" if i == 0 else b",\r\n") + dumps(obj) for i, obj in enumerate(objects)] + [b"]"]
        return Reply(
            200,
            [("Content-Type", "application/json; charset=UTF-8"), *self.response_headers()],
            stream=self.paced(pieces_out, answer, text_events=text_objects),
        )

    def _blocked(self, refusal: Refusal, model: str, prompt_tokens: int, response_id: str) -> dict[str, Any]:
        reason = str(refusal.details.get("reason", "SAFETY"))
        ratings = [
            {"category": c, "probability": "HIGH", "blocked": True} if c == "HARM_CATEGORY_DANGEROUS_CONTENT" else {"category": c, "probability": "NEGLIGIBLE"}
            for c in _HARM_CATEGORIES
        ]
        if refusal.details.get("where", "prompt") == "candidate":
            candidate = {"finishReason": reason, "index": 0, "safetyRatings": ratings}
            if refusal.message:
                candidate["content"] = {"parts": [{"text": refusal.message}], "role": "model"}
            return {"candidates": [candidate], "usageMetadata": self._usage(prompt_tokens, 0), "modelVersion": model, "responseId": response_id}
        return {
            "promptFeedback": {"blockReason": reason, "safetyRatings": ratings},
            "usageMetadata": self._usage(prompt_tokens, None),
            "modelVersion": model,
            "responseId": response_id,
        }
