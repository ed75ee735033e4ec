"""The posting pipeline: bot checks, rate limits, idempotency, signals, origins, edits."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from debatebox import signals, tokens
from debatebox.decisions import decide
from debatebox.errors import Conflict
from debatebox.models import Comment, Thread
from support import SERVER_KINDS, Api, captured_signals, flatten, snapshot


def old_token(purpose: str, payload: Any, seconds_ago: int) -> str:
    """A genuine token of ``purpose`` signed as if ``seconds_ago`` seconds ago."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    return URLSafeTimedSerializer("test-secret", salt=purpose, signer=PastSigner).dumps(payload)


def stored_comments(app: Flask) -> list[Comment]:
    with app.app_context():
        session = app.extensions["debatebox"].new_session()
        try:
            return list(session.scalars(sa.select(Comment).order_by(Comment.id)))
        finally:
            session.close()


# Bot checks -----------------------------------------------------------------------------


def test_form_filled_too_fast_is_refused_then_accepted_later(make_app: Any) -> None:
    app = make_app(DEBATEBOX_MIN_FILL_SECONDS=3)
    api = Api(app.test_client())
    response = api.post()
    assert response.status_code == 403
    assert response.get_json()["error"] == "too_fast"
    assert snapshot(app) == []
    ok = api.post(form_token=old_token(tokens.FORM, {"f": 1}, seconds_ago=5))
    assert ok.status_code == 201


def test_form_older_than_a_day_is_refused(api: Api, app: Flask) -> None:
    response = api.post(form_token=old_token(tokens.FORM, {"f": 1}, seconds_ago=86400 + 60))
    assert response.status_code == 403
    assert response.get_json()["error"] == "form_expired"
    assert snapshot(app) == []


def test_honeypot_filled_is_refused(api: Api, app: Flask) -> None:
    response = api.post(homepage="http://spam.example")
    assert response.status_code == 403
    assert response.get_json()["error"] == "bot_check"
    assert snapshot(app) == []


def test_missing_form_token_is_refused(api: Api, app: Flask) -> None:
    response = api.post(form_token=...)
    assert response.status_code == 403
    assert response.get_json()["error"] == "form_token_missing"


# Rate limits ----------------------------------------------------------------------------


