"""The server's words in the widget's languages: emails, the subscription pages, the
no-JavaScript thread and the errors a reader can see.

English is here; other languages live in ``translations/<lang>.json`` with the same
keys. A missing key or language falls back to English, so a half-translated catalog
never shows an empty string. Placeholders are ``{name}`` and are filled with
:meth:`str.format_map`; values are plain text (templates escape them).

The words the widget shows (labels, "3 comments", "Reply", …) are the widget's own
catalogs, ``static/i18n/<lang>.json``: :func:`widget_words` reads them, so the thread
rendered without JavaScript says exactly what the widget says.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from .errors import DebateBoxError

LANGUAGES = ("en", "de", "fr", "it", "es", "pl", "ru")

#: The English text of each refusal a reader can meet, by error code. The services raise
#: these texts; the web edges give them in the reader's language (:func:`error_text`).
ERRORS: dict[str, str] = {
    "invalid": "Please correct the marked fields.",
    "bot_check": "Your comment could not be accepted.",
    "rejected": "Your comment could not be accepted.",
    "duplicate": "You posted this text already.",
    "too_fast": "That was quick! Please take a few seconds and post again.",
    "form_token_missing": "The form token is missing. Please reload the page.",
    "form_token_invalid": "The form token is not valid. Please reload the page.",
    "form_expired": "This form has expired. Please reload the page and post again.",
    "origin_not_allowed": "This site may not post comments here.",
    "thread_not_found": "There is no discussion here.",
    "thread_closed": "This discussion is closed for new comments.",
    "parent_unavailable": "The comment you are replying to is not available.",
    "deleted": "This comment was deleted.",
    "edit_window_over": "The time to edit or delete this comment is over.",
    "bad_token": "The edit token is not valid for this comment.",
    "rate_limited": "You are posting too fast. Please try again in {wait} s.",
    "unavailable": "The comment server is busy. Please try again.",
}

#: Problems with a field a reader fills in (see :class:`Problem`).
FIELDS: dict[str, str] = {
    "not_text": "{label} must be text.",
    "bad_characters": "{label} contains characters that are not allowed.",
    "required": "{label} is required.",
    "too_long": "{label} must be at most {max} characters.",
    "email": "Email does not look like an email address.",
    "email_to_notify": "Email is required to be notified.",
    "website": "Website must be an http(s) address.",
    "website_too_long": "Website address is too long.",
}

EN: dict[str, str] = {
    # Emails
    "confirm_subject": "Please confirm: emails about “{title}”",
    "confirm_intro_thread": (
        "Someone, probably you, asked to be emailed about new comments on “{title}” ({site})."
    ),
    "confirm_intro_replies": (
        "Someone, probably you, asked to be emailed about replies to comment #{label}"
        " on “{title}” ({site})."
    ),
    "confirm_intro_mine": (
        "Someone, probably you, asked to be emailed about replies to their comment"
        " on “{title}” ({site})."
    ),
    "confirm_action": "Confirm subscription",
    "confirm_ignore": (
        "If it was not you, ignore this email: nothing more is sent to this address"
        " unless it is confirmed."
    ),
    "notify_subject": "New comment on “{title}”",
    "notify_intro": "{name} commented on “{title}”:",
    "reply_subject": "New reply on “{title}”",
    "reply_intro": "{name} replied to comment #{label} on “{title}”:",
    "digest_subject": "New comments on {site}",
    "digest_intro": "New comments since the last digest:",
    "published_subject": "Your comment on “{title}” was published",
    "published_intro": "A moderator approved your comment on “{title}”. It is now public:",
    "view_comment": "View the comment",
    "why_subscribed": "You get this email because this address subscribed to “{title}” on {site}.",
    "why_digest": "You get this email because this address subscribed to a daily digest on {site}.",
    "why_author": "You get this email because you posted this comment on {site}.",
    "unsubscribe": "Unsubscribe",
    "manage": "Manage my subscriptions",
    # Pages
    "confirm_title": "Confirm your subscription",
    "confirm_question": "Send emails about {what} on “{title}” to {email}?",
    "confirm_button": "Confirm",
    "confirmed": "Thank you, your subscription is confirmed: {what} on “{title}” go to {email}.",
    "already_confirmed": "This subscription was already confirmed.",
    "back": "Back to the discussion",
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_question": "Stop emails about {what} on “{title}” to {email}?",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribed": "Done: no more emails about “{title}” go to {email}.",
    "already_removed": "This subscription was already removed.",
    "manage_title": "Your subscriptions",
    "manage_intro": "Subscriptions of {email}:",
    "manage_none": "This address has no subscriptions.",
    "remove": "Remove",
    "remove_all": "Unsubscribe from everything",
    "removed": "The subscription to “{title}” was removed.",
    "removed_all": (
        "Every subscription of this address was removed and no more emails are sent to it."
    ),
    "what_thread": "new comments",
    "what_replies": "replies to comment #{label}",
    "what_replies_mine": "replies to your comment",
    "mode_instant": "one email per comment",
    "mode_digest": "a daily digest",
    "status_pending": "awaiting confirmation",
    "confirm_pending": "Confirm",
    "link_invalid": (
        "This link is not valid. It may have been cut: copy the whole link from the email."
    ),
    "link_expired": "This link has expired.",
    "link_expired_confirm": "This link has expired. Subscribe again to get a new one.",
    "form_expired": "The page was open too long. Please try again.",
    # The thread without JavaScript (the rest are the widget's words)
    "discussion": "Discussion",
    "leave_comment": "Leave a comment",
    "reply_to": "Reply to {name}, #{label}",
    "thanks_held": "Thank you! Your comment is awaiting moderation.",
    "honeypot": "Leave this field empty",
    "not_posted": "Your comment was not posted",
    "text_below": "Your text is below: correct it if needed and post it again.",
    "expired_post_again": "This form has expired. Please post your comment again.",
    "go_back": "Back to the page",
    "first_comments": "Back to the first comments",
    # Errors
    **{f"error_{code}": text for code, text in ERRORS.items()},
    **{f"field_{key}": text for key, text in FIELDS.items()},
}

Translate = Callable[..., str]


@functools.cache
def _load(folder: str, lang: str) -> dict[str, Any]:
    """The JSON object in ``<folder>/<lang>.json`` of the package; ``{}`` if there is none."""
    if lang not in LANGUAGES:
        return {}
    path = resources.files("debatebox").joinpath(folder).joinpath(f"{lang}.json")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


@functools.cache
def _catalog(lang: str) -> dict[str, str]:
    """The server's words in ``lang`` (English is :data:`EN`)."""
    loaded = _load("translations", lang) if lang != "en" else {}
    return {key: value for key, value in loaded.items() if isinstance(value, str)}


