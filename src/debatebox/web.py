"""Helpers shared by the web edges: state, sessions, JSON in and out, origins, clients."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm import Session
from wtforms import ValidationError as CsrfInvalid

from . import comments, serialize
from .config import Settings
from .errors import BadRequest, DebateBoxError, Forbidden
from .messages import best_language, said
from .net import client_address
from .state import DebateBoxState

#: JSON nested deeper than this is refused before it is parsed.
MAX_JSON_DEPTH = 20


def get_state() -> DebateBoxState:
    state: DebateBoxState = current_app.extensions["debatebox"]
    return state


def session() -> Session:
    """The request's database session, closed when the app context ends."""
    found: Session | None = g.get("_debatebox_session")
    if found is None:
        found = g._debatebox_session = get_state().new_session()
    return found


def close_session(_exc: BaseException | None = None) -> None:
    found = g.pop("_debatebox_session", None)
    if found is not None:
        found.close()


def shaper() -> serialize.Shaper:
    """Shapes comments for this request (avatar URLs on the host the client used)."""
    base = url_for("debatebox.avatar", digest="0", _external=True)[: -len("0.svg")]
    return serialize.Shaper(base, gravatar=get_state().settings.gravatar)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(body, status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def error_response(error: DebateBoxError) -> Response:
    """``error`` as JSON, its message and field problems in the language the request
    accepts (the widget sends its page's language in ``Accept-Language``)."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    message, fields = said(best_language(request.headers.get("Accept-Language")), error)
    payload = {"error": error.code, "message": message, "fields": fields}
    response = json_response(payload, error.status, headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def read_json(max_bytes: int) -> Any:
    """The request's JSON body, refusing what is not exactly ``application/json``."""
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise DebateBoxError(
            "Send the request body as Content-Type: application/json.",
            code="unsupported_media_type",
        ).with_status(415)
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise DebateBoxError(
            "Only UTF-8 JSON is accepted.", code="unsupported_charset"
        ).with_status(415)
    length = request.content_length
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest("The request body is not valid UTF-8.", code="bad_encoding") from error
    if _nesting(text) > MAX_JSON_DEPTH:
        raise BadRequest("The JSON is nested too deeply.", code="too_deep")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise BadRequest("The request body is not valid JSON.", code="bad_json") from error


def _too_large(limit: int) -> DebateBoxError:
    return DebateBoxError(
        f"The request body is larger than {limit:,} bytes.", code="too_large"
    ).with_status(413)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _nesting(text: str) -> int:
    """The deepest bracket nesting outside strings, without building anything."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def own_origin() -> str:
    return request.host_url.rstrip("/")


def origin_allowed(origin: str | None) -> bool:
    """Whether a request with this ``Origin`` header may write.

    No header (a server-side client, curl) is allowed; browsers always send one on
    cross-origin writes. ``null`` (sandboxed frames, file://) is refused.
    """
    if origin is None:
        return True
    return origin == own_origin() or origin in get_state().settings.origins


def cors_origin(origin: str | None) -> str | None:
    """The origin to echo in ``Access-Control-Allow-Origin``, or ``None``."""
    if origin and origin != own_origin() and origin in get_state().settings.origins:
        return origin
    return None


def check_write_origin() -> None:
    if not origin_allowed(request.headers.get("Origin")):
        raise Forbidden(
            "This site is not allowed to post here. Ask the site owner to add its origin"
            " to DEBATEBOX_ORIGINS.",
            code="origin_not_allowed",
        )


def client_ip() -> str:
    return client_address(
        request.remote_addr,
        request.headers.get("X-Forwarded-For"),
        get_state().settings.trusted_proxies,
    )


def page_origins() -> tuple[str, ...]:
    """Origins whose pages may hold a thread: this server's and the allowed ones."""
    return (own_origin(), *get_state().settings.origins)


def poster(**known: Any) -> comments.Client:
    """Who posts this request, for :func:`comments.post`; ``known`` adds what only the
    caller knows (``origin_allowed``, the idempotency key, the reader token)."""
    return comments.Client(
        address=client_ip(),
        page_origins=page_origins(),
        base_url=request.url_root,
        user_agent=request.headers.get("User-Agent", ""),
        referrer=request.headers.get("Referer", ""),
        **known,
    )


def privacy(settings: Settings) -> dict[str, str | None] | None:
    """The privacy notice under the comment forms while Akismet screens comments."""
    if not settings.akismet_key:
        return None
    return {"notice": settings.privacy_notice, "url": settings.privacy_url}


def same_site_url(url: str) -> bool:
    """Whether ``url`` points to this server or an allowed origin (for redirects)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return not parts.netloc or origin == own_origin() or origin in get_state().settings.origins


def csrf_ok() -> bool:
    """Whether a server-rendered form came back with a valid Flask-WTF CSRF token."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (CsrfInvalid, CSRFError):
        return False
    return True
