"""The loopback provider fakes, driven by each provider's official Python client.

Each provider's tests check two things: that the official client parses every answer the fake gives (plain,
streamed, listed, refused, and each error as the client's own exception type), and that what the client sent matches
the provider's documented request format, field by field. A provider whose client is not installed is skipped.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_providers import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_SECRET_ACCESS_KEY,
    AnthropicFake,
    AzureOpenAIFake,
    BedrockFake,
    FakeProvider,
    GeminiFake,
    Headers,
    OllamaFake,
    OpenAIFake,
    RecordedRequest,
    serve,
)
from fake_providers._core import split_text

OPENAI_KEY = "sk-test-openai-0123456789"
AZURE_KEY = "azure-test-key-0123456789"
ANTHROPIC_KEY = "sk-ant-test-0123456789"
GEMINI_KEY = "gemini-test-key-0123456789"
BEDROCK_API_KEY = "ABSKbedrock-test-api-key-0123456789"
OLLAMA_KEY = "ollama-test-key-0123456789"
WRONG_KEY = "wrong-key-0123456789"
ALL_SECRETS = (OPENAI_KEY, AZURE_KEY, ANTHROPIC_KEY, GEMINI_KEY, BEDROCK_API_KEY, OLLAMA_KEY, WRONG_KEY, DEFAULT_SECRET_ACCESS_KEY)
USER_MESSAGE = "Say hello in three words."

# Environment variables the clients read for keys, endpoints, API versions, profiles and proxies. Each test starts with
# none of them set, so a developer's shell or ~/.aws cannot change what a test sends or where it goes.
_CLIENT_ENV = (
    "OPENAI_API_KEY OPENAI_ADMIN_KEY OPENAI_BASE_URL OPENAI_ORG_ID OPENAI_PROJECT_ID OPENAI_CUSTOM_HEADERS OPENAI_API_VERSION OPENAI_LOG "
    "AZURE_OPENAI_ENDPOINT AZURE_OPENAI_API_KEY AZURE_OPENAI_AD_TOKEN "
    "ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_BASE_URL ANTHROPIC_CUSTOM_HEADERS ANTHROPIC_PROFILE ANTHROPIC_IDENTITY_TOKEN "
    "ANTHROPIC_IDENTITY_TOKEN_FILE ANTHROPIC_FEDERATION_RULE_ID ANTHROPIC_ORGANIZATION_ID ANTHROPIC_LOG "
    "GOOGLE_API_KEY GEMINI_API_KEY GOOGLE_GEMINI_BASE_URL GOOGLE_VERTEX_BASE_URL GOOGLE_GENAI_API_VERSION GOOGLE_GENAI_USE_VERTEXAI "
    "GOOGLE_GENAI_USE_ENTERPRISE GOOGLE_CLOUD_PROJECT GOOGLE_CLOUD_LOCATION GOOGLE_GENAI_HTTP_CLIENT "
    "AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION "
    "AWS_ENDPOINT_URL AWS_ENDPOINT_URL_BEDROCK_RUNTIME AWS_ENDPOINT_URL_BEDROCK AWS_BEARER_TOKEN_BEDROCK AWS_MAX_ATTEMPTS AWS_RETRY_MODE "
    "OLLAMA_HOST OLLAMA_API_KEY HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy"
).split()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))  # no profile auto-discovery from ~/.config
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def finished(fake: FakeProvider) -> None:
    """Teardown check: the fake itself raised nothing while serving the test."""
    assert fake.errors == [], fake.errors


def raw_request(fake: FakeProvider, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request to the fake, for what the official clients never send (a query-string key, a missing header)."""
    split = urllib.parse.urlsplit(fake.origin)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(method, target, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def body_of(request: RecordedRequest) -> dict[str, Any]:
    assert isinstance(request.json, dict), request.body
    return request.json


def as_dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict), value
    return value


# ---------------------------------------------------------------------------------------------------------------------
# the shared machinery


def test_split_text_round_trips() -> None:
    for text in ("Hello from the fake.", "  leading and trailing  ", "one", "", "   "):
        assert "".join(split_text(text)) == text


def test_headers_are_case_insensitive() -> None:
    headers = Headers([("Content-Type", "a"), ("X-Thing", "1"), ("x-thing", "2")])
    assert headers["content-type"] == "a"
    assert headers["X-THING"] == "1, 2"
    assert headers.get_all("x-thing") == ["1", "2"]
    assert "CONTENT-TYPE" in headers and "absent" not in headers
    assert list(headers) == ["Content-Type", "X-Thing"]


def test_serve_rejects_an_unknown_provider() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        serve("nonesuch")


def test_script_is_first_in_first_out_per_route() -> None:
    with serve("ollama") as fake:
        fake.fail(500, route="models")
        fake.answer("first")
        fake.answer("second")
        status, _, _ = raw_request(fake, "POST", "/api/chat", {"model": "llama3.2", "messages": [], "stream": False})
        assert status == 200
        status, _, _ = raw_request(fake, "GET", "/api/tags")
        assert status == 500
        _, _, body = raw_request(fake, "POST", "/api/chat", {"model": "llama3.2", "messages": [], "stream": False})
        assert json.loads(body)["message"]["content"] == "second"
        finished(fake)


# ---------------------------------------------------------------------------------------------------------------------
# OpenAI and OpenAI-compatible endpoints


@pytest.fixture
def openai_fake() -> Iterator[OpenAIFake]:
    pytest.importorskip("openai")
    with OpenAIFake(keys={OPENAI_KEY}) as fake:
        yield fake
        finished(fake)


def openai_client(fake: OpenAIFake, key: str = OPENAI_KEY, **options: Any) -> Any:
    import openai

    return openai.OpenAI(api_key=key, base_url=fake.url, max_retries=options.pop("max_retries", 0), **options)


def test_openai_chat_completion(openai_fake: OpenAIFake) -> None:
    openai_fake.answer("Hello there, friend!")
    completion = openai_client(openai_fake).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": USER_MESSAGE}])
    assert completion.choices[0].message.content == "Hello there, friend!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 3

    sent = openai_fake.last_request
    assert (sent.method, sent.path, sent.query) == ("POST", "/v1/chat/completions", {})
    assert sent.headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": USER_MESSAGE}]}  # no "stream" key at all
    assert (sent.auth_scheme, sent.credential, sent.route, sent.stream, sent.status) == ("bearer", OPENAI_KEY, "chat", False, 200)
    assert completion._request_id.startswith("req_")


