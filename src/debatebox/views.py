"""Non-JSON routes of the blueprint: avatars, and the server-rendered thread."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, render_template, url_for
from markupsafe import Markup

from . import avatars, serialize, threads
from .web import get_state, session

views = Blueprint("debatebox", __name__, template_folder="templates")
_DIGEST = re.compile(r"^[0-9a-f]{16,64}$")


@views.get("/avatar/<digest>.svg")
def avatar(digest: str) -> Response:
    """A generated identicon; the same digest always gives the same picture."""
    if not _DIGEST.match(digest):
        abort(404)
    response = Response(avatars.identicon_svg(digest), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def thread_html(key: str, *, title: str = "", sort: str | None = None) -> Markup:
    """The first page of thread ``key`` as HTML, for pages rendered on the server.

    Exposed to Jinja as ``debatebox.thread(key)``; readers without JavaScript and search
    engines see the comments, and ``embed.js`` takes over where it runs.
    """
    state = get_state()
    s = state.settings
    db = session()
    info = threads.find(db, key)
    page = (
        threads.Page([], None)
        if info is None
        else threads.page(
            db,
            info,
            sort=sort or s.default_sort,
            limit=s.page_size,
            cursor=None,
            max_depth=s.max_depth,
            with_email=s.gravatar,
        )
    )
    base = url_for("debatebox.avatar", digest="0", _external=True)[: -len("0.svg")]
    shaper = serialize.Shaper(base, gravatar=s.gravatar)
    context: dict[str, Any] = {
        "key": key,
        "title": title or (info.title if info else ""),
        "count": info.count if info else 0,
        "comments": [shaper.node(node) for node in page.roots],
        "more": page.next_cursor is not None,
    }
    return Markup(render_template("debatebox/thread.html", **context))  # noqa: S704
