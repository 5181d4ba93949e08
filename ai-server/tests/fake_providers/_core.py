"""The shared machinery of every fake: the loopback server, the request log and the script of what comes next.

Each provider module subclasses `FakeProvider` and implements `dispatch`, which turns one recorded request into one
`Reply` in that provider's own wire format. Everything here is the standard library, so the fakes run wherever the
tests run, with no network and nothing to install.
"""

from __future__ import annotations

import json as _json
import re
import secrets
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

Route = Literal["chat", "models", "any"]
"""What a scripted outcome applies to: a generation request, a model-listing request, or whichever comes first."""

_FakeT = TypeVar("_FakeT", bound="FakeProvider")

TLS_DIR = Path(__file__).resolve().parent / "tls"
"""A test-only CA (ca.pem) and a certificate it signed for 127.0.0.1 and localhost (server.pem, server.key), valid 2000-2100."""


class Headers(Mapping[str, str]):
    """Request headers as received: case-insensitive lookup, original spelling and order kept for inspection."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items: list[tuple[str, str]] = list(items)
        self._by_lower: dict[str, list[str]] = {}
        for name, value in self._items:
            self._by_lower.setdefault(name.lower(), []).append(value)

    def __getitem__(self, name: str) -> str:
        # Repeated headers read as one comma-joined value, as HTTP defines it (RFC 9110 section 5.3).
        return ", ".join(self._by_lower[name.lower()])

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._by_lower)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_lower

    def get_all(self, name: str) -> list[str]:
        return list(self._by_lower.get(name.lower(), []))

    def items_raw(self) -> list[tuple[str, str]]:
        """Every header line in wire order, repeats included."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass
class RecordedRequest:
    """One request as the fake received it, plus what the fake concluded about it.

    `path` is percent-decoded; `raw_path` is exactly the request target on the wire (path and query), which is what
    a signature or an exact-URL assertion needs.
    """

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    json: Any | None
    # Filled in by the provider while it handles the request:
    route: str | None = None
    model: str | None = None
    stream: bool = False
    auth_scheme: str | None = None
    """How the caller authenticated: "bearer", "api-key", "x-api-key", "x-goog-api-key", "key-query", "sigv4" or None."""
    credential: str | None = None
    """The key, token or AWS access key id presented (never a secret key: SigV4 does not send one)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Provider-specific findings: the Azure or Gemini API version, the SigV4 scope and signed headers, and so on."""
    status: int | None = None
    """The HTTP status the fake answered with."""


@dataclass(frozen=True)
class Answer:
    """A successful generation: `text`, delivered in `chunks` when the client asked for a stream."""

    text: str
    chunks: tuple[str, ...]
    stall_after: int | None = None
    """When set, a stream stops after this many text chunks for `stall_seconds` (a read timeout mid-stream)."""
    stall_seconds: float = 0.0


@dataclass(frozen=True)
class Failure:
    """An error in the provider's own form for `status`; `after_chunks` sends it inside a stream after that many chunks."""

    status: int
    message: str | None = None
    retry_after: float | None = None
    after_chunks: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Say nothing for `seconds` (a timeout), then answer with the default answer if the client is still there."""

    seconds: float
    after_chunks: int | None = None


@dataclass(frozen=True)
class Refusal:
    """The provider's own way of declining: a refusal stop reason, a safety block, a content filter."""

    message: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


Outcome = Answer | Failure | Hang | Refusal


