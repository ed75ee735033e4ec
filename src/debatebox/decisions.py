"""Moderators' decisions, and the emails that let moderators decide from their inbox.

A decision is one of ``approve`` (publish a held comment), ``reject`` (a held comment
never appears), ``spam`` and ``delete`` (take any comment down). Approving publishes
exactly as if the comment had been published when posted: it gets its number, the
thread's counters move, and the subscribers' notifications are queued in the same
transaction (its author is told when ``NOTIFY_AUTHORS`` is on). Taking a published
comment down leaves a tombstone while public replies hang below it.

Every held comment (and every new one with ``MODERATOR_EMAILS = "all"``) is mailed to
the addresses of ``DEBATEBOX_MODERATORS`` with one signed link per decision. A link's
token is bound to its action, its comment and the status the comment had when the email
was written, so it is useless once anyone decided; it expires after
``MODERATION_LINK_MAX_AGE``. Opening a link only shows a page; its button decides.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy.orm import Session

from . import screening, signals, subscriptions, threads, tokens
from .akismet import AkismetUnavailable
from .comments import publish
from .database import write
from .errors import Conflict, NotFound
from .models import APPROVED, DELETED, SPAM, Comment, Thread, audit, set_status
from .moderation import ACTIONS, ALLOWED_FROM
from .state import DebateBoxState
from .threads import lock_comment
from .tokens import TokenInvalid

log = logging.getLogger("debatebox.moderation")

_SIGNALS = {
    "approve": signals.comment_approved,
    "reject": signals.comment_rejected,
    "spam": signals.comment_marked_spam,
    "delete": signals.comment_deleted,
}


def decide(
    state: DebateBoxState, session: Session, comment_id: int, action: str, *, by: str = ""
) -> Comment:
    """Take ``action`` on a comment; 409 ``already_decided`` when its status forbids it."""
    if action not in ACTIONS:
        raise NotFound("There is no such decision.")
    effects: subscriptions.Effects = []

    def work(session: Session) -> tuple[Comment, Thread]:
        effects.clear()
        tombstone.clear()
        comment, thread = lock_comment(session, comment_id)
        if comment.status not in ALLOWED_FROM[action]:
            raise Conflict(
                f"This comment is {comment.status} already; nothing was changed.",
                code="already_decided",
            )
        if action == "approve":
            _approve(state, session, thread, comment, effects)
        else:
            set_status(thread, comment, SPAM if action == "spam" else DELETED)
        session.add(audit(by, action, comment_id=comment.id, thread_id=thread.id))
        session.flush()
        tombstone.append(action == "delete" and threads.has_public_replies(session, comment))
        return comment, thread

    tombstone: list[bool] = []
    comment, thread = write(session, work)
    arguments: dict[str, Any] = {"comment": comment, "thread": thread, "moderator": by}
    if action == "delete":
        arguments["tombstone"] = tombstone[-1]
    _SIGNALS[action].send(state.sender, **arguments)
    subscriptions.fire(state, effects)
    _correct_akismet(state, comment, thread, action)
    return comment


def _correct_akismet(state: DebateBoxState, comment: Comment, thread: Thread, action: str) -> None:
    """Tell Akismet when a moderator overrides its verdict (submit-ham / submit-spam)."""
    said = screening.akismet_said(comment)
    if said is None or (action, said) not in (("approve", True), ("spam", False)):
        return
    origin = "/".join(thread.url.split("/")[:3]) if thread.url else ""
    client = screening.akismet_client(state, origin or "http://localhost")
    if client is None:
        return
    report = screening.akismet_comment(
        comment,
        ip=comment.ip,
        user_agent=comment.user_agent,
        referrer=comment.referrer,
        permalink=thread.url,
    )
    try:
        (client.submit_ham if action == "approve" else client.submit_spam)(report)
    except AkismetUnavailable as error:
        log.warning("debatebox: could not tell Akismet about comment %s: %s", comment.id, error)


def _approve(
    state: DebateBoxState,
    session: Session,
    thread: Thread,
    comment: Comment,
    effects: subscriptions.Effects,
) -> None:
    if comment.parent_id is not None:
        parent = session.get(Comment, comment.parent_id)
        if parent is None or parent.status != APPROVED:
            raise Conflict(
                "The comment it replies to is not published.", code="parent_not_published"
            )
    if comment.number is not None:  # published once, then marked spam: back in place
        set_status(thread, comment, APPROVED)
        return
    publish(session, thread, comment)
    session.flush()
    subscriptions.on_published(state, session, thread, comment, effects)
    subscriptions.author_notice(state, session, thread, comment, effects)


def approve(state: DebateBoxState, session: Session, comment_id: int) -> Comment:
    """Publish a held comment (``decide(…, "approve")``)."""
    return decide(state, session, comment_id, "approve")


# Moderators' links -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Link:
    """What a moderation link asks for."""

    comment: Comment
    thread: Thread
    action: str


def read_link(state: DebateBoxState, session: Session, token: str) -> Link:
    """The decision a moderation link stands for; raises TokenInvalid/TokenExpired, and
    Conflict when the comment's status changed since the email was written."""
    payload, _age = state.signer.loads(
        tokens.MODERATE, token, max_age=state.settings.moderation_link_max_age
    )
    if (
        not isinstance(payload, dict)
        or type(payload.get("c")) is not int
        or payload.get("a") not in ACTIONS
        or not isinstance(payload.get("s"), str)
    ):
        raise TokenInvalid("The token is not valid.")
    comment = session.get(Comment, payload["c"])
    if comment is None:
        raise NotFound("There is no such comment.")
    if comment.status != payload["s"]:
        raise Conflict(
            f"This comment is {comment.status} now: someone decided already.",
            code="already_decided",
        )
    thread = session.get(Thread, comment.thread_id)
    assert thread is not None
    return Link(comment, thread, payload["a"])
