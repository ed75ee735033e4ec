"""The tables debatebox keeps, as SQLAlchemy declarative models.

They live on their own :class:`~sqlalchemy.MetaData` (not a host's ``db.Model``), every
table prefixed ``debatebox_``, so they can sit in a host's database without clashing and
are created only by the migrations shipped in :mod:`debatebox.migrations`.

Times are naive UTC. Counters on :class:`Thread` and on top-level comments let a read
cost a fixed number of queries and give numbers without counting rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Comment statuses. Only ``approved`` comments are public; ``deleted`` ones are kept as
#: tombstones while they have visible replies.
APPROVED = "approved"
PENDING = "pending"
SPAM = "spam"
DELETED = "deleted"
STATUSES = (APPROVED, PENDING, SPAM, DELETED)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
MYSQL_TABLE: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

#: Long text: MEDIUMTEXT on MariaDB/MySQL, where TEXT stops at 64 KB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
#: Microsecond timestamps everywhere (MariaDB's DATETIME keeps whole seconds otherwise).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
#: Thread keys are page paths: compared byte for byte, so ``/A`` and ``/a`` differ.
KeyString = sa.String(255).with_variant(
    mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


def utcnow() -> dt.datetime:
    """The current time as naive UTC, the form stored in every table."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Thread(Base):
    """The discussion under one page, found by its ``key``."""

    __tablename__ = "debatebox_thread"
    __table_args__ = (sa.UniqueConstraint("key"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(KeyString)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    url: Mapped[str] = mapped_column(sa.String(1000), default="")
    closed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: This thread's moderation mode; ``None`` follows ``DEBATEBOX_MODERATION``.
    moderation: Mapped[str | None] = mapped_column(sa.String(16))
    #: Published comments (tombstones excluded).
    comment_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: The number given to the latest published top-level comment.
    last_number: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Bumped by every change a reader could see; part of the ETag.
    version: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.key!r}>"


class Comment(Base):
    """One reader comment. ``email`` and ``ip`` never leave the server."""

    __tablename__ = "debatebox_comment"
    __table_args__ = (
        sa.UniqueConstraint("thread_id", "idempotency_key"),
        sa.UniqueConstraint("thread_id", "number", "reply_number"),
        sa.Index("ix_debatebox_comment_thread_root", "thread_id", "root_id"),
        sa.Index("ix_debatebox_comment_email", "email"),
        sa.Index("ix_debatebox_comment_status_created", "status", "created_at"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("debatebox_thread.id", ondelete="CASCADE"))
    #: The comment this one answers; ``None`` for a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("debatebox_comment.id"))
    #: The top-level comment of this discussion; ``None`` for a top-level comment.
    root_id: Mapped[int | None] = mapped_column(sa.ForeignKey("debatebox_comment.id"))
    #: Real nesting depth: 0 for top-level, parent's depth + 1 for a reply.
    depth: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Number of the top-level discussion (1, 2, 3 … in order of publication); a reply
    #: carries its root's number. ``None`` until published.
    number: Mapped[int | None] = mapped_column(sa.Integer)
    #: 0 for a top-level comment; k for the k-th published reply below the same root.
    reply_number: Mapped[int | None] = mapped_column(sa.Integer)
    #: On a top-level comment: the reply number given last below it.
    last_reply_number: Mapped[int] = mapped_column(sa.Integer, default=0)
    author_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Salted hash naming the author's identicon; reveals nothing about the email.
    author_hash: Mapped[str] = mapped_column(sa.String(32), default="")
    body_source: Mapped[str] = mapped_column(LongText)
    body_html: Mapped[str] = mapped_column(LongText)
    status: Mapped[str] = mapped_column(sa.String(16), default=APPROVED)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: The poster's address with its host part cut off (/24 for IPv4, /48 for IPv6).
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    #: Digest of the request that created the comment, to tell a retry from a reused key.
    request_digest: Mapped[str] = mapped_column(sa.String(64), default="")
    #: The spam checks' verdicts when it was posted, as JSON (for moderators).
    verdicts: Mapped[str] = mapped_column(sa.Text, default="")
    #: Sent to Akismet with the comment, and again when a moderator overrides it.
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    referrer: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Readers' reports, counted once per reader.
    report_count: Mapped[int] = mapped_column(sa.Integer, default=0)

    @property
    def label(self) -> str | None:
        """``"3"`` for the third top-level comment, ``"3.2"`` for the second reply below it."""
        if self.number is None:
            return None
        return str(self.number) if not self.reply_number else f"{self.number}.{self.reply_number}"

    def __repr__(self) -> str:
        return f"<Comment {self.id} thread={self.thread_id} {self.status}>"


def set_status(thread: Thread, comment: Comment, status: str) -> None:
    """Give ``comment`` a new ``status``; the thread's count of published comments and its
    version (part of the thread's ETag) follow. ``thread`` should be row-locked."""
    thread.comment_count += (status == APPROVED) - (comment.status == APPROVED)
    comment.status = status
    thread.version += 1


#: Subscription statuses: ``pending`` until the address confirms, then ``active``.
SUB_PENDING = "pending"
SUB_ACTIVE = "active"
#: Delivery modes: one email per new comment, or one a day listing them.
INSTANT = "instant"
DIGEST = "digest"
#: What a subscription follows: every new comment of the thread, or the replies to one
#: comment (scope ``replies:<id>``).
THREAD_SCOPE = "thread"


class Subscriber(Base):
    """An email address that subscribed to something. Confirmed once it proved it is read."""

    __tablename__ = "debatebox_subscriber"
    __table_args__ = (sa.UniqueConstraint("email"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    #: Lower-cased address.
    email: Mapped[str] = mapped_column(sa.String(254))
    #: When the address first clicked a confirmation link.
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: When the last confirmation email was queued (they are rate limited per address).
    confirmation_sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: Whether the address gets notices about its own comments (``NOTIFY_AUTHORS``);
    #: "unsubscribe from everything" turns them off.
    notices: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class Subscription(Base):
    """One address following one thread, or the replies to one comment."""

    __tablename__ = "debatebox_subscription"
    __table_args__ = (
        sa.UniqueConstraint("subscriber_id", "thread_id", "scope"),
        sa.Index("ix_debatebox_subscription_thread_status", "thread_id", "status"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("debatebox_subscriber.id", ondelete="CASCADE")
    )
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("debatebox_thread.id", ondelete="CASCADE"))
    #: ``thread`` or ``replies:<comment id>``.
    scope: Mapped[str] = mapped_column(sa.String(32))
    #: The comment whose replies are followed (scope ``replies:…``), else ``None``.
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("debatebox_comment.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=SUB_PENDING)
    mode: Mapped[str] = mapped_column(sa.String(16), default=INSTANT)
    #: Language of the emails (the widget's language when subscribing).
    lang: Mapped[str] = mapped_column(sa.String(8), default="en")
    #: Public URL of the comment server when the subscription was made, for email links.
    base_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: Daily digests: comments published after this time go into the next digest.
    digest_since: Mapped[dt.datetime | None] = mapped_column(Timestamp)


#: Outbox statuses.
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class OutboxMessage(Base):
    """An email waiting to be sent, written in the transaction of the event that caused it.

    Delivery workers claim rows for a while (``claimed_until``), so two workers never
    send the same row; a worker that dies leaves its rows to be claimed again later.
    """

    __tablename__ = "debatebox_outbox"
    __table_args__ = (
        sa.UniqueConstraint("dedup_key"),
        sa.Index("ix_debatebox_outbox_due", "status", "due_at"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    #: One message per (recipient, event): a second queueing of the same key is a no-op.
    dedup_key: Mapped[str] = mapped_column(sa.String(190))
    #: ``confirm``, ``notify``, ``digest``, ``published`` …
    kind: Mapped[str] = mapped_column(sa.String(32))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(500))
    body_text: Mapped[str] = mapped_column(LongText)
    body_html: Mapped[str] = mapped_column(LongText)
    #: Extra headers as JSON (``List-Unsubscribe`` …).
    headers: Mapped[str] = mapped_column(sa.Text, default="{}")
    message_id: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Not sent before this time (retries back off).
    due_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class Ban(Base):
    """A blocked IP range, email address or email domain, until ``expires_at``."""

    __tablename__ = "debatebox_ban"
    __table_args__ = (sa.Index("ix_debatebox_ban_kind_value", "kind", "value"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    #: ``ip`` (an address or CIDR network), ``email`` or ``domain``.
    kind: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[str] = mapped_column(sa.String(254))
    #: ``hold`` or ``reject`` what matches.
    action: Mapped[str] = mapped_column(sa.String(16), default="hold")
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class Report(Base):
    """A reader's report of a comment; one per reader (token or address) and comment."""

    __tablename__ = "debatebox_report"
    __table_args__ = (sa.UniqueConstraint("comment_id", "reporter"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("debatebox_comment.id", ondelete="CASCADE")
    )
    #: ``spam``, ``abuse``, ``off-topic`` or ``other``.
    reason: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: A keyed hash naming the reader (by reader token, else by address); reveals
    #: neither.
    reporter: Mapped[str] = mapped_column(sa.String(64))
    #: A keyed hash of the reporting address, so one reader counts once either way.
    address_key: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


#: The longest ``moderator`` and ``detail`` an audit entry keeps (the columns' sizes).
AUDIT_BY_LENGTH = 100
AUDIT_DETAIL_LENGTH = 500


class AuditEntry(Base):
    """One moderator action: who, what, when."""

    __tablename__ = "debatebox_audit"
    __table_args__ = (sa.Index("ix_debatebox_audit_at", "at"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    moderator: Mapped[str] = mapped_column(sa.String(AUDIT_BY_LENGTH))
    action: Mapped[str] = mapped_column(sa.String(32))
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("debatebox_comment.id", ondelete="SET NULL")
    )
    thread_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("debatebox_thread.id", ondelete="SET NULL")
    )
    detail: Mapped[str] = mapped_column(sa.String(AUDIT_DETAIL_LENGTH), default="")


def audit(
    by: str,
    action: str,
    *,
    comment_id: int | None = None,
    thread_id: int | None = None,
    detail: str = "",
) -> AuditEntry:
    """An audit entry for ``action`` taken now by ``by`` (``"system"`` when empty), cut to
    its columns' sizes, so a host's long moderator name cannot make the write fail."""
    return AuditEntry(
        at=utcnow(),
        moderator=(by or "system")[:AUDIT_BY_LENGTH],
        action=action,
        comment_id=comment_id,
        thread_id=thread_id,
        detail=detail[:AUDIT_DETAIL_LENGTH],
    )


class Admin(Base):
    """An administrator of the standalone server (``debatebox create-admin``)."""

    __tablename__ = "debatebox_admin"
    __table_args__ = (sa.UniqueConstraint("username"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80))
    #: A salted hash (werkzeug.security); never the password.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
