"""Outgoing mail over SMTP: one ``DEBATEBOX_SMTP_URL`` in, delivered messages out.

``smtp://host:25`` is plain SMTP; ``smtp://user:password@host:587?starttls=1`` must
upgrade with STARTTLS before logging in; ``smtps://user:password@host:465`` is TLS from
the first byte. ``cafile=/path/ca.pem`` trusts a private CA instead of the system store,
``timeout=SECONDS`` bounds every network wait. TLS always verifies certificate and host.

A :class:`TemporaryFailure` may go away by itself: server down or slow, a 4xx reply, TLS
that cannot be set up (an unverifiable certificate too: it is fixed on the server or in the
settings, never by changing the message). A :class:`PermanentFailure` is a 5xx reply. Their
``str()`` is short (``451 4.3.0 Try again later``) and never holds the password.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
_OPTIONS = ("starttls", "cafile", "timeout")
#: Replies refusing one message; the connection stays usable for the next.
_REFUSALS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class DeliveryFailure(Exception):
    """A message was not delivered; ``code`` is the SMTP reply code when there was one."""

    def __init__(self, text: str, *, code: int | None = None) -> None:
        super().__init__(text)
        self.code = code


class TemporaryFailure(DeliveryFailure):
    """Not delivered this time; the same message may well go through later."""


class PermanentFailure(DeliveryFailure):
    """Refused by the server (5xx): sending the same message again will not help."""


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What became of one message of :meth:`SmtpTransport.send_many`."""

    message: EmailMessage
    #: ``None`` when the server accepted the message.
    error: TemporaryFailure | PermanentFailure | None = None
    #: Recipients the server refused while it took the message for the others.
    refused: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def temporary(self) -> bool:
        return isinstance(self.error, TemporaryFailure)

    @property
    def permanent(self) -> bool:
        return isinstance(self.error, PermanentFailure)