def test_openai_streamed_chat_completion(openai_fake: OpenAIFake) -> None:
    openai_fake.answer(stream_chunks=["Hel", "lo ", "wor", "ld"])
    stream = openai_client(openai_fake).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": USER_MESSAGE}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the include_usage chunk comes last

    sent = openai_fake.last_request
    assert body_of(sent)["stream"] is True and body_of(sent)["stream_options"] == {"include_usage": True}
    assert sent.stream and body_of(sent)["model"] == "gpt-4o"


def test_openai_models_list(openai_fake: OpenAIFake) -> None:
    models = [m.id for m in openai_client(openai_fake).models.list()]
    assert models == list(openai_fake.models)
    sent = openai_fake.last_request
    assert (sent.method, sent.path, sent.body) == ("GET", "/v1/models", b"")


def test_openai_wrong_key(openai_fake: OpenAIFake) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError) as caught:
        openai_client(openai_fake, key=WRONG_KEY).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    assert WRONG_KEY not in str(caught.value)  # the fake never echoes a key
    assert openai_fake.last_request.credential == WRONG_KEY


def test_openai_rate_limit_with_retry_after(openai_fake: OpenAIFake) -> None:
    import openai

    openai_fake.fail(429, retry_after=7)
    with pytest.raises(openai.RateLimitError) as caught:
        openai_client(openai_fake).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"
    assert len(openai_fake.requests) == 1  # max_retries=0: no second attempt


def test_openai_client_retries_after_the_servers_delay(openai_fake: OpenAIFake) -> None:
    openai_fake.fail(429, retry_after=0.05)
    completion = openai_client(openai_fake, max_retries=1).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == openai_fake.default_answer
    assert [r.headers["x-stainless-retry-count"] for r in openai_fake.requests] == ["0", "1"]
    assert [r.status for r in openai_fake.requests] == [429, 200]


def test_openai_unknown_model_and_server_errors(openai_fake: OpenAIFake) -> None:
    import openai

    client = openai_client(openai_fake)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-nonesuch", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_found" and "gpt-nonesuch" in caught.value.message
    openai_fake.fail(500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    openai_fake.fail(529)
    with pytest.raises(openai.InternalServerError) as overloaded:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert overloaded.value.status_code == 503


def test_openai_refusal(openai_fake: OpenAIFake) -> None:
    client = openai_client(openai_fake)
    openai_fake.refuse("I can't help with that.")
    message = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]).choices[0].message
    assert (message.content, message.refusal) == (None, "I can't help with that.")
    openai_fake.refuse("No.")
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "No."


def test_openai_timeout_and_mid_stream_failure(openai_fake: OpenAIFake) -> None:
    import openai

    client = openai_client(openai_fake, timeout=0.3)
    openai_fake.hang(5)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    openai_fake.fail(500, after_chunks=2)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="server had an error"):
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "".join(split_text(openai_fake.default_answer)[:2])


def test_openai_stall_mid_stream_reads_as_a_timeout(openai_fake: OpenAIFake) -> None:
    import openai

    openai_fake.hang(5, after_chunks=1)
    received: list[str] = []
    with pytest.raises(openai.APITimeoutError):
        for chunk in openai_client(openai_fake, timeout=0.3).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == split_text(openai_fake.default_answer)[0]


def test_openai_compatible_endpoint_at_a_base_path_with_the_async_client() -> None:
    openai = pytest.importorskip("openai")
    with serve("openai", keys={"compat-key"}, models=["local-model"], base_path="/compat/v1") as fake:
        assert fake.url.endswith("/compat/v1")

        async def talk() -> tuple[str, list[str], list[str]]:
            client = openai.AsyncOpenAI(api_key="compat-key", base_url=fake.url, max_retries=0)
            async with client:
                reply = await client.chat.completions.create(model="local-model", messages=[{"role": "user", "content": "hi"}])
                pieces = [
                    c.choices[0].delta.content or ""
                    async for c in await client.chat.completions.create(model="local-model", messages=[{"role": "user", "content": "hi"}], stream=True)
                    if c.choices
                ]
                models = [m.id async for m in client.models.list()]
            return reply.choices[0].message.content or "", pieces, models

        text, pieces, models = asyncio.run(talk())
        assert text == "".join(pieces) == fake.default_answer
        assert models == ["local-model"]
        assert [r.path for r in fake.requests] == ["/compat/v1/chat/completions", "/compat/v1/chat/completions", "/compat/v1/models"]
        assert fake.requests[0].headers["x-stainless-async"].startswith("async:")
        status, _, body = raw_request(fake, "POST", "/v1/chat/completions", {"model": "local-model", "messages": []}, {"Authorization": "Bearer compat-key"})
        assert status == 404 and json.loads(body)["error"]["message"].startswith("Invalid URL")
        finished(fake)


def test_openai_request_validation(openai_fake: OpenAIFake) -> None:
    auth = {"Authorization": f"Bearer {OPENAI_KEY}"}
    status, _, body = raw_request(openai_fake, "POST", "/v1/chat/completions", {"model": "gpt-4o"}, auth)
    assert status == 400 and json.loads(body)["error"]["code"] == "missing_required_parameter"
    status, _, body = raw_request(openai_fake, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, auth)
    assert status == 400 and json.loads(body)["error"]["param"] == "model"
    status, _, body = raw_request(openai_fake, "GET", "/v1/models")
    assert status == 401 and "didn't provide an API key" in json.loads(body)["error"]["message"]


def test_openai_from_environment_variables(openai_fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_fake.url)
    client = openai.OpenAI(max_retries=0)
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    assert (openai_fake.last_request.path, openai_fake.last_request.credential) == ("/v1/models/gpt-4o", OPENAI_KEY)
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nonesuch")


# ---------------------------------------------------------------------------------------------------------------------
# Azure OpenAI


@pytest.fixture
def azure_fake() -> Iterator[AzureOpenAIFake]:
    pytest.importorskip("openai")
    with AzureOpenAIFake(keys={AZURE_KEY}, models=["chat-prod"], deployment_models={"chat-prod": "gpt-4o-2024-08-06"}) as fake:
        yield fake
        finished(fake)


