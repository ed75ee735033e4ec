"""Hostile and malformed requests against the JSON API.

One table of requests, each with the answer it must get. A refused request must answer
with the JSON error shape ``{"error": str, "message": str, "fields": dict}`` and leave
every stored row exactly as it was. The few hostile requests that are *accepted* (markup
in a comment body, in a name, in a thread key or title) must come back harmless: the
rendered HTML and the server-rendered page are parsed, never searched for substrings.

Every case runs against a thread that already holds a comment with a known edit token,
a reply to it, and a comment in another thread, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import operator
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.test import TestResponse

from debatebox import tokens
from debatebox.views import thread_html
from support import flatten, snapshot

PREFIX = "/debatebox/api"
SECRET = "test-secret"  # conftest's SECRET_KEY
ALLOWED_ORIGIN = "https://good.example"
EVIL_ORIGIN = "https://evil.example"
EMAIL = "ann@example.org"
CLIENT_IP = "127.0.0.1"  # REMOTE_ADDR of Flask's test client
SEED_KEY = "seed-key-1"
MISSING_ID = 999_999
MAX_REQUEST_BYTES = 64 * 1024
DAY = 24 * 60 * 60


# Tokens signed in the past ----------------------------------------------------------


def signed_in_past(salt: str, payload: Any, seconds_ago: int, secret: str = SECRET) -> str:
    """A genuine token of the app's kind, but stamped ``seconds_ago`` seconds ago."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - seconds_ago

    class PastSerializer(URLSafeTimedSerializer):
        default_signer = PastSigner

    return PastSerializer(secret, salt=salt).dumps(payload)


# The thread every case is aimed at --------------------------------------------------


@dataclasses.dataclass
class Target:
    app: Flask
    form_token: str
    #: Ann's top-level comment on /article, posted with Idempotency-Key SEED_KEY.
    mine_id: int
    mine_token: str
    mine_payload: dict[str, Any]
    #: Bob's reply to it.
    reply_id: int
    reply_token: str
    #: A comment on /other.
    foreign_id: int

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def payload(self, **fields: Any) -> dict[str, Any]:
        """A valid new comment on /article, with ``fields`` changed (``...`` drops one)."""
        data = {
            "thread": "/article",
            "name": "Ann",
            "email": EMAIL,
            "body": "A fair point.",
            "form_token": self.form_token,
            **fields,
        }
        return {key: value for key, value in data.items() if value is not ...}

    def signed_edit_token(self, comment_id: int) -> str:
        signer: tokens.Signer = self.app.extensions["debatebox"].signer
        return signer.edit_token(comment_id)


def seed(app: Flask) -> Target:
    client = app.test_client()
    form_token = client.get(f"{PREFIX}/config").get_json()["form_token"]
    base = {"thread": "/article", "name": "Ann", "email": EMAIL, "form_token": form_token}
    mine_payload = {**base, "title": "An article", "body": "The original comment."}
    mine = client.post(
        f"{PREFIX}/comments", json=mine_payload, headers={"Idempotency-Key": SEED_KEY}
    )
    assert mine.status_code == 201, mine.get_json()
    mine_id = mine.get_json()["comment"]["id"]
    reply = client.post(
        f"{PREFIX}/comments",
        json={
            **base,
            "name": "Bob",
            "email": "bob@example.org",
            "body": "I disagree.",
            "parent": mine_id,
        },
    )
    assert reply.status_code == 201, reply.get_json()
    foreign = client.post(
        f"{PREFIX}/comments",
        json={
            **base,
            "thread": "/other",
            "name": "Cy",
            "email": "cy@example.org",
            "body": "Elsewhere.",
        },
    )
    assert foreign.status_code == 201, foreign.get_json()
    return Target(
        app=app,
        form_token=form_token,
        mine_id=mine_id,
        mine_token=mine.get_json()["edit_token"],
        mine_payload=mine_payload,
        reply_id=reply.get_json()["comment"]["id"],
        reply_token=reply.get_json()["edit_token"],
        foreign_id=foreign.get_json()["comment"]["id"],
    )


@pytest.fixture
def target(make_app: Callable[..., Flask]) -> Target:
    return seed(make_app(DEBATEBOX_ORIGINS=ALLOWED_ORIGIN))


# Requests ---------------------------------------------------------------------------

NO_JSON: Any = object()
Value = Callable[[Target], Any]


