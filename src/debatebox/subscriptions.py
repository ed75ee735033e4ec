"""The subscription service: double opt-in, notifications, digests and unsubscribing.

Rules kept here, whatever the entry point:

* A subscription starts ``pending``; only a click on the link of its confirmation email
  makes it ``active``. Nothing but confirmation emails ever goes to a pending one.
* A reader who proves the address with the *reader token* (handed to the widget after
  a confirmation) subscribes again without a new confirmation. A request for the same
  address without it sends a new confirmation, whoever made it.
* Confirmation emails to one address: at most one per ``CONFIRM_INTERVAL``. Callers
  answer alike whether or not the address is known, confirmed or rate limited.
* Notifications are queued in the transaction that publishes a comment, never for a
  held one, never to its author, one email per address and comment at most.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import notices, signals, tokens
from .database import write
from .errors import Forbidden, NotFound, ValidationError
from .models import (
    APPROVED,
    DIGEST,
    INSTANT,
    SUB_ACTIVE,
    SUB_PENDING,
    THREAD_SCOPE,
    Comment,
    OutboxMessage,
    Subscriber,
    Subscription,
    Thread,
    utcnow,
)
from .state import DebateBoxState
from .tokens import TokenInvalid
from .validation import check_page_url, parse_subscription

#: Digests go out at most this often per address.
DIGEST_PERIOD = dt.timedelta(days=1)
#: Comments listed per thread in one digest.
DIGEST_LIMIT = 50

Effects = list[tuple[Any, dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Target:
    """What a subscription request follows, once checked."""

    thread: Thread
    comment: Comment | None


def scope_of(comment_id: int | None) -> str:
    return f"replies:{comment_id}" if comment_id else THREAD_SCOPE


def fire(state: DebateBoxState, effects: Effects) -> None:
    """Send the signals a committed transaction collected, and wake mail delivery."""
    for signal, arguments in effects:
        signal.send(state.sender, **arguments)
    if any(signal is signals.notification_queued for signal, _ in effects):
        state.mail_queued()


def proven(state: DebateBoxState, session: Session, reader_token: str | None, email: str) -> bool:
    """Whether ``reader_token`` proves that the caller reads ``email``."""
    if not reader_token:
        return False
    try:
        subscriber_id = state.signer.check_subscriber_token(
            tokens.READER, reader_token, max_age=state.settings.reader_max_age
        )
    except TokenInvalid:
        return False
    subscriber = session.get(Subscriber, subscriber_id)
    return subscriber is not None and subscriber.email == email


def activate(sub: Subscription, subscriber: Subscriber, now: dt.datetime) -> None:
    """Make a subscription active: its address proved it reads its mail."""
    sub.status, sub.confirmed_at, sub.digest_since = SUB_ACTIVE, now, now
    subscriber.confirmed_at = subscriber.confirmed_at or now


def _queued(effects: Effects, message: OutboxMessage | None, reason: str) -> None:
    if message is not None:
        effects.append((signals.notification_queued, {"message": message, "reason": reason}))


# Asking ------------------------------------------------------------------------------


def subscribe(
    state: DebateBoxState,
    session: Session,
    *,
    email: str,
    target: Target,
    mode: str,
    lang: str,
    base_url: str,
    is_proven: bool,
    effects: Effects,
) -> Subscription:
    """Store a subscription request in the current write transaction (see module doc)."""
    now = utcnow()
    subscriber = session.scalars(
        sa.select(Subscriber).where(Subscriber.email == email).with_for_update()
    ).first()
    if subscriber is None:
        subscriber = Subscriber(email=email, created_at=now, notices=True)
        session.add(subscriber)
        session.flush()
    comment = target.comment
    scope = scope_of(comment.id if comment else None)
    sub = session.scalars(
        sa.select(Subscription).where(
            Subscription.subscriber_id == subscriber.id,
            Subscription.thread_id == target.thread.id,
            Subscription.scope == scope,
        )
    ).first()
    if sub is None:
        sub = Subscription(
            subscriber_id=subscriber.id,
            thread_id=target.thread.id,
            scope=scope,
            comment_id=comment.id if comment else None,
            status=SUB_PENDING,
            created_at=now,
        )
        session.add(sub)
    if sub.status == SUB_ACTIVE and not is_proven:
        return sub  # nothing to confirm, and nothing told to whoever asked
    sub.mode, sub.lang, sub.base_url = mode, lang, base_url[:500]
    if is_proven and sub.status != SUB_ACTIVE:
        activate(sub, subscriber, now)
    session.flush()
    effects.append(
        (
            signals.subscription_requested,
            {"subscription": sub, "email": email, "thread": target.thread},
        )
    )
    if sub.status == SUB_PENDING:
        last = subscriber.confirmation_sent_at
        if last is None or (now - last).total_seconds() >= state.settings.confirm_interval:
            subscriber.confirmation_sent_at = now
            label = comment.label if comment else None
            message = notices.confirmation(state, session, sub, email, target.thread, label)
            _queued(effects, message, notices.CONFIRM)
    return sub


def request(
    state: DebateBoxState,
    session: Session,
    data: Any,
    *,
    origin_allowed: bool,
    reader_token: str | None,
    base_url: str,
    page_origins: tuple[str, ...] | None = None,
) -> bool:
    """Handle ``POST /api/subscriptions``. Returns whether it is active at once.

    ``False`` means "pending": a confirmation email is on its way if the address may
    get one — the caller says the same in every case.
    """
    new = parse_subscription(state.settings, data)
    check_page_url(new.url, page_origins)
    if not origin_allowed:
        raise Forbidden("This site may not subscribe readers here.", code="origin_not_allowed")
    if new.comment_id is not None and new.mode == DIGEST:
        raise ValidationError(
            "Daily digests are for whole discussions.", fields={"mode": "Use instant."}
        )
    is_proven = proven(state, session, reader_token, new.email)
    effects: Effects = []

    def work(session: Session) -> Subscription:
        effects.clear()
        thread = session.scalars(sa.select(Thread).where(Thread.key == new.thread_key)).first()
        if thread is None:
            if not state.settings.auto_create_threads:
                raise NotFound("There is no discussion here.", code="thread_not_found")
            thread = Thread(key=new.thread_key, title=new.title, url=new.url, created_at=utcnow())
            session.add(thread)
            session.flush()
            effects.append((signals.thread_created, {"thread": thread}))
        comment = None
        if new.comment_id is not None:
            comment = session.get(Comment, new.comment_id)
            if comment is None or comment.thread_id != thread.id or comment.status != APPROVED:
                raise ValidationError(
                    "The comment is not available.",
                    fields={"comment": "Not a published comment of this thread."},
                )
        return subscribe(
            state,
            session,
            email=new.email,
            target=Target(thread, comment),
            mode=new.mode,
            lang=new.lang,
            base_url=base_url,
            is_proven=is_proven,
            effects=effects,
        )

    write(session, work)
    fire(state, effects)
    return is_proven


# Notifying ---------------------------------------------------------------------------


def on_published(
    state: DebateBoxState, session: Session, thread: Thread, comment: Comment, effects: Effects
) -> None:
    """Queue the notifications of a comment just published (call in its write)."""
    scopes = [THREAD_SCOPE]
    parent: Comment | None = None
    if comment.parent_id is not None:
        scopes.append(scope_of(comment.parent_id))
        parent = session.get(Comment, comment.parent_id)
    rows = session.execute(
        sa.select(Subscription, Subscriber.email)
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.thread_id == thread.id,
            Subscription.status == SUB_ACTIVE,
            Subscription.mode == INSTANT,
            Subscription.scope.in_(scopes),
        )
    ).all()
    chosen: dict[int, tuple[Subscription, str]] = {}
    for sub, email in rows:
        if comment.email and email == comment.email:
            continue  # never about one's own comment
        # A reply to the subscriber's comment says so rather than "new comment".
        if sub.subscriber_id not in chosen or sub.scope != THREAD_SCOPE:
            chosen[sub.subscriber_id] = (sub, email)
    for subscriber_id, (sub, email) in sorted(chosen.items()):
        recipient = notices.Recipient(email, subscriber_id, sub.lang, sub.base_url, (sub.id,))
        label = parent.label if parent is not None and sub.scope != THREAD_SCOPE else None
        message = notices.comment_notice(state, session, recipient, thread, comment, label)
        _queued(effects, message, notices.NOTIFY)


def queue_digests(state: DebateBoxState, session: Session, now: dt.datetime | None = None) -> int:
    """Queue the daily digests that are due; returns how many emails were queued."""
    now = now or utcnow()
    effects: Effects = []

    def work(session: Session) -> int:
        effects.clear()
        due = session.execute(
            sa.select(Subscription, Subscriber.email)
            .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
            .where(
                Subscription.status == SUB_ACTIVE,
                Subscription.mode == DIGEST,
                Subscription.digest_since <= now - DIGEST_PERIOD,
            )
            .order_by(Subscription.subscriber_id, Subscription.id)
            .with_for_update()
        ).all()
        per_address: dict[int, list[tuple[Subscription, str]]] = defaultdict(list)
        for sub, email in due:
            per_address[sub.subscriber_id].append((sub, email))
        queued = 0
        for subscriber_id, subs in per_address.items():
            email = subs[0][1]
            items: list[tuple[Thread, Comment]] = []
            for sub, _ in subs:
                thread = session.get(Thread, sub.thread_id)
                assert thread is not None
                comments = session.scalars(
                    sa.select(Comment)
                    .where(
                        Comment.thread_id == sub.thread_id,
                        Comment.status == APPROVED,
                        Comment.created_at > sub.digest_since,
                        Comment.created_at <= now,
                        sa.or_(Comment.email.is_(None), Comment.email != email),
                    )
                    .order_by(Comment.created_at, Comment.id)
                    .limit(DIGEST_LIMIT)
                )
                items.extend((thread, c) for c in comments)
                sub.digest_since = now
            if items:
                first = subs[0][0]
                ids = tuple(sub.id for sub, _ in subs)
                recipient = notices.Recipient(email, subscriber_id, first.lang, first.base_url, ids)
                message = notices.digest(state, session, recipient, items, now.date().isoformat())
                _queued(effects, message, notices.DIGEST)
                queued += message is not None
        return queued

    queued = write(session, work)
    fire(state, effects)
    return queued


def author_notice(
    state: DebateBoxState, session: Session, thread: Thread, comment: Comment, effects: Effects
) -> None:
    """Tell a confirmed author that their held comment was published (call in its write)."""
    if not state.settings.notify_authors or not comment.email:
        return
    subscriber = session.scalars(
        sa.select(Subscriber).where(Subscriber.email == comment.email)
    ).first()
    if subscriber is None or subscriber.confirmed_at is None or not subscriber.notices:
        return  # only addresses that proved they are read, and did not opt out
    last = session.execute(
        sa.select(Subscription.base_url, Subscription.lang)
        .where(Subscription.subscriber_id == subscriber.id)
        .order_by(Subscription.id.desc())
    ).first()
    base, lang = (last[0], last[1]) if last is not None else ("", "en")
    recipient = notices.Recipient(comment.email, subscriber.id, lang, base, ())
    _queued(
        effects, notices.published(state, session, recipient, thread, comment), notices.PUBLISHED
    )