def azure_client(fake: AzureOpenAIFake, **options: Any) -> Any:
    import openai

    options.setdefault("api_key", AZURE_KEY)
    return openai.AzureOpenAI(azure_endpoint=fake.url, api_version="2024-10-21", max_retries=0, **options)


def test_azure_chat_completion(azure_fake: AzureOpenAIFake) -> None:
    completion = azure_client(azure_fake).chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": USER_MESSAGE}])
    assert completion.choices[0].message.content == azure_fake.default_answer
    assert completion.model == "gpt-4o-2024-08-06"  # Azure reports the deployed model, not the deployment name

    sent = azure_fake.last_request
    assert (sent.method, sent.path) == ("POST", "/openai/deployments/chat-prod/chat/completions")
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == AZURE_KEY and "Authorization" not in sent.headers
    assert sent.json == {"model": "chat-prod", "messages": [{"role": "user", "content": USER_MESSAGE}]}
    assert sent.extras["deployment"] == "chat-prod" and sent.auth_scheme == "api-key"


def test_azure_streamed_chat_starts_with_a_choiceless_chunk(azure_fake: AzureOpenAIFake) -> None:
    chunks = list(azure_client(azure_fake).chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert chunks[0].choices == []  # the prompt_filter_results chunk: code must not index choices[0] blindly
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == azure_fake.default_answer
    assert body_of(azure_fake.last_request)["stream"] is True


def test_azure_entra_token_models_and_legacy_deployments(azure_fake: AzureOpenAIFake) -> None:
    client = azure_client(azure_fake, api_key=None, azure_ad_token=AZURE_KEY)
    client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
    assert azure_fake.last_request.headers["Authorization"] == f"Bearer {AZURE_KEY}" and "api-key" not in azure_fake.last_request.headers
    assert [m.id for m in client.models.list()] == ["gpt-4o-2024-08-06"]
    assert (azure_fake.last_request.path, azure_fake.last_request.query) == ("/openai/models", {"api-version": "2024-10-21"})
    status, _, body = raw_request(azure_fake, "GET", "/openai/deployments?api-version=2022-12-01", headers={"api-key": AZURE_KEY})
    assert status == 200 and json.loads(body)["data"][0]["id"] == "chat-prod"


def test_azure_v1_surface_with_the_plain_openai_client(azure_fake: AzureOpenAIFake) -> None:
    import openai

    client = openai.OpenAI(api_key=AZURE_KEY, base_url=azure_fake.v1_url, max_retries=0)
    completion = client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == azure_fake.default_answer
    sent = azure_fake.last_request
    assert (sent.path, sent.query, sent.auth_scheme) == ("/openai/v1/chat/completions", {}, "bearer")
    assert sent.extras["surface"] == "v1"
    assert [m.id for m in client.models.list()] == ["gpt-4o-2024-08-06"]


def test_azure_errors(azure_fake: AzureOpenAIFake) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError) as denied:
        azure_client(azure_fake, api_key=WRONG_KEY).chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
    assert denied.value.code == "401" and "invalid subscription key" in denied.value.message
    client = azure_client(azure_fake)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-deployment", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "DeploymentNotFound"
    azure_fake.fail(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
    assert (limited.value.response.headers["retry-after"], limited.value.response.headers["retry-after-ms"]) == ("2", "2000")
    status, _, body = raw_request(azure_fake, "POST", "/openai/deployments/chat-prod/chat/completions", {"messages": []}, {"api-key": AZURE_KEY})
    assert (status, json.loads(body)["error"]["message"]) == (404, "Resource not found")  # no api-version


def test_azure_content_filter(azure_fake: AzureOpenAIFake) -> None:
    import openai

    client = azure_client(azure_fake)
    azure_fake.refuse()
    choice = client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}]).choices[0]
    assert choice.finish_reason == "content_filter" and choice.message.content is None
    assert choice.model_extra["content_filter_results"]["hate"]["filtered"] is True
    azure_fake.refuse()
    chunks = list(client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "content_filter"
    azure_fake.refuse(where="prompt")
    with pytest.raises(openai.BadRequestError) as filtered:
        client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
    assert filtered.value.code == "content_filter" and filtered.value.param == "prompt"


def test_azure_from_environment_variables(azure_fake: AzureOpenAIFake, monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure_fake.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    openai.AzureOpenAI(max_retries=0).chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
    sent = azure_fake.last_request
    assert (sent.query, sent.headers["api-key"]) == ({"api-version": "2025-04-01-preview"}, AZURE_KEY)


# ---------------------------------------------------------------------------------------------------------------------
# Anthropic


@pytest.fixture
def anthropic_fake() -> Iterator[AnthropicFake]:
    pytest.importorskip("anthropic")
    with AnthropicFake(keys={ANTHROPIC_KEY}) as fake:
        yield fake
        finished(fake)


def anthropic_client(fake: AnthropicFake, key: str = ANTHROPIC_KEY, **options: Any) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key=key, base_url=fake.url, max_retries=0, **options)


def test_anthropic_message(anthropic_fake: AnthropicFake) -> None:
    from anthropic._constants import ANTHROPIC_API_VERSION

    anthropic_fake.answer("Hello, nice day!")
    message = anthropic_client(anthropic_fake).messages.create(
        model="claude-sonnet-4-5", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": USER_MESSAGE}]
    )
    assert [block.text for block in message.content] == ["Hello, nice day!"]
    assert (message.stop_reason, message.role, message.usage.output_tokens) == ("end_turn", "assistant", 3)
    assert message._request_id is not None and message._request_id.startswith("req_")

    sent = anthropic_fake.last_request
    assert (sent.method, sent.path, sent.query) == ("POST", "/v1/messages", {})
    assert sent.headers["anthropic-version"] == ANTHROPIC_API_VERSION
    # The API documents x-api-key; the 2.x client sends the key as a bearer token. The fake accepts both and says which.
    assert sent.headers["Authorization"] == f"Bearer {ANTHROPIC_KEY}" and sent.auth_scheme == "bearer"
    assert sent.json == {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": "Be brief.", "messages": [{"role": "user", "content": USER_MESSAGE}]}


def test_anthropic_streamed_message(anthropic_fake: AnthropicFake) -> None:
    anthropic_fake.answer(stream_chunks=["Hi", " there", "!"])
    with anthropic_client(anthropic_fake).messages.stream(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hi there!" and final.stop_reason == "end_turn"
    assert body_of(anthropic_fake.last_request)["stream"] is True and anthropic_fake.last_request.stream

    events = list(
        anthropic_client(anthropic_fake).messages.create(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"] and "ping" not in kinds


def test_anthropic_models_paged(anthropic_fake: AnthropicFake) -> None:
    ids = [m.id for m in anthropic_client(anthropic_fake).models.list(limit=2)]
    assert ids == list(anthropic_fake.models)
    pages = [r.query for r in anthropic_fake.requests]
    assert pages == [{"limit": "2"}, {"limit": "2", "after_id": anthropic_fake.models[1]}]
    assert all(r.path == "/v1/models" and r.method == "GET" for r in anthropic_fake.requests)


def test_anthropic_errors(anthropic_fake: AnthropicFake) -> None:
    import anthropic

    with pytest.raises(anthropic.AuthenticationError) as denied:
        anthropic_client(anthropic_fake, key=WRONG_KEY).messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert denied.value.type == "authentication_error" and as_dict(denied.value.body)["type"] == "error"
    client = anthropic_client(anthropic_fake)
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="claude-nonesuch", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert missing.value.type == "not_found_error"
    anthropic_fake.fail(429, retry_after=11)
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.headers["retry-after"] == "11" and limited.value.type == "rate_limit_error"
    anthropic_fake.fail(529)
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert overloaded.value.type == "overloaded_error" and overloaded.value.request_id is not None
    anthropic_fake.fail(529, after_chunks=1)
    with pytest.raises(anthropic.APIStatusError) as in_stream:
        for _ in client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}], stream=True):
            pass
    assert as_dict(in_stream.value.body)["error"]["type"] == "overloaded_error"
    assert len(anthropic_fake.requests) == 5  # max_retries=0: one request per call, none retried


def test_anthropic_refusal(anthropic_fake: AnthropicFake) -> None:
    client = anthropic_client(anthropic_fake)
    anthropic_fake.refuse(category="cyber")
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert message.stop_reason == "refusal" and message.content == []
    assert message.stop_details is not None and message.stop_details.category == "cyber"
    anthropic_fake.refuse("Partial answer")
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        assert "".join(stream.text_stream) == "Partial answer"
        assert stream.get_final_message().stop_reason == "refusal"


def test_anthropic_documented_header_forms(anthropic_fake: AnthropicFake) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    status, headers, _ = raw_request(anthropic_fake, "POST", "/v1/messages", body, {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"})
    assert status == 200 and anthropic_fake.last_request.auth_scheme == "x-api-key" and headers["request-id"].startswith("req_")
    status, _, reply = raw_request(anthropic_fake, "POST", "/v1/messages", body, {"x-api-key": ANTHROPIC_KEY})
    assert status == 400 and json.loads(reply)["error"]["message"] == "anthropic-version: header is required"
    status, _, reply = raw_request(
        anthropic_fake, "POST", "/v1/messages", {**body, "max_tokens": None}, {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    )
    assert status == 400
    del body["max_tokens"]
    status, _, reply = raw_request(anthropic_fake, "POST", "/v1/messages", body, {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"})
    assert status == 400 and json.loads(reply)["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


def test_anthropic_timeout(anthropic_fake: AnthropicFake) -> None:
    import anthropic

    anthropic_fake.hang(5)
    with pytest.raises(anthropic.APITimeoutError):
        anthropic_client(anthropic_fake, timeout=0.3).messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])


def test_anthropic_async_client(anthropic_fake: AnthropicFake) -> None:
    import anthropic

    async def talk() -> tuple[str, str | None]:
        async with anthropic.AsyncAnthropic(api_key=ANTHROPIC_KEY, base_url=anthropic_fake.url, max_retries=0) as client:
            async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}]) as stream:
                text = "".join([piece async for piece in stream.text_stream])
                final = await stream.get_final_message()
        return text, final.stop_reason

    assert asyncio.run(talk()) == (anthropic_fake.default_answer, "end_turn")
    assert anthropic_fake.last_request.headers["x-stainless-async"].startswith("async:")


def test_anthropic_from_environment_variables_and_secondary_endpoints(anthropic_fake: AnthropicFake, monkeypatch: pytest.MonkeyPatch) -> None:
    import anthropic

    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_fake.url)
    client = anthropic.Anthropic(max_retries=0)
    assert client.models.retrieve("claude-opus-4-1").display_name == "Claude Opus 4 1"
    counted = client.messages.count_tokens(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "two words"}])
    assert counted.input_tokens == 2
    assert [r.path for r in anthropic_fake.requests] == ["/v1/models/claude-opus-4-1", "/v1/messages/count_tokens"]
    assert {r.credential for r in anthropic_fake.requests} == {ANTHROPIC_KEY}