@dataclasses.dataclass(frozen=True)
class Request:
    method: str = "POST"
    path: str = "/comments"
    json: Any = NO_JSON
    raw: bytes | None = None
    content_type: str | None = "application/json"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    query: Any = None
    #: Send the body without Content-Length, as a chunked upload arrives.
    streamed: bool = False


def send(target: Target, request: Request) -> TestResponse:
    body = request.raw
    if request.json is not NO_JSON:
        body = json.dumps(request.json).encode()  # NaN and lone surrogates pass as written
    options: dict[str, Any] = {"headers": dict(request.headers)}
    if request.query is not None:
        options["query_string"] = request.query
    if request.content_type is not None:
        options["content_type"] = request.content_type
    if request.streamed:
        options["input_stream"] = io.BytesIO(body or b"")
        options["environ_overrides"] = {"wsgi.input_terminated": True}
    elif body is not None:
        options["data"] = body
    response: TestResponse = target.client.open(
        f"{PREFIX}{request.path}", method=request.method, **options
    )
    return response


Build = Callable[[Target], Request]
MINE: Value = operator.attrgetter("mine_id")
MINE_TOKEN: Value = operator.attrgetter("mine_token")
REPLY_TOKEN: Value = operator.attrgetter("reply_token")
FORM_TOKEN: Value = operator.attrgetter("form_token")
FOREIGN: Value = operator.attrgetter("foreign_id")
FORGED_TOKEN = "eyJjIjoxfQ.Z2V0LW91dA.Zm9yZ2VkLXNpZ25hdHVyZQ"


def _resolve(target: Target, value: Any) -> Any:
    return value(target) if callable(value) else value


def _headers(target: Target, headers: Mapping[str, Any] | None) -> dict[str, str]:
    return {name: _resolve(target, value) for name, value in (headers or {}).items()}


def post(*, headers: Mapping[str, Any] | None = None, **fields: Any) -> Build:
    """POST /comments: a valid comment with ``fields`` changed."""

    def build(target: Target) -> Request:
        resolved = {name: _resolve(target, value) for name, value in fields.items()}
        return Request(json=target.payload(**resolved), headers=_headers(target, headers))

    return build


def post_raw(
    raw: bytes | Callable[[Target], bytes],
    content_type: str | None = "application/json",
    *,
    streamed: bool = False,
) -> Build:
    def build(target: Target) -> Request:
        body = raw(target) if callable(raw) else raw
        return Request(raw=body, content_type=content_type, streamed=streamed)

    return build


def valid_body_as(content_type: str | None, encoding: str = "utf-8") -> Build:
    """A valid comment, sent with another Content-Type or text encoding."""

    def build(target: Target) -> Request:
        raw = json.dumps(target.payload(body="Déjà vu."), ensure_ascii=False).encode(encoding)
        return Request(raw=raw, content_type=content_type)

    return build


def edit(
    token: Value | str | None,
    *,
    comment: Value | int | str = MINE,
    payload: Any = None,
    content_type: str = "application/json",
    origin: str | None = None,
) -> Build:
    """PATCH /comments/<id> with ``X-Debatebox-Token: token``."""

    def build(target: Target) -> Request:
        headers = {} if token is None else {"X-Debatebox-Token": _resolve(target, token)}
        if origin is not None:
            headers["Origin"] = origin
        body = {"body": "Edited by a stranger."} if payload is None else payload
        return Request(
            "PATCH",
            f"/comments/{_resolve(target, comment)}",
            json=body,
            content_type=content_type,
            headers=headers,
        )

    return build


def delete(
    token: Value | str | None, *, comment: Value | int | str = MINE, origin: str | None = None
) -> Build:
    def build(target: Target) -> Request:
        headers = {} if token is None else {"X-Debatebox-Token": _resolve(target, token)}
        if origin is not None:
            headers["Origin"] = origin
        return Request(
            "DELETE", f"/comments/{_resolve(target, comment)}", content_type=None, headers=headers
        )

    return build


def preview(body: str, *, origin: str | None = None) -> Build:
    headers = {} if origin is None else {"Origin": origin}
    return lambda _target: Request(path="/preview", json={"body": body}, headers=headers)


def get(path: str, query: Any = None, headers: Mapping[str, str] | None = None) -> Build:
    return lambda _target: Request(
        "GET", path, query=query, content_type=None, headers=dict(headers or {})
    )


def options(origin: str) -> Build:
    return lambda _target: Request(
        "OPTIONS",
        "/comments",
        content_type=None,
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )


def expired_form_token(_target: Target) -> str:
    return signed_in_past(tokens.FORM, {"f": 1}, 2 * DAY)


