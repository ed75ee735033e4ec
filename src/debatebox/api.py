"""The JSON API under ``<prefix>/api/`` (reference: docs/api.md).

Views are thin: parse the request, call a service, shape the response. Readers carry no
cookies; writes need ``Content-Type: application/json`` and an allowed ``Origin``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from . import comments, reports, serialize, subscriptions, threads
from .config import SORTS
from .errors import BadRequest, DebateBoxError, NotFound, Unavailable, ValidationError
from .models import APPROVED, DELETED, Comment
from .version import __version__
from .web import (
    check_write_origin,
    client_ip,
    cors_origin,
    error_response,
    get_state,
    json_response,
    origin_allowed,
    page_origins,
    poster,
    privacy,
    read_json,
    session,
    shaper,
)

api = Blueprint("debatebox_api", __name__)

#: Header carrying the edit token returned when a comment is posted.
TOKEN_HEADER = "X-Debatebox-Token"
#: Header carrying the reader token (proof of an email address) the widget keeps.
READER_HEADER = "X-Debatebox-Reader"
#: The largest id a comment can have (a signed 32-bit integer on every database).
MAX_ID = 2**31 - 1
ALLOWED_HEADERS = f"Content-Type, Idempotency-Key, If-None-Match, {TOKEN_HEADER}, {READER_HEADER}"


@api.errorhandler(DebateBoxError)
def _debatebox_error(error: DebateBoxError) -> Response:
    return error_response(error)


@api.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    code = (error.name or "error").lower().replace(" ", "_")
    wrapped = DebateBoxError(error.description or error.name, code=code)
    return error_response(wrapped.with_status(error.code or 400))


@api.after_request
def _cors(response: Response) -> Response:
    response.vary.add("Origin")
    origin = cors_origin(request.headers.get("Origin"))
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "ETag, Retry-After"
    return response


@api.before_request
def _preflight() -> Response | None:
    """Answer every CORS preflight here, before Flask's automatic OPTIONS replies."""
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin")
    if not origin_allowed(origin):
        raise DebateBoxError("This origin is not allowed.", code="origin_not_allowed").with_status(
            403
        )
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def _thread_key(value: str | None) -> str:
    limit = get_state().settings.max_key_length
    if not value or not value.strip():
        raise ValidationError("Name the thread with ?thread=KEY.", fields={"thread": "Required."})
    if len(value) > limit:
        raise ValidationError(
            f"Thread keys are at most {limit} characters.", fields={"thread": "Too long."}
        )
    if not value.isprintable():
        raise ValidationError(
            "Thread keys cannot contain control characters.", fields={"thread": "Not allowed."}
        )
    return value.strip()


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ValidationError(
            f"{name} must be a whole number from {low} to {high}.", fields={name: "Out of range."}
        )
    return int(raw)


@api.get("/config")
def config() -> Response:
    """Settings the widget needs, and a fresh form token for the bot check."""
    state = get_state()
    s = state.settings
    payload = {
        "version": __version__,
        "form_token": state.signer.form_token(),
        "min_fill_seconds": s.min_fill_seconds,
        "max_depth": s.max_depth,
        "page_size": s.page_size,
        "max_page_size": s.max_page_size,
        "default_sort": s.default_sort,
        "sorts": list(SORTS),
        "edit_window": s.edit_window,
        "require_email": s.require_email,
        "max_name_length": s.max_name_length,
        "max_body_length": s.max_body_length,
        "moderation": s.moderation,
        "subscriptions": bool(s.smtp_url),
        "reports": s.reports_to_hold > 0,
        "privacy": privacy(s),
    }
    return json_response(payload, headers={"Cache-Control": "no-store"})


@api.get("/comments")
def list_comments() -> Response:
    """One page of a thread, nested, with an ETag for conditional requests."""
    s = get_state().settings
    key = _thread_key(request.args.get("thread"))
    sort = request.args.get("sort") or s.default_sort
    if sort not in SORTS:
        raise ValidationError(
            f"sort must be one of {', '.join(SORTS)}.", fields={"sort": "Unknown."}
        )
    limit = _int_arg("limit", s.page_size, 1, s.max_page_size)
    cursor = threads.parse_cursor(request.args.get("cursor"))
    joined = request.args.get("html") == "joined"
    db = session()
    info = threads.find(db, key, s.close_after_days)
    etag = _etag(info, sort, limit, cursor) + ("-j" if joined else "")
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    page = threads.page_of(db, s, info, sort=sort, limit=limit, cursor=cursor)
    shape = shaper()
    nodes = [shape.node(node) for node in page.roots]
    payload: dict[str, Any] = {
        "thread": serialize.thread(info, key),
        "sort": sort,
        "comments": nodes,
        "next_cursor": page.next_cursor,
    }
    if joined:
        payload["bodies"] = serialize.join_bodies(nodes)
    return json_response(payload, headers=headers)


def _etag(info: threads.ThreadInfo | None, sort: str, limit: int, cursor: int | None) -> str:
    s = get_state().settings
    # Closing by age changes no version: the flag is part of the tag.
    version = f"{info.id}.{info.version}{'c' if info.closed else ''}" if info else "0"
    material = f"{__version__}|{request.host}|{sort}|{limit}|{cursor}|{s.max_depth}|{s.gravatar}"
    return f"{version}-{hashlib.sha1(material.encode()).hexdigest()[:16]}"  # noqa: S324


