"""The mail outbox's reliability, on every database, against a real SMTP server.

Comments are stored and answered whatever the mail server does; queued mail goes out
once it is up again, exactly once, even with several workers or a worker that died.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from debatebox import cli, delivery, outbox, signals, standalone
from debatebox.models import FAILED, QUEUED, SENDING, SENT, Comment, OutboxMessage, utcnow
from debatebox.state import DebateBoxState
from mailserver import MailServer
from support import Api

SUBSCRIBE = "/debatebox/api/subscriptions"
PAGE = "http://comments.test/article"
CONFIRM_LINK = re.compile(r"http://comments\.test(/debatebox/subscriptions/confirm/[\w.\-]+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NAMES = ("bob", "carol", "dan")


class Clock:
    """A clock the test moves forward, for ``outbox.deliver_due(now=…)``."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def state_of(app: Flask) -> DebateBoxState:
    state: DebateBoxState = app.extensions["debatebox"]
    return state


def run(app: Flask, **options: Any) -> outbox.Report:
    return delivery.run_once(state_of(app), **options)


def deliver(app: Flask, worker: str, now: Callable[[], dt.datetime]) -> outbox.Report:
    state = state_of(app)
    with state.new_session() as db:
        return outbox.deliver_due(
            db, state.settings, delivery.transport_for(state), worker, now=now
        )


def rows(app: Flask) -> list[OutboxMessage]:
    with state_of(app).new_session() as db:
        return list(db.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def ask(app: Flask, email: str, title: str = "Cars in cities") -> Any:
    """Subscribe ``email`` to /article: a confirmation email is queued."""
    payload = {"thread": "/article", "email": email, "url": PAGE, "title": title}
    answer = app.test_client().post(SUBSCRIBE, json=payload)
    assert answer.status_code == 202, answer.get_json()
    return answer


def confirmed(app: Flask, server: MailServer, email: str, title: str = "Cars in cities") -> None:
    """A subscriber of /article, confirmed through the link of the real email."""
    ask(app, email, title)
    before = len(server.messages)
    assert run(app).sent == 1
    message = server.wait_for(before + 1)[-1].message
    found = CONFIRM_LINK.search(text_of(message))
    assert found, text_of(message)
    client = app.test_client()
    page = client.get(found.group(1))
    token = CSRF.search(page.get_data(as_text=True))
    assert token
    assert client.post(found.group(1), data={"csrf_token": token.group(1)}).status_code == 200


@pytest.fixture
def site(make_app: Callable[..., Flask], mail_server: MailServer) -> Flask:
    return make_app(DEBATEBOX_SMTP_URL=mail_server.url, DEBATEBOX_MAIL_RETRY_DELAY=1)


def test_comments_are_stored_during_an_outage_and_mailed_once_after(
    site: Flask, mail_server: MailServer
) -> None:
    confirmed(site, mail_server, "bob@example.org")
    mail_server.clear()
    mail_server.stop()
    api = Api(site.test_client())
    for n in range(50):
        assert api.post(body=f"Outage comment {n}.").status_code == 201
    with state_of(site).new_session() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Comment)) == 50

    # batch > 50: the pass claims every row once and stops (no second claim).
    report = run(site, batch=100)
    assert (report.sent, report.retried, report.failed) == (0, 50, 0)
    queued = [row for row in rows(site) if row.kind == "notify"]
    assert len(queued) == 50
    for row in queued:
        assert (row.status, row.attempts) == (QUEUED, 1)
        assert "refused" in row.last_error.lower() and str(mail_server.port) in row.last_error

    mail_server.start()
    due = max(row.due_at for row in queued)
    deadline = time.monotonic() + 5
    while utcnow() <= due:  # DEBATEBOX_MAIL_RETRY_DELAY=1: just over a second
        assert time.monotonic() < deadline, "the retry never became due"
        time.sleep(0.05)
    assert run(site).sent == 50
    received = mail_server.wait_for(50)
    assert len(received) == 50
    assert {r.recipients for r in received} == {("bob@example.org",)}
    ids = [r.message["Message-ID"] for r in received]
    assert len(set(ids)) == 50 and set(ids) == {row.message_id for row in queued}
    bodies = [text_of(r.message) for r in received]
    for n in range(50):
        assert sum(f"Outage comment {n}." in body for body in bodies) == 1
    assert all(r.message["Reply-To"] is None for r in received)  # none configured
    assert {row.status for row in rows(site)} == {SENT}

    assert run(site).claimed == 0
    assert len(mail_server.messages) == 50


