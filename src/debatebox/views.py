"""Non-JSON routes of the blueprint: avatars, and the server-rendered thread."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from . import avatars, comments, messages, threads
from .config import SORTS
from .errors import DebateBoxError
from .forms import CommentForm
from .web import get_state, origin_allowed, poster, privacy, session, shaper
from .widget import script_version

views = Blueprint("debatebox", __name__, template_folder="templates")
_DIGEST = re.compile(r"^[0-9a-f]{16,64}$")
#: Query parameters the server-rendered thread reads on the host page.
REPLY_PARAM = "debatebox_reply"
HELD_PARAM = "debatebox_held"
#: The page of the thread to show: top-level comments after this number (its cursor).
AFTER_PARAM = "debatebox_after"
#: A comment the reader was sent back to: its page is shown.
SHOW_PARAM = "debatebox_comment"


@views.get("/avatar/<digest>.svg")
def avatar(digest: str) -> Response:
    """A generated identicon; the same digest always gives the same picture."""
    if not _DIGEST.match(digest):
        abort(404)
    response = Response(avatars.identicon_svg(digest), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def thread_html(
    key: str, *, title: str = "", sort: str | None = None, lang: str | None = None
) -> Markup:
    """A page of thread ``key`` as HTML, with a comment form that needs no script.

    Exposed to Jinja as ``debatebox.thread(key)``; readers without JavaScript and search
    engines see the comments, and ``embed.js`` takes over where it runs. ``lang`` is the
    page's language (English when not given or not spoken). The page shown is the first,
    or the one a "Load more comments" link names, or the one that holds the comment a
    reader was just sent back to.
    """
    state = get_state()
    s = state.settings
    db = session()
    info = threads.find(db, key, s.close_after_days)
    sort = sort if sort in SORTS else s.default_sort
    lang = messages.language(lang)
    cursor = _cursor(request.args.get(AFTER_PARAM))
    page = threads.page_of(db, s, info, sort=sort, limit=s.page_size, cursor=cursor)
    shown = request.args.get(SHOW_PARAM, "")
    if info and shown and _find(page.roots, shown) is None:
        cursor = _cursor_showing(db, info.id, shown, sort)
        if cursor is not None:
            page = threads.page_of(db, s, info, sort=sort, limit=s.page_size, cursor=cursor)
    shape = shaper()
    nodes = [shape.node(node) for node in page.roots]
    title = title or (info.title if info else "")
    here = _without_our_params(request.full_path if request.query_string else request.path)
    form = CommentForm(
        formdata=None,
        thread=key,
        title=title,
        url=_without_our_params(request.url),
        next=here,
        form_token=state.signer.form_token(),
        parent=request.args.get(REPLY_PARAM, ""),
        lang=lang,
    )
    replying_to = _find(nodes, form.parent.data)
    if replying_to is None:
        form.parent.data = ""
    page_url = _with_param(here, AFTER_PARAM, str(cursor)) if cursor is not None else here
    context: dict[str, Any] = {
        "key": key,
        "title": title,
        **_form_words(lang),
        "count": info.count if info else 0,
        "closed": bool(info and info.closed),
        "comments": nodes,
        "more_url": (
            _with_param(here, AFTER_PARAM, page.next_cursor) + "#debatebox-comments"
            if page.next_cursor is not None
            else None
        ),
        "first_url": here + "#debatebox-comments" if cursor is not None else None,
        "form": form,
        "replying_to": replying_to,
        "held": request.args.get(HELD_PARAM) is not None,
        "reply_url": lambda comment_id: (
            _with_param(page_url, REPLY_PARAM, str(comment_id)) + "#debatebox-form"
        ),
        "cancel_url": page_url + "#debatebox-form",
    }
    return Markup(render_template("debatebox/thread.html", **context))  # noqa: S704


def _cursor(value: str | None) -> int | None:
    """The page a "Load more comments" link names; a broken one means the first page."""
    try:
        return threads.parse_cursor(value)
    except DebateBoxError:
        return None


def _cursor_showing(db: Any, thread_id: int, comment_id: str, sort: str) -> int | None:
    """The cursor of a page that starts with the branch holding ``comment_id``."""
    wanted = _cursor(comment_id)  # the same shape: a positive whole number
    if wanted is None:
        return None
    number = threads.root_number(db, thread_id, wanted)
    if number is None:
        return None
    return number + 1 if sort == "newest" else number - 1


def script_tag() -> Markup:
    """``<script>`` for the widget, on its versioned (long-cached) URL."""
    src = url_for("debatebox_widget.embed_js", v=script_version())
    return Markup(f'<script src="{escape(src)}" defer></script>')  # noqa: S704


@views.post("/form/comments")
def post_form() -> ResponseReturnValue:
    """Where the server-rendered form posts; redirects back to the page it came from."""
    state = get_state()
    form = CommentForm()
    back = form.next.data if _is_local(form.next.data) else "/"
    if not form.validate_on_submit():
        message = messages.translator(form.lang.data)("expired_post_again")
        return _form_error(form, message, {}), 400
    client = poster(origin_allowed=origin_allowed(request.headers.get("Origin")))
    try:
        posted = comments.post(state, session(), form.comment_data(), client)
    except DebateBoxError as error:
        message, fields = messages.said(form.lang.data, error)
        response = make_response(_form_error(form, message, fields), error.status)
        if error.retry_after:
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    if posted.published:
        shown = _with_param(back, SHOW_PARAM, str(posted.comment.id))
        return redirect(f"{shown}#comment-{posted.comment.id}", 303)
    return redirect(_with_param(back, HELD_PARAM, "1") + "#debatebox-form", 303)


def _form_error(form: CommentForm, message: str, fields: dict[str, str]) -> str:
    """A small page with the problem and the reader's text, ready to post again."""
    form.form_token.data = form.form_token.data or get_state().signer.form_token()
    return render_template(
        "debatebox/form_error.html",
        **_form_words(form.lang.data),
        form=form,
        message=message,
        fields=fields,
        back=form.next.data if _is_local(form.next.data) else None,
    )


def _form_words(lang: str | None) -> dict[str, Any]:
    """What the comment form's templates need besides the form: the page's language, its
    words (``t`` the server's, ``w`` the widget's) and the parts the settings turn on."""
    lang = messages.language(lang)
    s = get_state().settings
    return {
        "lang": lang,
        "t": messages.translator(lang),
        "w": messages.widget_words(lang),
        "subscriptions": bool(s.smtp_url),
        "privacy": privacy(s),
    }


def _find(nodes: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    if not wanted or not wanted.isdigit():
        return None
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if str(node["id"]) == wanted and not node["deleted"]:
            return node
        stack.extend(node["replies"])
    return None


def _is_local(url: str | None) -> bool:
    """A path on this site (``/a?b``), never another host (``//evil``, ``https://…``)."""
    return url is not None and url.startswith("/") and not url.startswith(("//", "/\\"))


def _without_our_params(url: str) -> str:
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in (REPLY_PARAM, HELD_PARAM, AFTER_PARAM, SHOW_PARAM)
    ]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (name, value)]
    return urlunsplit(parts._replace(query=urlencode(query)))
