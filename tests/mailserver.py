"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, a free port, in a thread.

``MailServer()`` is plain SMTP; ``auth=True`` wants :data:`USER` / :data:`PASSWORD`
before MAIL FROM; ``tls="starttls"`` requires STARTTLS and ``tls="implicit"`` speaks TLS
from the first byte, both with a certificate from a throwaway CA whose PEM file is
:attr:`MailServer.ca_file`. :attr:`MailServer.url` is a ``DEBATEBOX_SMTP_URL`` that works
with all of it. The fixtures ``mail_server`` and ``make_mail_server`` stop every server
at teardown; expose them with ``pytest_plugins = ["mailserver"]`` in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
USER = "mailer"
#: Has characters a URL must percent-encode, so the tests prove the decoding.
PASSWORD = "s3cret:p@ss/w%rd?#"


@dataclasses.dataclass(frozen=True)
class Received:
    """One message the server accepted, with its envelope."""

    envelope_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    #: Whether the message came over TLS (STARTTLS or implicit).
    tls: bool
    #: The user that logged in, ``None`` without AUTH.
    login: str | None
    #: Which connection brought it: 1 for the first one that delivered, 2 for the next…
    connection: int
    #: The message as it came over the wire (CRLF line ends).
    raw: bytes


class _Handler:
    """aiosmtpd hooks: apply the configured failures, store what is accepted."""

    def __init__(self, owner: MailServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner.auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.owner._failure("RCPT", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.owner._failure("DATA", None)
        if reply:
            return reply
        content = envelope.original_content or b""
        # Parsed as a mail reader would: wire CRLF line ends become "\n".
        message = BytesParser(policy=default).parsebytes(content.replace(b"\r\n", b"\n"))
        login = session.auth_data.login.decode() if session.authenticated else None
        tls = server.transport is not None and bool(server.transport.get_extra_info("ssl_object"))
        if not hasattr(session, "connection"):
            session.connection = next(self.owner._connections)  # type: ignore[attr-defined]
        self.owner._store(
            Received(
                str(envelope.mail_from),
                tuple(envelope.rcpt_tos),
                message,
                tls=tls,
                login=login,
                connection=session.connection,  # type: ignore[attr-defined]
                raw=content,
            )
        )
        return "250 2.0.0 Message accepted"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class _Controller(Controller):
    """A controller that may listen on port 0 and learns the port it got."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailServer:
    """A real SMTP server on the loopback address; starts at once."""

    def __init__(
        self,
        *,
        auth: bool = False,
        tls: str | None = None,
        cert_names: tuple[str, ...] = (HOST, "localhost"),
    ) -> None:
        """``cert_names``: the names the TLS certificate is valid for."""
        assert tls in (None, "starttls", "implicit"), tls
        self.auth, self.tls = auth, tls
        self.host = HOST
        self.port = 0
        self.ca_file: str | None = None
        self._lock = threading.Lock()
        self._connections = itertools.count(1)
        self._received: list[Received] = []
        self._fail: dict[str, tuple[str, int | None]] = {}
        self._refuse: dict[str, str] = {}
        self._controller: _Controller | None = None
        self._cleanup = contextlib.ExitStack()
        self._server_context: ssl.SSLContext | None = None
        if tls:
            ca = trustme.CA()
            self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(*cert_names).configure_cert(self._server_context)
            self.ca_file = str(self._cleanup.enter_context(ca.cert_pem.tempfile()))
        try:
            self.start()
        except BaseException:
            self._cleanup.close()
            raise

    # -- what tests read ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """A ``DEBATEBOX_SMTP_URL`` for this server (credentials, TLS and CA included)."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@" if self.auth else ""
        query = {"starttls": "1"} if self.tls == "starttls" else {}
        if self.ca_file:
            query["cafile"] = self.ca_file
        options = "&".join(f"{key}={quote(value)}" for key, value in query.items())
        return f"{scheme}://{user}{self.host}:{self.port}" + (f"?{options}" if options else "")

    @property
    def messages(self) -> list[Received]:
        """Every accepted message so far, oldest first."""
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.messages
            if len(received) >= count:
                return received
            if time.monotonic() > deadline:
                subjects = [item.message["Subject"] for item in received]
                raise AssertionError(
                    f"expected {count} message(s) within {timeout} s, got {len(received)}:"
                    f" {subjects}"
                )
            time.sleep(0.01)

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._lock:
            self._received.clear()

    # -- how the server behaves -----------------------------------------------------------

    def fail_with(self, reply: str, *, at: str = "RCPT", times: int | None = None) -> None:
        """Answer every RCPT (or DATA) with ``reply`` (``"451 4.3.0 Try again later"``).

        With ``times``, only that many answers fail, then the server accepts again.
        """
        assert at in ("RCPT", "DATA"), at
        with self._lock:
            self._fail[at] = (reply, times)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        """Answer RCPT TO ``address`` (and only it) with ``reply``."""
        with self._lock:
            self._refuse[address.lower()] = reply

    def accept(self) -> None:
        """Forget every :meth:`fail_with` and :meth:`refuse`."""
        with self._lock:
            self._fail.clear()
            self._refuse.clear()

    def start(self) -> None:
        """Listen (again, on the same port after :meth:`stop`)."""
        if self._controller is not None:
            return
        # AUTH is offered in the clear without TLS (no warning: it is not *required* by
        # aiosmtpd, handle_MAIL asks for it), only after STARTTLS with it, and at once over
        # implicit TLS (which aiosmtpd does not see as TLS, hence auth_require_tls=False).
        tls_kwargs: dict[str, Any]
        if self.tls == "implicit":
            tls_kwargs = {"ssl_context": self._server_context, "auth_require_tls": False}
        elif self.tls == "starttls":
            tls_kwargs = {"tls_context": self._server_context, "require_starttls": True}
        else:
            tls_kwargs = {"auth_require_tls": False}
        controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="mail.test",
            authenticator=_authenticate if self.auth else None,
            ready_timeout=5.0,
            **tls_kwargs,
        )
        controller.start()
        self.port = controller.port
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def close(self) -> None:
        """Stop for good and delete the CA file."""
        self.stop()
        self._cleanup.close()

    def __enter__(self) -> MailServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- called by the handler, in the server's thread ------------------------------------

    def _failure(self, command: str, address: str | None) -> str | None:
        with self._lock:
            if address is not None and address.lower() in self._refuse:
                return self._refuse[address.lower()]
            if command not in self._fail:
                return None
            reply, times = self._fail[command]
            if times is not None:
                if times <= 1:
                    del self._fail[command]
                else:
                    self._fail[command] = (reply, times - 1)
            return reply

    def _store(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)


@pytest.fixture
def make_mail_server() -> Iterator[Callable[..., MailServer]]:
    """Start servers with options: ``make_mail_server(auth=True, tls="starttls")``."""
    made: list[MailServer] = []

    def factory(**options: Any) -> MailServer:
        server = MailServer(**options)
        made.append(server)
        return server

    yield factory
    with contextlib.ExitStack() as stack:  # closes every server even if one fails
        for server in made:
            stack.callback(server.close)


@pytest.fixture
def mail_server(make_mail_server: Callable[..., MailServer]) -> MailServer:
    """A plain SMTP server without AUTH or TLS; ``mail_server.url`` is its URL."""
    return make_mail_server()
