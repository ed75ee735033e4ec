"""The words of emails and of the subscription pages, in the widget's languages.

English is here; other languages live in ``translations/<lang>.json`` with the same
keys. A missing key or language falls back to English, so a half-translated catalog
never shows an empty string. Placeholders are ``{name}`` and are filled with
:meth:`str.format_map`; values are plain text (templates escape them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import resources

LANGUAGES = ("en", "de", "fr", "it", "es", "pl", "ru")

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
}

Translate = Callable[..., str]


@functools.cache
def _catalog(lang: str) -> dict[str, str]:
    if lang == "en" or lang not in LANGUAGES:
        return {}
    path = resources.files("debatebox").joinpath("translations").joinpath(f"{lang}.json")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in loaded.items() if isinstance(value, str)}


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