def expired_edit_token(target: Target) -> str:
    return signed_in_past(tokens.EDIT, {"c": target.mine_id}, 60 * 60)


def other_secret_form_token(_target: Target) -> str:
    return signed_in_past(tokens.FORM, {"f": 1}, 0, secret="not-the-secret")


def signed_for_missing(target: Target) -> str:
    return target.signed_edit_token(MISSING_ID)


# Cases ------------------------------------------------------------------------------


class Outcome(enum.Enum):
    #: An error answer; nothing stored changed.
    REFUSED = "refused"
    #: 304 with an empty body; nothing stored changed.
    NOT_MODIFIED = "not-modified"
    #: The first answer to a retried request again; nothing stored changed.
    REPLAYED = "replayed"
    #: Accepted; the comment's HTML (and the page) hold no active markup.
    SAFE_HTML = "safe-html"
    #: Accepted; the text is kept as text and the server-rendered page escapes it.
    SAFE_TEXT = "safe-text"
    #: A preview: harmless HTML, nothing stored.
    PREVIEW = "preview"


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    build: Build
    status: int | tuple[int, ...]
    error: str | None = None
    field: str | None = None
    outcome: Outcome = Outcome.REFUSED
    #: For SAFE_TEXT: where the text shows (author, website, title or key) and its value.
    echo: tuple[str, str] | None = None

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if isinstance(self.status, tuple) else (self.status,)


SAFE_HTML, SAFE_TEXT, PREVIEW = Outcome.SAFE_HTML, Outcome.SAFE_TEXT, Outcome.PREVIEW
REPLAYED, NOT_MODIFIED = Outcome.REPLAYED, Outcome.NOT_MODIFIED
#: Text that is not Unicode text (a lone surrogate): 400 and 422 are both fair answers.
BAD_TEXT = (400, 422)
SCRIPT = "<script>alert(document.cookie)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'


def nested_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def oversized_body(target: Target) -> bytes:
    return json.dumps(target.payload(body="x" * MAX_REQUEST_BYTES)).encode()


def replay_seed(target: Target) -> Request:
    """The request that posted Ann's comment, sent again with the same Idempotency-Key."""
    return Request(json=target.mine_payload, headers={"Idempotency-Key": SEED_KEY})