# ---------------------------------------------------------------------------------------------------------------------
# Google Gemini


@pytest.fixture
def gemini_fake() -> Iterator[GeminiFake]:
    pytest.importorskip("google.genai")
    with GeminiFake(keys={GEMINI_KEY}) as fake:
        yield fake
        finished(fake)


def gemini_client(fake: GeminiFake, key: str = GEMINI_KEY, **http_options: Any) -> Any:
    from google import genai

    options: Any = {"base_url": fake.url, **http_options}
    return genai.Client(api_key=key, http_options=options)


def test_gemini_generate_content(gemini_fake: GeminiFake) -> None:
    gemini_fake.answer("Hello from Gemini.")
    client = gemini_client(gemini_fake)  # keep a reference: a collected genai.Client closes its HTTP client mid-call
    response = client.models.generate_content(model="gemini-2.5-flash", contents=USER_MESSAGE)
    assert response.text == "Hello from Gemini."
    assert response.candidates[0].finish_reason == "STOP" and response.usage_metadata.candidates_token_count == 3

    sent = gemini_fake.last_request
    # The installed client defaults to API version v1 (not v1beta) and sends the key in x-goog-api-key, never in the URL.
    assert (sent.method, sent.path, sent.query) == ("POST", "/v1/models/gemini-2.5-flash:generateContent", {})
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY and sent.auth_scheme == "x-goog-api-key" and sent.extras["key_sources"] == ["x-goog-api-key"]
    assert sent.json == {"contents": [{"parts": [{"text": USER_MESSAGE}], "role": "user"}]}
    assert sent.headers["x-goog-api-client"].startswith("google-genai-sdk/")


