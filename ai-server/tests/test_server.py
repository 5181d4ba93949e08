"""The AI endpoints in a real Jupyter server, against loopback fakes of every
provider (fake_providers/): Jupyter's token and XSRF checks, the default
provider, each provider's request as its API documents it, the proposal
streamed back, every error as an answer, and no key anywhere it must not be."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_providers import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, FakeProvider, serve

TOKEN = "server-token-for-tests"
ENV_OPENAI_KEY = "sk-env-openai-key-0123456789"
KEYS = {
    "openai": "sk-settings-openai-0123456789",
    "anthropic": "sk-ant-settings-0123456789",
    "gemini": "gemini-settings-key-0123456789",
    "azure": "azure-settings-key-0123456789",
    "compatible": "compat-settings-key-0123456789",
}
ALL_KEYS = (ENV_OPENAI_KEY, DEFAULT_SECRET_ACCESS_KEY, *KEYS.values())
BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"

CELL = "%%scalene --cpu-only\ntotal = 0\nfor i in range(3_000_000):\n    total += i\n"
ANSWER = "The loop runs in the interpreter; sum runs it in C.\n\n```python\ntotal = sum(range(3_000_000))\n```\n"
REQUEST = {
    "target": {"kind": "line", "first": 4, "last": 4},
    "cell": {"key": "[7]", "source": CELL},
    "context": [{"key": "[3]", "source": "def helper(n):\n    return n * 2\n"}],
    "imports": ["import numpy as np"],
    "lines": [{"lineno": 4, "line": "    total += i\n", "n_cpu_percent_python": 87.5, "n_cpu_percent_c": 3.0, "n_sys_percent": 0.5}],
    "profile": {"elapsed_time_sec": 0.41},
}

# What the clients read from the environment: none of the developer's may leak in.
_CLIENT_ENV = (
    "OPENAI_API_KEY OPENAI_BASE_URL OPENAI_ORG_ID OPENAI_PROJECT_ID OPENAI_CUSTOM_HEADERS OPENAI_API_VERSION AZURE_OPENAI_ENDPOINT "
    "AZURE_OPENAI_API_KEY AZURE_OPENAI_AD_TOKEN ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN ANTHROPIC_BASE_URL ANTHROPIC_PROFILE "
    "GOOGLE_API_KEY GEMINI_API_KEY GOOGLE_GEMINI_BASE_URL GOOGLE_GENAI_USE_VERTEXAI AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY "
    "AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_BEDROCK_RUNTIME "
    "AWS_ENDPOINT_URL_BEDROCK AWS_BEARER_TOKEN_BEDROCK OLLAMA_HOST OLLAMA_API_KEY HTTP_PROXY HTTPS_PROXY http_proxy https_proxy"
).split()


class Fakes:
    """One fake per provider, and the settings that point the extension at each."""

    def __init__(self) -> None:
        self.openai = serve("openai", keys={ENV_OPENAI_KEY, KEYS["openai"]}, default_answer=ANSWER)
        self.anthropic = serve("anthropic", keys={KEYS["anthropic"]}, default_answer=ANSWER)
        self.gemini = serve("gemini", keys={KEYS["gemini"]}, default_answer=ANSWER)
        self.azure = serve("azure", keys={KEYS["azure"]}, models=["my-gpt4o"], default_answer=ANSWER)
        self.bedrock = serve("bedrock", default_answer=ANSWER)
        self.ollama = serve("ollama", default_answer=ANSWER)
        self.compatible = serve("openai", keys={KEYS["compatible"]}, base_path="/compat/v1", models=["local-model"], default_answer=ANSWER)

    def all(self) -> list[FakeProvider]:
        return [self.openai, self.anthropic, self.gemini, self.azure, self.bedrock, self.ollama, self.compatible]

    def settings(self, provider: str) -> dict[str, Any]:
        """Settings that choose ``provider`` with its key in the settings (OpenAI: from the environment)."""
        return {
            "openai": {"provider": "openai"},
            "anthropic": {"provider": "anthropic", "anthropicApiKey": KEYS["anthropic"], "anthropicBaseUrl": self.anthropic.url},
            "gemini": {"provider": "gemini", "geminiApiKey": KEYS["gemini"], "geminiBaseUrl": self.gemini.url},
            "azure": {"provider": "azure", "azureApiKey": KEYS["azure"], "azureEndpoint": self.azure.url, "azureDeployment": "my-gpt4o"},
            "bedrock": {
                "provider": "bedrock",
                "model": BEDROCK_MODEL,
                "awsRegion": "us-west-2",
                "awsAccessKeyId": DEFAULT_ACCESS_KEY_ID,
                "awsSecretAccessKey": DEFAULT_SECRET_ACCESS_KEY,
                "bedrockEndpointUrl": self.bedrock.url,
            },
            "ollama": {"provider": "ollama", "model": "llama3.2:latest", "ollamaHost": self.ollama.url},
            "openai-compatible": {
                "provider": "openai-compatible",
                "model": "local-model",
                "compatibleBaseUrl": self.compatible.url,
                "compatibleApiKey": KEYS["compatible"],
            },
        }[provider]

    def of(self, provider: str) -> FakeProvider:
        return {"openai-compatible": self.compatible}.get(provider) or getattr(self, provider)

    def close(self) -> None:
        for fake in self.all():
            assert fake.errors == [], fake.errors
            fake.close()


class Server:
    """`jupyter server` with the extension, its log kept for the key check."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "server.log"
        argv = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions={'scalene_lab_ai': True}",
            "--ServerApp.log_level=DEBUG",  # the most it logs: still no key
        ]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=root)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={TOKEN}", timeout=5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter server did not start: {self.log_path.read_text()[-2000:]}") from None
                time.sleep(0.2)

    def post(self, endpoint: str, body: Any, headers: dict[str, str] | None = None, opener: Any = None) -> tuple[int, str]:
        """POST JSON to /scalene-lab/ai/<endpoint>; (status, body text)."""
        request = urllib.request.Request(
            f"{self.url}/scalene-lab/ai/{endpoint}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **(headers if headers is not None else {"Authorization": f"token {TOKEN}"})},
        )
        try:
            with (opener or urllib.request.build_opener()).open(request, timeout=60) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def answer(self, endpoint: str, body: Any) -> Any:
        status, text = self.post(endpoint, body)
        assert status == 200, text
        return json.loads(text)

    def propose(self, settings: dict[str, Any], request: Any = REQUEST, provider: str | None = None) -> list[dict[str, Any]]:
        """The streamed answer's lines."""
        body: dict[str, Any] = {"settings": settings, "request": request}
        if provider is not None:
            body["provider"] = provider
        status, text = self.post("propose", body)
        assert status == 200, text
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    started = Fakes()
    yield started
    started.close()