def test_a_permanent_refusal_fails_at_once_and_is_never_sent(
    site: Flask, mail_server: MailServer
) -> None:
    ask(site, "bob@example.org")
    mail_server.fail_with("550 5.1.1 No such user")
    report = run(site)
    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    (row,) = rows(site)
    assert (row.status, row.attempts, row.claimed_by) == (FAILED, 1, None)
    assert "550" in row.last_error

    mail_server.accept()
    assert run(site).claimed == 0
    assert deliver(site, "later", lambda: utcnow() + dt.timedelta(days=30)).claimed == 0
    assert mail_server.messages == []


@pytest.fixture
def strict_site(make_app: Callable[..., Flask], mail_server: MailServer) -> Flask:
    return make_app(
        DEBATEBOX_SMTP_URL=mail_server.url,
        DEBATEBOX_MAIL_MAX_ATTEMPTS=3,
        DEBATEBOX_MAIL_RETRY_DELAY=1,
    )


def test_temporary_failures_are_retried_with_backoff_then_given_up(
    strict_site: Flask, mail_server: MailServer
) -> None:
    ask(strict_site, "bob@example.org")
    mail_server.fail_with("451 4.3.0 Try again later")
    clock = Clock()
    for attempt, wait in ((1, 1), (2, 2)):
        report = deliver(strict_site, "w", clock)
        assert (report.sent, report.retried, report.failed) == (0, 1, 0)
        (row,) = rows(strict_site)
        assert (row.status, row.attempts) == (QUEUED, attempt)
        assert "451" in row.last_error
        assert row.due_at == clock.now + dt.timedelta(seconds=wait)  # 1 s, then twice that
        assert deliver(strict_site, "w", clock).claimed == 0  # not before it is due
        clock.advance(wait - 0.01)
        assert deliver(strict_site, "w", clock).claimed == 0
        clock.advance(0.02)

    report = deliver(strict_site, "w", clock)  # the third attempt is the last
    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    (row,) = rows(strict_site)
    assert (row.status, row.attempts) == (FAILED, 3)
    assert "451" in row.last_error
    mail_server.accept()
    clock.advance(7 * 24 * 3600)
    assert deliver(strict_site, "w", clock).claimed == 0
    assert run(strict_site).claimed == 0
    assert mail_server.messages == []


def test_a_temporary_failure_once_is_delivered_on_the_second_attempt(
    strict_site: Flask, mail_server: MailServer
) -> None:
    ask(strict_site, "bob@example.org")
    mail_server.fail_with("451 4.3.0 Try again later", times=1)
    clock = Clock()
    assert deliver(strict_site, "w", clock).retried == 1
    assert mail_server.messages == []
    clock.advance(1.01)
    assert deliver(strict_site, "w", clock).sent == 1
    (received,) = mail_server.wait_for(1)
    assert received.recipients == ("bob@example.org",)
    (row,) = rows(strict_site)
    assert (row.status, row.attempts, row.last_error) == (SENT, 2, "")
    assert received.message["Message-ID"] == row.message_id
    clock.advance(3600)
    assert deliver(strict_site, "w", clock).claimed == 0