# One case a line or two: id, request, status, error code, field named in "fields".
# fmt: off
CASES: list[Case] = [
    # Markup where markup is not expected: accepted but harmless, or refused.
    Case("xss-body-script", post(body=SCRIPT), 201, outcome=SAFE_HTML),
    Case("xss-body-img-onerror", post(body="<img src=x onerror=alert(1)>"), 201,
         outcome=SAFE_HTML),
    Case("xss-body-javascript-link", post(body="[click me](javascript:alert(1))"), 201,
         outcome=SAFE_HTML),
    Case("xss-body-entity-link", post(body="[x](&#106;avascript:alert(1))"), 201,
         outcome=SAFE_HTML),
    Case("xss-body-raw-anchor", post(body='<a href="javascript:alert(1)">x</a> <svg/onload=x>'),
         201, outcome=SAFE_HTML),
    Case("xss-body-data-image", post(body="![x](data:text/html,<script>alert(1)</script>)"), 201,
         outcome=SAFE_HTML),
    Case("xss-preview-script", preview(SCRIPT + "<iframe src=//evil.example>"), 200,
         outcome=PREVIEW),
    Case("xss-name-script", post(name=SCRIPT), 201, outcome=SAFE_TEXT, echo=("author", SCRIPT)),
    Case("xss-name-attribute-break", post(name=ATTRIBUTE_BREAK), 201, outcome=SAFE_TEXT,
         echo=("author", ATTRIBUTE_BREAK)),
    Case("xss-thread-title", post(thread="/titled", title="</title>" + SCRIPT), 201,
         outcome=SAFE_TEXT, echo=("title", "</title>" + SCRIPT)),
    Case("xss-thread-key", post(thread="/" + ATTRIBUTE_BREAK), 201, outcome=SAFE_TEXT,
         echo=("key", "/" + ATTRIBUTE_BREAK)),
    Case("xss-website-path", post(website='https://example.org/"><script>alert(1)</script>'), 201,
         outcome=SAFE_TEXT,
         echo=("website", "https://example.org/%22%3E%3Cscript%3Ealert(1)%3C/script%3E")),
    Case("xss-email", post(email=ATTRIBUTE_BREAK), 422, "invalid", "email"),
    Case("xss-page-url-javascript", post(thread="/new", url="javascript:alert(1)"), 422,
         "invalid", "url"),
    Case("xss-page-url-data", post(thread="/new", url="data:text/html,<script>alert(1)</script>"),
         422, "invalid", "url"),
    Case("page-url-foreign-origin", post(thread="/new", url="https://evil.example/page"), 422,
         "invalid", "url"),
    # Script schemes in the website field, however they are disguised.
    Case("website-javascript", post(website="javascript:alert(1)"), 422, "invalid", "website"),
    Case("website-mixed-case", post(website="JaVaScRiPt:alert(1)"), 422, "invalid", "website"),
    Case("website-tab-inside", post(website="java\tscript:alert(1)"), 422, "invalid", "website"),
    Case("website-newline-inside", post(website="java\nscript:alert(1)"), 422, "invalid",
         "website"),
    Case("website-entity", post(website="&#106;avascript:alert(1)"), 422, "invalid", "website"),
    Case("website-leading-spaces", post(website="   javascript:alert(1)"), 422, "invalid",
         "website"),
    Case("website-zero-width-space", post(website="\u200bjavascript:alert(1)"), 422, "invalid",
         "website"),
    Case("website-percent-encoded", post(website="javascript%3Aalert(1)"), 422, "invalid",
         "website"),
    Case("website-data", post(website="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg"),
         422, "invalid", "website"),
    Case("website-vbscript", post(website="vbscript:msgbox(1)"), 422, "invalid", "website"),
    Case("website-protocol-relative", post(website="//evil.example/x"), 422, "invalid",
         "website"),
    Case("website-credentials", post(website="https://bank.example@evil.example/"), 422,
         "invalid", "website"),
    # Sizes and required fields.
    Case("request-over-64k", post(body="x" * (MAX_REQUEST_BYTES + 1)), 413, "too_large"),
    Case("request-over-64k-streamed", post_raw(oversized_body, streamed=True), 413, "too_large"),
    Case("body-over-10000-chars", post(body="x" * 10_001), 422, "invalid", "body"),
    Case("name-over-80-chars", post(name="N" * 81), 422, "invalid", "name"),
    Case("title-over-300-chars", post(thread="/new", title="T" * 301), 422, "invalid", "title"),
    Case("thread-key-over-255-chars", post(thread="/" + "k" * 255), 422, "invalid", "thread"),
    Case("name-empty", post(name=""), 422, "invalid", "name"),
    Case("name-blank", post(name=" \u3000 "), 422, "invalid", "name"),
    Case("body-empty", post(body=""), 422, "invalid", "body"),
    Case("body-blank", post(body="\n  \n"), 422, "invalid", "body"),
    Case("thread-missing", post(thread=...), 422, "invalid", "thread"),
    Case("email-missing", post(email=...), 422, "invalid", "email"),
    Case("email-bad", post(email="ann at example dot org"), 422, "invalid", "email"),
    # Characters that are not text.
    Case("name-crlf", post(name="Ann\r\nX-Injected: yes"), 422, "invalid", "name"),
    Case("name-nul", post(name="Ann\x00"), 422, "invalid", "name"),
    Case("body-nul", post(body="before\x00after"), 422, "invalid", "body"),
    Case("thread-key-nul", post(thread="/article\x00"), 422, "invalid", "thread"),
    Case("name-lone-surrogate", post(name="Ann \ud800"), BAD_TEXT),
    Case("body-lone-surrogate", post(body="half an emoji \udfff"), BAD_TEXT),
    Case("preview-lone-surrogate", preview("\udc00"), BAD_TEXT),
    Case("invalid-utf8", post_raw(b'{"thread": "/article", "body": "\xff\xfe"}'), 400,
         "bad_encoding"),
    Case("overlong-utf8", post_raw(b'{"thread": "/article", "body": "\xc0\xaf"}'), 400,
         "bad_encoding"),
    Case("utf16-without-charset", valid_body_as("application/json", "utf-16"), 400,
         "bad_encoding"),
    # JSON that is not the expected object.
    Case("nesting-10000-levels", post_raw(b"[" * 10_000 + b"]" * 10_000), 400, "too_deep"),
    Case("nesting-inside-a-field", post(body=nested_list(25)), 400, "too_deep"),
    Case("brackets-inside-a-string", post(body='quote \\" then ' + "[{" * 40), 201,
         outcome=SAFE_HTML),
    Case("json-array", post_raw(lambda t: json.dumps([t.payload()]).encode()), 400,
         "not_an_object"),
    Case("json-string", post_raw(b'"body"'), 400, "not_an_object"),
    Case("json-number", post_raw(b"42"), 400, "not_an_object"),
    Case("json-null", post_raw(b"null"), 400, "not_an_object"),
    Case("json-truncated", post_raw(b'{"thread": "/article", "body": "x"'), 400, "bad_json"),
    Case("json-empty-body", post_raw(b""), 400, "bad_json"),
    Case("json-nan", post(parent=float("nan")), 400, "bad_json"),
    Case("json-infinity", post(parent=float("inf")), 400, "bad_json"),
    Case("json-minus-infinity", post(parent=float("-inf")), 400, "bad_json"),
    Case("json-5000-digit-number", post_raw(b'{"parent": ' + b"9" * 5000 + b"}"), 400,
         "bad_json"),
    Case("unknown-field", post(is_admin=True), 400, "unknown_fields", "is_admin"),
    Case("mass-assignment", post(status="approved", number=1, ip="10.0.0.1"), 400,
         "unknown_fields", "status"),
    Case("proto-pollution", post(__proto__={"admin": True}), 400, "unknown_fields", "__proto__"),
    # Wrong types.
    Case("name-as-number", post(name=42), 422, "invalid", "name"),
    Case("body-as-list", post(body=["a", "b"]), 422, "invalid", "body"),
    Case("body-as-object", post(body={"$ne": None}), 422, "invalid", "body"),
    Case("thread-as-list", post(thread=["/article"]), 422, "invalid", "thread"),
    Case("parent-as-string", post(parent=lambda t: str(t.mine_id)), 422, "invalid", "parent"),
    Case("parent-as-bool", post(parent=True), 422, "invalid", "parent"),
    Case("parent-negative", post(parent=-1), 422, "invalid", "parent"),
    Case("parent-zero", post(parent=0), 422, "invalid", "parent"),
    Case("parent-float", post(parent=1.5), 422, "invalid", "parent"),
    Case("parent-over-int32", post(parent=2**31), 422, "invalid", "parent"),
    Case("form-token-as-number", post(form_token=12345), 422, "invalid", "form_token"),
    # Content types.
    Case("content-type-text-plain", valid_body_as("text/plain"), 415, "unsupported_media_type"),
    Case("content-type-form", post_raw(b"name=Ann&body=hi", "application/x-www-form-urlencoded"),
         415, "unsupported_media_type"),
    Case("content-type-multipart", valid_body_as("multipart/form-data; boundary=x"), 415,
         "unsupported_media_type"),
    Case("content-type-json-patch", valid_body_as("application/json-patch+json"), 415,
         "unsupported_media_type"),
    Case("content-type-missing", valid_body_as(None), 415, "unsupported_media_type"),
    Case("charset-latin-1", valid_body_as("application/json; charset=latin-1", "latin-1"), 415,
         "unsupported_charset"),
    Case("charset-utf-16", valid_body_as("application/json; charset=utf-16", "utf-16"), 415,
         "unsupported_charset"),
    # Threads and parents.
    Case("parent-in-other-thread", post(parent=FOREIGN), 422, "invalid", "parent"),
    Case("parent-nonexistent", post(parent=MISSING_ID), 422, "invalid", "parent"),
    Case("parent-on-new-thread", post(thread="/brand-new", parent=MINE), 422, "invalid",
         "parent"),
    # Bot checks.
    Case("honeypot-filled", post(homepage="https://spam.example"), 403, "bot_check"),
    Case("honeypot-non-text", post(homepage=["https://spam.example"]), 403, "bot_check"),
    Case("form-token-missing", post(form_token=...), 403, "form_token_missing"),
    Case("form-token-empty", post(form_token=""), 403, "form_token_missing"),
    Case("form-token-forged", post(form_token=FORGED_TOKEN), 403, "form_token_invalid"),
    Case("form-token-is-edit-token", post(form_token=MINE_TOKEN), 403, "form_token_invalid"),
    Case("form-token-other-secret", post(form_token=other_secret_form_token), 403,
         "form_token_invalid"),
    Case("form-token-2000-chars", post(form_token="A" * 2000), 403, "form_token_invalid"),
    Case("form-token-expired", post(form_token=expired_form_token), 403, "form_expired"),
    # Author edit and delete.
    Case("edit-forged-token", edit(FORGED_TOKEN), 403, "bad_token"),
    Case("edit-token-of-other-comment", edit(REPLY_TOKEN), 403, "bad_token"),
    Case("edit-with-form-token", edit(FORM_TOKEN), 403, "bad_token"),
    Case("edit-without-token", edit(None), 403, "bad_token"),
    Case("edit-empty-token", edit(""), 403, "bad_token"),
    Case("edit-expired-token", edit(expired_edit_token), 410, "edit_window_over"),
    Case("edit-mass-assignment", edit(MINE_TOKEN, payload={"body": "x", "status": "approved"}),
         400, "unknown_fields", "status"),
    Case("edit-body-nul", edit(MINE_TOKEN, payload={"body": "a\x00b"}), 422, "invalid", "body"),
    Case("edit-body-too-long", edit(MINE_TOKEN, payload={"body": "x" * 10_001}), 422, "invalid",
         "body"),
    Case("edit-body-lone-surrogate", edit(MINE_TOKEN, payload={"body": "\ud83d"}), BAD_TEXT),
    Case("edit-json-array", edit(MINE_TOKEN, payload=[{"body": "x"}]), 400, "not_an_object"),
    Case("edit-text-plain", edit(MINE_TOKEN, content_type="text/plain"), 415,
         "unsupported_media_type"),
    Case("edit-nonexistent-forged-token", edit(FORGED_TOKEN, comment=MISSING_ID), 403,
         "bad_token"),
    Case("edit-nonexistent-signed-token", edit(signed_for_missing, comment=MISSING_ID), 404,
         "not_found"),
    Case("edit-non-numeric-id", edit(MINE_TOKEN, comment="1%3BDROP%20TABLE%20debatebox_thread"),
         404, "not_found"),
    Case("delete-bad-token", delete("not-a-token"), 403, "bad_token"),
    Case("delete-without-token", delete(None), 403, "bad_token"),
    Case("delete-token-of-other-comment", delete(REPLY_TOKEN), 403, "bad_token"),
    Case("delete-expired-token", delete(expired_edit_token), 410, "edit_window_over"),
    Case("delete-nonexistent-signed-token", delete(signed_for_missing, comment=MISSING_ID), 404,
         "not_found"),
    # Writes from pages that may not write, even with a valid edit token.
    Case("post-evil-origin", post(headers={"Origin": EVIL_ORIGIN}), 403, "origin_not_allowed"),
    Case("post-null-origin", post(headers={"Origin": "null"}), 403, "origin_not_allowed"),
    Case("post-look-alike-origin", post(headers={"Origin": ALLOWED_ORIGIN + ".evil.example"}),
         403, "origin_not_allowed"),
    Case("patch-evil-origin", edit(MINE_TOKEN, origin=EVIL_ORIGIN), 403, "origin_not_allowed"),
    Case("delete-evil-origin", delete(MINE_TOKEN, origin=EVIL_ORIGIN), 403, "origin_not_allowed"),
    Case("delete-null-origin", delete(MINE_TOKEN, origin="null"), 403, "origin_not_allowed"),
    Case("preview-evil-origin", preview("hi", origin=EVIL_ORIGIN), 403, "origin_not_allowed"),
    Case("preflight-evil-origin", options(EVIL_ORIGIN), 403, "origin_not_allowed"),
    Case("preflight-null-origin", options("null"), 403, "origin_not_allowed"),
    # Idempotency keys.
    Case("idempotency-key-with-spaces", post(headers={"Idempotency-Key": "my key"}), 400,
         "bad_idempotency_key"),
    Case("idempotency-key-101-chars", post(headers={"Idempotency-Key": "k" * 101}), 400,
         "bad_idempotency_key"),
    Case("idempotency-key-empty", post(headers={"Idempotency-Key": ""}), 400,
         "bad_idempotency_key"),
    Case("idempotency-key-reused-other-body",
         post(body="Something else entirely.", headers={"Idempotency-Key": SEED_KEY}), 409,
         "idempotency_key_reused"),
    Case("idempotency-key-replayed", replay_seed, 201, outcome=REPLAYED),
    # Reads with hostile parameters.
    Case("read-limit-superscript-digit", get("/comments", {"thread": "/article", "limit": "²"}),
         422, "invalid", "limit"),
    Case("read-cursor-superscript-digit", get("/comments", {"thread": "/article", "cursor": "¹"}),
         422, "invalid", "cursor"),
    Case("read-limit-negative", get("/comments", {"thread": "/article", "limit": "-1"}), 422,
         "invalid", "limit"),
    Case("read-thread-key-over-255", get("/comments", {"thread": "/" + "k" * 300}), 422,
         "invalid", "thread"),
    Case("read-comment-id-over-int32", get("/comments/2147483648"), 404, "not_found"),
    Case("read-comment-id-over-int64", get("/comments/99999999999999999999"), 404, "not_found"),
    Case("read-counts-101-threads", get("/counts", [("thread", f"/t{i}") for i in range(101)]),
         400, "too_many_threads"),
    Case("read-if-none-match-star",
         get("/comments", {"thread": "/article"}, {"If-None-Match": "*"}), 304,
         outcome=NOT_MODIFIED),
    Case("put-comments", lambda t: Request("PUT", "/comments", json=t.payload()), (404, 405)),
]

