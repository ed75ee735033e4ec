"""The admin pages under ``PREFIX/admin/``: the moderation queue, a comment's page, bans,
threads and the audit log.

Server-rendered and usable without JavaScript: every action is a form that POSTs with a
Flask-WTF CSRF token, and every response forbids scripts, framing and caching. Who may
enter is decided by the application's admin check (:mod:`debatebox.admin_access`). The
pages read through :mod:`debatebox.admin_queries` and act through the services:
:func:`debatebox.decisions.decide`, :mod:`debatebox.bans`, :func:`debatebox.admins.save_thread`,
each naming the moderator, so everything lands in the audit log.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from flask import Blueprint, request
from werkzeug.wrappers import Response

from . import admin_queries, admins, bans, decisions
from .admin_access import guard, headers, login, logout, message, moderator, render, see
from .admin_queries import TABS, Filters, parse_int
from .errors import DebateBoxError, NotFound, ValidationError
from .models import utcnow
from .moderation import ACTIONS, ALLOWED_FROM
from .web import get_state, session

admin_pages = Blueprint("debatebox_admin", __name__, template_folder="templates")
admin_pages.before_request(guard)
admin_pages.after_request(headers)
admin_pages.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
admin_pages.add_url_rule("/logout", view_func=logout, methods=["POST"])

#: The most comments one bulk action may name.
MAX_BULK = 200
#: The longest ban, in days.
MAX_BAN_DAYS = 3650
_PAST = {"approve": "Approved", "reject": "Rejected", "spam": "Marked as spam", "delete": "Deleted"}


# The queue ----------------------------------------------------------------------------


def _tab(values: Any) -> str:
    """The tab a request names (``held`` when it names none or an unknown one)."""
    tab = values.get("tab", "held")
    return tab if tab in TABS else "held"


def _filters(values: Any) -> Filters:
    return Filters(
        thread=values.get("thread", ""), text=values.get("q", ""), email=values.get("email", "")
    )


def _queue_page(
    tab: str, filters: Filters, cursor: str | None, notes: list[tuple[str, bool]]
) -> Response:
    db = session()
    return render(
        "queue.html",
        tab=tab,
        tabs=TABS,
        filters=filters,
        counts=admin_queries.tab_counts(db),
        cap=admin_queries.COUNT_CAP,
        page=admin_queries.queue(db, tab, filters, cursor=cursor),
        cursor=cursor,
        notes=notes,
    )


@admin_pages.get("/")
def queue() -> Response:
    return _queue_page(_tab(request.args), _filters(request.args), request.args.get("after"), [])


@admin_pages.post("/bulk")
def bulk() -> Response:
    """One decision on every ticked comment; says what was done and what was refused."""
    tab, filters = _tab(request.form), _filters(request.form)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        return message(400, "Unknown action", "Choose approve, reject, spam or delete.")
    numbers = (parse_int(raw) for raw in request.form.getlist("comment"))
    ids = list(dict.fromkeys(number for number in numbers if number is not None))
    if not ids:
        return _queue_page(tab, filters, None, [("Tick at least one comment.", True)])
    if len(ids) > MAX_BULK:
        return message(400, "Too many comments", f"Act on at most {MAX_BULK} at once.")
    done: list[int] = []
    notes: list[tuple[str, bool]] = []
    state, db = get_state(), session()
    for comment_id in ids:
        try:
            decisions.decide(state, db, comment_id, action, by=moderator())
        except DebateBoxError as error:
            notes.append((f"#{comment_id} was not changed: {error.message}", True))
        else:
            done.append(comment_id)
    if done:
        listed = ", ".join(f"#{comment_id}" for comment_id in done)
        notes.insert(0, (f"{_PAST[action]} {_count(len(done), 'comment')}: {listed}.", False))
    return _queue_page(tab, filters, None, notes)


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


# One comment --------------------------------------------------------------------------


def _detail_page(comment_id: int, status: int = 200, notes: Any = ()) -> Response:
    found = admin_queries.detail(session(), comment_id)
    if found is None:
        return message(404, "Not found", "There is no such comment.")
    return render(
        "comment.html",
        status,
        d=found,
        actions=ACTIONS,
        allowed=ALLOWED_FROM,
        ban_targets=_ban_targets(found.comment.email, found.comment.ip),
        notes=list(notes),
    )


def _ban_targets(email: str | None, ip: str) -> list[tuple[str, str, str]]:
    """``(kind, value, label)`` for each way the comment's author can be banned."""
    targets = []
    if email and "@" in email:
        targets.append(("email", email, f"the address {email}"))
        domain = email.rsplit("@", 1)[1]
        targets.append(("domain", domain, f"every address at {domain}"))
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return targets
    network = ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False)
    targets.append(("ip", str(network), f"the addresses {network}"))
    return targets


