"""Moderators' decisions on held comments.

Approving publishes a held comment exactly as if it had been published when posted:
it gets its number, the thread's counters move, and the subscribers' notifications are
queued in the same transaction. Its author is told when ``NOTIFY_AUTHORS`` is on.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from . import signals, subscriptions
from .comments import lock_thread, publish
from .database import write
from .errors import Conflict, NotFound
from .models import APPROVED, PENDING, Comment, Thread
from .state import DebateBoxState


def approve(state: DebateBoxState, session: Session, comment_id: int) -> Comment:
    """Publish a held comment; 409 if it is not held (already decided)."""
    effects: subscriptions.Effects = []

    def work(session: Session) -> tuple[Comment, Thread]:
        effects.clear()
        comment = session.get(Comment, comment_id, populate_existing=True)
        if comment is None:
            raise NotFound("There is no such comment.")
        key = session.get(Thread, comment.thread_id)
        assert key is not None
        thread = lock_thread(session, key.key)
        assert thread is not None
        session.refresh(comment)
        if comment.status != PENDING:
            raise Conflict("This comment is not awaiting moderation.", code="not_held")
        if comment.parent_id is not None:
            parent = session.get(Comment, comment.parent_id)
            if parent is None or parent.status != APPROVED:
                raise Conflict(
                    "The comment it replies to is not published.", code="parent_not_published"
                )
        publish(session, thread, comment)
        session.flush()
        subscriptions.on_published(state, session, thread, comment, effects)
        subscriptions.author_notice(state, session, thread, comment, effects)
        return comment, thread

    comment, thread = write(session, work)
    signals.comment_approved.send(state.sender, comment=comment, thread=thread)
    subscriptions.fire(state, effects)
    return comment
