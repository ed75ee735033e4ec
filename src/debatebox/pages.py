"""The pages behind the links in emails: confirm, unsubscribe, manage subscriptions.

Server-rendered, translated (``?lang=`` from the link, else ``Accept-Language``), with
a strict Content-Security-Policy, no framing and no referrer (the URLs carry tokens).
A GET only shows what a button would do; the button POSTs with a Flask-WTF CSRF token.
The one exception is RFC 8058 one-click unsubscribe: a mail client POSTs
``List-Unsubscribe=One-Click`` to the unsubscribe URL without a CSRF token, and the
signed token in the URL is the proof.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, render_template, request, url_for
from flask_wtf.csrf import generate_csrf

from . import decisions, links
from .errors import DebateBoxError
from .messages import Translate, best_language, language, translator
from .tokens import TokenExpired, TokenInvalid
from .web import csrf_ok, get_state, session

pages = Blueprint("debatebox_pages", __name__, template_folder="templates")

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _t() -> tuple[str, Translate]:
    lang = language(request.args.get("lang")) if request.args.get("lang") else None
    lang = lang or best_language(request.headers.get("Accept-Language"))
    return lang, translator(lang)


def _page(status: int = 200, **context: Any) -> Response:
    lang, t = _t()
    values: dict[str, Any] = {
        "lang": lang,
        "t": t,
        "site": get_state().settings.site_name,
        "notes": [],
        "question": None,
        "button": None,
        "items": None,
        "links": [],
        "csrf_token": generate_csrf,
    }
    values.update(context)
    response = make_response(render_template("debatebox/page.html", **values), status)
    response.headers.update(PAGE_HEADERS)
    return response


def _bad_link(error: TokenInvalid, *, expired_key: str = "link_expired") -> Response:
    _lang, t = _t()
    expired = isinstance(error, TokenExpired)
    text = t(expired_key) if expired else t("link_invalid")
    return _page(
        410 if expired else 400, heading=get_state().settings.site_name, notes=[(text, True)]
    )


def _what(t: Translate, item: links.Item | None) -> str:
    if item is None or not item.replies:
        return t("what_thread")
    if item.comment_label:
        return t("what_replies", label=item.comment_label)
    return t("what_replies_mine")


def _lang_query() -> dict[str, str]:
    lang = request.args.get("lang")
    return {"lang": language(lang)} if lang else {}


def _manage_link(t: Translate, token: str) -> tuple[str, str]:
    values: dict[str, Any] = {"token": token, **_lang_query()}
    return t("manage"), url_for(".manage", **values)


@pages.route("/subscriptions/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Response:
    _lang, t = _t()
    heading = t("confirm_title")
    db = session()
    try:
        seen = links.inspect_confirm(get_state(), db, token)
    except TokenInvalid as error:
        return _bad_link(error, expired_key="link_expired_confirm")
    if seen.item is None:
        return _page(404, heading=heading, notes=[(t("already_removed"), True)])
    item = seen.item
    what = _what(t, item)
    if request.method == "GET" or not csrf_ok():
        notes = [] if request.method == "GET" else [(t("form_expired"), True)]
        question = t("confirm_question", what=what, title=item.thread_title, email=seen.email)
        return _page(heading=heading, notes=notes, question=question, button=t("confirm_button"))
    done = links.confirm(get_state(), db, token)
    page_links = [_manage_link(t, done.manage_token)]
    if item.thread_url:
        # The widget on the page keeps the reader token: later subscriptions need no email.
        back = f"{item.thread_url}#debatebox-reader={done.reader_token}"
        page_links.insert(0, (t("back"), back))
    text = t("confirmed", what=what, title=item.thread_title, email=seen.email)
    return _page(heading=heading, notes=[(text, False)], links=page_links)


@pages.route("/subscriptions/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response:
    _lang, t = _t()
    heading = t("unsubscribe_title")
    db = session()
    try:
        seen = links.inspect_unsubscribe(get_state(), db, token)
    except TokenInvalid as error:
        return _bad_link(error)
    manage = [_manage_link(t, seen.manage_token)]
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"
    if not seen.items and not seen.notices:
        return _page(heading=heading, notes=[(t("already_removed"), False)], links=manage)
    first = seen.items[0] if seen.items else None
    title = first.thread_title if first else get_state().settings.site_name
    if request.method == "GET" or not (one_click or csrf_ok()):
        notes = [] if request.method == "GET" else [(t("form_expired"), True)]
        question = t("unsubscribe_question", what=_what(t, first), title=title, email=seen.email)
        return _page(
            heading=heading,
            notes=notes,
            question=question,
            button=t("unsubscribe_button"),
            links=manage,
        )
    links.unsubscribe(get_state(), db, seen)
    if one_click:
        return Response("Unsubscribed.\n", 200, {"Cache-Control": "no-store"}, "text/plain")
    text = t("unsubscribed", title=title, email=seen.email)
    return _page(heading=heading, notes=[(text, False)], links=manage)


@pages.route("/subscriptions/manage/<token>", methods=["GET", "POST"])
def manage(token: str) -> Response:
    _lang, t = _t()
    state = get_state()
    db = session()
    notes: list[tuple[str, bool]] = []
    try:
        links.manage_subscriber(state, token)
    except TokenInvalid as error:
        return _bad_link(error)
    if request.method == "POST":
        action = request.form.get("action")
        raw_id = request.form.get("id", "")
        item_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() else None
        if not csrf_ok():
            notes.append((t("form_expired"), True))
        elif action == "remove_all":
            links.remove(state, db, token, None)
            notes.append((t("removed_all"), False))
        elif action == "remove" and item_id is not None:
            for item in links.remove(state, db, token, item_id):
                notes.append((t("removed", title=item.thread_title), False))
        elif action == "confirm" and item_id is not None:
            links.confirm_listed(state, db, token, item_id)
    email, items = links.listing(state, db, token)
    shown = [
        {
            "id": item.id,
            "title": item.thread_title,
            "url": item.thread_url,
            "what": _what(t, item),
            "mode": t("mode_digest" if item.mode == "digest" else "mode_instant"),
            "active": item.active,
        }
        for item in items
    ]
    return _page(
        heading=t("manage_title"),
        notes=notes,
        question=t("manage_intro", email=email),
        items=shown,
    )


_ACTION_WORDS = {
    "approve": ("Approve", "approved: it is public now"),
    "reject": ("Reject", "rejected: it will not be shown"),
    "spam": ("Mark as spam", "marked as spam and taken down"),
    "delete": ("Delete", "deleted"),
}


@pages.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token: str) -> Response:
    """A moderation link from a moderators' email: GET asks, the button decides."""
    state = get_state()
    db = session()
    heading = "Moderate a comment"
    try:
        found = decisions.read_link(state, db, token)
    except TokenInvalid as error:
        return _bad_link(error)
    except DebateBoxError as error:
        return _page(error.status, heading=heading, notes=[(error.message, True)])
    button, done = _ACTION_WORDS[found.action]
    comment, thread = found.comment, found.thread
    if request.method == "GET" or not csrf_ok():
        notes = [] if request.method == "GET" else [("The page was open too long.", True)]
        question = (
            f"{button} the comment by {comment.author_name} on “{thread.title or thread.key}”?"
            f" It says: “{comment.body_source[:500]}”"
        )
        return _page(heading=heading, notes=notes, question=question, button=button)
    try:
        decisions.decide(state, db, comment.id, found.action, by="email link")
    except DebateBoxError as error:
        return _page(error.status, heading=heading, notes=[(error.message, True)])
    return _page(heading=heading, notes=[(f"The comment was {done}.", False)])