@admin_pages.get("/comments/<int(max=2147483647):comment_id>")
def comment(comment_id: int) -> Response:
    return _detail_page(comment_id)


@admin_pages.post("/comments/<int(max=2147483647):comment_id>/decide")
def decide(comment_id: int) -> Response:
    action = request.form.get("action", "")
    try:
        decisions.decide(get_state(), session(), comment_id, action, by=moderator())
    except DebateBoxError as error:
        return _detail_page(comment_id, error.status, [(error.message, True)])
    return see(".comment", comment_id=comment_id, done=action)


@admin_pages.post("/comments/<int(max=2147483647):comment_id>/ban")
def ban_author(comment_id: int) -> Response:
    """Ban the comment's email, its domain or its /24 (IPv6: /48) network."""
    found = admin_queries.author(session(), comment_id)
    if found is None:
        return message(404, "Not found", "There is no such comment.")
    targets = {kind: value for kind, value, _ in _ban_targets(*found)}
    kind = request.form.get("kind", "")
    try:
        if kind not in targets:
            raise ValidationError("Choose what to ban.", fields={"kind": "Unknown."})
        _add_ban(kind, targets[kind])
    except DebateBoxError as error:
        return _detail_page(comment_id, error.status, [(error.message, True)])
    return see(".comment", comment_id=comment_id, done="ban")


def _add_ban(kind: str, value: str) -> None:
    """A ban from the submitted action, days and reason (and the given kind and value)."""
    days_text = request.form.get("days", "").strip()
    days = parse_int(days_text)
    if days_text and (days is None or not 1 <= days <= MAX_BAN_DAYS):
        raise ValidationError(
            f"A ban lasts 1 to {MAX_BAN_DAYS} days, or leave the days empty: for ever.",
            fields={"days": "Not a number of days."},
        )
    bans.add(
        session(),
        kind=kind,
        value=value,
        action=request.form.get("action", "hold"),
        reason=request.form.get("reason", "").strip(),
        expires_at=utcnow() + dt.timedelta(days=days) if days else None,
        by=moderator(),
    )


# Bans ---------------------------------------------------------------------------------


def _bans_page(status: int = 200, notes: Any = ()) -> Response:
    return render(
        "bans.html",
        status,
        page=admin_queries.ban_list(session(), cursor=request.args.get("after")),
        is_active=bans.is_active,
        kinds=bans.KINDS,
        ban_actions=bans.BAN_ACTIONS,
        notes=list(notes),
    )


@admin_pages.get("/bans")
def ban_list() -> Response:
    return _bans_page()


@admin_pages.post("/bans")
def add_ban() -> Response:
    try:
        _add_ban(request.form.get("kind", ""), request.form.get("value", ""))
    except DebateBoxError as error:
        return _bans_page(error.status, [(error.message, True)])
    return see(".ban_list", done="ban")


@admin_pages.post("/bans/<int(max=2147483647):ban_id>/lift")
def lift(ban_id: int) -> Response:
    try:
        bans.lift(session(), ban_id, by=moderator())
    except NotFound as error:
        return message(404, "Not found", error.message)
    return see(".ban_list", done="lift")


# Threads ------------------------------------------------------------------------------


@admin_pages.get("/threads")
def thread_list() -> Response:
    search = request.args.get("q", "")
    page = admin_queries.thread_list(session(), search=search, cursor=request.args.get("after"))
    return render("threads.html", page=page, search=search)


@admin_pages.route("/threads/<int(max=2147483647):thread_id>", methods=["GET", "POST"])
def thread(thread_id: int) -> Response:
    db = session()
    notes: list[tuple[str, bool]] = []
    status = 200
    if request.method == "POST":
        settings = admins.ThreadSettings(
            title=request.form.get("title", ""),
            moderation=request.form.get("moderation", "") or None,
            closed=request.form.get("closed") == "1",
        )
        try:
            changes = admins.save_thread(db, thread_id, settings, by=moderator())
        except DebateBoxError as error:
            notes, status = [(error.message, True)], error.status
        else:
            return see(".thread", thread_id=thread_id, done="saved" if changes else "unchanged")
    found = admin_queries.thread(db, thread_id)
    if found is None:
        return message(404, "Not found", "There is no such thread.")
    return render("thread.html", status, thread=found, modes=admins.THREAD_MODES, notes=notes)


# The audit log ------------------------------------------------------------------------


@admin_pages.get("/audit")
def audit() -> Response:
    page = admin_queries.audit_log(session(), cursor=request.args.get("after"))
    return render("audit.html", page=page)
