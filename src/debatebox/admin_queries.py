"""What the admin pages read: the moderation queue, one comment in full, bans, threads
and the audit log. Nothing here writes.

Every list is a keyset page (``limit + 1`` rows, newest first, a cursor naming the last
row shown), so a page costs the same on the first page of a 100,000-comment site as on
its last. The queue of one status walks the index ``(status, created_at)``; the
"reported" tab starts from the report rows, which are few. Tab sizes are counted up to
:data:`COUNT_CAP` only, so no request counts a whole table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import bans
from .models import (
    APPROVED,
    DELETED,
    PENDING,
    SPAM,
    AuditEntry,
    Ban,
    Comment,
    Report,
    Thread,
)
from .screening import StoredVerdict, read_verdicts

if TYPE_CHECKING:
    from typing_extensions import Unpack

#: The queue's tabs, in the order they are shown.
TABS = ("held", "reported", "spam", "published", "deleted")
_TAB_STATUS = {"held": PENDING, "spam": SPAM, "published": APPROVED, "deleted": DELETED}
#: Tabs whose size is shown (counted up to COUNT_CAP): the ones a moderator works through.
COUNTED_TABS = ("held", "reported", "spam")
COUNT_CAP = 1000
PAGE_SIZE = 50
#: Other comments by the same email shown on a comment's page.
HISTORY_SIZE = 20
#: Reports shown on a comment's page.
REPORTS_SIZE = 50

_QUEUE_COLUMNS = (
    Comment.id,
    Comment.thread_id,
    Comment.parent_id,
    Comment.author_name,
    Comment.email,
    Comment.website,
    Comment.body_html,
    Comment.status,
    Comment.created_at,
    Comment.report_count,
    Comment.ip,
    Thread.key.label("thread_key"),
    Thread.title.label("thread_title"),
)


@dataclasses.dataclass(frozen=True)
class Filters:
    """The queue's filters; empty strings filter nothing."""

    #: A thread key, exactly.
    thread: str = ""
    #: Text the comment's source contains (case-insensitive).
    text: str = ""
    #: The author's email address (stored lower-cased).
    email: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "thread", self.thread.strip()[:255])
        object.__setattr__(self, "text", self.text.strip()[:200])
        object.__setattr__(self, "email", self.email.strip().lower()[:254])

    def as_query(self) -> dict[str, str]:
        return {name: value for name, value in dataclasses.asdict(self).items() if value}


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list and the cursor of the next one (``None`` on the last page)."""

    rows: list[Any]
    next_cursor: str | None


# Cursors ------------------------------------------------------------------------------


def _time_cursor(when: dt.datetime, row_id: int) -> str:
    return f"{when.strftime('%Y%m%d%H%M%S%f')}.{row_id}"


def _parse_time_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """``None`` for no cursor or one this module did not make (the first page is shown)."""
    if not cursor or len(cursor) > 40 or cursor.count(".") != 1:
        return None
    when, _, row_id = cursor.partition(".")
    digits = when.isascii() and when.isdigit() and row_id.isascii() and row_id.isdigit()
    if not digits or len(row_id) > 9:
        return None
    try:
        return dt.datetime.strptime(when, "%Y%m%d%H%M%S%f"), int(row_id)
    except ValueError:
        return None


def parse_int(raw: str | None) -> int | None:
    """A whole number written in at most 9 ASCII digits (so it fits every database's
    INT), else ``None``: the id cursors of the lists below, the ids and days forms send."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _split(rows: list[Any], limit: int, cursor_of: Any) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, cursor_of(rows[-1]) if more and rows else None)


def _id_page(
    session: Session,
    query: sa.Select[Unpack[tuple[Any, ...]]],
    id_column: Any,
    cursor: str | None,
    limit: int,
    *,
    entities: bool,
) -> Page:
    """A keyset page of ``query`` by ``id_column``, newest (highest id) first; the cursor
    is the last id shown. ``entities``: the query selects one mapped class (its objects
    are the rows), else the rows are the selected columns."""
    before = parse_int(cursor)
    if before is not None:
        query = query.where(id_column < before)
    result = session.execute(query.order_by(id_column.desc()).limit(limit + 1))
    rows = list(result.scalars() if entities else result.all())
    return _split(rows, limit, lambda row: str(row.id))


# The queue ----------------------------------------------------------------------------


def _reported() -> sa.ColumnElement[bool]:
    return sa.and_(
        Comment.id.in_(sa.select(Report.comment_id)),
        Comment.report_count > 0,
        Comment.status != DELETED,
    )


def _tab_condition(tab: str) -> sa.ColumnElement[bool]:
    if tab == "reported":
        return _reported()
    return Comment.status == _TAB_STATUS[tab]


