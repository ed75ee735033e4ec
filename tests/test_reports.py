"""Readers' reports: each reader counts once, and enough reports hold a comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from debatebox import delivery, signals, tokens
from debatebox.decisions import decide
from mailserver import MailServer
from support import Api, captured_signals, snapshot

ADDRESSES = ("198.51.100.7", "203.0.113.9", "192.0.2.44", "2001:db8:1::5")


def report(
    app: Flask, comment_id: int, address: str, headers: dict[str, str] | None = None, **data: Any
) -> Any:
    return app.test_client().post(
        f"/debatebox/api/comments/{comment_id}/reports",
        json=data or {"reason": "abuse"},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_three_readers_hold_a_comment_until_a_moderator_decides(app: Flask) -> None:
    api = Api(app.test_client())
    target = api.posted(body="Something rude")["comment"]
    api.posted(body="Something fine")
    with (
        captured_signals(signals.comment_flagged, app) as flagged,
        captured_signals(signals.comment_held, app) as held,
    ):
        for address in ADDRESSES[:3]:
            assert report(app, target["id"], address).status_code == 202
    assert [f["held"] for f in flagged] == [False, False, True]
    assert [h["comment"].id for h in held] == [target["id"]]
    page = api.thread().get_json()
    assert [c["id"] for c in page["comments"]] != [target["id"]]
    assert target["id"] not in [c["id"] for c in page["comments"]]
    assert page["thread"]["count"] == 1
    # A fourth report finds nothing public to report.
    assert report(app, target["id"], ADDRESSES[3]).status_code == 404

    state = app.extensions["debatebox"]
    with state.new_session() as db:
        decide(state, db, target["id"], "approve", by="ed")
    back = api.thread().get_json()
    assert back["comments"][0]["id"] == target["id"]
    assert back["comments"][0]["label"] == target["label"]  # its number is kept
    assert back["thread"]["count"] == 2


def test_one_reader_counts_once(app: Flask) -> None:
    api = Api(app.test_client())
    target = api.posted(body="Disputed")["comment"]
    token = app.extensions["debatebox"].signer.subscriber_token(tokens.READER, 42)
    reader = {"X-Debatebox-Reader": token}
    with captured_signals(signals.comment_flagged, app) as flagged:
        report(app, target["id"], "198.51.100.7")
        report(app, target["id"], "198.51.100.8")  # same /24: the same address
        report(app, target["id"], "203.0.113.1", reader)
        report(app, target["id"], "192.0.2.1", reader)  # same token, another address
    assert len(flagged) == 2
    assert len(api.thread().get_json()["comments"]) == 1  # 2 of 3: still public


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"reason": "boring"}, 422, "reason"),
        ({"reason": "spam", "note": "x" * 501}, 422, "note"),
        ({"reason": "spam", "note": 5}, 422, "note"),
        ({"reason": "spam", "who": "me"}, 400, "who"),
    ],
)
def test_bad_reports(app: Flask, data: dict[str, Any], status: int, field: str) -> None:
    target = Api(app.test_client()).posted(body="Hi")["comment"]
    before = snapshot(app)
    answer = report(app, target["id"], "198.51.100.7", **data)
    assert answer.status_code == status
    assert field in answer.get_json()["fields"]
    assert snapshot(app) == before


def test_reports_of_what_is_not_public_or_not_allowed(make_app: Callable[..., Flask]) -> None:
    app = make_app(DEBATEBOX_MODERATION="all")
    held = Api(app.test_client()).post(body="Held").get_json()["comment"]
    assert report(app, held["id"], "198.51.100.7").status_code == 404
    assert report(app, 999_999, "198.51.100.7").status_code == 404
    foreign = app.test_client().post(
        f"/debatebox/api/comments/{held['id']}/reports",
        json={"reason": "spam"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    # The widget offers "Report" only where reports are taken.
    assert app.test_client().get("/debatebox/api/config").get_json()["reports"] is True
    off = make_app(DEBATEBOX_REPORTS_TO_HOLD=0)
    assert off.test_client().get("/debatebox/api/config").get_json()["reports"] is False
    target = Api(off.test_client()).posted(body="Hi")["comment"]
    answer = report(off, target["id"], "198.51.100.7")
    assert answer.status_code == 403 and answer.get_json()["error"] == "reports_off"


def test_moderators_hear_of_a_comment_held_by_reports(
    make_app: Callable[..., Flask], mail_server: MailServer
) -> None:
    app = make_app(
        DEBATEBOX_SMTP_URL=mail_server.url,
        DEBATEBOX_MODERATORS="mod@example.org",
        DEBATEBOX_REPORTS_TO_HOLD=2,
    )
    target = Api(app.test_client()).posted(body="Reported text")["comment"]
    for address in ADDRESSES[:2]:
        report(app, target["id"], address, reason="spam")
    with app.app_context():
        assert delivery.run_once(app.extensions["debatebox"]).sent == 1
    (message,) = [r.message for r in mail_server.wait_for(1)]
    assert message["Subject"].startswith("Held comment by Ann")
    assert "Reported text" in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