#: Requests with more than one fair answer, as long as it is neither a crash nor a leak.
PROBES: list[Case] = [
    Case("read-thread-key-nul", get("/comments", {"thread": "\x00"}), (200, 422)),
    Case("read-counts-key-nul", get("/counts", {"thread": "/a\x00"}), (200, 422)),
    Case("read-sort-script", get("/comments", {"thread": "/article", "sort": SCRIPT}), 422),
    Case("spoofed-forwarded-for", post(headers={"X-Forwarded-For": "203.0.113.9"}), 201),
]
# fmt: on


# Checks -----------------------------------------------------------------------------

#: What rendered comment HTML may contain, and elements that can run or load things.
# fmt: off
ALLOWED_TAGS = {"a", "br", "code", "del", "em", "s", "strong", "blockquote", "hr", "li", "ol", "p",
                "pre", "ul"}
ACTIVE_ELEMENTS = {"script", "iframe", "frame", "object", "embed", "svg", "math", "style", "link",
                   "meta", "base", "form", "input", "button", "textarea", "template", "img"}
# fmt: on
SAFE_SCHEMES = {"http", "https", "mailto"}
#: The page's own avatar image, the one ``img`` a server-rendered thread may hold.
AVATAR_ATTRIBUTES = {"class", "src", "alt", "width", "height", "loading"}