def test_rate_limit_per_ip_with_retry_after(make_app: Any) -> None:
    app = make_app(DEBATEBOX_RATE_LIMIT="2 per minute")
    api = Api(app.test_client())
    assert api.post(body="one").status_code == 201
    assert api.post(body="two").status_code == 201
    third = api.post(body="three")
    assert third.status_code == 429
    assert third.get_json()["error"] == "rate_limited"
    assert 1 <= int(third.headers["Retry-After"]) <= 61
    # Another address is not affected.
    other = app.test_client()
    token = api.form_token
    response = other.post(
        "/debatebox/api/comments",
        json={
            "thread": "/article",
            "name": "Bo",
            "email": "bo@example.org",
            "body": "hi",
            "form_token": token,
        },
        environ_overrides={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 201
    assert len(stored_comments(app)) == 3


def test_refused_posts_do_not_use_up_the_rate_limit(make_app: Any) -> None:
    app = make_app(DEBATEBOX_RATE_LIMIT="1 per minute")
    api = Api(app.test_client())
    for _ in range(3):
        assert api.post(body="").status_code == 422
    assert api.post(body="finally").status_code == 201


def test_rate_limits_shared_through_redis_by_two_apps(make_app: Any) -> None:
    storage = "redis://127.0.0.1:6379/0"
    limit = "2 per minute"
    prefix_isolation = uuid.uuid4().hex  # a fresh address keeps runs independent
    address = f"198.51.100.{int(prefix_isolation[:2], 16) % 250 + 1}"
    first = make_app(DEBATEBOX_RATE_LIMIT=limit, DEBATEBOX_RATE_LIMIT_STORAGE=storage)
    second = make_app(DEBATEBOX_RATE_LIMIT=limit, DEBATEBOX_RATE_LIMIT_STORAGE=storage)
    token = Api(first.test_client()).form_token
    import redis

    client = redis.Redis.from_url(storage)
    for key in client.scan_iter(f"*{address}*"):
        client.delete(key)
    statuses = []
    for app in (first, second, first):
        response = app.test_client().post(
            "/debatebox/api/comments",
            json={
                "thread": f"/r-{prefix_isolation}",
                "name": "Ann",
                "email": "a@example.org",
                "body": f"post {len(statuses)}",
                "form_token": token,
            },
            environ_overrides={"REMOTE_ADDR": address},
        )
        statuses.append(response.status_code)
    for key in client.scan_iter(f"*{address}*"):
        client.delete(key)
    assert statuses == [201, 201, 429]


# Idempotency ----------------------------------------------------------------------------


def test_retried_post_with_idempotency_key_stores_once(api: Api, app: Flask) -> None:
    headers = {"Idempotency-Key": "retry-123"}
    first = api.post(body="only once", headers=headers)
    second = api.post(body="only once", headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["comment"]["id"] == second.get_json()["comment"]["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(stored_comments(app)) == 1
    assert api.thread().get_json()["thread"]["count"] == 1
    reused = api.post(body="something else", headers=headers)
    assert reused.status_code == 409
    assert len(stored_comments(app)) == 1


# Signals --------------------------------------------------------------------------------


def test_host_receives_signals_for_post_edit_delete(api: Api, app: Flask) -> None:
    with (
        captured_signals(signals.comment_posted, app) as posted,
        captured_signals(signals.comment_edited, app) as edited,
        captured_signals(signals.comment_deleted, app) as deleted,
        captured_signals(signals.thread_created, app) as created,
    ):
        data = api.posted(body="original")
        comment_id = data["comment"]["id"]
        api.edit(comment_id, data["edit_token"], "changed")
        api.delete(comment_id, data["edit_token"])
    assert len(posted) == 1 and posted[0]["sender"] is app
    assert posted[0]["comment"].id == comment_id
    assert posted[0]["thread"].key == "/article"
    assert len(created) == 1 and created[0]["thread"].key == "/article"
    assert len(edited) == 1 and edited[0]["previous_body"] == "original"
    assert edited[0]["comment"].body_source == "changed"
    assert len(deleted) == 1 and deleted[0]["tombstone"] is False


def test_receiver_can_veto_a_comment(api: Api, app: Flask) -> None:
    seen: list[dict[str, Any]] = []

    def veto(sender: Flask, comment: dict[str, Any], **extra: Any) -> bool:
        seen.append(comment)
        return "forbidden word" not in comment["body"]

    signals.comment_will_be_posted.connect(veto, app)
    try:
        refused = api.post(body="this has a forbidden word")
        accepted = api.post(body="this is fine")
    finally:
        signals.comment_will_be_posted.disconnect(veto, app)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "rejected"
    assert accepted.status_code == 201
    assert [c.body_source for c in stored_comments(app)] == ["this is fine"]
    assert seen[0]["email"] == "ann@example.org" and seen[0]["thread_key"] == "/article"


# Origins and CORS -----------------------------------------------------------------------


def test_cors_only_for_configured_origins(make_app: Any) -> None:
    app = make_app(DEBATEBOX_ORIGINS="https://news.example, https://blog.example")
    api = Api(app.test_client())
    allowed = api.client.get(
        "/debatebox/api/comments?thread=/x", headers={"Origin": "https://news.example"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert "Origin" in allowed.headers["Vary"]
    other = api.client.get(
        "/debatebox/api/comments?thread=/x", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = api.client.options(
        "/debatebox/api/comments",
        headers={"Origin": "https://blog.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    bad_preflight = api.client.options(
        "/debatebox/api/comments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert bad_preflight.status_code == 403


def test_write_from_allowed_origin_creates_thread_and_keeps_page_url(make_app: Any) -> None:
    app = make_app(DEBATEBOX_ORIGINS="https://news.example")
    api = Api(app.test_client())
    ok = api.post(
        "/story",
        url="https://news.example/story",
        title="Story",
        headers={"Origin": "https://news.example"},
    )
    assert ok.status_code == 201
    assert ok.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert api.thread("/story").get_json()["thread"]["url"] == "https://news.example/story"
    foreign_url = api.post(
        "/other", url="https://evil.example/x", headers={"Origin": "https://news.example"}
    )
    assert foreign_url.status_code == 422
    refused = api.post("/third", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "origin_not_allowed"
    assert api.thread("/third").get_json()["thread"]["count"] == 0


def test_closed_thread_or_disabled_auto_create(make_app: Any) -> None:
    app = make_app(DEBATEBOX_AUTO_CREATE_THREADS=False)
    api = Api(app.test_client())
    response = api.post("/new-page")
    assert response.status_code == 404
    assert response.get_json()["error"] == "thread_not_found"
    assert snapshot(app) == []


# Moderation seam ------------------------------------------------------------------------


def test_held_comment_answers_202_and_stays_private(make_app: Any) -> None:
    app = make_app(DEBATEBOX_MODERATION="all")
    api = Api(app.test_client())
    response = api.post(body="please review")
    assert response.status_code == 202
    data = response.get_json()
    assert data["published"] is False
    assert data["comment"]["status"] == "pending"
    assert data["comment"]["label"] is None
    listing = api.thread().get_json()
    assert listing["comments"] == [] and listing["thread"]["count"] == 0
    assert api.client.get(f"/debatebox/api/comments/{data['comment']['id']}").status_code == 404
    reply = api.post(body="reply to held", parent=data["comment"]["id"])
    assert reply.status_code == 422


def test_first_time_moderation_trusts_known_authors(make_app: Any) -> None:
    app = make_app(DEBATEBOX_MODERATION="first-time")
    api = Api(app.test_client())
    assert api.post(body="first ever").status_code == 202


# Privacy --------------------------------------------------------------------------------


def test_stored_ip_is_truncated_and_never_shown(api: Api, app: Flask) -> None:
    response = api.client.post(
        "/debatebox/api/comments",
        json={
            "thread": "/p",
            "name": "Ann",
            "email": "ann@example.org",
            "body": "hi",
            "form_token": api.form_token,
        },
        environ_overrides={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert response.status_code == 201
    assert [c.ip for c in stored_comments(app)] == ["203.0.113.0"]
    for body in (response.data, api.thread("/p").data):
        assert b"203.0.113" not in body and b"ann@example.org" not in body


def test_forwarded_for_trusted_only_from_configured_proxy(make_app: Any) -> None:
    app = make_app(DEBATEBOX_TRUSTED_PROXIES="10.0.0.1")
    api = Api(app.test_client())
    for remote in ("10.0.0.1", "192.0.2.9"):
        api.client.post(
            "/debatebox/api/comments",
            json={
                "thread": "/p",
                "name": "Ann",
                "email": "ann@example.org",
                "body": f"via {remote}",
                "form_token": api.form_token,
            },
            headers={"X-Forwarded-For": "198.51.100.23"},
            environ_overrides={"REMOTE_ADDR": remote},
        )
    assert [c.ip for c in stored_comments(app)] == ["198.51.100.0", "192.0.2.0"]


# Author edit and delete -----------------------------------------------------------------


def test_author_edits_within_window(api: Api) -> None:
    data = api.posted(body="typo teh")
    response = api.edit(data["comment"]["id"], data["edit_token"], "typo *the*")
    assert response.status_code == 200
    edited = response.get_json()["comment"]
    assert edited["html"] == "<p>typo <em>the</em></p>"
    assert edited["edited"] is not None
    listed = api.thread().get_json()["comments"][0]
    assert listed["html"] == edited["html"] and listed["edited"] == edited["edited"]


def test_edit_after_window_is_gone(api: Api, app: Flask) -> None:
    data = api.posted(body="original")
    comment_id = data["comment"]["id"]
    expired = old_token(tokens.EDIT, {"c": comment_id}, seconds_ago=16 * 60)
    before = snapshot(app)
    assert api.edit(comment_id, expired, "late").status_code == 410
    assert api.delete(comment_id, expired).status_code == 410
    assert snapshot(app) == before


def test_edit_token_is_bound_to_its_comment(api: Api, app: Flask) -> None:
    mine = api.posted(body="mine")
    theirs = api.posted(body="theirs", name="Bob")
    before = snapshot(app)
    response = api.edit(theirs["comment"]["id"], mine["edit_token"], "hijacked")
    assert response.status_code == 403
    assert api.delete(theirs["comment"]["id"], mine["edit_token"]).status_code == 403
    assert snapshot(app) == before


def test_delete_with_replies_leaves_tombstone(api: Api) -> None:
    parent = api.posted(body="parent")
    child = api.posted(body="child", parent=parent["comment"]["id"])
    lone = api.posted(body="lonely")
    response = api.delete(parent["comment"]["id"], parent["edit_token"])
    assert response.get_json() == {"deleted": True, "tombstone": True}
    assert api.delete(lone["comment"]["id"], lone["edit_token"]).get_json()["tombstone"] is False
    data = api.thread().get_json()
    assert data["thread"]["count"] == 1
    nodes = flatten(data["comments"])
    assert [n["id"] for n in nodes] == [parent["comment"]["id"], child["comment"]["id"]]
    tombstone = nodes[0]
    assert tombstone["deleted"] is True
    assert tombstone["author"] is None and tombstone["html"] == "" and tombstone["label"] == "1"
    # Numbers stay stable: the next top-level comment is #3, not #2.
    assert api.posted(body="later")["comment"]["label"] == "3"
    again = api.delete(parent["comment"]["id"], parent["edit_token"])
    assert again.status_code == 410


def test_deleting_the_last_reply_removes_the_tombstone_above(api: Api) -> None:
    parent = api.posted(body="parent")
    child = api.posted(body="child", parent=parent["comment"]["id"])
    api.delete(parent["comment"]["id"], parent["edit_token"])
    api.delete(child["comment"]["id"], child["edit_token"])
    assert api.thread().get_json()["comments"] == []


@pytest.mark.parametrize("status", [201])
def test_post_response_has_no_private_fields(api: Api, status: int) -> None:
    response = api.post(body="x")
    assert response.status_code == status
    comment = response.get_json()["comment"]
    assert set(comment) == {
        "id",
        "parent",
        "label",
        "depth",
        "deleted",
        "status",
        "author",
        "website",
        "avatar",
        "html",
        "created",
        "edited",
        "reply_to",
        "replies",
    }


def test_tombstone_only_while_a_published_reply_remains(api: Api) -> None:
    parent = api.posted(body="parent")
    child = api.posted(body="child", parent=parent["comment"]["id"])
    api.delete(child["comment"]["id"], child["edit_token"])
    response = api.delete(parent["comment"]["id"], parent["edit_token"])
    assert response.get_json() == {"deleted": True, "tombstone": False}
    for comment in (parent, child):
        assert (
            api.client.get(f"/debatebox/api/comments/{comment['comment']['id']}").status_code == 404
        )


def test_deleting_erases_the_authors_personal_data(api: Api, app: Flask) -> None:
    parent = api.posted(body="parent", website="https://ann.example")
    api.posted(body="child", parent=parent["comment"]["id"], name="Bob")
    api.delete(parent["comment"]["id"], parent["edit_token"])
    row = next(c for c in stored_comments(app) if c.id == parent["comment"]["id"])
    assert (row.author_name, row.email, row.website, row.ip, row.body_source) == (
        "",
        None,
        "",
        "",
        "",
    )
    tombstone = api.client.get(f"/debatebox/api/comments/{row.id}").get_json()["comment"]
    assert tombstone["deleted"] is True and tombstone["author"] is None


@pytest.mark.parametrize("db_kind", SERVER_KINDS)  # SQLite: one writer, nothing in between
@pytest.mark.parametrize(("decision", "status"), [("delete", 410), ("spam", 200)])
def test_author_delete_reads_a_decision_taken_after_its_token_check(
    api: Api, app: Flask, db_kind: str, decision: str, status: int
) -> None:
    """A moderator's decision committed between the author's checks and the thread lock is
    what the delete sees: the comment is counted out of the thread once, not twice."""
    data = api.posted(body="contested")
    comment_id = data["comment"]["id"]
    state = app.extensions["debatebox"]
    decided: list[str] = []

    def moderator_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        locking = statement.lstrip().startswith("SELECT debatebox_thread.")
        if decided or not (locking and "FOR UPDATE" in statement):
            return
        decided.append(decision)  # before deciding: the moderator locks the thread too
        session = state.new_session()
        try:
            decide(state, session, comment_id, decision, by="mod")
        finally:
            session.close()

    sa.event.listen(state.engine, "before_cursor_execute", moderator_first)
    try:
        response = api.delete(comment_id, data["edit_token"])
    finally:
        sa.event.remove(state.engine, "before_cursor_execute", moderator_first)
    assert decided == [decision]
    assert response.status_code == status
    with state.engine.connect() as conn:
        count = conn.scalar(sa.select(Thread.comment_count))
    assert count == 0


@pytest.mark.parametrize("db_kind", SERVER_KINDS)  # SQLite: one writer, nothing in between
def test_a_decision_reads_an_author_delete_committed_before_its_lock(
    api: Api, app: Flask, db_kind: str
) -> None:
    """The other way round, and on MariaDB too, whose plain reads keep to the snapshot the
    transaction's first read took: the moderator's delete finds the comment deleted."""
    data = api.posted(body="contested")
    comment_id = data["comment"]["id"]
    state = app.extensions["debatebox"]
    deleted: list[int] = []

    def author_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        locking = statement.lstrip().startswith("SELECT debatebox_thread.")
        if deleted or not (locking and "FOR UPDATE" in statement):
            return
        deleted.append(0)  # before deleting: the author locks the thread too
        deleted[0] = api.delete(comment_id, data["edit_token"]).status_code

    sa.event.listen(state.engine, "before_cursor_execute", author_first)
    session = state.new_session()
    try:
        with pytest.raises(Conflict):
            decide(state, session, comment_id, "delete", by="mod")
    finally:
        session.close()
        sa.event.remove(state.engine, "before_cursor_execute", author_first)
    assert deleted == [200]
    with state.engine.connect() as conn:
        assert conn.scalar(sa.select(Thread.comment_count)) == 0


def test_replaying_a_deleted_comment_is_gone_not_reposted(api: Api, app: Flask) -> None:
    headers = {"Idempotency-Key": "replay-after-delete"}
    first = api.post(body="short-lived", headers=headers).get_json()
    api.delete(first["comment"]["id"], first["edit_token"])
    replay = api.post(body="short-lived", headers=headers)
    assert replay.status_code == 410
    assert replay.get_json()["error"] == "deleted"
    assert len(stored_comments(app)) == 1