@dataclass
class Reply:
    """What to send back. A reply with `stream` is sent with chunked transfer-encoding, one HTTP chunk per item."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Iterable[bytes] | None = None


def json_reply(status: int, payload: Any, headers: Sequence[tuple[str, str]] = (), content_type: str = "application/json") -> Reply:
    return Reply(status=status, headers=[("Content-Type", content_type), *headers], body=dumps(payload))


def dumps(payload: Any) -> bytes:
    # Compact separators, as the real APIs send; the clients do not care, but byte counts in logs stay realistic.
    return _json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def split_text(text: str) -> tuple[str, ...]:
    """Cut text into word-sized stream deltas, keeping the whitespace, so the deltas join back to exactly `text`."""
    return tuple(re.findall(r"\s*\S+\s*|\s+", text))


def count_tokens(text: str) -> int:
    """A stand-in token count: whitespace-separated words, at least one, so usage numbers are plausible and stable."""
    return max(1, len(text.split()))


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + secrets.token_hex(length // 2 + 1)[:length]


def texts_in(value: Any) -> str:
    """Every string under any "text" or "content" key of a request body, joined: the prompt, for token counts."""
    found: list[str] = []

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, str):
            if key in ("text", "content"):
                found.append(node)
        elif isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for item in node:
                walk(item, key)

    walk(value, None)
    return " ".join(found)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A fixed port after a crashed run may sit in TIME_WAIT; the default port 0 never needs this, a chosen one might.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeProvider, tls: ssl.SSLContext | None) -> None:
        self.fake = fake
        self.tls = tls
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a stalled handshake cannot block accept().
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # The wrapper owns the connection from here on, so it is the one to close (the caller closes the bare socket).
        with self.tls.wrap_socket(request, server_side=True) as secure:
            super().finish_request(secure, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a traceback can quote a request line, and the Gemini key may ride
        # in its query string. Keep only the exception type and message, in `fake.errors`, for tests to look at.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            return  # the client went away (a timeout test, a closed stream) or refused the certificate: not a fake bug
        self.fake._note_error(exc)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as the real endpoints speak
    # An idle keep-alive connection is dropped after this long, so handler threads do not outlive a test by much.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        # Deliberately silent: the default logs the request line to stderr, and a request line can carry a key
        # (Gemini's ?key=). Keys may appear in `fake.requests` and nowhere else.
        return

    def version_string(self) -> str:
        return self.server.fake.server_header

    def do_GET(self) -> None:
        self._exchange()

    def do_POST(self) -> None:
        self._exchange()

    def do_PUT(self) -> None:
        self._exchange()

    def do_DELETE(self) -> None:
        self._exchange()

    def do_PATCH(self) -> None:
        self._exchange()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _exchange(self) -> None:
        fake = self.server.fake
        body = self._read_body()
        split = urlsplit(self.path)
        parsed: Any | None = None
        if body:
            try:
                parsed = _json.loads(body)
            except ValueError:
                parsed = None
        request = RecordedRequest(
            method=self.command,
            path=unquote(split.path),
            raw_path=self.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=Headers(self.headers.items()),
            body=body,
            json=parsed,
        )
        request.route = fake.route_of(request)
        fake._record(request)
        try:
            reply = fake.dispatch(request)
        except Exception as exc:  # a bug in the fake: answer 500 rather than hang the client, and keep the evidence
            fake._note_error(exc)
            reply = Reply(status=500, headers=[("Content-Type", "text/plain")], body=b"fake provider error")
        request.status = reply.status
        try:
            self._send(reply)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client hung up (a client-side timeout, an abandoned stream)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        names = {name.lower() for name, _ in reply.headers}
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.stream is None:
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for piece in reply.stream:
            if not piece:
                continue
            # One HTTP chunk per event and a flush each time, so the client sees events as they are "generated".
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class FakeProvider:
    """A fake of one AI provider's HTTP API on 127.0.0.1, for tests that drive the provider's official client.

    Use as a context manager (or `start()` / `close()`):

        with serve("anthropic", keys={"sk-ant-test"}) as fake:
            client = anthropic.Anthropic(api_key="sk-ant-test", base_url=fake.url)
            fake.fail(429, retry_after=3)
            ...
            assert fake.requests[-1].headers["anthropic-version"]

    Scripted outcomes (`answer`, `fail`, `hang`, `refuse`) queue up and each is used by the next request of its
    route; with nothing queued a request gets `default_answer`. Authentication and model checks run first, so a
    request with a wrong key or an unknown model gets the provider's real error and leaves the queue alone.
    """

    name: ClassVar[str] = "base"
    default_models: ClassVar[tuple[str, ...]] = ()
    default_keys: ClassVar[tuple[str, ...]] = ("test-key",)
    server_header: str = "fake-provider"

    def __init__(
        self,
        *,
        keys: Iterable[str] | None = None,
        models: Sequence[str] | None = None,
        default_answer: str = "Hello from the fake provider.",
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_delay: float = 0.0,
        tls: bool = False,
    ) -> None:
        self.keys: frozenset[str] = frozenset(self.default_keys if keys is None else keys)
        self.models: tuple[str, ...] = tuple(self.default_models if models is None else models)
        self.default_answer = default_answer
        self.chunk_delay = chunk_delay
        self._host = host
        self._port = port
        self.tls = tls
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._script: deque[tuple[Route, Outcome]] = deque()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self: _FakeT) -> _FakeT:
        if self._server is None:
            self._stopping.clear()
            context: ssl.SSLContext | None = None
            if self.tls:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(TLS_DIR / "server.pem", TLS_DIR / "server.key")
            self._server = _Server((self._host, self._port), self, context)
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=f"fake-{self.name}", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()  # wakes any hanging handler so shutdown does not wait out a hang
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: _FakeT) -> _FakeT:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>` (`https://` with `tls=True`), with no path."""
        if self._server is None:
            raise RuntimeError("the fake is not running; use it as a context manager or call start()")
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    @property
    def ca_file(self) -> str:
        """The CA certificate to trust for a `tls=True` fake (a client's `verify=`, AWS_CA_BUNDLE, SSL_CERT_FILE)."""
        return str(TLS_DIR / "ca.pem")

    @property
    def url(self) -> str:
        """The base URL to give the provider's client (its `base_url`, `azure_endpoint`, `endpoint_url` or `host`)."""
        return self.origin

    # -- the log -----------------------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far, oldest first (a copy: safe to read while the server runs)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError(f"the {self.name} fake has received no request")
            return self._requests[-1]

    @property
    def errors(self) -> list[str]:
        """Exceptions raised inside the fake itself (type and message only); a correct run leaves this empty."""
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        """Forget recorded requests and any outcomes still queued."""
        with self._lock:
            self._requests.clear()
            self._script.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _note_error(self, exc: BaseException | None) -> None:
        with self._lock:
            self._errors.append(f"{type(exc).__name__}: {exc}")

    # -- the script --------------------------------------------------------------------------------------------------

    def answer(self, text: str | None = None, *, stream_chunks: Sequence[str] | None = None, times: int = 1) -> None:
        """The next generation request(s) succeed with `text` (default: `default_answer`).

        Streams deliver `stream_chunks` one per event when given (they should join to `text`), else `text` cut into
        word-sized pieces.
        """
        body = self.default_answer if text is None else text
        if text is None and stream_chunks is not None:
            body = "".join(stream_chunks)
        chunks = tuple(stream_chunks) if stream_chunks is not None else split_text(body)
        self._enqueue("chat", Answer(body, chunks), times)

    def fail(
        self,
        status: int,
        *,
        message: str | None = None,
        retry_after: float | None = None,
        after_chunks: int | None = None,
        route: Route = "chat",
        times: int = 1,
        **details: Any,
    ) -> None:
        """The next request(s) of `route` get the provider's real error for `status`.

        401/403 auth errors, 404 not found, 429 rate limit (`retry_after` seconds, sent the way the provider sends
        it), 500, 503 and 529 overloaded are all rendered in each provider's own body shape. `after_chunks` makes a
        streamed request fail inside the stream after that many text chunks, in the provider's in-stream error form.
        `details` are provider-specific overrides (see each provider module), such as `code=` or `type=`.
        """
        self._enqueue(route, Failure(status, message, retry_after, after_chunks, dict(details)), times)

    def hang(self, seconds: float, *, after_chunks: int | None = None, route: Route = "chat", times: int = 1) -> None:
        """The next request(s) get no answer for `seconds` (stop waiting sooner to see a timeout), then the default answer.

        With `after_chunks`, a streamed request delivers that many chunks first and then stalls mid-stream.
        """
        self._enqueue(route, Hang(seconds, after_chunks), times)

    def refuse(self, message: str | None = None, *, times: int = 1, **details: Any) -> None:
        """The next generation request(s) are declined in the provider's own form (see each provider module)."""
        self._enqueue("chat", Refusal(message, dict(details)), times)

    def _enqueue(self, route: Route, outcome: Outcome, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._script.extend((route, outcome) for _ in range(times))

    def take(self, route: Route) -> Answer | Failure | Refusal:
        """The outcome for a request of `route`: the first queued one that applies, else the default answer.

        A `Hang` is served here: without `after_chunks` the request sleeps and then gets the default answer; with it
        the answer carries the stall for the provider's stream writer.
        """
        outcome: Outcome | None = None
        with self._lock:
            for index, (wanted, queued) in enumerate(self._script):
                if wanted in (route, "any"):
                    outcome = queued
                    del self._script[index]
                    break
        if isinstance(outcome, Hang):
            if outcome.after_chunks is None:
                self.sleep(outcome.seconds)
                return self._default_answer()
            return Answer(self.default_answer, split_text(self.default_answer), outcome.after_chunks, outcome.seconds)
        return outcome if outcome is not None else self._default_answer()

    def _default_answer(self) -> Answer:
        return Answer(self.default_answer, split_text(self.default_answer))

    def sleep(self, seconds: float) -> None:
        """Wait, but wake at once when the fake shuts down."""
        self._stopping.wait(seconds)

    def paced(self, events: Iterable[bytes], answer: Answer | None = None, *, text_events: Iterable[int] = ()) -> Iterator[bytes]:
        """Yield stream events with `chunk_delay` between them, stalling after `answer.stall_after` text events.

        `text_events` are the indexes (in `events`) of the events that carry text, which is what a stall counts.
        """
        text_indexes = set(text_events)
        sent_text = 0
        for index, event in enumerate(events):
            if answer is not None and answer.stall_after is not None and index in text_indexes:
                if sent_text == answer.stall_after:
                    self.sleep(answer.stall_seconds)
                sent_text += 1
            if self.chunk_delay and index:
                self.sleep(self.chunk_delay)
            yield event

    # -- what a provider implements --------------------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    def route_of(self, request: RecordedRequest) -> str | None:
        """ "chat", "models" or another name for what the request is for, from its path alone (so even a request the fake
        rejects before routing, for a bad key say, is labelled in the log)."""
        return None

    def known_model(self, model: str) -> bool:
        return model in self.models

    @staticmethod
    def now() -> int:
        return int(time.time())