def test_two_workers_at_once_send_every_message_exactly_once(
    site: Flask, mail_server: MailServer
) -> None:
    for n in range(4):
        confirmed(site, mail_server, f"reader{n}@example.org")
    mail_server.clear()
    api = Api(site.test_client())
    for n in range(50):
        api.posted(body=f"Busy comment {n}.")
    queued = [row for row in rows(site) if row.status == QUEUED]
    assert len(queued) == 200

    state = state_of(site)
    start = threading.Barrier(2, timeout=20)
    reports: dict[str, outbox.Report] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            transport = delivery.transport_for(state)
            start.wait()
            reports[name] = delivery.run_once(state, transport, worker=name, batch=10)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    assert errors == []

    received = mail_server.messages
    ids = [r.message["Message-ID"] for r in received]
    assert len(ids) == 200 and set(ids) == {row.message_id for row in queued}
    assert {row.status for row in rows(site)} == {SENT}
    w1, w2 = reports["w1"], reports["w2"]
    assert w1.sent + w2.sent == 200 and w1.claimed + w2.claimed == 200
    assert w1.retried + w1.failed + w2.retried + w2.failed == 0
    assert w1.sent > 0 and w2.sent > 0, (w1, w2)
    assert run(site).claimed == 0


def test_rows_locked_by_another_worker_do_not_end_this_workers_pass(
    site: Flask, mail_server: MailServer, db_kind: str
) -> None:
    """Another worker is inside its claim (its 10 rows locked): this one takes the rest."""
    confirmed(site, mail_server, "bob@example.org")
    mail_server.clear()
    api = Api(site.test_client())
    for n in range(30):
        api.posted(body=f"Comment {n}.")
    state = state_of(site)
    now = utcnow()
    claim_query = (  # outbox.claim's query for queued rows, in a transaction left open
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(10)
        .with_for_update(skip_locked=True)  # ignored by SQLite, where claims take turns
    )
    with state.new_session() as other:
        locked = {row.id for row in other.scalars(claim_query)}
        report = delivery.run_once(state, worker="w2", batch=10)
        other.rollback()
    assert report.sent == (30 if db_kind == "sqlite" else 20), report
    sent = {r.message["Message-ID"] for r in mail_server.messages}
    assert len(sent) == report.sent
    if db_kind != "sqlite":
        assert all(row.status == QUEUED for row in rows(site) if row.id in locked)
    assert run(site).sent == 30 - report.sent  # the rest once the other worker let go
    assert len({r.message["Message-ID"] for r in mail_server.wait_for(30)}) == 30


def test_rows_of_a_crashed_worker_are_sent_once_after_the_lease(
    site: Flask, mail_server: MailServer
) -> None:
    for name in NAMES:
        ask(site, f"{name}@example.org")
    state = state_of(site)
    with state.new_session() as db:
        taken = outbox.claim(db, "dead", now=utcnow())  # … and the worker dies here
    assert len(taken) == 3
    assert {(row.status, row.claimed_by) for row in rows(site)} == {(SENDING, "dead")}

    assert run(site).claimed == 0  # the lease still runs: nobody else takes them
    soon = utcnow() + dt.timedelta(seconds=outbox.LEASE_SECONDS - 5)
    assert deliver(site, "w2", lambda: soon).claimed == 0
    later = utcnow() + dt.timedelta(seconds=outbox.LEASE_SECONDS + 1)
    report = deliver(site, "w2", lambda: later)
    assert (report.sent, report.retried, report.failed) == (3, 0, 0)
    received = mail_server.wait_for(3)
    assert sorted(r.recipients[0] for r in received) == [f"{n}@example.org" for n in NAMES]
    for row in rows(site):
        assert (row.status, row.attempts, row.claimed_by) == (SENT, 2, None)
    assert deliver(site, "w3", lambda: later + dt.timedelta(days=1)).claimed == 0
    assert len(mail_server.messages) == 3