@pytest.fixture(scope="module")
def server(fakes: Fakes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ai-server")
    env = {k: v for k, v in os.environ.items() if k not in _CLIENT_ENV and not k.startswith("JUPYTER")}
    env.update(
        {
            "OPENAI_API_KEY": ENV_OPENAI_KEY,  # OpenAI is configured the way most users do it
            "OPENAI_BASE_URL": fakes.openai.url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "ANTHROPIC_CONFIG_DIR": str(root / "anthropic"),
            "HOME": str(root),
            "JUPYTER_CONFIG_DIR": str(root / "config"),
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    running = Server(root, env)
    yield running
    running.close()


def _proposal(lines: list[dict[str, Any]]) -> dict[str, Any]:
    assert lines and lines[-1]["type"] == "proposal", lines[-1:]
    return lines[-1]


def _error(lines: list[dict[str, Any]]) -> dict[str, Any]:
    assert lines and lines[-1]["type"] == "error", lines[-1:]
    return lines[-1]


def _no_keys_in(text: str) -> None:
    for key in ALL_KEYS:
        assert key not in text


# -- Jupyter's protection -----------------------------------------------------------------------------------------


def test_the_endpoints_need_the_token_and_the_xsrf_check(server: Server) -> None:
    assert server.post("status", {}, headers={})[0] == 403
    assert server.post("status", {}, headers={"Authorization": "token wrong"})[0] == 403
    assert server.post("status", {})[0] == 200
    # A browser session: logged in by cookie, so the XSRF token must come with each POST.
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    browser.open(f"{server.url}/login?token={TOKEN}", timeout=30).read()
    browser.open(f"{server.url}/api/status", timeout=30).read()
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), None)
    assert xsrf, [c.name for c in jar]
    assert server.post("status", {}, headers={}, opener=browser)[0] == 403
    assert server.post("status", {}, headers={"X-XSRFToken": xsrf}, opener=browser)[0] == 200


# -- providers ----------------------------------------------------------------------------------------------------


def test_status_says_where_each_key_comes_from_never_the_key(server: Server, fakes: Fakes) -> None:
    status, text = server.post("status", {"settings": {"anthropicApiKey": KEYS["anthropic"]}})
    assert status == 200
    _no_keys_in(text)
    reply = json.loads(text)
    sources = {p["name"]: p["source"] for p in reply["providers"]}
    assert sources == {
        "openai": "OPENAI_API_KEY",
        "anthropic": "settings",
        "gemini": None,
        "azure": None,
        "bedrock": None,
        "ollama": None,
        "openai-compatible": None,
    }
    assert reply["default"] == "openai"  # only one provider in the environment: that one
    assert all(p["client_installed"] for p in reply["providers"])


def test_openai_from_the_environment_streams_a_proposal(server: Server, fakes: Fakes) -> None:
    lines = server.propose({})  # provider "auto": OpenAI, from OPENAI_API_KEY and OPENAI_BASE_URL
    deltas = [line["text"] for line in lines if line["type"] == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == ANSWER
    proposal = _proposal(lines)
    assert proposal["code"] == "%%scalene --cpu-only\ntotal = sum(range(3_000_000))\n"
    assert proposal["explanation"] == "The loop runs in the interpreter; sum runs it in C."
    assert "-for i in range(3_000_000):\n" in proposal["diff"] and "+total = sum(range(3_000_000))\n" in proposal["diff"]
    assert (proposal["provider"], proposal["model"]) == ("OpenAI", "gpt-4o")
    sent = fakes.openai.last_request
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["Authorization"] == f"Bearer {ENV_OPENAI_KEY}"
    body = sent.json
    assert body["model"] == "gpt-4o" and body["stream"] is True and body["max_completion_tokens"] == 4096
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "Optimize line 4 of this notebook cell" in user and "   4 |     total += i" in user
    assert "def helper(n):" in user and "import numpy as np" in user
    assert "   4 | 87.5 | 3.0 | 0.5" in user  # the line's Python / native / system shares
    _no_keys_in(json.dumps(lines))


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "azure", "bedrock", "ollama", "openai-compatible"])
def test_each_provider_from_the_settings_answers_as_its_api_documents(server: Server, fakes: Fakes, provider: str) -> None:
    fake = fakes.of(provider)
    proposal = _proposal(server.propose(fakes.settings(provider)))
    assert proposal["code"] == "%%scalene --cpu-only\ntotal = sum(range(3_000_000))\n"
    sent = fake.last_request
    body = sent.json or {}
    if provider == "anthropic":
        assert sent.path == "/v1/messages" and sent.headers.get("anthropic-version")
        assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] == 4096 and body["stream"] is True
        assert "Scalene" in body["system"] and body["messages"][0]["role"] == "user"
    elif provider == "gemini":
        assert sent.path.endswith("/models/gemini-2.5-flash:streamGenerateContent") and sent.query.get("alt") == "sse"
        assert sent.headers["x-goog-api-key"] == KEYS["gemini"] and "key" not in sent.query
        assert body["generationConfig"]["maxOutputTokens"] == 4096 and "Scalene" in json.dumps(body["systemInstruction"])
    elif provider == "azure":
        assert sent.path == "/openai/deployments/my-gpt4o/chat/completions" and sent.query["api-version"] == "2024-10-21"
        assert sent.headers["api-key"] == KEYS["azure"] and "Authorization" not in sent.headers
    elif provider == "bedrock":
        assert sent.path == f"/model/{BEDROCK_MODEL}/converse-stream"
        sigv4 = sent.extras["sigv4"]
        assert (sigv4.access_key_id, sigv4.region, sigv4.service) == (DEFAULT_ACCESS_KEY_ID, "us-west-2", "bedrock")
        assert body["inferenceConfig"]["maxTokens"] == 4096 and body["system"][0]["text"].startswith("You are an expert")
    elif provider == "ollama":
        assert sent.path == "/api/chat" and body["stream"] is True and body["model"] == "llama3.2:latest"
        assert body["options"]["num_predict"] == 4096
    else:
        assert sent.path == "/compat/v1/chat/completions" and sent.headers["Authorization"] == f"Bearer {KEYS['compatible']}"
        assert body["max_tokens"] == 4096 and "max_completion_tokens" not in body
    log = server.log_path.read_text()
    _no_keys_in(log)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "azure", "bedrock", "ollama", "openai-compatible"])