class SmtpTransport:
    """Sends messages to one SMTP server; safe to share, every send opens its own connection."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "plain",
        username: str | None = None,
        password: str | None = None,
        cafile: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        """``security`` is ``plain``, ``starttls`` (required) or ``tls`` (implicit)."""
        if security not in _DEFAULT_PORTS:
            raise ValueError(f"SMTP security must be plain, starttls or tls, not {security!r}")
        if (username is None) != (password is None) or not f"{username}{password}".isascii():
            raise ValueError("SMTP URL: give both a user and a password (ASCII only), or neither")
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self.username, self._password, self.cafile = username, password, cafile
        self.where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._context: ssl.SSLContext | None = None
        if security != "plain":
            try:
                self._context = ssl.create_default_context(cafile=cafile)
            except OSError as error:
                raise ValueError(f"SMTP URL: cafile {cafile!r} cannot be loaded: {error}") from None

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> SmtpTransport:
        """Parse ``smtp://[user:password@]host[:port][?starttls=1&cafile=…&timeout=…]``."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP URL must start with smtp:// or smtps://, not {parts.scheme!r}")
        if "@" in parts.path + parts.query + parts.fragment:
            raise ValueError("SMTP URL: percent-encode '/', '?' and '#' in the user and password")
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("SMTP URL: a path or #fragment has no meaning; remove it")
        if not parts.hostname:
            raise ValueError("SMTP URL has no host")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0 or parts.netloc.endswith(":"):
            raise ValueError("SMTP URL: the port must be a number from 1 to 65535")
        options: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in _OPTIONS:
                raise ValueError(f"SMTP URL: unknown option {key!r} (known: {', '.join(_OPTIONS)})")
            if key in options:
                raise ValueError(f"SMTP URL: option {key!r} is given twice")
            options[key] = value
        flag = options.get("starttls", "").strip().lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError("SMTP URL: starttls must be 1 or 0")
        starttls = flag in _TRUE
        if starttls and parts.scheme == "smtps":
            raise ValueError("SMTP URL: smtps:// already uses TLS; drop starttls")
        security = "tls" if parts.scheme == "smtps" else ("starttls" if starttls else "plain")
        if "cafile" in options and security == "plain":
            raise ValueError("SMTP URL: cafile needs TLS (add starttls=1 or use smtps://)")
        try:
            timeout = float(options.get("timeout", timeout))
        except ValueError:
            timeout = math.nan
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("SMTP URL: timeout must be a positive number of seconds")
        return cls(
            parts.hostname,
            port or _DEFAULT_PORTS[security],
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=None if parts.password is None else unquote(parts.password),
            cafile=options.get("cafile") or None,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        return f"<SmtpTransport {self.security} {user}{self.where}>"

    def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise; recipients refused while others got it are ignored."""
        error = self.send_many([message])[0].error
        if error is not None:
            raise error

    def send_many(self, messages: Iterable[EmailMessage]) -> list[SendResult]:
        """Deliver messages over one connection; one result per message, in order.

        A message the server refuses fails alone. When the connection breaks, that message
        and every later one get a :class:`TemporaryFailure`. Never raises for SMTP trouble.
        """
        pending = list(messages)
        if not pending:
            return []
        try:
            client = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            failure = self._failure(error)
            return [SendResult(message, failure) for message in pending]
        results: list[SendResult] = []
        try:
            for message in pending:
                try:
                    refused = client.send_message(message)
                except (smtplib.SMTPNotSupportedError, ValueError) as error:
                    results.append(SendResult(message, PermanentFailure(f"unsendable: {error}")))
                except (smtplib.SMTPException, OSError) as error:
                    results.append(SendResult(message, self._failure(error)))
                    if client.sock is None or not isinstance(error, _REFUSALS):
                        break
                else:
                    refused_text = {address: _reply(*reply) for address, reply in refused.items()}
                    results.append(SendResult(message, refused=refused_text))
            if len(results) < len(pending):
                lost = TemporaryFailure(f"not sent: connection lost ({results[-1].error})")
                results.extend(SendResult(message, lost) for message in pending[len(results) :])
        finally:
            _close(client)
        return results

    def _connect(self) -> smtplib.SMTP:
        """An open connection, upgraded to TLS and logged in as the URL asks."""
        client = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context)
            if self.security == "tls"
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        try:
            if self.security == "starttls":
                client.starttls(context=self._context)
            if self.username is not None and self._password is not None:
                client.login(self.username, self._password)
        except BaseException:
            _close(client)
            raise
        return client

    def _failure(self, error: Exception) -> TemporaryFailure | PermanentFailure:
        """Classify ``error`` and word it shortly, with no password in it."""
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            if not error.recipients:
                return PermanentFailure("the message has no recipients")
            address, (code, reply) = min(error.recipients.items(), key=lambda item: item[1][0])
            more = len(error.recipients) - 1
            detail = f"{_reply(code, reply)} ({address}{f' and {more} more' if more else ''})"
            return (PermanentFailure if code >= 500 else TemporaryFailure)(detail, code=code)
        if isinstance(error, smtplib.SMTPResponseException):
            code, detail = error.smtp_code, _reply(error.smtp_code, error.smtp_error)
            return (PermanentFailure if code >= 500 else TemporaryFailure)(detail, code=code)
        if isinstance(error, smtplib.SMTPServerDisconnected):
            if isinstance(error.__context__, OSError):  # smtplib's wrapper of a timeout, a reset
                return self._failure(error.__context__)
            return TemporaryFailure(f"connection closed by the server ({self.where})")
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return TemporaryFailure(f"{error} ({self.where})")
        if isinstance(error, ssl.SSLCertVerificationError):
            return TemporaryFailure(f"TLS certificate ({self.where}): {error.verify_message}")
        if isinstance(error, ssl.SSLError):
            return TemporaryFailure(f"TLS failed ({self.where}): {error.reason or error}")
        text = str(getattr(error, "strerror", None) or error)  # "Connection refused", "timed out"
        return TemporaryFailure(f"{text[:1].lower()}{text[1:]} ({self.where})")


def _reply(code: int, text: bytes | str) -> str:
    """``451 4.3.0 Try again later`` from a reply code and its (possibly multi-line) text."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join([str(code), *text.split()])


def _close(client: smtplib.SMTP) -> None:
    """Say QUIT when the server still listens, and close the socket in any case."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        if client.sock is not None:
            client.quit()
    client.close()