def test_outbox_rows_are_written_in_the_commit_of_the_comment(
    site: Flask, mail_server: MailServer
) -> None:
    confirmed(site, mail_server, "bob@example.org")
    before = len(rows(site))
    engine = state_of(site).engine
    log: list[str] = []

    def on_sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip().lower()
        for table in ("debatebox_comment", "debatebox_outbox"):
            if head.startswith(f"insert into {table} "):
                log.append(table)

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", on_sql),
        ("begin", lambda _conn: log.append("BEGIN")),
        ("commit", lambda _conn: log.append("COMMIT")),
        ("rollback", lambda _conn: log.append("ROLLBACK")),
    ]
    for name, listener in listeners:
        sa.event.listen(engine, name, listener)

    def veto(_sender: Any, **_extra: Any) -> bool:
        return False

    api = Api(site.test_client())
    try:
        assert api.post(body="   ").status_code == 422  # invalid: nothing stored
        signals.comment_will_be_posted.connect(veto, site)
        try:
            assert api.post(body="Vetoed.").status_code == 403
        finally:
            signals.comment_will_be_posted.disconnect(veto, site)
        assert "debatebox_comment" not in log and "debatebox_outbox" not in log
        assert len(rows(site)) == before
        log.clear()
        posted = [api.posted(body=f"Published {n}.")["comment"]["id"] for n in range(3)]
    finally:
        for name, listener in listeners:
            sa.event.remove(engine, name, listener)

    # Each comment: one transaction inserting the comment and its email, then COMMIT.
    transactions: list[list[str]] = []
    for entry in log:
        if entry == "BEGIN":
            transactions.append([])
        elif transactions:
            transactions[-1].append(entry)
    writes = [t for t in transactions if any(e.startswith("debatebox_") for e in t)]
    assert writes == [["debatebox_comment", "debatebox_outbox", "COMMIT"]] * 3, log
    notes = [row for row in rows(site)[before:] if row.kind == "notify"]
    assert len(notes) == 3 and len(rows(site)) == before + 3
    for n, (row, comment_id) in enumerate(zip(notes, posted, strict=True)):
        assert row.recipient == "bob@example.org" and row.status == QUEUED
        assert f"Published {n}." in row.body_text and f"#comment-{comment_id}" in row.body_text