def test_the_models_each_provider_offers(server: Server, fakes: Fakes, provider: str) -> None:
    reply = server.answer("models", {"settings": fakes.settings(provider)})
    expected = {
        "gemini": [m for m in fakes.gemini.models],
        "ollama": list(fakes.ollama.models),
    }.get(provider, list(fakes.of(provider).models))
    assert reply == {"provider": provider, "models": sorted(expected)}


# -- errors are answers --------------------------------------------------------------------------------------------


def test_a_wrong_key_says_which_setting_and_shows_no_key(server: Server, fakes: Fakes) -> None:
    wrong = "sk-wrong-key-0123456789"
    error = _error(server.propose({"provider": "openai", "openaiApiKey": wrong}))
    assert error["kind"] == "auth" and "OpenAI refused the key" in error["message"] and "Settings > Scalene Lab AI" in error["message"]
    assert wrong not in json.dumps(error)


def test_a_short_rate_limit_is_waited_out_once_and_a_long_one_reported(server: Server, fakes: Fakes) -> None:
    fakes.openai.fail(429, retry_after=1)
    lines = server.propose({})
    assert [line["message"] for line in lines if line["type"] == "status"] == ["OpenAI is rate limiting this key: retrying in 1 s"]
    _proposal(lines)
    fakes.openai.fail(429, retry_after=60)
    error = _error(server.propose({}))
    assert error["kind"] == "rate_limit" and error["retry_after"] == 60 and "retry in 60 s" in error["message"]


