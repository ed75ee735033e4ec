"""Whether a new comment is published at once or held for a moderator.

The decision is one function so that every entry point (JSON API, forms, imports)
applies the same policy. Moderators' tools (queue, approve, reject) build on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import APPROVED, PENDING, SPAM, Comment

#: A moderator's decisions, and the statuses each may be taken from.
ACTIONS = ("approve", "reject", "spam", "delete")
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "approve": (PENDING, SPAM),
    "reject": (PENDING,),
    "spam": (PENDING, APPROVED),
    "delete": (PENDING, APPROVED, SPAM),
}


def initial_status(session: Session, mode: str, email: str | None) -> str:
    """``approved`` or ``pending`` for a new comment under moderation ``mode``.

    ``open`` publishes, ``all`` holds, and ``first-time`` holds until an earlier comment
    with the same email address has been approved.
    """
    if mode == "open":
        return APPROVED
    if mode == "first-time" and email:
        known = session.execute(
            sa.select(Comment.id).where(Comment.email == email, Comment.status == APPROVED).limit(1)
        ).first()
        return APPROVED if known else PENDING
    return PENDING