class Markup(HTMLParser):
    """Every element with its attributes, and the text, of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.elements.append(("!--", {"data": data}))


def assert_inert(markup: Markup, *, allowed: set[str] | None) -> None:
    """No script-capable element, no event handler, no link to a script scheme."""
    for tag, attrs in markup.elements:
        if allowed is not None:
            assert tag in allowed, f"element {tag!r} in comment HTML"
        else:
            avatar = tag == "img" and set(attrs) == AVATAR_ATTRIBUTES
            assert tag not in ACTIVE_ELEMENTS or avatar, f"element {tag!r} {attrs}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name!r} on {tag!r}"
            if name in {"href", "src"}:
                assert value is not None
                scheme = urlsplit(value).scheme.lower()
                same_site = value.startswith(("#", "/")) and not value.startswith("//")
                assert scheme in SAFE_SCHEMES or (not scheme and same_site), value


def assert_comment_html_inert(html: str) -> None:
    assert_inert(Markup(html), allowed=ALLOWED_TAGS)


def server_page(app: Flask, key: str) -> Markup:
    """The server-rendered thread, without its comment form (whose inputs are our own)."""
    with app.test_request_context():
        html = str(thread_html(key))
    start = html.index('<form class="debatebox-form"')
    return Markup(html[:start] + html[html.index("</form>", start) + len("</form>") :])


def assert_error_shape(response: TestResponse, error: str | None, field: str | None) -> None:
    assert response.mimetype == "application/json"
    assert response.headers.get("Cache-Control") == "no-store"
    body = response.get_json()
    assert isinstance(body, dict), body
    assert set(body) == {"error", "message", "fields"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["fields"], dict), body
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in body["fields"].items()), body
    if error is not None:
        assert body["error"] == error, body
    if field is not None:
        assert field in body["fields"], body


def comment_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row for row in rows if row[0] == "debatebox_comment"]


def assert_one_comment_added(before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> None:
    old, new = comment_rows(before), comment_rows(after)
    assert len(new) == len(old) + 1
    assert new[: len(old)] == old, "an accepted comment changed earlier comments"


def listed(target: Target, key: str, comment_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The thread and the comment as a reader fetching the thread sees them."""
    page = target.client.get(f"{PREFIX}/comments", query_string={"thread": key})
    assert page.status_code == 200
    data = page.get_json()
    found = [c for c in flatten(data["comments"]) if c["id"] == comment_id]
    assert len(found) == 1
    return data["thread"], found[0]