def test_gemini_streamed_content_on_v1beta(gemini_fake: GeminiFake) -> None:
    from google.genai import types

    gemini_fake.answer(stream_chunks=["Why ", "hello ", "there"])
    client = gemini_client(gemini_fake, api_version="v1beta")
    config = types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50)
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-pro", contents=USER_MESSAGE, config=config))
    assert "".join(c.text or "" for c in chunks) == "Why hello there"
    assert chunks[-1].candidates[0].finish_reason == "STOP"

    sent = gemini_fake.last_request
    assert (sent.path, sent.query, sent.extras["api_version"]) == ("/v1beta/models/gemini-2.5-pro:streamGenerateContent", {"alt": "sse"}, "v1beta")
    assert body_of(sent)["systemInstruction"] == {"parts": [{"text": "Be brief."}], "role": "user"}
    assert body_of(sent)["generationConfig"] == {"maxOutputTokens": 50}


def test_gemini_models_pageable(gemini_fake: GeminiFake) -> None:
    client = gemini_client(gemini_fake)
    names = [m.name for m in client.models.list(config={"page_size": 2})]
    assert names == [f"models/{m}" for m in gemini_fake.models]
    queries = [r.query for r in gemini_fake.requests]
    assert queries[0] == {"pageSize": "2"} and queries[1]["pageSize"] == "2" and "pageToken" in queries[1]
    assert all(r.path == "/v1/models" for r in gemini_fake.requests)


def test_gemini_key_in_the_query_string(gemini_fake: GeminiFake) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    status, _, reply = raw_request(gemini_fake, "POST", f"/v1beta/models/gemini-2.0-flash:generateContent?key={GEMINI_KEY}", body)
    assert status == 200 and json.loads(reply)["candidates"][0]["content"]["parts"][0]["text"] == gemini_fake.default_answer
    assert (gemini_fake.last_request.auth_scheme, gemini_fake.last_request.credential) == ("key-query", GEMINI_KEY)
    status, _, reply = raw_request(gemini_fake, "POST", "/v1beta/models/gemini-2.0-flash:generateContent", body)
    assert status == 403 and json.loads(reply)["error"]["status"] == "PERMISSION_DENIED"


def test_gemini_errors(gemini_fake: GeminiFake) -> None:
    from google.genai import errors

    wrong = gemini_client(gemini_fake, key=WRONG_KEY)
    with pytest.raises(errors.ClientError) as denied:
        wrong.models.generate_content(model="gemini-2.5-flash", contents="hi")
    # The real API answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID, not 401.
    assert (denied.value.code, denied.value.status) == (400, "INVALID_ARGUMENT")
    assert denied.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    client = gemini_client(gemini_fake)
    gemini_fake.fail(401)
    with pytest.raises(errors.ClientError) as unauthenticated:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (unauthenticated.value.code, unauthenticated.value.status) == (401, "UNAUTHENTICATED")
    with pytest.raises(errors.ClientError) as missing:
        client.models.generate_content(model="gemini-nonesuch", contents="hi")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND") and "models/gemini-nonesuch" in str(missing.value.message)
    gemini_fake.fail(429, retry_after=17)
    with pytest.raises(errors.ClientError) as limited:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"} in limited.value.details["error"]["details"]
    assert "retry-after" not in limited.value.response.headers  # as the real API: the delay is in the body only
    gemini_fake.fail(503)
    with pytest.raises(errors.ServerError) as overloaded:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert overloaded.value.status == "UNAVAILABLE"
    gemini_fake.fail(500, after_chunks=1)
    with pytest.raises(errors.ServerError):
        for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"):
            pass
    assert len([r for r in gemini_fake.requests if r.route == "chat"]) == 6  # no retries without retry_options


def test_gemini_safety_blocks(gemini_fake: GeminiFake) -> None:
    client = gemini_client(gemini_fake)
    gemini_fake.refuse()
    blocked = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert blocked.prompt_feedback.block_reason == "SAFETY" and not blocked.candidates and blocked.text is None
    gemini_fake.refuse(where="candidate")
    stopped = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert stopped.candidates[0].finish_reason == "SAFETY" and stopped.text is None
    gemini_fake.refuse(reason="PROHIBITED_CONTENT")
    streamed = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert streamed[0].prompt_feedback.block_reason == "PROHIBITED_CONTENT"


def test_gemini_timeout(gemini_fake: GeminiFake) -> None:
    gemini_fake.hang(5)
    client = gemini_client(gemini_fake, timeout=300)  # milliseconds
    with pytest.raises(Exception) as caught:  # the client lets the transport's timeout exception through
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert "timeout" in type(caught.value).__name__.lower() or "timed out" in str(caught.value).lower()


def test_gemini_async_client(gemini_fake: GeminiFake) -> None:
    from google import genai

    gemini_fake.answer(stream_chunks=["async ", "gemini"])

    async def talk() -> tuple[str, list[str]]:
        client = genai.Client(api_key=GEMINI_KEY, http_options={"base_url": gemini_fake.url})
        try:
            stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
            text = "".join([chunk.text or "" async for chunk in stream])
            names = [model.name or "" async for model in await client.aio.models.list(config={"page_size": 1})]
        finally:
            await client.aio.aclose()
        return text, names

    text, names = asyncio.run(talk())
    assert text == "async gemini" and names == [f"models/{m}" for m in gemini_fake.models]
    assert gemini_fake.requests[0].query == {"alt": "sse"} and len(gemini_fake.requests) == 1 + len(gemini_fake.models)