def _widget_catalog(lang: str) -> dict[str, Any]:
    """The widget's words in ``lang`` (``static/i18n/<lang>.json``, English included)."""
    return _load("static/i18n", lang)


def language(lang: str | None) -> str:
    """``lang`` if debatebox speaks it, else English."""
    lang = (lang or "").split("-")[0].lower()
    return lang if lang in LANGUAGES else "en"


def translator(lang: str | None) -> Translate:
    """``t(key, **values)`` in ``lang``, English where the catalog has no entry."""
    catalog = _catalog(language(lang))

    def t(key: str, **values: object) -> str:
        text = catalog.get(key) or EN[key]
        try:
            return text.format_map(values)
        except (KeyError, IndexError, ValueError):
            return EN[key].format_map(values)

    return t


def best_language(accept_language: str | None) -> str:
    """The first language of an ``Accept-Language`` header that debatebox speaks."""
    for part in (accept_language or "").split(","):
        lang = language(part.split(";")[0].strip())
        if lang != "en" or part.strip().lower().startswith("en"):
            return lang
    return "en"


# Plurals and the widget's words -----------------------------------------------------------


def plural_category(lang: str, n: int) -> str:
    """The CLDR plural category of the whole number ``n`` in ``lang`` (as
    ``Intl.PluralRules`` gives it), which picks the form of a plural string."""
    lang = language(lang)
    n = abs(n)
    if lang in ("pl", "ru"):
        tens, hundreds = n % 10, n % 100
        if lang == "ru" and tens == 1 and hundreds != 11:
            return "one"
        if lang == "pl" and n == 1:
            return "one"
        if 2 <= tens <= 4 and not 12 <= hundreds <= 14:
            return "few"
        return "many"
    if lang in ("fr", "it", "es") and n != 0 and n % 1_000_000 == 0:
        return "many"
    if n == 1 or (lang == "fr" and n == 0):
        return "one"
    return "other"