# The table --------------------------------------------------------------------------


def test_the_table_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 45
    assert sum(case.outcome is Outcome.REFUSED for case in CASES) >= 45
    ids = [case.id for case in CASES + PROBES]
    assert len(ids) == len(set(ids))


def test_past_tokens_are_genuine_apart_from_their_age(target: Target) -> None:
    """The expired-token cases are refused for their age, not for a bad signature."""
    signer: tokens.Signer = target.app.extensions["debatebox"].signer
    assert signer.form_age(signed_in_past(tokens.FORM, {"f": 1}, 10), max_age=DAY) >= 10
    signer.check_edit_token(
        signed_in_past(tokens.EDIT, {"c": target.mine_id}, 10), target.mine_id, max_age=900
    )
    with pytest.raises(tokens.TokenExpired):
        signer.form_age(expired_form_token(target), max_age=DAY)
    with pytest.raises(tokens.TokenInvalid):
        signer.form_age(other_secret_form_token(target), max_age=DAY)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_hostile_request(target: Target, case: Case) -> None:
    before = snapshot(target.app)
    response = send(target, case.build(target))
    assert response.status_code in case.statuses, response.get_data(as_text=True)[:500]
    after = snapshot(target.app)

    if case.outcome is Outcome.REFUSED:
        assert_error_shape(response, case.error, case.field)
        assert after == before, "a refused request changed stored data"
    elif case.outcome is Outcome.NOT_MODIFIED:
        assert response.data == b""
        assert response.headers["ETag"]
        assert after == before
    elif case.outcome is Outcome.REPLAYED:
        assert response.headers.get("Idempotent-Replayed") == "true"
        assert response.get_json()["comment"]["id"] == target.mine_id
        assert after == before, "a replayed request stored something"
    elif case.outcome is Outcome.PREVIEW:
        assert_comment_html_inert(response.get_json()["html"])
        assert after == before, "a preview stored something"
    else:
        posted = response.get_json()
        comment_id = posted["comment"]["id"]
        key = posted["thread"]["key"]
        assert_one_comment_added(before, after)
        thread, comment = listed(target, key, comment_id)
        single = target.client.get(f"{PREFIX}/comments/{comment_id}").get_json()["comment"]
        page = server_page(target.app, key)
        assert_inert(page, allowed=None)
        if case.outcome is Outcome.SAFE_HTML:
            for html in (posted["comment"]["html"], comment["html"], single["html"]):
                assert_comment_html_inert(html)
            assert comment["html"] == posted["comment"]["html"] == single["html"]
        else:
            assert case.echo is not None
            where, expected = case.echo
            seen = thread[where] if where in {"title", "key"} else comment[where]
            assert seen == expected
            # The page shows it as text or inside an attribute, never as markup.
            shown = "".join(page.text) + "".join(
                value or "" for _tag, attrs in page.elements for value in attrs.values()
            )
            assert expected in shown