def test_gemini_from_environment_variables_and_secondary_endpoints(gemini_fake: GeminiFake, monkeypatch: pytest.MonkeyPatch) -> None:
    from google import genai

    # GOOGLE_API_KEY wins over GEMINI_API_KEY; GOOGLE_GEMINI_BASE_URL and GOOGLE_GENAI_API_VERSION set the URL.
    monkeypatch.setenv("GEMINI_API_KEY", WRONG_KEY)
    monkeypatch.setenv("GOOGLE_API_KEY", GEMINI_KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini_fake.url)
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "v1beta")
    client = genai.Client()
    assert client.models.get(model="gemini-2.0-flash").display_name == "Gemini 2.0 Flash"
    assert client.models.count_tokens(model="gemini-2.0-flash", contents="three little words").total_tokens == 3
    assert [r.path for r in gemini_fake.requests] == ["/v1beta/models/gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:countTokens"]
    assert {r.credential for r in gemini_fake.requests} == {GEMINI_KEY}
    # streamGenerateContent without alt=sse answers one JSON array, element by element.
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    status, headers, reply = raw_request(gemini_fake, "POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", body, {"x-goog-api-key": GEMINI_KEY})
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert "".join(item["candidates"][0]["content"]["parts"][0]["text"] for item in json.loads(reply)) == gemini_fake.default_answer


# ---------------------------------------------------------------------------------------------------------------------
# Amazon Bedrock


@pytest.fixture
def bedrock_fake() -> Iterator[BedrockFake]:
    pytest.importorskip("boto3")
    with BedrockFake(keys={BEDROCK_API_KEY}) as fake:
        yield fake
        finished(fake)


def bedrock_client(fake: BedrockFake, service: str = "bedrock-runtime", secret: str = DEFAULT_SECRET_ACCESS_KEY, **options: Any) -> Any:
    import boto3
    from botocore.config import Config

    # total_max_attempts=1 is "no retries"; botocore's max_attempts counts retries, so max_attempts=1 still retries once.
    config = Config(retries={"total_max_attempts": 1}, read_timeout=options.pop("read_timeout", 10))
    session = boto3.session.Session(aws_access_key_id=options.pop("access_key_id", DEFAULT_ACCESS_KEY_ID), aws_secret_access_key=secret, **options)
    return session.client(service, region_name="us-west-2", endpoint_url=fake.url, config=config)


MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def test_bedrock_converse(bedrock_fake: BedrockFake) -> None:
    bedrock_fake.answer("Hello from Bedrock.")
    response = bedrock_client(bedrock_fake).converse(
        modelId=MODEL,
        system=[{"text": "Be brief."}],
        messages=[{"role": "user", "content": [{"text": USER_MESSAGE}]}],
        inferenceConfig={"maxTokens": 64, "temperature": 0.5},
    )
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": "Hello from Bedrock."}]}
    assert response["stopReason"] == "end_turn" and response["usage"]["outputTokens"] == 3
    assert response["ResponseMetadata"]["RequestId"]

    sent = bedrock_fake.last_request
    assert (sent.method, sent.path) == ("POST", f"/model/{MODEL}/converse")
    assert sent.raw_path == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"  # the colon travels percent-encoded
    assert sent.json == {
        "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": USER_MESSAGE}]}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.5},
    }
    signature = sent.extras["sigv4"]
    assert (sent.auth_scheme, sent.credential) == ("sigv4", DEFAULT_ACCESS_KEY_ID)
    assert (signature.access_key_id, signature.region, signature.service) == (DEFAULT_ACCESS_KEY_ID, "us-west-2", "bedrock")
    assert {"host", "x-amz-date", "content-type"} <= set(signature.signed_headers)
    assert sent.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={DEFAULT_ACCESS_KEY_ID}/{signature.date}/us-west-2/bedrock/aws4_request")


def test_bedrock_converse_stream(bedrock_fake: BedrockFake) -> None:
    bedrock_fake.answer(stream_chunks=["Streaming ", "from ", "Bedrock."])
    response = bedrock_client(bedrock_fake).converse_stream(modelId=f"us.{MODEL}", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    events = list(response["stream"])
    assert [next(iter(e)) for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == "Streaming from Bedrock."
    assert events[-2]["messageStop"]["stopReason"] == "end_turn" and events[-1]["metadata"]["usage"]["totalTokens"] > 0
    assert bedrock_fake.last_request.path == f"/model/us.{MODEL}/converse-stream" and bedrock_fake.last_request.stream


def test_bedrock_foundation_models(bedrock_fake: BedrockFake) -> None:
    client = bedrock_client(bedrock_fake, service="bedrock")
    summaries = client.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
    assert [s["modelId"] for s in summaries] == [m for m in bedrock_fake.models if m.startswith("anthropic.")]
    assert summaries[0]["modelArn"] == f"arn:aws:bedrock:us-west-2::foundation-model/{summaries[0]['modelId']}"
    sent = bedrock_fake.last_request
    assert (sent.method, sent.path, sent.query) == ("GET", "/foundation-models", {"byProvider": "Anthropic"})
    assert sent.extras["sigv4"].service == "bedrock"  # the control plane signs as "bedrock" too
    assert len(client.list_foundation_models()["modelSummaries"]) == len(bedrock_fake.models)


def test_bedrock_signature_is_verified(bedrock_fake: BedrockFake) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as forged:
        bedrock_client(bedrock_fake, secret="not-the-secret").converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    error = forged.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException" and error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Message"].startswith("The request signature we calculated does not match")
    assert bedrock_fake.last_request.credential == DEFAULT_ACCESS_KEY_ID and "sigv4" not in bedrock_fake.last_request.extras
    # The same call with the right secret passes, and so does one with a session token (signed as x-amz-security-token).
    assert bedrock_client(bedrock_fake).converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stopReason"] == "end_turn"
    bedrock_client(bedrock_fake, aws_session_token="session-token").converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert "x-amz-security-token" in bedrock_fake.last_request.extras["sigv4"].signed_headers
    with pytest.raises(ClientError) as unknown:
        bedrock_client(bedrock_fake, access_key_id="AKIAUNKNOWNKEY000000").converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_bedrock_signature_check_covers_body_and_query(bedrock_fake: BedrockFake) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{bedrock_fake.url}/foundation-models?byProvider=Meta&byOutputModality=TEXT"
    request = AWSRequest(method="GET", url=url, headers={"x-extra": "a  b "})
    SigV4Auth(Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY), "bedrock", "eu-central-1").add_auth(request)
    status, _, body = raw_request(bedrock_fake, "GET", url.split(bedrock_fake.url, 1)[1], headers=dict(request.headers.items()))
    assert status == 200 and [s["providerName"] for s in json.loads(body)["modelSummaries"]] == ["Meta"]
    assert bedrock_fake.last_request.extras["sigv4"].region == "eu-central-1"
    # Tampering with a signed part of the request after signing breaks the signature.
    status, headers, _ = raw_request(bedrock_fake, "GET", "/foundation-models?byProvider=Amazon", headers=dict(request.headers.items()))
    assert status == 403 and headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    signed = AWSRequest(method="POST", url=f"{bedrock_fake.url}/model/{MODEL}/converse", data=b'{"messages":[]}', headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY), "bedrock", "us-east-1").add_auth(signed)
    status, _, _ = raw_request(bedrock_fake, "POST", f"/model/{MODEL}/converse", body={"messages": [1]}, headers=dict(signed.headers.items()))
    assert status == 403
    status, headers, body = raw_request(bedrock_fake, "GET", "/foundation-models")
    assert status == 403 and headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")


