"""Spam checks with Akismet: one HTTP POST per question, standard library only.

:meth:`AkismetClient.check` asks ``/1.1/comment-check`` whether a comment is spam;
:meth:`AkismetClient.submit_spam` and :meth:`AkismetClient.submit_ham` report the answers
Akismet got wrong; :meth:`AkismetClient.verify_key` tests a key before it is stored. The API
key travels as the ``api_key`` form field, never in the URL.

Whenever no trustworthy answer comes back (network trouble, a timeout, an HTTP error, a
refused key, an account alert, a body that is not one of the documented answers) the client
raises :class:`AkismetUnavailable`; the caller decides what a comment becomes without a
verdict. Its ``str()`` is short and never holds the API key.
"""

from __future__ import annotations

import dataclasses
import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import Message
from urllib.parse import urlencode, urlsplit

from .version import __version__

_THANKS = "Thanks for making the web a better place."
#: Enough for every documented answer; anything longer is not one of them anyway.
_MAX_BODY = 4096


class AkismetUnavailable(Exception):
    """Akismet gave no usable answer; ``alert_code`` is its ``X-akismet-alert-code``."""

    def __init__(self, text: str, *, alert_code: str | None = None) -> None:
        super().__init__(text)
        self.alert_code = alert_code


@dataclasses.dataclass(frozen=True)
class AkismetVerdict:
    """What ``comment-check`` said about one comment."""

    spam: bool
    #: Blatant spam (``X-akismet-pro-tip: discard``): it may be dropped without review.
    discard: bool = False
    #: ``X-akismet-guid``: Akismet's id of this check, worth keeping for support requests.
    guid: str | None = None


@dataclasses.dataclass(frozen=True)
class AkismetComment:
    """One comment as Akismet sees it; empty fields are left out of the request.

    Send the same values to ``submit-spam`` / ``submit-ham`` as to ``comment-check``:
    Akismet matches the reports to the original checks.
    """

    #: Address and browser of the person who wrote the comment (not of this server).
    user_ip: str = ""
    user_agent: str = ""
    referrer: str = ""
    #: Full URL of the page the comment belongs to.
    permalink: str = ""
    #: ``"comment"`` for a top-level comment, ``"reply"`` for an answer to one.
    comment_type: str = "comment"
    comment_author: str = ""
    comment_author_email: str = ""
    comment_author_url: str = ""
    comment_content: str = ""
    #: When the comment was written and when its page last changed; naive means UTC.
    comment_date_gmt: datetime | None = None
    comment_post_modified_gmt: datetime | None = None
    #: Languages of the site, ISO 639-1, comma-separated (``"en, fr_ca"``).
    blog_lang: str = ""
    blog_charset: str = "UTF-8"
    #: Marks a request made by a test, so that it does not train Akismet.
    is_test: bool = False
    #: Name of a form field hidden from people, and what the client put in it.
    honeypot_field_name: str = ""
    hidden_honeypot_field: str = ""

    def form_fields(self) -> dict[str, str]:
        """The comment as Akismet's form fields (without ``api_key`` and ``blog``)."""
        fields: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                fields[field.name] = _gmt(value)
            elif isinstance(value, bool):
                if value:
                    fields[field.name] = "true"
            elif value:
                fields[field.name] = str(value)
        if self.honeypot_field_name:  # an empty honeypot is the normal, human case
            fields["hidden_honeypot_field"] = self.hidden_honeypot_field
        return fields


