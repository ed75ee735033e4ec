"""A real Akismet look-alike for the tests: an HTTP server on 127.0.0.1, a free port, a thread.

It speaks the documented REST protocol (form-encoded POSTs to ``/1.1/verify-key``,
``/1.1/comment-check``, ``/1.1/submit-spam``, ``/1.1/submit-ham``), accepts only
:data:`API_KEY`, and records every request in :attr:`AkismetServer.requests`.

``comment-check`` answers ``"false"`` unless a rule says spam: content or author holding
one of :attr:`AkismetServer.spam_words` (``viagra-test-123`` to begin with), or Akismet's
own test values (author ``akismet-guaranteed-spam``, e-mail
``akismet-guaranteed-spam@example.com``). Tests change the behaviour with
:attr:`~AkismetServer.discard_spam`, :attr:`~AkismetServer.extra_headers`,
:attr:`~AkismetServer.failure` (``"500"``, ``"hang"``, ``"garbage"``) and :meth:`stop`.

The fixture ``akismet_server`` gives a fresh server per test and stops it at teardown.
Expose it with ``pytest_plugins = ["akismet_server"]`` in ``conftest.py``, or in one test
module with ``from akismet_server import akismet_server_fixture``.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

HOST = "127.0.0.1"
API_KEY = "0123456789ab"
BLOG = "https://comments.test/"
THANKS = "Thanks for making the web a better place."
GUARANTEED_SPAM = "akismet-guaranteed-spam"
METHODS = ("verify-key", "comment-check", "submit-spam", "submit-ham")


@dataclasses.dataclass(frozen=True)
class AkismetRequest:
    """One request as the server received it."""

    #: ``"comment-check"``, ``"submit-spam"``… (the path without ``/1.1/``).
    method: str
    path: str
    #: The form fields, decoded; a field sent twice fails the request with HTTP 400.
    fields: dict[str, str]
    user_agent: str
    content_type: str
    #: The HTTP status the server answered (or would have, before hanging).
    status: int = 200
    #: The ``X-akismet-guid`` the server answered with (``comment-check`` only).
    guid: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw))
        fields = dict(pairs)
        method = self.path.removeprefix("/1.1/")
        failure = owner.failure
        headers: dict[str, str] = {}
        if not self.path.startswith("/1.1/") or method not in METHODS:
            status, body = 404, "Not Found"
        elif len(fields) != len(pairs):
            status, body = 400, "a field is sent twice"
        elif failure == "500":
            status, body = 500, "Internal Server Error"
        else:
            status, (body, headers) = 200, owner._respond(method, fields)
        owner._record(
            AkismetRequest(
                method,
                self.path,
                fields,
                self.headers.get("User-Agent", ""),
                self.headers.get("Content-Type", ""),
                status,
                headers.get("X-akismet-guid"),
            )
        )
        if failure == "hang":
            owner._release.wait(owner.hang_seconds)  # the client gives up first
            self.close_connection = True
            return
        if failure == "garbage":
            body = "<html>Bad Gateway</html>"
        self._answer(body, headers, status)

    def _answer(self, body: str, headers: dict[str, str] | None = None, status: int = 200) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows failures, not access logs."""


class _Server(ThreadingHTTPServer):
    owner: AkismetServer


class AkismetServer:
    """An Akismet look-alike on the loopback address; starts at once."""

    def __init__(self, *, hang_seconds: float = 5.0) -> None:
        """``hang_seconds``: how long a ``failure="hang"`` request waits at most."""
        self.host, self.port = HOST, 0
        self.api_key = API_KEY
        self.spam_words = {"viagra-test-123"}
        #: ``X-akismet-debug-help`` sent with ``invalid`` when the key is wrong.
        self.debug_help = "The API key is not valid; check it on your account page."
        #: Send ``X-akismet-pro-tip: discard`` with every spam answer.
        self.discard_spam = False
        #: Headers added to every ``comment-check`` answer (``X-akismet-alert-code``…).
        self.extra_headers: dict[str, str] = {}
        #: ``None``, ``"500"`` (HTTP 500), ``"hang"`` (no answer), ``"garbage"`` (odd body).
        self.failure: str | None = None
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._guids = itertools.count(1)
        self._requests: list[AkismetRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def endpoint(self) -> str:
        """The ``endpoint`` to give :class:`~debatebox.akismet.AkismetClient`."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[AkismetRequest]:
        """Every request so far, oldest first (failed and hung ones too)."""
        with self._lock:
            return list(self._requests)

    def start(self) -> None:
        """Listen (again, on the same port after :meth:`stop`)."""
        if self._server is not None:
            return
        self._release.clear()
        server = _Server((self.host, self.port), _Handler)
        server.owner = self
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._server = server

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> AkismetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- called by the handler, in the server's threads -------------------------------------

    def _respond(self, method: str, fields: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Body and headers for one well-formed request."""
        key_ok = fields.get("api_key") == self.api_key and bool(fields.get("blog"))
        if method == "verify-key":
            return ("valid" if key_ok else "invalid"), {}
        if not key_ok:
            return "invalid", {"X-akismet-debug-help": self.debug_help}
        missing = [name for name in ("blog", "user_ip") if not fields.get(name)]
        if missing:
            return f"Missing required field: {missing[0]}.", {}
        if method != "comment-check":
            return THANKS, {}
        headers = {"X-akismet-guid": f"guid-{next(self._guids)}", **self.extra_headers}
        if not self._is_spam(fields):
            return "false", headers
        if self.discard_spam:
            headers["X-akismet-pro-tip"] = "discard"
        return "true", headers

    def _is_spam(self, fields: dict[str, str]) -> bool:
        author, content = fields.get("comment_author", ""), fields.get("comment_content", "")
        if author == GUARANTEED_SPAM:
            return True
        if fields.get("comment_author_email") == f"{GUARANTEED_SPAM}@example.com":
            return True
        return any(word in author or word in content for word in self.spam_words)

    def _record(self, request: AkismetRequest) -> None:
        with self._lock:
            self._requests.append(request)


@pytest.fixture(name="akismet_server")
def akismet_server_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[AkismetServer]:
    """A fresh Akismet look-alike; ``akismet_server.endpoint`` is its URL.

    Loopback requests bypass any ``http_proxy`` of the environment, as they would not
    reach this server through a proxy.
    """
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, f"{HOST},localhost")
    with AkismetServer() as server:
        yield server