def test_bedrock_errors(bedrock_fake: BedrockFake) -> None:
    from botocore.exceptions import ClientError, EventStreamError

    client = bedrock_client(bedrock_fake)
    bedrock_fake.fail(429, retry_after=3)
    with pytest.raises(client.exceptions.ThrottlingException) as throttled:
        client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert len(bedrock_fake.requests) == 1  # total_max_attempts=1: the client did not retry the throttle
    with pytest.raises(client.exceptions.ValidationException) as invalid:
        client.converse(modelId="anthropic.nonesuch-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert invalid.value.response["Error"]["Message"] == "The provided model identifier is invalid."
    bedrock_fake.fail(404)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    bedrock_fake.fail(403)
    with pytest.raises(client.exceptions.AccessDeniedException):
        client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(client.exceptions.ValidationException, match="must start with a user message"):
        client.converse(modelId=MODEL, messages=[{"role": "assistant", "content": [{"text": "hi"}]}])
    bedrock_fake.fail(429, after_chunks=1)
    with pytest.raises(EventStreamError) as in_stream:
        for _ in client.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"]:
            pass
    assert in_stream.value.response["Error"]["Code"] == "throttlingException"
    bedrock_fake.fail(500, code="ModelErrorException", after_chunks=0)
    with pytest.raises(ClientError) as model_error:
        for _ in client.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"]:
            pass
    assert model_error.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_bedrock_refusal(bedrock_fake: BedrockFake) -> None:
    client = bedrock_client(bedrock_fake)
    bedrock_fake.refuse()
    response = client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert response["stopReason"] == "guardrail_intervened"
    assert response["output"]["message"]["content"] == [{"text": "Sorry, the model cannot answer this question."}]
    bedrock_fake.refuse(reason="content_filtered")
    events = list(client.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"])
    assert [e["messageStop"]["stopReason"] for e in events if "messageStop" in e] == ["content_filtered"]


def test_bedrock_api_key_and_endpoint_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import InvalidEndpointConfigurationError

    # Bedrock API keys: with AWS_BEARER_TOKEN_BEDROCK set and no credentials configured in code, botocore sends the key
    # as a bearer token instead of signing, and only to an https endpoint, hence tls=True and AWS_CA_BUNDLE.
    # AWS_ENDPOINT_URL_BEDROCK_RUNTIME replaces the endpoint.
    with serve("bedrock", keys={BEDROCK_API_KEY}, tls=True) as fake:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", BEDROCK_API_KEY)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_CA_BUNDLE", fake.ca_file)
        client = boto3.session.Session(region_name="us-east-1").client("bedrock-runtime")
        assert client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stopReason"] == "end_turn"
        sent = fake.last_request
        assert (sent.auth_scheme, sent.credential, sent.headers["Authorization"]) == ("bearer", BEDROCK_API_KEY, f"Bearer {BEDROCK_API_KEY}")
        assert fake.url.startswith("https://127.0.0.1:")
        finished(fake)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")
    with pytest.raises(InvalidEndpointConfigurationError, match="HTTPS"):
        boto3.session.Session(region_name="us-east-1").client("bedrock-runtime").converse(
            modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}]
        )


def test_bedrock_from_environment_variables(bedrock_fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.exceptions import NoRegionError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", bedrock_fake.url)  # the control plane's own variable
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # unlike Config(retries={"max_attempts": n}), this one counts the first try
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    with pytest.raises(NoRegionError):
        boto3.session.Session().client("bedrock")  # botocore reads AWS_DEFAULT_REGION; AWS_REGION alone is not enough
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    client = boto3.session.Session().client("bedrock")
    bedrock_fake.fail(429, route="models")
    with pytest.raises(client.exceptions.ThrottlingException):
        client.list_foundation_models()
    assert client.get_foundation_model(modelIdentifier="amazon.nova-lite-v1:0")["modelDetails"]["providerName"] == "Amazon"
    assert [r.path for r in bedrock_fake.requests] == ["/foundation-models", "/foundation-models/amazon.nova-lite-v1:0"]
    assert bedrock_fake.last_request.extras["sigv4"].region == "ap-southeast-2"


def test_bedrock_timeout(bedrock_fake: BedrockFake) -> None:
    from botocore.exceptions import ReadTimeoutError

    bedrock_fake.hang(5)
    with pytest.raises(ReadTimeoutError):
        bedrock_client(bedrock_fake, read_timeout=0.3).converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])


def test_eventstream_frames_parse_with_botocore() -> None:
    pytest.importorskip("botocore")
    from botocore.eventstream import EventStreamBuffer
    from fake_providers import _eventstream

    data = _eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hé"}}) + _eventstream.exception(
        "throttlingException", {"message": "slow"}
    )
    buffer = EventStreamBuffer()
    buffer.add_data(data[:7])
    assert list(buffer) == []  # a partial prelude waits for more bytes
    buffer.add_data(data[7:])
    first, second = list(buffer)
    assert first.headers == {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"}
    assert json.loads(first.payload) == {"contentBlockIndex": 0, "delta": {"text": "hé"}}
    assert second.headers[":message-type"] == "exception" and second.to_response_dict()["status_code"] == 400


# ---------------------------------------------------------------------------------------------------------------------
# Ollama


@pytest.fixture
def ollama_fake() -> Iterator[OllamaFake]:
    pytest.importorskip("ollama")
    with OllamaFake() as fake:
        yield fake
        finished(fake)


def test_ollama_chat(ollama_fake: OllamaFake) -> None:
    import ollama

    ollama_fake.answer("Hello from llama.")
    response = ollama.Client(host=ollama_fake.url).chat(model="llama3.2", messages=[{"role": "user", "content": USER_MESSAGE}])
    assert response.message.content == "Hello from llama." and response.done and response.done_reason == "stop"
    assert response.eval_count == 3 and response.prompt_eval_count == 5

    sent = ollama_fake.last_request
    assert (sent.method, sent.path) == ("POST", "/api/chat")
    assert sent.json == {"model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": USER_MESSAGE}], "tools": []}
    assert sent.auth_scheme is None and "Authorization" not in sent.headers  # a local Ollama has no auth


