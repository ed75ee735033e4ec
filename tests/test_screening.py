"""The spam defence as a poster meets it: checks, bans, duplicates, limits, Akismet, policy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from akismet_server import API_KEY, GUARANTEED_SPAM, AkismetServer
from debatebox import bans, screening
from debatebox.decisions import decide
from debatebox.models import Comment, Thread, utcnow
from debatebox.screening import ModerationPolicy, Verdict
from debatebox.validation import parse
from support import Api, count_queries, snapshot

SPAMMY = (
    "Best prices here https://cheap-pills.test/a https://cheap-pills.test/b"
    " https://cheap-pills.test/c"
)


def verdicts_of(app: Flask, comment_id: int) -> list[dict[str, Any]]:
    with app.extensions["debatebox"].new_session() as db:
        comment = db.get(Comment, comment_id)
        assert comment is not None
        return list(json.loads(comment.verdicts))


def test_built_in_checks_hold_a_link_drop_and_keep_the_reason(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(DEBATEBOX_SPAM_CHECKS=True)
    api = Api(app.test_client())
    held = api.post(body=SPAMMY)
    assert held.status_code == 202
    reasons = verdicts_of(app, held.get_json()["comment"]["id"])
    assert any(v["check"] == "links" and v["action"] == "hold" for v in reasons)
    fine = api.post(body="Good point, see https://stats.example.org/traffic for the data.")
    assert fine.status_code == 201


def test_blocked_words_can_reject(make_app: Callable[..., Flask]) -> None:
    app = make_app(
        DEBATEBOX_SPAM_CHECKS=True,
        DEBATEBOX_BLOCKED_WORDS="scooterbrand",
        DEBATEBOX_BLOCKED_ACTION="reject",
    )
    before = snapshot(app)
    refused = Api(app.test_client()).post(body="Buy S c o o t e r b r a n d today")
    assert refused.status_code == 403 and refused.get_json()["error"] == "rejected"
    assert "scooterbrand" not in refused.get_data(as_text=True).lower()  # no hint to spammers
    assert snapshot(app) == before


def test_duplicates_are_refused_within_the_window(make_app: Callable[..., Flask]) -> None:
    app = make_app(DEBATEBOX_DUPLICATE_WINDOW=3600)
    api = Api(app.test_client())
    assert api.post(body="Same words").status_code == 201
    again = api.post(body="Same words")
    assert again.status_code == 409 and again.get_json()["error"] == "duplicate"
    other = api.post("/elsewhere", "Same words", email="other@example.org")
    assert other.status_code == 201  # another author on another thread
    assert api.post("/elsewhere", "Same words", email="third@example.org").status_code == 409


def test_duplicate_check_is_one_query_and_names_the_email_match_first(app: Flask) -> None:
    api = Api(app.test_client())
    api.posted("/elsewhere", "Same words", email="bob@example.org")  # the older row
    api.posted("/article", "Same words")  # ann's
    state = app.extensions["debatebox"]

    def duplicate(key: str, email: str | None) -> tuple[str, int]:
        fields = {"thread": key, "name": "Ann", "email": "x@example.org", "body": "Same words"}
        new = dataclasses.replace(parse(state.settings, fields), email=email)
        with state.new_session() as db, count_queries(state.engine) as statements:
            thread = db.scalars(sa.select(Thread).where(Thread.key == key)).first()
            found = screening._duplicate(db, new, thread or Thread(key=key), 3600)
        return found, len(statements) - 1  # not the thread's

    by_email = "The same text was posted by the same email recently."
    on_thread = "The same text was posted on this thread recently."
    assert duplicate("/elsewhere", "ann@example.org") == (by_email, 1)  # both match there
    assert duplicate("/new", "ann@example.org") == (by_email, 1)
    assert duplicate("/article", "carl@example.org") == (on_thread, 1)
    assert duplicate("/new", "carl@example.org") == ("", 1)
    assert duplicate("/new", None) == ("", 0)


def test_bans_hold_or_reject_until_they_expire(app: Flask) -> None:
    api = Api(app.test_client())
    with app.extensions["debatebox"].new_session() as db:
        bans.add(db, kind="email", value="troll@example.org", action="reject", by="ed")
        bans.add(db, kind="domain", value="spam.example", action="hold", by="ed")
        old = bans.add(
            db,
            kind="ip",
            value="127.0.0.0/8",
            action="reject",
            expires_at=utcnow() - dt.timedelta(minutes=1),
        )
        assert old.id
    assert api.post(body="hello", email="troll@example.org").status_code == 403
    held = api.post(body="hello", email="bot@mail.spam.example")
    assert held.status_code == 202
    assert verdicts_of(app, held.get_json()["comment"]["id"])[0]["check"] == "ban"
    assert api.post(body="hello", email="fine@example.org").status_code == 201  # expired ip ban
    with app.extensions["debatebox"].new_session() as db:
        bans.add(db, kind="ip", value="127.0.0.1", action="hold")
    assert api.post(body="held by address", email="fine@example.org").status_code == 202


def test_per_email_rate_limit_is_shared_through_redis(make_app: Callable[..., Flask]) -> None:
    storage = "redis://127.0.0.1:6379/0"
    email = f"fast-{uuid.uuid4().hex[:10]}@example.org"  # a fresh key keeps runs apart
    first, second = (
        make_app(
            DEBATEBOX_EMAIL_RATE_LIMIT="2 per minute",
            DEBATEBOX_RATE_LIMIT_STORAGE=storage,
        )
        for _ in range(2)
    )
    statuses = []
    for n, app in enumerate((first, second, first)):
        answer = app.test_client().post(
            "/debatebox/api/comments",
            json={
                "thread": "/article",
                "name": "Fast",
                "email": email,
                "body": f"comment {n}",
                "form_token": Api(app.test_client()).form_token,
            },
            environ_overrides={"REMOTE_ADDR": f"192.0.2.{n + 1}"},  # other addresses
        )
        statuses.append(answer.status_code)
    assert statuses == [201, 201, 429]


def test_akismet_verdicts(make_app: Callable[..., Flask], akismet_server: AkismetServer) -> None:
    app = make_app(
        DEBATEBOX_AKISMET_KEY=API_KEY, DEBATEBOX_AKISMET_ENDPOINT=akismet_server.endpoint
    )
    api = Api(app.test_client())
    config = app.test_client().get("/debatebox/api/config").get_json()
    assert config["privacy"]["notice"] == "This site uses Akismet to reduce spam."
    ham = api.post(body="A real opinion.", name="Reader")
    assert ham.status_code == 201
    spam = api.post(body="Buy now", name=GUARANTEED_SPAM)
    assert spam.status_code == 202
    checked = [r for r in akismet_server.requests if r.path.endswith("comment-check")]
    assert checked[0].fields["comment_content"] == "A real opinion."
    assert checked[0].fields["comment_type"] == "comment"
    assert checked[0].fields["user_ip"]
    akismet_server.discard_spam = True
    before = snapshot(app)
    assert api.post(body="More junk", name=GUARANTEED_SPAM).status_code == 403
    assert snapshot(app) == before


def test_moderators_correct_akismet(
    make_app: Callable[..., Flask], akismet_server: AkismetServer
) -> None:
    app = make_app(
        DEBATEBOX_AKISMET_KEY=API_KEY, DEBATEBOX_AKISMET_ENDPOINT=akismet_server.endpoint
    )
    api = Api(app.test_client())
    false_alarm = api.post(body="Not spam at all", name=GUARANTEED_SPAM).get_json()["comment"]
    missed = api.posted(body="Sneaky ad", name="Innocent")["comment"]
    state = app.extensions["debatebox"]
    with state.new_session() as db:
        decide(state, db, false_alarm["id"], "approve", by="ed")
        decide(state, db, missed["id"], "spam", by="ed")
    paths = [r.path.rsplit("/", 1)[1] for r in akismet_server.requests]
    assert paths.count("submit-ham") == 1 and paths.count("submit-spam") == 1
    ham = next(r for r in akismet_server.requests if r.path.endswith("submit-ham"))
    assert ham.fields["comment_content"] == "Not spam at all"


def test_akismet_unreachable_holds_and_loses_nothing(
    make_app: Callable[..., Flask], akismet_server: AkismetServer
) -> None:
    app = make_app(
        DEBATEBOX_AKISMET_KEY=API_KEY, DEBATEBOX_AKISMET_ENDPOINT=akismet_server.endpoint
    )
    akismet_server.stop()
    answer = Api(app.test_client()).post(body="Posted while Akismet is away")
    assert answer.status_code == 202
    reasons = verdicts_of(app, answer.get_json()["comment"]["id"])
    assert reasons[-1]["check"] == "akismet" and "unavailable" in reasons[-1]["reason"]
    with app.extensions["debatebox"].new_session() as db:
        stored = db.scalar(sa.select(Comment.body_source))
    assert stored == "Posted while Akismet is away"


class NoRivals(ModerationPolicy):
    def verdict(self, comment: dict[str, Any], thread: Any, verdicts: list[Verdict]) -> Any:
        if "rival.example" in comment["body"]:
            return Verdict("hold", "policy", "mentions a rival")
        return None


def test_a_host_policy_can_hold(make_app: Callable[..., Flask]) -> None:
    app = make_app(policy=NoRivals())
    api = Api(app.test_client())
    held = api.post(body="Try rival.example instead")
    assert held.status_code == 202
    assert verdicts_of(app, held.get_json()["comment"]["id"]) == [
        {"action": "hold", "check": "policy", "reason": "mentions a rival"}
    ]
    assert api.post(body="Nothing to see").status_code == 201