def test_no_request_crashes_or_leaks_email_or_address(make_app: Callable[..., Flask]) -> None:
    """Every hostile request, then every read: no 5xx, no email, no client address."""
    app = make_app(DEBATEBOX_ORIGINS=ALLOWED_ORIGIN, PROPAGATE_EXCEPTIONS=False)
    target = seed(app)
    secrets = (EMAIL, CLIENT_IP, "127.0.0.0")
    problems: list[str] = []
    bodies: dict[str, str] = {}

    for case in CASES + PROBES:
        response = send(target, case.build(target))
        bodies[case.id] = response.get_data(as_text=True)
        if response.status_code >= 500:
            problems.append(f"{case.id}: {response.status_code}")
    client = target.client
    posted = client.post(f"{PREFIX}/comments", json=target.payload(email="Ann@Example.ORG"))
    assert posted.status_code == 201
    bodies["post"] = posted.get_data(as_text=True)
    for key in ("/article", "/other", "/titled"):
        page = client.get(f"{PREFIX}/comments", query_string={"thread": key})
        assert page.status_code == 200
        bodies[f"read {key}"] = page.get_data(as_text=True)
        for comment in flatten(page.get_json()["comments"]):
            one = client.get(f"{PREFIX}/comments/{comment['id']}")
            assert one.status_code == 200
            bodies[f"read comment {comment['id']}"] = one.get_data(as_text=True)
        with app.test_request_context():
            bodies[f"page {key}"] = str(thread_html(key))
    bodies["config"] = client.get(f"{PREFIX}/config").get_data(as_text=True)

    for name, body in bodies.items():
        for secret in secrets:
            if secret in body.lower():
                problems.append(f"{name}: exposes {secret}")
    assert not problems, "\n".join(problems)
