"""Who may enter the admin pages, logging in with the built-in accounts, and how every
admin response is made (CSRF, security headers, templates).

An *admin check* is a function called inside the request that returns the moderator's
name, or ``None``. A host application passes its own (``DebateBox(app, admin_check=fn)``
or ``@box.admin_check``); :func:`accounts` is the built-in one, backed by
``debatebox_admin`` rows and the login page, which the standalone server uses. Without
a check, every admin URL answers 403: a host opts in.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, g, make_response, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from . import admins
from .errors import RateLimited
from .ratelimit import LoginLimiter
from .web import client_ip, csrf_ok, get_state, session

#: ``fn() -> moderator name or None``, called inside each admin request.
AdminCheck = Callable[[], "str | None"]

ADMIN_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
#: Where the built-in accounts keep the login in Flask's session cookie.
SESSION_KEY = "debatebox_admin"
#: A login of the built-in accounts lasts at most this many seconds.
LOGIN_MAX_AGE = 12 * 60 * 60
#: Notes shown after a redirect (``?done=…``): known codes only, never request text.
DONE = {
    "approve": "The comment was approved: it is public now.",
    "reject": "The comment was rejected: it will not be shown.",
    "spam": "The comment was marked as spam.",
    "delete": "The comment was deleted.",
    "ban": "The ban was added.",
    "lift": "The ban was lifted.",
    "saved": "The thread's settings were saved.",
    "unchanged": "Nothing was changed.",
}


@dataclasses.dataclass
class AdminAccess:
    """One application's admin check (kept in ``app.extensions["debatebox_admin"]``)."""

    #: Returns the check now: ``DebateBox.admin_check`` may set it after ``init_app``.
    resolve: Callable[[], AdminCheck | None]
    _limiter: LoginLimiter | None = None

    def limiter(self) -> LoginLimiter:
        """Failed logins per address, in ``DEBATEBOX_RATE_LIMIT_STORAGE`` (made on first use)."""
        if self._limiter is None:
            self._limiter = LoginLimiter(get_state().settings.rate_limit_storage)
        return self._limiter


def _access() -> AdminAccess:
    access: AdminAccess = current_app.extensions["debatebox_admin"]
    return access


def accounts() -> str | None:
    """The built-in admin check: the username logged in on the login page, or ``None``.

    ``DebateBox(app, admin_check=debatebox.admin_access.accounts)`` gives a Flask host the
    standalone server's accounts (``flask debatebox create-admin``) and login page.
    """
    data = cookie.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("at"), int):
        return None
    if not 0 <= time.time() - data["at"] <= LOGIN_MAX_AGE:
        return None
    return admins.logged_in(session(), data.get("id"), data.get("key"), get_state().secret_key)


def guard() -> ResponseReturnValue | None:
    """Before every admin request: 403 without a moderator, 400 for a POST without CSRF."""
    check = _access().resolve()
    g.debatebox_accounts = check is accounts
    found = check() if check is not None else None
    name = str(found) if found else None
    g.debatebox_moderator = name
    if request.endpoint == "debatebox_admin.login" and check is accounts:
        return None  # the login page checks its own CSRF token
    if not name:
        hint = " Log in first." if check is accounts else ""
        return message(403, "Forbidden", f"You may not see the moderators' pages.{hint}")
    if request.method == "POST" and not csrf_ok():
        return message(400, "The form expired", "The page was open too long: reload it.")
    return None


def headers(response: Response) -> Response:
    """After every admin request: no scripts, no framing, no caching."""
    response.headers.update(ADMIN_HEADERS)
    return response


def render(template: str, status: int = 200, **context: Any) -> Response:
    """An admin page from ``templates/debatebox/admin/``; every value is autoescaped."""
    values: dict[str, Any] = {
        "site": get_state().settings.site_name,
        "moderator": g.get("debatebox_moderator"),
        "accounts": g.get("debatebox_accounts", False),
        "csrf_token": generate_csrf,
        "notes": [],
        "done": DONE.get(request.args.get("done", "")),
    }
    values.update(context)
    return make_response(render_template(f"debatebox/admin/{template}", **values), status)


def message(status: int, heading: str, text: str) -> Response:
    """A small page saying one thing (403, 404, an expired form …)."""
    return render("message.html", status, heading=heading, text=text)


def moderator() -> str:
    """The name the admin check gave for this request."""
    return str(g.debatebox_moderator)


def see(endpoint: str, **values: Any) -> Response:
    """303 See Other: after a POST, the browser GETs the page that shows the result."""
    return redirect(url_for(endpoint, **values), 303)


# The login page of the built-in accounts ---------------------------------------------


def login() -> Response:
    """GET shows the form; POST logs in, at most LOGIN_LIMIT failures per address."""
    if g.debatebox_moderator:
        return see(".queue")
    if request.method == "GET":
        return render("login.html")
    if not csrf_ok():
        return render("login.html", 400, notes=[("The page was open too long: try again.", True)])
    address = client_ip()
    limiter = _access().limiter()
    username = request.form.get("username", "")[:80]
    try:
        limiter.check(address)
    except RateLimited as error:
        refused = render("login.html", 429, username=username, notes=[(error.message, True)])
        refused.headers["Retry-After"] = str(error.retry_after)
        return refused
    found = admins.authenticate(session(), username, request.form.get("password", ""))
    if found is None:
        limiter.failed(address)
        notes = [("Wrong username or password.", True)]
        return render("login.html", 401, username=username, notes=notes)
    limiter.succeeded(address)
    cookie.pop("csrf_token", None)  # a fresh CSRF token for the logged-in session
    cookie[SESSION_KEY] = {
        "id": found.id,
        "key": admins.session_key(found.password_hash, get_state().secret_key),
        "at": int(time.time()),
    }
    return see(".queue")


def logout() -> Response:
    """POST only; a host's own login is left alone."""
    if not g.debatebox_accounts:
        return message(404, "Not here", "Log out on the site itself: its login lets you in.")
    cookie.pop(SESSION_KEY, None)
    cookie.pop("csrf_token", None)
    return see(".login")