@api.post("/comments")
def post_comment() -> tuple[Response, int] | Response:
    """Post a comment: 201 when published, 202 when held for moderation."""
    state = get_state()
    check_write_origin()
    data = read_json(state.settings.max_request_bytes)
    client = poster(
        idempotency_key=request.headers.get("Idempotency-Key"),
        reader_token=request.headers.get(READER_HEADER),
    )
    posted = comments.post(state, session(), data, client)
    payload: dict[str, Any] = {
        "comment": shaper().comment(posted.comment),
        "thread": {"key": posted.thread.key, "count": posted.thread.comment_count},
        "edit_token": posted.edit_token,
        "edit_window": state.settings.edit_window,
        "published": posted.published,
        "subscriptions": posted.subscriptions,
    }
    headers = {"Cache-Control": "no-store"}
    if not posted.created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(payload, 201 if posted.published else 202, headers)


@api.post("/subscriptions")
def subscribe() -> tuple[Response, int] | Response:
    """Follow a thread (or the replies to a comment) by email.

    202 ``pending`` whether or not the address is known: a confirmation email is on its
    way when the address may get one. 201 ``active`` only when the request carries the
    reader token of that very address.
    """
    state = get_state()
    check_write_origin()
    if not state.settings.smtp_url:
        raise DebateBoxError(
            "Email subscriptions are not offered here.", code="subscriptions_off"
        ).with_status(404)
    data = read_json(state.settings.max_request_bytes)
    active = subscriptions.request(
        state,
        session(),
        data,
        origin_allowed=True,
        reader_token=request.headers.get(READER_HEADER),
        base_url=request.url_root,
        page_origins=page_origins(),
    )
    headers = {"Cache-Control": "no-store"}
    if active:
        return json_response({"status": "active"}, 201, headers)
    return json_response({"status": "pending"}, 202, headers)


def _check_id(comment_id: int) -> int:
    """Ids beyond what the databases store cannot exist: 404, not a database error."""
    if comment_id > MAX_ID:
        raise NotFound("There is no such comment.")
    return comment_id


def _public_comment(comment_id: int) -> Comment:
    _check_id(comment_id)
    db = session()
    comment = db.get(Comment, comment_id)
    if comment is None or comment.status not in (APPROVED, DELETED):
        raise NotFound("There is no such comment.")
    if comment.status == DELETED and not threads.has_public_replies(db, comment):
        raise NotFound("There is no such comment.")
    return comment


@api.get("/comments/<int:comment_id>")
def get_comment(comment_id: int) -> Response:
    comment = _public_comment(comment_id)
    return json_response(
        {"comment": shaper().comment(comment)}, headers={"Cache-Control": "no-cache"}
    )


@api.patch("/comments/<int:comment_id>")
def edit_comment(comment_id: int) -> Response:
    state = get_state()
    check_write_origin()
    data = read_json(state.settings.max_request_bytes)
    token = request.headers.get(TOKEN_HEADER)
    comment = comments.edit(state, session(), _check_id(comment_id), token, data)
    return json_response(
        {"comment": shaper().comment(comment)}, headers={"Cache-Control": "no-store"}
    )


@api.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int) -> Response:
    state = get_state()
    check_write_origin()
    token = request.headers.get(TOKEN_HEADER)
    tombstone = comments.delete(state, session(), _check_id(comment_id), token)
    return json_response(
        {"deleted": True, "tombstone": tombstone}, headers={"Cache-Control": "no-store"}
    )


@api.post("/comments/<int:comment_id>/reports")
def report_comment(comment_id: int) -> tuple[Response, int] | Response:
    """A reader reports a comment: 202 whether or not this reader had reported it already."""
    state = get_state()
    check_write_origin()
    data = read_json(state.settings.max_request_bytes)
    reports.report(
        state,
        session(),
        _check_id(comment_id),
        data,
        address=client_ip(),
        reader_token=request.headers.get(READER_HEADER),
        base_url=request.url_root,
    )
    return json_response({"reported": True}, 202, {"Cache-Control": "no-store"})


@api.post("/preview")
def preview() -> Response:
    state = get_state()
    check_write_origin()
    data = read_json(state.settings.max_request_bytes)
    return json_response(
        {"html": comments.preview(state, data)}, headers={"Cache-Control": "no-store"}
    )


@api.get("/counts")
def counts() -> Response:
    """Published comments for up to 100 threads: ``?thread=a&thread=b``."""
    keys = [_thread_key(key) for key in request.args.getlist("thread")]
    if not keys:
        raise ValidationError("Name at least one thread.", fields={"thread": "Required."})
    if len(keys) > threads.MAX_COUNT_KEYS:
        raise BadRequest(
            f"Ask for at most {threads.MAX_COUNT_KEYS} threads at once.", code="too_many_threads"
        )
    return json_response(
        {"counts": threads.counts(session(), keys)}, headers={"Cache-Control": "no-cache"}
    )


@api.route("/", defaults={"_any": ""}, methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
@api.route("/<path:_any>", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
def unknown(_any: str) -> Response:
    """JSON answers for paths and methods the API does not have (404 and 405)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        error = DebateBoxError(
            f"This endpoint accepts {', '.join(allowed)}.", code="method_not_allowed"
        ).with_status(405)
        response = error_response(error)
        response.headers["Allow"] = ", ".join([*allowed, "OPTIONS"])
        return response
    raise NotFound("There is no such API endpoint.")


@api.errorhandler(sa_exc.OperationalError)
def _database_down(error: sa_exc.OperationalError) -> Response:
    current_app.logger.error("debatebox: database unavailable: %s", error.orig)
    return error_response(
        Unavailable("The comment database is unavailable. Please try again.", retry_after=5)
    )
