"""Checking what a client sends: the allowlist of fields and each field's rules.

Used by :mod:`debatebox.comments` for every entry point, so a comment is held to the
same rules whether it came from the JSON API, a form, an import or the CLI.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .config import Settings
from .errors import BadRequest, ValidationError
from .messages import ERRORS, Problem
from .urls import WebsiteTooLong, normalize_website

#: Fields a client may send when posting; anything else is refused.
POST_FIELDS = frozenset(
    {
        "thread",
        "title",
        "url",
        "parent",
        "name",
        "email",
        "website",
        "body",
        "form_token",
        "homepage",
        "notify_replies",
        "notify_all",
        "lang",
    }
)
#: Fields of a subscription request (``POST /api/subscriptions``).
SUBSCRIBE_FIELDS = frozenset({"thread", "title", "url", "email", "mode", "comment", "lang"})
MODES = ("instant", "digest")
_LANG = re.compile(r"^[a-z]{2}$")
#: The honeypot: hidden from people, filled in by bots.
HONEYPOT = "homepage"
EDIT_FIELDS = frozenset({"body"})
_EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)*\.\w{2,}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")
#: Control characters, line/paragraph separators and lone surrogates (not encodable).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ud800-\udfff]")


@dataclasses.dataclass(frozen=True)
class NewComment:
    """A comment's fields after validation."""

    thread_key: str
    title: str
    url: str
    parent_id: int | None
    author_name: str
    email: str | None
    website: str
    body: str
    form_token: str | None
    honeypot: str
    #: Subscriptions asked for with the comment: replies to it, every new comment.
    notify_replies: bool = False
    notify_all: bool = False
    #: Language of the reader's emails.
    lang: str = "en"

    def fields(self) -> dict[str, Any]:
        """The fields receivers and policies see (``comment_will_be_posted``)."""
        return {
            "thread_key": self.thread_key,
            "parent_id": self.parent_id,
            "author_name": self.author_name,
            "email": self.email,
            "website": self.website,
            "body": self.body,
        }


@dataclasses.dataclass(frozen=True)
class NewSubscription:
    """A subscription request after validation."""

    thread_key: str
    title: str
    url: str
    email: str
    mode: str
    #: Follow the replies to this comment instead of the whole thread.
    comment_id: int | None
    lang: str


def _text(
    data: Mapping[str, Any],
    name: str,
    errors: dict[str, str],
    *,
    required: bool,
    max_length: int,
    label: str,
    multiline: bool = False,
) -> str:
    """``data[name]`` as normalised text; a problem goes to ``errors`` under ``name``.

    ``label`` is the widget's word for the field (``name``, ``comment``, …) so that the
    problem can be said in the reader's language, or an English label.
    """
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = Problem("not_text", label=label)
        return ""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    value = value.strip() if not multiline else value.strip("\n ").rstrip()
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\t" in value)):
        errors[name] = Problem("bad_characters", label=label)
    elif required and not value:
        errors[name] = Problem("required", label=label)
    elif len(value) > max_length:
        errors[name] = Problem("too_long", label=label, max=max_length)
    return value


def allowlist(data: Any, allowed: frozenset[str]) -> None:
    """Refuse anything but a JSON object with known fields."""
    if not isinstance(data, Mapping):
        raise BadRequest("Send a JSON object.", code="not_an_object")
    unknown = sorted(str(key)[:40] for key in data if key not in allowed)
    if unknown:
        raise BadRequest(
            f"Unknown field(s): {', '.join(unknown)}.",
            code="unknown_fields",
            fields={key: "Unknown field." for key in unknown},
        )


def _page(
    settings: Settings, data: Mapping[str, Any], errors: dict[str, str]
) -> tuple[str, str, str]:
    """The thread key, title and page URL a request names."""
    key = _text(
        data, "thread", errors, required=True, max_length=settings.max_key_length, label="Thread"
    )
    title = _text(data, "title", errors, required=False, max_length=300, label="Title")
    url = _text(data, "url", errors, required=False, max_length=1000, label="Page URL")
    if url and "url" not in errors:
        try:
            url = normalize_website(url)
        except ValueError:
            errors["url"] = "Page URL must be an http(s) address."
    return key, title, url


def _flag(data: Mapping[str, Any], name: str, errors: dict[str, str]) -> bool:
    value = data.get(name, False)
    if value is None or isinstance(value, bool):
        return bool(value)
    errors[name] = "Must be true or false."
    return False


