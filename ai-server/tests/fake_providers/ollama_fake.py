"""Ollama's native API (a local `ollama serve`, or ollama.com with an API key).

Wire format: Ollama's API documentation (docs/api.md: /api/chat, /api/tags, /api/show, /api/version, errors), checked
against the installed `ollama` client (`ollama/_client.py`, `_types.py`).

Routes: POST /api/chat (NDJSON stream unless `"stream": false`; the client sends `stream: false` by default),
GET /api/tags, POST /api/show, GET /api/version, GET / ("Ollama is running").

Auth: a local server has none, so the default `keys` is empty and nothing is checked. With `keys`, requests need
`Authorization: Bearer <key>` (what the client sends from OLLAMA_API_KEY, as ollama.com expects) and get 401
`{"error": "unauthorized"}` otherwise.

Model names: "llama3.2" means "llama3.2:latest", as in Ollama. An unknown model gets 404
`{"error": "model \\"x\\" not found, try pulling it first"}`.

Ollama has no refusal signal of its own: `refuse()` answers with the refusal text as ordinary content.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, ClassVar

from ._core import Answer, Failure, FakeProvider, RecordedRequest, Refusal, Reply, count_tokens, dumps, json_reply, split_text, texts_in

_VERSION = "0.12.6"


class OllamaFake(FakeProvider):
    name = "ollama"
    default_models: ClassVar[tuple[str, ...]] = ("llama3.2:latest", "qwen2.5:0.5b", "gemma3:1b")
    default_keys: ClassVar[tuple[str, ...]] = ()

    @staticmethod
    def full_name(model: str) -> str:
        return model if ":" in model else f"{model}:latest"

    def known_model(self, model: str) -> bool:
        return self.full_name(model) in {self.full_name(m) for m in self.models}

    def error(self, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
        return json_reply(status, {"error": message}, headers or [], content_type="application/json; charset=utf-8")

    def failure_reply(self, failure: Failure, model: str | None) -> Reply:
        defaults = {
            400: "invalid request",
            401: "unauthorized",
            403: "forbidden",
            404: f'model "{model}" not found, try pulling it first',
            429: "too many requests",
            500: "an error was encountered while running the model",
            503: "server busy, please try again.  maximum pending requests exceeded",
        }
        status = 503 if failure.status == 529 else failure.status
        headers = [("Retry-After", f"{failure.retry_after:g}")] if failure.retry_after is not None else []
        return self.error(status, failure.message or defaults.get(status, "request failed"), headers)

    @staticmethod
    def _timestamp() -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- routing ---------------------------------------------------------------------------------------------------

    def route_of(self, request: RecordedRequest) -> str | None:
        return {"/api/chat": "chat", "/api/tags": "models", "/api/show": "models"}.get(request.path)

    def dispatch(self, request: RecordedRequest) -> Reply:
        if self.keys:
            authorization = request.headers.get("Authorization", "")
            if authorization.startswith("Bearer "):
                request.auth_scheme, request.credential = "bearer", authorization[len("Bearer ") :].strip()
            if request.credential not in self.keys:
                return self.error(401, "unauthorized")
        path, method = request.path, request.method
        if method in ("GET", "HEAD") and path == "/":
            return Reply(200, [("Content-Type", "text/plain; charset=utf-8")], b"Ollama is running")
        if method == "GET" and path == "/api/version":
            return json_reply(200, {"version": _VERSION}, content_type="application/json; charset=utf-8")
        if method == "GET" and path == "/api/tags":
            return self._tags(request)
        if method == "POST" and path == "/api/show":
            return self._show(request)
        if method == "POST" and path == "/api/chat":
            return self._chat(request)
        return Reply(404, [("Content-Type", "text/plain")], b"404 page not found")

    def _tags(self, request: RecordedRequest) -> Reply:
        request.route = "models"
        outcome = self.take("models")
        if isinstance(outcome, Failure):
            return self.failure_reply(outcome, None)
        models = [
            {
                "name": self.full_name(m),
                "model": self.full_name(m),
                "modified_at": "2025-09-01T12:00:00.000000000Z",
                "size": 2019393189,
                "digest": hashlib.sha256(m.encode()).hexdigest(),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "llama",
                    "families": ["llama"],
                    "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for m in self.models
        ]
        return json_reply(200, {"models": models}, content_type="application/json; charset=utf-8")

    def _show(self, request: RecordedRequest) -> Reply:
        request.route = "models"
        body = request.json if isinstance(request.json, dict) else {}
        model = body.get("model") or body.get("name")
        if not isinstance(model, str) or not self.known_model(model):
            return self.error(404, f"model '{model}' not found")
        details = {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"], "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}
        payload = {
            "modelfile": f"FROM {model}\n",
            "parameters": "",
            "template": "{{ .Prompt }}",
            "details": details,
            "model_info": {"general.architecture": "llama", "general.parameter_count": 3212749888, "llama.context_length": 131072},
            "capabilities": ["completion"],
            "modified_at": "2025-09-01T12:00:00.000000000Z",
        }
        return json_reply(200, payload, content_type="application/json; charset=utf-8")

    # -- chat ------------------------------------------------------------------------------------------------------

    def _chat(self, request: RecordedRequest) -> Reply:
        request.route = "chat"
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "invalid character 'x' looking for beginning of value" if request.body else "EOF")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self.error(400, "model is required")
        request.model = model
        if not self.known_model(model):
            return self.error(404, f'model "{model}" not found, try pulling it first')
        messages = body.get("messages", [])
        if not isinstance(messages, list) or any(not isinstance(m, dict) or "role" not in m for m in messages):
            return self.error(400, "json: cannot unmarshal messages")
        # The server streams unless told otherwise; the Python client always says.
        request.stream = body.get("stream", True) is not False
        outcome = self.take("chat")
        if isinstance(outcome, Failure) and (outcome.after_chunks is None or not request.stream):
            return self.failure_reply(outcome, model)
        prompt_tokens = count_tokens(texts_in(messages))
        if isinstance(outcome, Refusal):
            text = outcome.message or "I'm sorry, but I can't help with that."
            pieces: tuple[str, ...] = split_text(text)
        elif isinstance(outcome, Answer):
            text, pieces = outcome.text, outcome.chunks
        else:
            pieces = split_text(self.default_answer)[: outcome.after_chunks]
            text = "".join(pieces)

        def part(content: str, done: bool) -> dict[str, Any]:
            payload: dict[str, Any] = {"model": model, "created_at": self._timestamp(), "message": {"role": "assistant", "content": content}, "done": done}
            if done:
                payload.update(
                    done_reason="stop",
                    total_duration=1_234_567_890,
                    load_duration=12_345_678,
                    prompt_eval_count=prompt_tokens,
                    prompt_eval_duration=23_456_789,
                    eval_count=count_tokens(text),
                    eval_duration=987_654_321,
                )
            return payload

        if not request.stream:
            return json_reply(200, part(text, True), content_type="application/json; charset=utf-8")
        lines = [dumps(part(piece, False)) + b"\n" for piece in pieces]
        text_lines = list(range(len(lines)))
        if isinstance(outcome, Failure):
            # A stream that fails part-way ends with an {"error": ...} line, which the client raises as ResponseError.
            lines.append(dumps({"error": outcome.message or "an error was encountered while running the model"}) + b"\n")
        else:
            lines.append(dumps(part("", True)) + b"\n")
        answer = outcome if isinstance(outcome, Answer) else None
        return Reply(200, [("Content-Type", "application/x-ndjson")], stream=self.paced(lines, answer, text_events=text_lines))
