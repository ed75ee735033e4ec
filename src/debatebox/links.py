"""What the links in emails do: confirm, unsubscribe, manage an address's subscriptions.

Each link carries an itsdangerous token with its own salt and expiry (``tokens``):

* confirm: one subscription and its address (``CONFIRM_MAX_AGE``);
* unsubscribe: the subscriptions one email was about and the address
  (``UNSUBSCRIBE_MAX_AGE``); with no subscription it turns author notices off;
* manage: an address (``MANAGE_MAX_AGE``).

The web pages call :func:`inspect_*` on GET and act only on POST, so a mail scanner
following links changes nothing. A link used twice answers as if it worked (the
subscription is already confirmed or gone) instead of failing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import signals, tokens
from .database import write
from .models import (
    SUB_ACTIVE,
    THREAD_SCOPE,
    Comment,
    Subscriber,
    Subscription,
    Thread,
    utcnow,
)
from .state import DebateBoxState
from .subscriptions import Effects, activate, fire
from .tokens import TokenInvalid

#: The largest id an INTEGER column holds on every database: a bigger number names
#: nothing (and SQLite could not even bind it).
_MAX_ID = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Item:
    """A subscription as the pages show it."""

    id: int
    thread_title: str
    thread_url: str
    #: ``None`` for a whole thread; the comment's label for "replies to #label".
    comment_label: str | None
    replies: bool
    mode: str
    active: bool


def _item(session: Session, sub: Subscription) -> Item:
    thread = session.get(Thread, sub.thread_id)
    assert thread is not None
    label = None
    if sub.comment_id is not None:
        comment = session.get(Comment, sub.comment_id)
        label = comment.label if comment is not None else None
    return Item(
        id=sub.id,
        thread_title=thread.title or thread.key,
        thread_url=thread.url,
        comment_label=label,
        replies=sub.scope != THREAD_SCOPE,
        mode=sub.mode,
        active=sub.status == SUB_ACTIVE,
    )


def _payload(state: DebateBoxState, purpose: str, token: str, max_age: int) -> dict[str, Any]:
    payload, _age = state.signer.loads(purpose, token, max_age=max_age)
    if not isinstance(payload, dict) or type(payload.get("u")) is not int:
        raise TokenInvalid("The token is not valid.")
    return payload


def _email(session: Session, subscriber_id: int) -> str | None:
    subscriber = session.get(Subscriber, subscriber_id)
    return subscriber.email if subscriber is not None else None


def _owned(session: Session, ids: Any, subscriber_id: int) -> list[Subscription]:
    if not isinstance(ids, list) or not all(type(i) is int for i in ids):
        raise TokenInvalid("The token is not valid.")
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(Subscription)
            .where(Subscription.id.in_(ids), Subscription.subscriber_id == subscriber_id)
            .order_by(Subscription.id)
        )
    )


# Confirm -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Confirmation:
    email: str
    #: ``None`` when the subscription no longer exists.
    item: Item | None
    #: Proof of the address for the widget, and the manage page's token.
    reader_token: str
    manage_token: str


def _confirm_target(state: DebateBoxState, token: str) -> tuple[int, int]:
    payload = _payload(state, tokens.CONFIRM, token, state.settings.confirm_max_age)
    if type(payload.get("s")) is not int:
        raise TokenInvalid("The token is not valid.")
    return payload["s"], payload["u"]


def inspect_confirm(state: DebateBoxState, session: Session, token: str) -> Confirmation:
    """What a confirmation link would confirm; raises TokenInvalid/TokenExpired."""
    sub_id, subscriber_id = _confirm_target(state, token)
    subs = _owned(session, [sub_id], subscriber_id)
    email = _email(session, subscriber_id) or ""
    return Confirmation(email, _item(session, subs[0]) if subs else None, "", "")


def _activate(session: Session, sub: Subscription, effects: Effects) -> None:
    """Confirm ``sub`` (in a write); a subscription confirmed already stays as it is."""
    if sub.status == SUB_ACTIVE:
        return
    subscriber = session.get(Subscriber, sub.subscriber_id)
    assert subscriber is not None
    activate(sub, subscriber, utcnow())
    session.flush()
    thread = session.get(Thread, sub.thread_id)
    arguments = {"subscription": sub, "email": subscriber.email, "thread": thread}
    effects.append((signals.subscription_confirmed, arguments))


def confirm(state: DebateBoxState, session: Session, token: str) -> Confirmation:
    """Make the subscription of a confirmation link active."""
    sub_id, subscriber_id = _confirm_target(state, token)
    effects: Effects = []
    email = _email(session, subscriber_id) or ""

    def work(session: Session) -> Item | None:
        effects.clear()
        subs = _owned(session, [sub_id], subscriber_id)
        if not subs:
            return None
        _activate(session, subs[0], effects)
        return _item(session, subs[0])

    item = write(session, work)
    fire(state, effects)
    return Confirmation(
        email,
        item,
        state.signer.subscriber_token(tokens.READER, subscriber_id),
        state.signer.subscriber_token(tokens.MANAGE, subscriber_id),
    )


# Unsubscribe -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Unsubscribe:
    email: str
    subscriber_id: int
    items: list[Item]
    #: A link from an author notice: it turns those notices off.
    notices: bool
    manage_token: str


def inspect_unsubscribe(state: DebateBoxState, session: Session, token: str) -> Unsubscribe:
    payload = _payload(state, tokens.UNSUBSCRIBE, token, state.settings.unsubscribe_max_age)
    subscriber_id = payload["u"]
    subs = _owned(session, payload.get("s"), subscriber_id)
    manage = state.signer.subscriber_token(tokens.MANAGE, subscriber_id)
    return Unsubscribe(
        _email(session, subscriber_id) or "",
        subscriber_id,
        [_item(session, s) for s in subs],
        not payload.get("s"),
        manage,
    )


def _remove(session: Session, subs: list[Subscription], email: str, effects: Effects) -> None:
    for sub in subs:
        thread = session.get(Thread, sub.thread_id)
        session.delete(sub)
        arguments = {"subscription": sub, "email": email, "thread": thread}
        effects.append((signals.subscription_removed, arguments))
    session.flush()


def unsubscribe(state: DebateBoxState, session: Session, seen: Unsubscribe) -> None:
    """End what an unsubscribe link names, as :func:`inspect_unsubscribe` read it (one
    click, RFC 8058)."""
    effects: Effects = []

    def work(session: Session) -> None:
        effects.clear()
        subs = _owned(session, [item.id for item in seen.items], seen.subscriber_id)
        _remove(session, subs, seen.email, effects)
        if seen.notices:
            _silence(session, seen.subscriber_id)

    write(session, work)
    fire(state, effects)


def _silence(session: Session, subscriber_id: int) -> None:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is not None:
        subscriber.notices = False


# Manage ------------------------------------------------------------------------------


def manage_subscriber(state: DebateBoxState, token: str) -> int:
    """The subscriber a manage link is for; raises TokenInvalid/TokenExpired."""
    return state.signer.check_subscriber_token(
        tokens.MANAGE, token, max_age=state.settings.manage_max_age
    )


def _all(session: Session, subscriber_id: int) -> list[Subscription]:
    return list(
        session.scalars(
            sa.select(Subscription)
            .where(Subscription.subscriber_id == subscriber_id)
            .order_by(Subscription.id)
        )
    )


def listing(state: DebateBoxState, session: Session, token: str) -> tuple[str, list[Item]]:
    """The address of a manage link and its subscriptions (raises on a bad token)."""
    subscriber_id = manage_subscriber(state, token)
    email = _email(session, subscriber_id) or ""
    return email, [_item(session, sub) for sub in _all(session, subscriber_id)]


def remove(
    state: DebateBoxState, session: Session, token: str, subscription_id: int | None
) -> list[Item]:
    """Remove one subscription of the manage link's address, or all (``None``).

    Removing all also turns author notices off. Returns what was removed.
    """
    subscriber_id = manage_subscriber(state, token)
    email = _email(session, subscriber_id) or ""
    effects: Effects = []
    items: list[Item] = []

    def work(session: Session) -> None:
        effects.clear()
        subs = _all(session, subscriber_id)
        if subscription_id is not None:
            subs = [s for s in subs if s.id == subscription_id]
        items[:] = [_item(session, s) for s in subs]
        _remove(session, subs, email, effects)
        if subscription_id is None:
            _silence(session, subscriber_id)

    write(session, work)
    fire(state, effects)
    return items


def confirm_listed(
    state: DebateBoxState, session: Session, token: str, subscription_id: int
) -> None:
    """Confirm a pending subscription from the manage page (the link proves the address)."""
    subscriber_id = manage_subscriber(state, token)
    effects: Effects = []
    ids = [subscription_id] if 0 < subscription_id <= _MAX_ID else []

    def work(session: Session) -> None:
        effects.clear()
        for sub in _owned(session, ids, subscriber_id):
            _activate(session, sub, effects)

    write(session, work)
    fire(state, effects)
