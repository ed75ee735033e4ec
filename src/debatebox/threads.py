"""Reading threads: one page of a discussion, and comment counts for many threads.

A page costs three queries whatever the thread's size: the thread row, one page of
top-level comments (by number, with a cursor) and every public reply below them (a
range of the same numbers, since a reply carries its root's number).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import tree
from .config import Settings
from .errors import NotFound, ValidationError
from .models import APPROVED, DELETED, Comment, Thread, utcnow

PUBLIC = (APPROVED, DELETED)
_COLUMNS = (
    Comment.id,
    Comment.parent_id,
    Comment.depth,
    Comment.number,
    Comment.reply_number,
    Comment.author_name,
    Comment.website,
    Comment.author_hash,
    Comment.body_html,
    Comment.status,
    Comment.created_at,
    Comment.edited_at,
)
#: The most thread keys one counts request may name.
MAX_COUNT_KEYS = 100


@dataclasses.dataclass(frozen=True)
class ThreadInfo:
    id: int
    key: str
    title: str
    url: str
    closed: bool
    count: int
    version: int


@dataclasses.dataclass
class Page:
    """One page of a thread: nested comments and where the next page starts."""

    roots: list[dict[str, Any]]
    next_cursor: str | None


def find(session: Session, key: str, close_after_days: int = 0) -> ThreadInfo | None:
    """The thread ``key``; ``closed`` also when it is older than ``close_after_days``."""
    row = session.execute(
        sa.select(
            Thread.id,
            Thread.key,
            Thread.title,
            Thread.url,
            Thread.closed,
            Thread.comment_count,
            Thread.version,
            Thread.created_at,
        ).where(Thread.key == key)
    ).first()
    if row is None:
        return None
    closed = is_closed(row.closed, row.created_at, close_after_days)
    return ThreadInfo(row.id, row.key, row.title, row.url, closed, row.comment_count, row.version)


def is_closed(closed: bool, created_at: dt.datetime, close_after_days: int) -> bool:
    """Closed by hand, or older than ``close_after_days`` (0: threads never close alone)."""
    if closed:
        return True
    return bool(close_after_days) and utcnow() - created_at > dt.timedelta(days=close_after_days)


def parse_cursor(cursor: str | None) -> int | None:
    if cursor in (None, ""):
        return None
    assert cursor is not None
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 9:
        raise ValidationError("The cursor is not valid.", fields={"cursor": "Not a cursor."})
    return int(cursor)


def page(
    session: Session,
    thread: ThreadInfo,
    *,
    sort: str,
    limit: int,
    cursor: int | None,
    max_depth: int,
    with_email: bool = False,
) -> Page:
    """Top-level comments ``limit`` at a time, each with all its public replies."""
    columns = (*_COLUMNS, Comment.email) if with_email else _COLUMNS
    newest = sort == "newest"
    query = sa.select(*columns).where(
        Comment.thread_id == thread.id, Comment.reply_number == 0, Comment.status.in_(PUBLIC)
    )
    if cursor is not None:
        query = query.where(Comment.number < cursor if newest else Comment.number > cursor)
    query = query.order_by(Comment.number.desc() if newest else Comment.number).limit(limit + 1)
    conn = session.connection()  # plain Core rows: no ORM loading on the hot path
    roots = _nodes(conn.execute(query))
    more = len(roots) > limit
    roots = roots[:limit]
    if not roots:
        return Page([], None)
    numbers = [node["number"] for node in roots]
    low, high = min(numbers), max(numbers)
    reply_query = sa.select(*columns).where(
        Comment.thread_id == thread.id, Comment.reply_number > 0, Comment.status.in_(PUBLIC)
    )
    if cursor is not None or more:
        reply_query = reply_query.where(Comment.number.between(low, high))
    replies = _nodes(conn.execute(reply_query.order_by(Comment.number, Comment.reply_number)))
    nested = tree.assemble(roots, replies, max_depth=max_depth)
    return Page(nested, str(numbers[-1]) if more else None)


def root_number(session: Session, thread_id: int, comment_id: int) -> int | None:
    """The number of the top-level comment whose branch holds public ``comment_id``."""
    found = session.execute(
        sa.select(Comment.number).where(
            Comment.id == comment_id, Comment.thread_id == thread_id, Comment.status.in_(PUBLIC)
        )
    ).scalar()
    return None if found is None else int(found)


def page_of(
    session: Session,
    settings: Settings,
    thread: ThreadInfo | None,
    *,
    sort: str,
    limit: int,
    cursor: int | None,
) -> Page:
    """:func:`page` with the application's depth and avatar settings; empty for no thread."""
    if thread is None:
        return Page([], None)
    return page(
        session,
        thread,
        sort=sort,
        limit=limit,
        cursor=cursor,
        max_depth=settings.max_depth,
        with_email=settings.gravatar,
    )


def _nodes(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    keys = list(result.keys())
    nodes = [dict(zip(keys, row, strict=True)) for row in result.fetchall()]
    for node in nodes:
        node["deleted"] = node["status"] == DELETED
    return nodes


def has_public_replies(session: Session, comment: Comment) -> bool:
    """Whether a published comment hangs anywhere below ``comment``.

    This decides whether a deleted comment is shown as a tombstone.
    """
    root_id = comment.root_id or comment.id
    rows = session.execute(
        sa.select(Comment.id, Comment.parent_id, Comment.status).where(
            Comment.thread_id == comment.thread_id, Comment.root_id == root_id
        )
    ).all()
    children: dict[int | None, list[tuple[int, str]]] = {}
    for row_id, parent_id, status in rows:
        children.setdefault(parent_id, []).append((row_id, status))
    stack = [comment.id]
    while stack:
        for child_id, status in children.get(stack.pop(), ()):
            if status == APPROVED:
                return True
            stack.append(child_id)
    return False


def counts(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """Published comments for each key, in one query; unknown keys count 0."""
    unique = list(dict.fromkeys(keys))
    rows = (
        session.execute(
            sa.select(Thread.key, Thread.comment_count).where(Thread.key.in_(unique))
        ).all()
        if unique
        else []
    )
    found = {key: count for key, count in rows}
    return {key: found.get(key, 0) for key in unique}


# Locking for writers --------------------------------------------------------------


def lock_thread(session: Session, key: str) -> Thread | None:
    return session.scalars(
        sa.select(Thread)
        .where(Thread.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lock_comment(session: Session, comment_id: int) -> tuple[Comment, Thread]:
    """A comment and its thread, the thread locked (call in a write); 404 if unknown.

    The comment is read again once the thread is locked, with a locking read: on MariaDB
    a plain read would come from the transaction's snapshot, taken before the lock, and
    miss a change committed meanwhile.
    """
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("There is no such comment.")
    thread = session.get(Thread, comment.thread_id, with_for_update=True, populate_existing=True)
    assert thread is not None
    session.refresh(comment, with_for_update=True)  # as it is now that its thread is locked
    return comment, thread