def widget_words(lang: str | None) -> Translate:
    """``w(key, **values)`` with the widget's own words in ``lang`` (English where its
    catalog has no entry); a plural string takes its form from ``n``."""
    lang = language(lang)
    english, catalog = _widget_catalog("en"), _widget_catalog(lang)

    def w(key: str, **values: object) -> str:
        text = catalog.get(key) or english[key]
        if isinstance(text, dict):
            count = values.get("n", 0)
            form = plural_category(lang, count if isinstance(count, int) else 0)
            text = text.get(form) or text.get("other") or english[key]["other"]
        try:
            return str(text).format_map(values)
        except (KeyError, IndexError, ValueError, AttributeError):
            return str(text)

    return w


# Errors a reader sees ---------------------------------------------------------------------


class Problem(str):
    """A field's problem as English text that also knows how to say it in other
    languages: ``key`` names it in :data:`FIELDS`, ``values`` fill it, and ``label`` is
    the widget's word for the field (``name``, ``email``, ``website``, ``comment``) or
    an English label."""

    key: str
    values: dict[str, object]

    def __new__(cls, key: str, **values: object) -> Problem:
        made = super().__new__(cls, _field_text("en", key, values))
        made.key = key
        made.values = values
        return made

    def says(self, lang: str | None) -> str:
        """This problem in ``lang``."""
        return _field_text(language(lang), self.key, self.values)


def _field_text(lang: str, key: str, values: dict[str, object]) -> str:
    label = str(values.get("label", ""))
    word = widget_words(lang)(label) if label in _widget_catalog("en") else label
    return translator(lang)(f"field_{key}", **{**_numbers(lang, values), "label": word})


#: The thousands separator of each language (CLDR); French, Polish and Russian use a
#: narrow no-break space or a no-break space.
_GROUPING = {
    **dict.fromkeys(("de", "it", "es"), "."),
    "en": ",",
    "fr": "\u202f",
    **dict.fromkeys(("pl", "ru"), "\u00a0"),
}


def number(lang: str | None, n: int) -> str:
    """The whole number ``n`` written with the thousands separator of ``lang``."""
    lang = language(lang)
    text = f"{n:,}"
    if lang in ("es", "pl") and abs(n) < 10_000:
        return text.replace(",", "")  # Spanish and Polish group from five digits on
    return text.replace(",", _GROUPING[lang])


def _numbers(lang: str | None, values: dict[str, object]) -> dict[str, object]:
    def written(value: object) -> object:
        return number(lang, value) if type(value) is int else value

    return {key: written(value) for key, value in values.items()}


def error_text(lang: str | None, message: str, **values: object) -> str:
    """``message`` in ``lang`` when it is one of :data:`ERRORS` (filled with ``values``);
    any other message stays as it is."""
    if language(lang) == "en":
        return message
    for code, text in ERRORS.items():
        if text.format_map(values) == message:
            return translator(lang)(f"error_{code}", **values)
    return message


def field_texts(lang: str | None, fields: dict[str, str]) -> dict[str, str]:
    """Each field's problem in ``lang`` (those that are not a :class:`Problem` as they are)."""
    return {
        name: text.says(lang) if isinstance(text, Problem) else text
        for name, text in fields.items()
    }


def said(lang: str | None, error: DebateBoxError) -> tuple[str, dict[str, str]]:
    """The message and the field problems of ``error`` in ``lang``."""
    fields = field_texts(lang, error.fields)
    message = error.message
    if isinstance(message, Problem):  # the only problem, as the message
        return message.says(lang), fields
    return error_text(lang, message, wait=error.retry_after or 0), fields