def _lang(data: Mapping[str, Any], errors: dict[str, str]) -> str:
    value = data.get("lang") or "en"
    if not isinstance(value, str) or not _LANG.match(value.split("-")[0].lower()):
        errors["lang"] = "Language must be a code like en or de."
        return "en"
    return value.split("-")[0].lower()


def parse(settings: Settings, data: Any) -> NewComment:
    """Allowlist and validate the fields of a new comment; raise with every problem."""
    allowlist(data, POST_FIELDS)
    s = settings
    errors: dict[str, str] = {}
    key, title, url = _page(s, data, errors)
    name = _text(data, "name", errors, required=True, max_length=s.max_name_length, label="name")
    email = _text(data, "email", errors, required=s.require_email, max_length=254, label="email")
    website = _text(data, "website", errors, required=False, max_length=500, label="website")
    body = _text(
        data,
        "body",
        errors,
        required=True,
        max_length=s.max_body_length,
        label="comment",
        multiline=True,
    )
    if email and "email" not in errors and not _EMAIL.match(email):
        errors["email"] = Problem("email")
    if website and "website" not in errors:
        try:
            website = normalize_website(website)
        except WebsiteTooLong:
            errors["website"] = Problem("website_too_long")
        except ValueError:
            errors["website"] = Problem("website")
    parent = data.get("parent")
    if parent is not None and (
        isinstance(parent, bool) or not isinstance(parent, int) or not 0 < parent < 2**31
    ):
        errors["parent"] = "Parent must be the id of a comment."
        parent = None
    token = data.get("form_token")
    if token is not None and not isinstance(token, str):
        errors["form_token"] = "Form token must be text."
        token = None
    honeypot = data.get(HONEYPOT) or ""
    notify_replies = _flag(data, "notify_replies", errors)
    notify_all = _flag(data, "notify_all", errors)
    if (notify_replies or notify_all) and not email and "email" not in errors:
        errors["email"] = Problem("email_to_notify")
    lang = _lang(data, errors)
    if errors:
        raise ValidationError(_summary(errors), fields=errors)
    return NewComment(
        thread_key=key,
        title=title,
        url=url,
        parent_id=parent,
        author_name=name,
        email=email.lower() if email else None,
        website=website,
        body=body,
        form_token=token,
        honeypot=honeypot if isinstance(honeypot, str) else "x",
        notify_replies=notify_replies,
        notify_all=notify_all,
        lang=lang,
    )


def parse_subscription(settings: Settings, data: Any) -> NewSubscription:
    """Allowlist and validate a subscription request; raise with every problem."""
    allowlist(data, SUBSCRIBE_FIELDS)
    errors: dict[str, str] = {}
    key, title, url = _page(settings, data, errors)
    email = _text(data, "email", errors, required=True, max_length=254, label="email")
    if email and "email" not in errors and not _EMAIL.match(email):
        errors["email"] = Problem("email")
    mode = data.get("mode") or "instant"
    if mode not in MODES:
        errors["mode"] = "Mode must be instant or digest."
    comment = data.get("comment")
    if comment is not None and (
        isinstance(comment, bool) or not isinstance(comment, int) or not 0 < comment < 2**31
    ):
        errors["comment"] = "Comment must be the id of a comment."
    lang = _lang(data, errors)
    if errors:
        raise ValidationError(_summary(errors), fields=errors)
    return NewSubscription(key, title, url, email.lower(), str(mode), comment, lang)


def _summary(errors: dict[str, str]) -> str:
    return next(iter(errors.values())) if len(errors) == 1 else ERRORS["invalid"]


def check_page_url(url: str, page_origins: tuple[str, ...] | None) -> None:
    """A new thread's page URL must be on one of ``page_origins`` (``None``: any)."""
    if url and page_origins is not None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" not in page_origins:
            raise ValidationError(
                "The page URL must belong to this site.", fields={"url": "Not an allowed origin."}
            )


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise BadRequest(
            "Idempotency-Key must be 1 to 100 visible ASCII characters.", code="bad_idempotency_key"
        )
    return key


def parse_edit(settings: Settings, data: Any) -> str:
    allowlist(data, EDIT_FIELDS)
    errors: dict[str, str] = {}
    body = _text(
        data,
        "body",
        errors,
        required=True,
        max_length=settings.max_body_length,
        label="comment",
        multiline=True,
    )
    if errors:
        raise ValidationError(_summary(errors), fields=errors)
    return body
