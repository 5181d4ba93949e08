"""Amazon Bedrock: the Runtime Converse API and the control plane's model listing, with real SigV4 checking.

Wire format: the Amazon Bedrock API Reference (Converse, ConverseStream, ListFoundationModels, GetFoundationModel,
common errors), and botocore's own service models (`botocore/data/bedrock-runtime/2023-09-30/service-2.json`,
`bedrock/2023-04-20`), its rest-json error parser (error code from `x-amzn-ErrorType`, request id from
`x-amzn-RequestId`) and its event-stream parser (`botocore/eventstream.py`), which `_eventstream.py` mirrors.

Routes (both planes on one port; in AWS they are bedrock-runtime.<region> and bedrock.<region>):
  POST /model/{modelId}/converse          JSON
  POST /model/{modelId}/converse-stream   application/vnd.amazon.eventstream: messageStart, contentBlockDelta {delta:{text}},
                                          contentBlockStop, messageStop {stopReason}, metadata {usage, metrics}
  GET  /foundation-models[?byProvider=&byOutputModality=&byInferenceType=],  GET /foundation-models/{modelId}

Auth: every request's SigV4 signature is recomputed from the request with the secret the fake knows for the access
key id (`aws_credentials`: access key id -> secret access key) and rejected as AWS does (403 InvalidSignatureException,
UnrecognizedClientException for an unknown key id, MissingAuthenticationTokenException with no Authorization). The
scope (key id, date, region, service) and signed headers are recorded (`credential`, `extras["sigv4"]`). Bedrock API
keys (`Authorization: Bearer`, what botocore sends when AWS_BEARER_TOKEN_BEDROCK is set) are checked against `keys`.

Model ids: the configured `models`, the same behind a cross-region inference-profile prefix (`us.`, `eu.`, `apac.`,
`global.`...) and their ARNs. An unknown one gets 400 ValidationException "The provided model identifier is invalid.",
the answer Bedrock gives; `fail(404)` gives ResourceNotFoundException.

Provider-specific: `fail(..., code="ModelErrorException")` overrides the error code; AWS sends no Retry-After, so a 429
carries one only with `retry_after_header=True`. `refuse()` stops with "guardrail_intervened" and the guardrail's
blocked message; `refuse(reason="content_filtered")` stops with that reason and no content.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from . import _eventstream
from ._core import Answer, Failure, FakeProvider, RecordedRequest, Refusal, Reply, count_tokens, json_reply, split_text, texts_in
from ._sigv4 import SigV4Error, parse_credential, verify

DEFAULT_ACCESS_KEY_ID = "AKIAFAKEBEDROCK00001"
DEFAULT_SECRET_ACCESS_KEY = "fake/bedrock/secret/access/key/000000001"

_BEDROCK_NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_CORAL_NS = "http://internal.amazon.com/coral/com.amazon.coral.service/"
_GEO_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")
_PROVIDERS = {
    "anthropic": "Anthropic",
    "amazon": "Amazon",
    "meta": "Meta",
    "mistral": "Mistral AI",
    "cohere": "Cohere",
    "ai21": "AI21 Labs",
    "deepseek": "DeepSeek",
}
_FAILURES: dict[int, tuple[str, str]] = {
    400: ("ValidationException", "The request is invalid."),
    401: ("UnrecognizedClientException", "The security token included in the request is invalid."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    424: ("ModelErrorException", "The system encountered an unexpected error during processing. Try your request again."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The system encountered an unexpected error during processing. Try your request again."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
    529: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
# Inside a ConverseStream the modeled exceptions travel as `:exception-type` frames, named in lowerCamelCase.
_STREAM_EXCEPTIONS = {
    "ValidationException": "validationException",
    "ThrottlingException": "throttlingException",
    "InternalServerException": "internalServerException",
    "ServiceUnavailableException": "serviceUnavailableException",
}


class BedrockFake(FakeProvider):
    name = "bedrock"
    default_models: ClassVar[tuple[str, ...]] = (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "amazon.nova-lite-v1:0",
        "meta.llama3-1-8b-instruct-v1:0",
    )
    default_keys: ClassVar[tuple[str, ...]] = ()  # Bedrock API keys (bearer tokens); SigV4 credentials are separate

    def __init__(
        self,
        *,
        aws_credentials: Mapping[str, str] | None = None,
        regions: Iterable[str] | None = None,
        max_clock_skew: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_credentials = dict(aws_credentials if aws_credentials is not None else {DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY})
        self.regions = frozenset(regions) if regions is not None else None
        self.max_clock_skew = max_clock_skew

    # -- helpers ---------------------------------------------------------------------------------------------------

    @staticmethod
    def response_headers() -> list[tuple[str, str]]:
        return [("x-amzn-RequestId", str(uuid.uuid4()))]

    def aws_error(self, status: int, code: str, message: str, *, namespace: str = _BEDROCK_NS, headers: Sequence[tuple[str, str]] = ()) -> Reply:
        error_headers = [*self.response_headers(), ("x-amzn-ErrorType", f"{code}:{namespace}"), *headers]
        return json_reply(status, {"message": message}, error_headers)

    def failure_reply(self, failure: Failure) -> Reply:
        code, message = _FAILURES.get(failure.status, ("InternalServerException", "The request failed."))
        status = {401: 403, 529: 503}.get(failure.status, failure.status)
        headers = [("Retry-After", f"{failure.retry_after:g}")] if failure.retry_after is not None and failure.details.get("retry_after_header") else []
        namespace = _CORAL_NS if code == "UnrecognizedClientException" else _BEDROCK_NS
        return self.aws_error(status, failure.details.get("code", code), failure.message or message, namespace=namespace, headers=headers)

    # -- routing and auth ------------------------------------------------------------------------------------------

    def route_of(self, request: RecordedRequest) -> str | None:
        if re.fullmatch(r"/model/[^/]+/(converse|converse-stream)", urlsplit(request.raw_path).path):
            return "chat"
        return "models" if request.path.startswith("/foundation-models") else None

    def dispatch(self, request: RecordedRequest) -> Reply:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        # Match on the path as sent: a model ARN carries "/" as %2F, which the decoded path would split.
        raw_path = urlsplit(request.raw_path).path
        match = re.fullmatch(r"/model/([^/]+)/(converse|converse-stream)", raw_path)
        if request.method == "POST" and match:
            return self._converse(request, unquote(match.group(1)), stream=match.group(2) == "converse-stream")
        if request.method == "GET" and raw_path == "/foundation-models":
            return self._list_models(request)
        match = re.fullmatch(r"/foundation-models/([^/]+)", raw_path)
        if request.method == "GET" and match:
            model = unquote(match.group(1))
            request.route, request.model = "models", model
            if model not in self.models:
                return self.aws_error(404, "ResourceNotFoundException", "The specified model identifier is not valid.")
            return json_reply(200, {"modelDetails": self._summary(model, self._region(request))}, self.response_headers())
        return self.aws_error(404, "UnknownOperationException", "The requested operation is not supported.", namespace=_CORAL_NS)

    def _authenticate(self, request: RecordedRequest) -> Reply | None:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return self.aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token", namespace=_CORAL_NS)
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip()
            request.auth_scheme, request.credential = "bearer", token
            if token in self.keys:
                return None
            return self.aws_error(403, "AccessDeniedException", "Authentication failed: Please make sure your API Key is valid.")
        request.auth_scheme = "sigv4"
        scope = parse_credential(authorization)
        if scope is not None:
            request.credential = scope[0]
            request.extras["sigv4_scope"] = {"access_key_id": scope[0], "date": scope[1], "region": scope[2], "service": scope[3]}
        try:
            request.extras["sigv4"] = verify(
                request.method,
                request.raw_path,
                request.headers,
                request.body,
                self.aws_credentials,
                service="bedrock",
                regions=self.regions,
                max_skew_seconds=self.max_clock_skew,
            )
        except SigV4Error as error:
            return self.aws_error(error.status, error.code, error.message, namespace=_CORAL_NS)
        return None

    @staticmethod
    def _region(request: RecordedRequest) -> str:
        scope = request.extras.get("sigv4_scope")
        return str(scope["region"]) if isinstance(scope, dict) else "us-east-1"

    # -- models ----------------------------------------------------------------------------------------------------

    def known_model(self, model: str) -> bool:
        if model.startswith("arn:"):
            model = model.rsplit("/", 1)[-1]
        for prefix in _GEO_PREFIXES:
            if model.startswith(prefix) and model[len(prefix) :] in self.models:
                return True
        return model in self.models

    def _summary(self, model: str, region: str) -> dict[str, Any]:
        vendor = model.split(".", 1)[0]
        return {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model}",
            "modelId": model,
            "modelName": model.split(".", 1)[-1].rsplit("-v", 1)[0].replace("-", " ").title(),
            "providerName": _PROVIDERS.get(vendor, vendor.title()),
            "inputModalities": ["TEXT"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
            "modelLifecycle": {"status": "ACTIVE"},
        }

    def _list_models(self, request: RecordedRequest) -> Reply:
        request.route = "models"
        outcome = self.take("models")
        if isinstance(outcome, Failure):
            return self.failure_reply(outcome)
        summaries = [self._summary(m, self._region(request)) for m in self.models]
        provider = request.query.get("byProvider")
        if provider is not None:
            summaries = [s for s in summaries if s["providerName"].lower() == provider.lower() or s["modelId"].split(".", 1)[0] == provider.lower()]
        for field, key in (
            ("byOutputModality", "outputModalities"),
            ("byInferenceType", "inferenceTypesSupported"),
            ("byCustomizationType", "customizationsSupported"),
        ):
            if field in request.query:
                summaries = [s for s in summaries if request.query[field] in s[key]]
        return json_reply(200, {"modelSummaries": summaries}, self.response_headers())

    # -- converse --------------------------------------------------------------------------------------------------

    def _validate(self, request: RecordedRequest, model: str) -> Reply | None:
        body = request.json
        if not isinstance(body, dict):
            return self.aws_error(400, "ValidationException", "Malformed input request, please reformat your input and try again.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict) or messages[0].get("role") != "user":
            return self.aws_error(
                400, "ValidationException", "A conversation must start with a user message. Try again with a conversation that starts with a user message."
            )
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                return self.aws_error(
                    400,
                    "ValidationException",
                    f"1 validation error detected: Value at 'messages.{index + 1}.member.role' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [user, assistant]",
                )
            if not isinstance(message.get("content"), list) or not message["content"]:
                return self.aws_error(
                    400,
                    "ValidationException",
                    f"The content field in the Message object at messages.{index} is empty. Add a ContentBlock object to the content field and try again.",
                )
        max_tokens = body.get("inferenceConfig", {}).get("maxTokens") if isinstance(body.get("inferenceConfig"), dict) else None
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            return self.aws_error(
                400,
                "ValidationException",
                "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: "
                "Member must have value greater than or equal to 1",
            )
        if not self.known_model(model):
            return self.aws_error(400, "ValidationException", "The provided model identifier is invalid.")
        return None

    def _converse(self, request: RecordedRequest, model: str, *, stream: bool) -> Reply:
        request.route, request.model, request.stream = "chat", model, stream
        invalid = self._validate(request, model)
        if invalid is not None:
            return invalid
        body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
        input_tokens = count_tokens(texts_in({"system": body.get("system"), "messages": body["messages"]}))
        outcome = self.take("chat")
        if isinstance(outcome, Failure) and (outcome.after_chunks is None or not stream):
            return self.failure_reply(outcome)
        if isinstance(outcome, Refusal):
            reason = str(outcome.details.get("reason", "guardrail_intervened"))
            text = outcome.message or ("Sorry, the model cannot answer this question." if reason == "guardrail_intervened" else "")
        elif isinstance(outcome, Answer):
            reason, text = "end_turn", outcome.text
        else:
            reason, text = "", ""
        usage = {"inputTokens": input_tokens, "outputTokens": count_tokens(text), "totalTokens": input_tokens + count_tokens(text)}
        if not stream:
            content = [{"text": text}] if text else []
            payload = {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": reason, "usage": usage, "metrics": {"latencyMs": 321}}
            return json_reply(200, payload, self.response_headers())
        frames = [_eventstream.event("messageStart", {"role": "assistant"})]
        text_frames: list[int] = []
        if isinstance(outcome, Failure):
            pieces: Sequence[str] = split_text(self.default_answer)[: outcome.after_chunks]
        elif isinstance(outcome, Answer):
            pieces = outcome.chunks
        else:
            pieces = split_text(text)
        for piece in pieces:
            text_frames.append(len(frames))
            frames.append(_eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}))
        if isinstance(outcome, Failure):
            code, message = _FAILURES.get(outcome.status, ("InternalServerException", "The request failed."))
            code = outcome.details.get("code", code)
            error_payload: dict[str, Any] = {"message": outcome.message or message}
            if code not in _STREAM_EXCEPTIONS:
                # Anything the stream has no exception member for reaches the client as a modelStreamErrorException.
                error_payload.update({"originalStatusCode": outcome.status, "originalMessage": outcome.message or message})
            frames.append(_eventstream.exception(_STREAM_EXCEPTIONS.get(code, "modelStreamErrorException"), error_payload))
        else:
            if pieces:
                frames.append(_eventstream.event("contentBlockStop", {"contentBlockIndex": 0}))
            frames.append(_eventstream.event("messageStop", {"stopReason": reason}))
            frames.append(_eventstream.event("metadata", {"usage": usage, "metrics": {"latencyMs": 321}}))
        answer = outcome if isinstance(outcome, Answer) else None
        headers = [("Content-Type", "application/vnd.amazon.eventstream"), *self.response_headers()]
        return Reply(200, headers, stream=self.paced(frames, answer, text_events=text_frames))