def test_deliver_mail_command(
    site: Flask,
    mail_server: MailServer,
    db_url: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ask(site, "bob@example.org")
    ask(site, "carol@example.org")
    env: dict[str, str | None] = {
        "DEBATEBOX_DATABASE_URL": db_url,
        "DEBATEBOX_SMTP_URL": mail_server.url,
        "DEBATEBOX_SECRET_KEY": "test-secret",
        "DEBATEBOX_INSTANCE_PATH": str(tmp_path / "standalone"),
        "DEBATEBOX_MAIL_DELIVERY": "worker",  # the command sets it: restored afterwards
    }
    # The real factory runs; the test only keeps its apps to close their pools at the end
    # (the command leaves its engine's connections open until the process exits).
    made: list[Flask] = []
    factory = standalone.create_app

    def create_app(*args: Any, **kwargs: Any) -> Flask:
        made.append(factory(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(standalone, "create_app", create_app)
    runner = CliRunner()
    try:
        result = runner.invoke(cli.main, ["deliver-mail", "--once"], env=env)
        assert result.exit_code == 0, result.output
        assert "mail: 2 sent, 0 to retry, 0 failed" in result.output
        received = mail_server.wait_for(2)
        assert {r.recipients[0] for r in received} == {"bob@example.org", "carol@example.org"}
        assert {row.status for row in rows(site)} == {SENT}
        again = runner.invoke(cli.main, ["deliver-mail", "--once"], env=env)
        assert again.exit_code == 0 and "mail: 0 sent, 0 to retry, 0 failed" in again.output

        env["DEBATEBOX_SMTP_URL"] = None
        no_smtp = runner.invoke(cli.main, ["deliver-mail", "--once"], env=env)
        assert no_smtp.exit_code != 0
        assert "Set DEBATEBOX_SMTP_URL" in no_smtp.output
        assert len(mail_server.messages) == 2
    finally:
        for app in made:
            state_of(app).engine.dispose()


def test_flask_deliver_mail_command(
    make_app: Callable[..., Flask], site: Flask, mail_server: MailServer
) -> None:
    ask(site, "bob@example.org")
    result = site.test_cli_runner().invoke(args=["debatebox", "deliver-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "mail: 1 sent, 0 to retry, 0 failed" in result.output
    assert mail_server.wait_for(1)[0].recipients == ("bob@example.org",)

    no_smtp = make_app().test_cli_runner().invoke(args=["debatebox", "deliver-mail", "--once"])
    assert no_smtp.exit_code != 0 and "Set DEBATEBOX_SMTP_URL" in no_smtp.output
    assert len(mail_server.messages) == 1


def mail_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "debatebox-mail" and t.is_alive()}


@pytest.fixture
def threaded_site(make_app: Callable[..., Flask], mail_server: MailServer) -> Iterator[Flask]:
    earlier = mail_threads()
    app = make_app(DEBATEBOX_SMTP_URL=mail_server.url, DEBATEBOX_MAIL_DELIVERY="thread")
    yield app
    state_of(app).mail_sender.stop()
    assert mail_threads() <= earlier, "the app's mail thread still runs after stop()"


def test_the_in_process_sender_delivers_by_itself(
    threaded_site: Flask, mail_server: MailServer
) -> None:
    assert state_of(threaded_site).mail_sender is not None
    ask(threaded_site, "bob@example.org")  # nobody calls run_once in this test
    (confirmation,) = mail_server.wait_for(1, timeout=10)
    assert confirmation.recipients == ("bob@example.org",)
    found = CONFIRM_LINK.search(text_of(confirmation.message))
    assert found
    client = threaded_site.test_client()
    token = CSRF.search(client.get(found.group(1)).get_data(as_text=True))
    assert token
    assert client.post(found.group(1), data={"csrf_token": token.group(1)}).status_code == 200

    Api(threaded_site.test_client()).posted(body="Heard at once.")
    received = mail_server.wait_for(2, timeout=10)
    assert "Heard at once." in text_of(received[1].message)
    state_of(threaded_site).mail_sender.stop()
    assert not mail_threads() & {state_of(threaded_site).mail_sender._thread}
    assert len(mail_server.messages) == 2


def test_delivered_messages_carry_every_header_and_unicode_intact(
    make_app: Callable[..., Flask], mail_server: MailServer
) -> None:
    app = make_app(
        DEBATEBOX_SMTP_URL=mail_server.url,
        DEBATEBOX_MAIL_FROM="Débats du Café <noreply@example.org>",
        DEBATEBOX_MAIL_REPLY_TO="team@example.org",
    )
    title = "Städte ohne Autos — 🚲"
    confirmed(app, mail_server, "bob@example.org", title=title)
    Api(app.test_client()).posted(body="Mehr Platz für Räder 🚲.", name="Zoë Łukasiewicz")
    assert run(app).sent == 1
    confirmation, note = mail_server.wait_for(2)
    ids = {row.message_id for row in rows(app)}
    for received in (confirmation, note):
        message = received.message
        assert message["From"] == "Débats du Café <noreply@example.org>"
        assert message["Reply-To"] == "team@example.org"
        assert message["To"] == "bob@example.org"
        assert message["Message-ID"] in ids and message["Message-ID"].endswith("@comments.test>")
        sent = parsedate_to_datetime(message["Date"])
        assert sent.tzinfo is not None
        assert abs(sent - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["List-Unsubscribe"].startswith(
            "<http://comments.test/debatebox/subscriptions/unsubscribe/"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert title in message["Subject"]
    assert note.message["Subject"] == f"New comment on “{title}”"
    text = text_of(note.message)
    assert "Zoë Łukasiewicz" in text and "Mehr Platz für Räder 🚲." in text
    html = note.message.get_body(("html",))
    assert html is not None and "Zoë Łukasiewicz" in str(html.get_content())