def test_timeout_unknown_model_refusal_no_code_and_unreachable(server: Server, fakes: Fakes) -> None:
    fakes.anthropic.hang(5)
    error = _error(server.propose({**fakes.settings("anthropic"), "timeoutSeconds": 1}))
    assert error["kind"] == "timeout" and "did not answer within 1 s" in error["message"]
    error = _error(server.propose({"provider": "openai", "model": "gpt-nonexistent"}))
    assert error["kind"] == "no_model" and "'gpt-nonexistent'" in error["message"]
    for provider in ("openai", "anthropic", "gemini", "bedrock"):
        fakes.of(provider).refuse()
        error = _error(server.propose(fakes.settings(provider)))
        assert error["kind"] == "refusal", (provider, error)
    fakes.gemini.answer("This code is already as fast as it gets.")
    error = _error(server.propose(fakes.settings("gemini")))
    assert error["kind"] == "no_code" and "already as fast" in error["message"]
    error = _error(server.propose({"provider": "ollama", "ollamaHost": "http://127.0.0.1:9"}))
    assert error["kind"] == "unreachable" and "127.0.0.1:9" in error["message"]


def test_nothing_configured_names_the_variables(server: Server) -> None:
    error = _error(server.propose({"provider": "anthropic"}))
    assert error["kind"] == "no_key" and "ANTHROPIC_API_KEY" in error["message"]
    error = _error(server.propose({"provider": "azure", "azureApiKey": "x" * 12}))
    assert error["kind"] == "no_key" and "AZURE_OPENAI_ENDPOINT" in error["message"]
    error = _error(server.propose({"provider": "nobody"}))
    assert error["kind"] == "bad_request" and "unknown AI provider" in error["message"]
    error = _error(server.propose({}, request={"target": {"kind": "line", "first": 0, "last": 0}, "cell": {"source": "x"}}))
    assert error["kind"] == "bad_request"


def _connections_to(port: int) -> int:
    """Established TCP connections on loopback whose local port is ``port`` (the fake's side of each)."""
    count = 0
    with open("/proc/net/tcp") as table:
        for row in table.readlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            if int(local.split(":")[1], 16) == port and state == "01":
                count += 1
    return count


def test_a_closed_panel_stops_the_providers_request_at_once(server: Server, fakes: Fakes) -> None:
    fake_port = int(fakes.anthropic.origin.rsplit(":", 1)[1])
    fakes.anthropic.hang(30)
    body = json.dumps({"settings": fakes.settings("anthropic"), "request": REQUEST})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", "/scalene-lab/ai/propose", body=body, headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})

    def waiting_for(count: int) -> bool:
        deadline = time.monotonic() + 10
        while _connections_to(fake_port) != count and time.monotonic() < deadline:
            time.sleep(0.05)
        return _connections_to(fake_port) == count

    assert waiting_for(1)  # the provider's request hangs
    connection.close()  # the panel closes
    assert waiting_for(0)  # and the server drops the provider's request, not 30 s later
    log = server.log_path.read_text()
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-2000:]
    _proposal(server.propose(fakes.settings("openai-compatible")))  # the server goes on serving
