"""The mail outbox: emails are queued in the caller's transaction and delivered later.

Queueing (:func:`queue`) only adds a row to ``debatebox_outbox`` in the session of the
event that causes the email, so the email exists exactly when the event was committed,
and a comment is stored and answered even when the mail server is down.

Delivery (:func:`deliver_due`) is safe with any number of workers at once:

1. *claim* a batch of due rows in one short write transaction (``FOR UPDATE SKIP
   LOCKED`` on PostgreSQL and MariaDB; SQLite writes one at a time anyway), marking
   them ``sending`` by this worker until a lease runs out;
2. send each over SMTP;
3. record the outcome, only if the row is still this worker's: ``sent``; a temporary
   failure (connection refused, 4xx) puts it back in the queue with exponential
   backoff, until ``MAIL_MAX_ATTEMPTS``; a permanent failure (5xx) is ``failed`` at once,
   with the server's answer kept in ``last_error``.

A worker that dies between 1 and 3 leaves ``sending`` rows whose lease runs out; another
worker claims them again. Only a crash after the SMTP server accepted a message and
before step 3 can send it twice, and then with the same ``Message-ID``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .config import Settings
from .database import write
from .models import FAILED, QUEUED, SENDING, SENT, OutboxMessage, utcnow
from .smtp import PermanentFailure, TemporaryFailure

#: Seconds a claimed row belongs to its worker before another may take it over.
LEASE_SECONDS = 300
#: Longest wait between two attempts.
MAX_BACKOFF = 24 * 60 * 60
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def one_line(text: str, limit: int = 200) -> str:
    """``text`` fit for an email header: line breaks and control characters become spaces."""
    return _LINE_BREAKS.sub(" ", text).strip()[:limit]


def queue(
    session: Session,
    *,
    kind: str,
    dedup_key: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    headers: Mapping[str, str] | None = None,
    domain: str = "debatebox.invalid",
) -> OutboxMessage | None:
    """Add an email to the outbox in ``session``'s transaction (the caller commits).

    Returns ``None`` when a message with the same ``dedup_key`` (one per recipient and
    event) is already queued or sent.
    """
    dedup_key = dedup_key[:190]
    if session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)):
        return None
    message = OutboxMessage(
        dedup_key=dedup_key,
        kind=kind,
        recipient=one_line(recipient, 254),
        subject=one_line(subject, 500),
        body_text=text,
        body_html=html,
        headers=json.dumps({name: one_line(value, 900) for name, value in (headers or {}).items()}),
        message_id=make_msgid("debatebox", domain=one_line(domain, 100) or None),
        status=QUEUED,
        attempts=0,
        due_at=utcnow(),
        last_error="",
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def build(row: OutboxMessage, settings: Settings) -> EmailMessage:
    """The email of an outbox row, with the site's From and Reply-To."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.recipient
    if settings.mail_reply_to:
        message["Reply-To"] = settings.mail_reply_to
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at.replace(tzinfo=dt.timezone.utc))
    message["Auto-Submitted"] = "auto-generated"
    for name, value in json.loads(row.headers or "{}").items():
        message[name] = value
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


@dataclasses.dataclass
class Report:
    """What one :func:`deliver_due` call did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed


def claim(
    session: Session, worker: str, *, batch: int = 50, now: dt.datetime | None = None
) -> list[OutboxMessage]:
    """Take up to ``batch`` due rows for ``worker`` (see the module docstring)."""
    now = now or utcnow()
    # Two queries, each walking one range of the (status, due_at) index in order: on
    # MariaDB one OR-ed query is sorted after the scan, and InnoDB then locks every row
    # it read, so a second worker's SKIP LOCKED would find nothing.
    queued = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
    )
    abandoned = sa.select(OutboxMessage).where(
        OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now
    )

    def work(session: Session) -> list[OutboxMessage]:
        rows: list[OutboxMessage] = []
        for query in (abandoned, queued):
            if len(rows) < batch:
                rows.extend(
                    session.scalars(
                        query.limit(batch - len(rows))
                        .with_for_update(skip_locked=True)
                        .execution_options(populate_existing=True)
                    )
                )
        for row in rows:
            row.status = SENDING
            row.claimed_by = worker
            row.claimed_until = now + dt.timedelta(seconds=LEASE_SECONDS)
            row.attempts += 1
        return rows

    rows = write(session, work)
    for row in rows:
        session.expunge(row)
    return rows


def _record(session: Session, row: OutboxMessage, worker: str, **values: Any) -> None:
    def work(session: Session) -> None:
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None, **values)
        )

    write(session, work)


def deliver_due(
    session: Session,
    settings: Settings,
    transport: Transport,
    worker: str,
    *,
    batch: int = 50,
    now: Callable[[], dt.datetime] = utcnow,
    due_by: dt.datetime | None = None,
) -> Report:
    """Claim one batch of due messages, send them and record each outcome.

    ``due_by``: only messages due at that time (a pass gives its start, so a message
    that failed during the pass and is due again already waits for the next pass).
    """
    report = Report()
    current = now()
    for row in claim(session, worker, batch=batch, now=min(current, due_by or current)):
        try:
            transport.send(build(row, settings))
        except TemporaryFailure as error:
            if row.attempts >= settings.mail_max_attempts:
                report.failed += 1
                _record(session, row, worker, status=FAILED, last_error=str(error)[:500])
            else:
                report.retried += 1
                wait = min(MAX_BACKOFF, settings.mail_retry_delay * 2 ** (row.attempts - 1))
                due = now() + dt.timedelta(seconds=wait)
                _record(
                    session, row, worker, status=QUEUED, due_at=due, last_error=str(error)[:500]
                )
        except (PermanentFailure, ValueError) as error:
            # ValueError: the message itself cannot be written (a broken address).
            report.failed += 1
            _record(session, row, worker, status=FAILED, last_error=str(error)[:500])
        else:
            report.sent += 1
            _record(session, row, worker, status=SENT, sent_at=now(), last_error="")
    return report


def next_due(session: Session) -> dt.datetime | None:
    """When the earliest queued message is due, or ``None`` when none waits."""
    return session.scalar(
        sa.select(sa.func.min(OutboxMessage.due_at)).where(OutboxMessage.status == QUEUED)
    )