def queue(
    session: Session,
    tab: str,
    filters: Filters,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of a tab's comments, newest first, with their threads' key and title."""
    if tab not in TABS:
        raise ValueError(f"tab must be one of {TABS}")
    query = (
        sa.select(*_QUEUE_COLUMNS)
        .join(Thread, Thread.id == Comment.thread_id)
        .where(_tab_condition(tab))
    )
    if filters.thread:
        query = query.where(Thread.key == filters.thread)
    if filters.email:
        query = query.where(Comment.email == filters.email)
    if filters.text:
        query = query.where(Comment.body_source.icontains(filters.text, autoescape=True))
    after = _parse_time_cursor(cursor)
    if after is not None:
        when, last_id = after
        query = query.where(
            Comment.created_at <= when,
            sa.or_(Comment.created_at < when, Comment.id < last_id),
        )
    query = query.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit + 1)
    rows = list(session.execute(query).all())
    return _split(rows, limit, lambda row: _time_cursor(row.created_at, row.id))


def tab_counts(session: Session) -> dict[str, int]:
    """The size of each of :data:`COUNTED_TABS`, at most :data:`COUNT_CAP`, in one query."""
    columns = [
        sa.select(sa.func.count())
        .select_from(sa.select(Comment.id).where(_tab_condition(tab)).limit(COUNT_CAP).subquery())
        .scalar_subquery()
        .label(tab)
        for tab in COUNTED_TABS
    ]
    row = session.execute(sa.select(*columns)).one()
    return {tab: int(value) for tab, value in zip(COUNTED_TABS, row, strict=True)}


# One comment --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Detail:
    """A comment with everything a moderator looks at before deciding."""

    comment: Comment
    thread: Thread
    #: The spam checks' verdicts stored with the comment.
    verdicts: list[StoredVerdict]
    #: ``Comment.verdicts`` when it is not a list of verdicts (shown as text).
    verdicts_raw: str
    reports: list[Report]
    #: The author's other comments (same email), newest first, at most HISTORY_SIZE.
    history: list[Any]
    #: How many comments the author's email has in each status.
    history_counts: dict[str, int]
    #: The active ban that matches the author's address or email, if any.
    ban: Ban | None


def author(session: Session, comment_id: int) -> tuple[str | None, str] | None:
    """A comment's ``email`` and ``ip`` (what a ban from its page needs), or ``None``
    when there is no such comment: one read."""
    row = session.execute(
        sa.select(Comment.email, Comment.ip).where(Comment.id == comment_id)
    ).first()
    return None if row is None else (row.email, row.ip)


def detail(session: Session, comment_id: int) -> Detail | None:
    """Everything about one comment, or ``None`` when there is no such comment."""
    found = session.execute(
        sa.select(Comment, Thread)
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Comment.id == comment_id)
    ).first()
    if found is None:
        return None
    comment, thread = found
    verdicts, raw = read_verdicts(comment.verdicts or "")
    reports = list(
        session.scalars(
            sa.select(Report)
            .where(Report.comment_id == comment.id)
            .order_by(Report.id.desc())
            .limit(REPORTS_SIZE)
        )
    )
    history: list[Any] = []
    counts: dict[str, int] = {}
    if comment.email:
        history = list(
            session.execute(
                sa.select(
                    Comment.id,
                    Comment.status,
                    Comment.created_at,
                    Comment.body_source,
                    Thread.key.label("thread_key"),
                )
                .join(Thread, Thread.id == Comment.thread_id)
                .where(Comment.email == comment.email, Comment.id != comment.id)
                .order_by(Comment.created_at.desc(), Comment.id.desc())
                .limit(HISTORY_SIZE)
            ).all()
        )
        counts = {
            str(status): int(number)
            for status, number in session.execute(
                sa.select(Comment.status, sa.func.count())
                .where(Comment.email == comment.email)
                .group_by(Comment.status)
            )
        }
    ban = bans.match(session, ip=comment.ip or None, email=comment.email)
    return Detail(comment, thread, verdicts, raw, reports, history, counts, ban)


# Bans, threads, the audit log ---------------------------------------------------------


def ban_list(session: Session, *, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Every ban, active or not, newest first."""
    return _id_page(session, sa.select(Ban), Ban.id, cursor, limit, entities=True)


def thread_list(
    session: Session, *, search: str = "", cursor: str | None = None, limit: int = PAGE_SIZE
) -> Page:
    """Threads, newest first; ``search`` finds a text in the key or the title."""
    query = sa.select(Thread)
    search = search.strip()[:200]
    if search:
        query = query.where(
            sa.or_(
                Thread.key.icontains(search, autoescape=True),
                Thread.title.icontains(search, autoescape=True),
            )
        )
    return _id_page(session, query, Thread.id, cursor, limit, entities=True)


def thread(session: Session, thread_id: int) -> Thread | None:
    return session.get(Thread, thread_id)


def audit_log(session: Session, *, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Audit entries, newest first, with their thread's key."""
    query = sa.select(
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.moderator,
        AuditEntry.action,
        AuditEntry.comment_id,
        AuditEntry.thread_id,
        AuditEntry.detail,
        Thread.key.label("thread_key"),
    ).outerjoin(Thread, Thread.id == AuditEntry.thread_id)
    return _id_page(session, query, AuditEntry.id, cursor, limit, entities=False)