class AkismetClient:
    """Talks to Akismet for one site; safe to share, every call makes its own request."""

    def __init__(
        self,
        api_key: str,
        blog: str,
        *,
        endpoint: str = "https://rest.akismet.com",
        timeout: float = 5.0,
        user_agent: str = f"debatebox/{__version__} | Akismet/1.0",
    ) -> None:
        """``blog`` is the site's front page (a full URL); ``timeout`` bounds every wait."""
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Akismet endpoint must be an http(s) URL, not {endpoint!r}")
        if not api_key.strip():
            raise ValueError("Akismet needs an API key")
        if not timeout > 0:
            raise ValueError("Akismet timeout must be a positive number of seconds")
        self.blog, self.endpoint = blog, endpoint.rstrip("/")
        self.timeout, self.user_agent = timeout, user_agent
        self._api_key = api_key.strip()
        self._opener = urllib.request.build_opener()

    def __repr__(self) -> str:
        return f"<AkismetClient {self.blog} via {self.endpoint}>"

    def verify_key(self) -> bool:
        """Whether Akismet accepts the key for this site."""
        body, headers = self._post("verify-key", {})
        if body in ("valid", "invalid"):
            return body == "valid"
        raise self._unexpected("verify-key", body, headers)

    def check(self, comment: AkismetComment) -> AkismetVerdict:
        """Akismet's verdict on ``comment``; raises :class:`AkismetUnavailable` without one."""
        body, headers = self._post("comment-check", comment.form_fields())
        if body not in ("true", "false"):
            raise self._unexpected("comment-check", body, headers)
        spam = body == "true"
        discard = spam and _header(headers, "X-akismet-pro-tip").lower() == "discard"
        return AkismetVerdict(spam, discard, _header(headers, "X-akismet-guid") or None)

    def submit_spam(self, comment: AkismetComment) -> None:
        """Report spam that :meth:`check` let through."""
        self._submit("submit-spam", comment)

    def submit_ham(self, comment: AkismetComment) -> None:
        """Report a comment :meth:`check` wrongly called spam."""
        self._submit("submit-ham", comment)

    # -- the wire ---------------------------------------------------------------------------

    def _submit(self, method: str, comment: AkismetComment) -> None:
        body, headers = self._post(method, comment.form_fields())
        if body != _THANKS:
            raise self._unexpected(method, body, headers)

    def _post(self, method: str, fields: Mapping[str, str]) -> tuple[str, Message]:
        """POST ``fields`` to ``/1.1/<method>``: the stripped body and the headers."""
        form = {"api_key": self._api_key, "blog": self.blog, **fields}
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            f"{self.endpoint}/1.1/{method}",
            data=urlencode(form).encode("utf-8"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "User-Agent": self.user_agent,
            },
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                headers: Message = response.headers
                raw: bytes = response.read(_MAX_BODY)
        except urllib.error.HTTPError as error:
            error.close()
            raise self._fail(f"{method}: HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise self._fail(f"{method}: {_reason(error.reason)}") from None
        except (OSError, http.client.HTTPException) as error:
            raise self._fail(f"{method}: {_reason(error)}") from None
        code, message = (
            _header(headers, "X-akismet-alert-code"),
            _header(headers, "X-akismet-alert-msg"),
        )
        if code or message:
            raise self._fail(f"{method}: alert {code or '?'}: {message}", code or None)
        return raw.decode("utf-8", "replace").strip(), headers

    def _unexpected(self, method: str, body: str, headers: Message) -> AkismetUnavailable:
        """The error for a body that is no documented answer (``invalid`` for a bad key)."""
        shown = " ".join(self._redact(body).split())[:80] or "an empty body"
        help_text = _header(headers, "X-akismet-debug-help")
        return self._fail(f"{method}: {shown}" + (f" ({help_text})" if help_text else ""))

    def _fail(self, text: str, alert_code: str | None = None) -> AkismetUnavailable:
        """An :class:`AkismetUnavailable` whose text cannot leak the key, whatever it quotes."""
        text = "Akismet " + " ".join(self._redact(text).split())[:300]
        return AkismetUnavailable(text, alert_code=alert_code)

    def _redact(self, text: str) -> str:
        """``text`` with the API key masked; done before any cut, so no piece of it stays."""
        return text.replace(self._api_key, "[key]")


def _header(headers: Message, name: str) -> str:
    """One response header, stripped; ``""`` when it is missing."""
    return str(headers.get(name) or "").strip()


def _reason(error: object) -> str:
    """``"timed out"``, ``"Connection refused"``… from whatever urllib raised."""
    if isinstance(error, TimeoutError):
        return "timed out"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(text)


def _gmt(moment: datetime) -> str:
    """ISO 8601 in UTC; a naive datetime is taken as UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"