def test_ollama_streamed_chat(ollama_fake: OllamaFake) -> None:
    import ollama

    ollama_fake.answer(stream_chunks=["Stream", "ing", " llama"])
    parts = list(ollama.Client(host=ollama_fake.url).chat(model="qwen2.5:0.5b", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == "Streaming llama"
    assert [p.done for p in parts] == [False, False, False, True] and parts[-1].done_reason == "stop"
    assert body_of(ollama_fake.last_request)["stream"] is True
    status, headers, body = raw_request(ollama_fake, "POST", "/api/chat", {"model": "gemma3:1b", "messages": [{"role": "user", "content": "hi"}]})
    assert headers["content-type"] == "application/x-ndjson" and body.count(b"\n") == len(split_text(ollama_fake.default_answer)) + 1


def test_ollama_models_and_errors(ollama_fake: OllamaFake, monkeypatch: pytest.MonkeyPatch) -> None:
    import ollama

    monkeypatch.setenv("OLLAMA_HOST", ollama_fake.url)  # the client's default host comes from OLLAMA_HOST
    client = ollama.Client()
    assert [m.model for m in client.list().models] == list(ollama_fake.models)
    assert ollama_fake.last_request.path == "/api/tags"
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="nonesuch", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.status_code == 404 and missing.value.error == 'model "nonesuch" not found, try pulling it first'
    ollama_fake.fail(429, retry_after=4)
    with pytest.raises(ollama.ResponseError) as limited:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert limited.value.status_code == 429
    ollama_fake.fail(500, after_chunks=1)
    with pytest.raises(ollama.ResponseError, match="error was encountered"):
        for _ in client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True):
            pass
    ollama_fake.refuse()
    assert client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}]).message.content == "I'm sorry, but I can't help with that."


def test_ollama_secondary_endpoints(ollama_fake: OllamaFake) -> None:
    import ollama

    client = ollama.Client(host=ollama_fake.url)
    details = client.show("llama3.2").details
    assert details is not None and details.format == "gguf"
    assert ollama_fake.last_request.json == {"model": "llama3.2"}
    status, _, body = raw_request(ollama_fake, "GET", "/api/version")
    assert status == 200 and "version" in json.loads(body)
    status, _, body = raw_request(ollama_fake, "GET", "/")
    assert (status, body) == (200, b"Ollama is running")


def test_ollama_with_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    ollama = pytest.importorskip("ollama")
    with serve("ollama", keys={OLLAMA_KEY}) as fake:
        monkeypatch.setenv("OLLAMA_API_KEY", OLLAMA_KEY)  # what ollama.com needs; the client sends it as a bearer token
        assert ollama.Client(host=fake.url).chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}]).message.content
        assert (fake.last_request.auth_scheme, fake.last_request.headers["authorization"]) == ("bearer", f"Bearer {OLLAMA_KEY}")
        monkeypatch.setenv("OLLAMA_API_KEY", WRONG_KEY)
        with pytest.raises(ollama.ResponseError) as denied:
            ollama.Client(host=fake.url).list()
        assert (denied.value.status_code, denied.value.error) == (401, "unauthorized")
        finished(fake)


def test_ollama_timeout(ollama_fake: OllamaFake) -> None:
    import httpx
    import ollama

    ollama_fake.hang(5)
    with pytest.raises(httpx.TimeoutException):
        ollama.Client(host=ollama_fake.url, timeout=0.3).chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])


# ---------------------------------------------------------------------------------------------------------------------
# keys stay in fake.requests


def test_keys_appear_nowhere_but_the_request_log(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """Good and bad keys, every provider: nothing the fakes print, log or answer contains a key."""
    caplog.set_level("DEBUG", logger="fake_providers")
    answers: list[bytes] = []
    cases: list[tuple[str, dict[str, Any], str, str, dict[str, Any] | None, dict[str, str]]] = [
        (
            "openai",
            {"keys": {OPENAI_KEY}},
            "POST",
            "/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            {"Authorization": "Bearer {}"},
        ),
        (
            "azure",
            {"keys": {AZURE_KEY}},
            "POST",
            "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
            {"messages": [{"role": "user", "content": "hi"}]},
            {"api-key": "{}"},
        ),
        (
            "anthropic",
            {"keys": {ANTHROPIC_KEY}},
            "POST",
            "/v1/messages",
            {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
            {"x-api-key": "{}", "anthropic-version": "2023-06-01"},
        ),
        ("gemini", {"keys": {GEMINI_KEY}}, "POST", "/v1beta/models/gemini-2.5-flash:generateContent?key={}", {"contents": [{"parts": [{"text": "hi"}]}]}, {}),
        ("bedrock", {"keys": {BEDROCK_API_KEY}}, "GET", "/foundation-models", None, {"Authorization": "Bearer {}"}),
        ("ollama", {"keys": {OLLAMA_KEY}}, "GET", "/api/tags", None, {"Authorization": "Bearer {}"}),
    ]
    for provider, options, method, target, body, headers in cases:
        good = next(iter(options["keys"]))
        with serve(provider, **options) as fake:
            for key in (good, WRONG_KEY):
                status, reply_headers, reply = raw_request(fake, method, target.replace("{}", key), body, {k: v.replace("{}", key) for k, v in headers.items()})
                assert (status < 400) == (key == good), (provider, status, reply)
                answers.append(reply + json.dumps(reply_headers).encode())
            assert {r.credential for r in fake.requests} == {good, WRONG_KEY}, provider
            finished(fake)
    captured = capfd.readouterr()
    for secret in ALL_SECRETS:
        assert secret not in captured.out and secret not in captured.err
        assert secret not in caplog.text
        assert not any(secret.encode() in answer for answer in answers)
