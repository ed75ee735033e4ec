"""Moderators' decisions, and deciding from the links of a real moderators' email."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask

from debatebox import delivery, signals
from debatebox.config import ConfigError
from debatebox.decisions import decide
from debatebox.errors import Conflict
from mailserver import MailServer
from support import Api, captured_signals, snapshot

LINK = re.compile(
    r"(Approve|Reject|Spam|Delete): http://comments\.test(/debatebox/moderate/[\w.\-]+)"
)


@pytest.fixture
def site(make_app: Callable[..., Flask], mail_server: MailServer) -> Flask:
    return make_app(
        DEBATEBOX_SMTP_URL=mail_server.url,
        DEBATEBOX_MODERATION="all",
        DEBATEBOX_MODERATORS="mod@example.org, editor@example.org",
    )


def send(app: Flask) -> int:
    with app.app_context():
        return delivery.run_once(app.extensions["debatebox"]).sent


def links_of(message: EmailMessage) -> dict[str, str]:
    part = message.get_body(("plain",))
    assert part is not None
    return dict(LINK.findall(str(part.get_content())))


def csrf(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found
    return found.group(1)


def public_ids(api: Api) -> list[int]:
    return [c["id"] for c in api.thread().get_json()["comments"]]


def test_held_comment_is_mailed_to_moderators_and_approved_from_the_link(
    site: Flask, mail_server: MailServer
) -> None:
    api = Api(site.test_client())
    with captured_signals(signals.comment_held, site) as held:
        answer = api.post(body="Please *publish* me.", name="Ann")
    assert answer.status_code == 202
    comment_id = answer.get_json()["comment"]["id"]
    assert [c["comment"].id for c in held] == [comment_id]
    assert send(site) == 2
    received = mail_server.wait_for(2)
    assert sorted(r.recipients for r in received) == [("editor@example.org",), ("mod@example.org",)]
    message = received[0].message
    assert message["Subject"] == "Held comment by Ann on “/article”"
    assert "Please *publish* me." in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    links = links_of(message)
    assert set(links) == {"Approve", "Reject", "Spam", "Delete"}

    client = site.test_client()
    before = snapshot(site)
    page = client.get(links["Approve"])
    assert page.status_code == 200 and "Approve the comment by Ann" in page.get_data(as_text=True)
    assert snapshot(site) == before  # a link scanner decides nothing
    assert public_ids(api) == []
    with captured_signals(signals.comment_approved, site) as approved:
        done = client.post(links["Approve"], data={"csrf_token": csrf(page)})
    assert "approved" in done.get_data(as_text=True)
    assert public_ids(api) == [comment_id]
    assert approved[0]["moderator"] == "email link"

    # Every link of that email is spent now, this one included.
    for name, url in links.items():
        spent = client.get(url)
        assert spent.status_code == 409, name
        assert "decided already" in spent.get_data(as_text=True)


def test_reject_and_spam_from_links(site: Flask, mail_server: MailServer) -> None:
    api = Api(site.test_client())
    first = api.post(body="Buy things").get_json()["comment"]["id"]
    second = api.post(body="Off topic").get_json()["comment"]["id"]
    send(site)
    mails = [r.message for r in mail_server.wait_for(4) if "mod@" in r.recipients[0]]
    texts = [str(m.get_body(("plain",)).get_content()) for m in mails]  # type: ignore[union-attr]
    first_links, second_links = (
        links_of(next(m for m, text in zip(mails, texts, strict=True) if body in text))
        for body in ("Buy things", "Off topic")
    )
    client = site.test_client()
    for url in (first_links["Spam"], second_links["Reject"]):
        client.post(url, data={"csrf_token": csrf(client.get(url))})
    assert public_ids(api) == []
    state = site.extensions["debatebox"]
    with state.new_session() as db:
        from debatebox.models import Comment

        statuses = {db.get(Comment, first).status, db.get(Comment, second).status}  # type: ignore[union-attr]
    assert statuses == {"spam", "deleted"}


def test_bad_and_expired_links(make_app: Callable[..., Flask], mail_server: MailServer) -> None:
    app = make_app(
        DEBATEBOX_SMTP_URL=mail_server.url,
        DEBATEBOX_MODERATION="all",
        DEBATEBOX_MODERATORS="mod@example.org",
        DEBATEBOX_MODERATION_LINK_MAX_AGE=-1,
    )
    Api(app.test_client()).post(body="Held")
    send(app)
    links = links_of(mail_server.wait_for(1)[0].message)
    client = app.test_client()
    before = snapshot(app)
    expired = client.get(links["Approve"])
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    token = links["Approve"].rsplit("/", 1)[1]
    tampered = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    assert client.get(f"/debatebox/moderate/{tampered}").status_code == 400
    assert client.get("/debatebox/moderate/not-a-token").status_code == 400
    assert client.post(links["Approve"], data={}).status_code == 410
    assert snapshot(app) == before


def test_links_of_other_purposes_do_not_moderate(site: Flask, mail_server: MailServer) -> None:
    client = site.test_client()
    client.post(
        "/debatebox/api/subscriptions",
        json={"thread": "/article", "email": "bob@example.org"},
    )
    send(site)
    (confirmation,) = [r.message for r in mail_server.wait_for(1)]
    token = re.search(
        r"/subscriptions/confirm/([\w.\-]+)", confirmation.get_body(("plain",)).get_content()
    )  # type: ignore[union-attr]
    assert token
    assert client.get(f"/debatebox/moderate/{token.group(1)}").status_code == 400


def test_decisions_move_counts_and_numbers(app: Flask) -> None:
    api = Api(app.test_client())
    state = app.extensions["debatebox"]
    first = api.posted(body="One")["comment"]
    reply = api.posted(body="Reply", parent=first["id"])["comment"]
    assert api.thread().get_json()["thread"]["count"] == 2
    with state.new_session() as db:
        with captured_signals(signals.comment_marked_spam, app) as spammed:
            decide(state, db, first["id"], "spam", by="ed")
        assert spammed[0]["moderator"] == "ed"
        page = api.thread().get_json()
        assert page["thread"]["count"] == 1
        with pytest.raises(Conflict):
            decide(state, db, first["id"], "reject")  # only held comments are rejected
        decide(state, db, first["id"], "approve")  # a false positive goes back in place
        page = api.thread().get_json()
        assert page["comments"][0]["label"] == "1" and page["thread"]["count"] == 2
        with captured_signals(signals.comment_deleted, app) as deleted:
            decide(state, db, first["id"], "delete")
        assert deleted[0]["tombstone"] is True
        (tombstone,) = api.thread().get_json()["comments"]
        assert tombstone["deleted"] and tombstone["replies"][0]["id"] == reply["id"]
        with pytest.raises(Conflict):
            decide(state, db, first["id"], "delete")


def test_every_new_comment_can_be_mailed(
    make_app: Callable[..., Flask], mail_server: MailServer
) -> None:
    app = make_app(
        DEBATEBOX_SMTP_URL=mail_server.url,
        DEBATEBOX_MODERATORS="mod@example.org",
        DEBATEBOX_MODERATOR_EMAILS="all",
    )
    Api(app.test_client()).posted(body="Published at once")
    send(app)
    (message,) = [r.message for r in mail_server.wait_for(1)]
    assert message["Subject"].startswith("New comment by Ann")
    assert set(links_of(message)) == {"Spam", "Delete"}


@pytest.mark.parametrize(
    "value", ["not-an-address", "a@b.c, <x@y.z>", "mod@example.org\r\nBcc: x@y"]
)
def test_bad_moderator_addresses_are_refused(make_app: Callable[..., Flask], value: str) -> None:
    with pytest.raises(ConfigError, match="DEBATEBOX_MODERATORS"):
        make_app(DEBATEBOX_MODERATORS=value)
