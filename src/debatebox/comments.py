"""The comment service: the one place where a comment is checked, stored and changed.

Every entry point (JSON API, server-rendered form, import, CLI) goes through
:func:`post`, :func:`edit` and :func:`delete`, so the rules below hold whatever the
source. The posting pipeline runs in this order:

1. allowlist the fields and validate them (:func:`parse`);
2. find the thread: it must be open, or creatable from an allowed origin; the parent
   must be a published comment of the same thread;
3. bot checks: the hidden honeypot field is empty and the signed form token is at least
   ``MIN_FILL_SECONDS`` and at most ``FORM_MAX_AGE`` old;
4. the per-IP rate limit;
5. ``comment_will_be_posted`` (a receiver may veto);
6. store, in one write transaction (thread created, numbers given, counters bumped);
7. ``comment_posted``.

A retried request with the same ``Idempotency-Key`` returns the comment stored the
first time and stores nothing (steps 3 to 7 are skipped).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import notices, render, screening, signals, subscriptions, threads
from .avatars import avatar_hash
from .database import write
from .errors import Conflict, Forbidden, Gone, NotFound, ValidationError
from .messages import ERRORS
from .models import APPROVED, DELETED, PENDING, Comment, Thread, set_status, utcnow
from .moderation import initial_status
from .net import truncate
from .state import DebateBoxState
from .tokens import TokenExpired, TokenInvalid
from .validation import NewComment, check_idempotency_key, check_page_url, parse, parse_edit


@dataclasses.dataclass(frozen=True)
class Client:
    """Who is posting, as the web edge saw it."""

    address: str = ""
    #: Whether the request's origin may create threads and write.
    origin_allowed: bool = True
    #: Trusted callers (imports, the CLI) skip bot checks and rate limits.
    trusted: bool = False
    idempotency_key: str | None = None
    #: Origins a new thread's page URL may point to (``None``: any http(s) URL).
    page_origins: tuple[str, ...] | None = None
    #: The reader token the widget keeps after a confirmed subscription (proves the email).
    reader_token: str | None = None
    #: This server's public URL as the client reached it, for links in emails.
    base_url: str = ""
    #: The browser's User-Agent and Referer, for Akismet.
    user_agent: str = ""
    referrer: str = ""


@dataclasses.dataclass
class Posted:
    """What :func:`post` did."""

    comment: Comment
    thread: Thread
    #: ``False`` when a retried request returned the comment stored the first time.
    created: bool
    edit_token: str
    #: ``pending`` or ``active`` when the comment asked for notifications, else ``None``.
    subscriptions: str | None = None

    @property
    def published(self) -> bool:
        return self.comment.status == APPROVED


# Posting ------------------------------------------------------------------------------


def post(state: DebateBoxState, session: Session, data: Any, client: Client) -> Posted:
    """Validate, check and store a new comment (see the module docstring)."""
    new = parse(state.settings, data)
    if (new.notify_replies or new.notify_all) and not state.settings.smtp_url:
        raise ValidationError(
            "Email notifications are not offered here.",
            fields={"notify_replies" if new.notify_replies else "notify_all": "Not offered."},
        )
    check_page_url(new.url, client.page_origins)
    idempotency_key = check_idempotency_key(client.idempotency_key)
    digest = _digest(new)
    if idempotency_key:
        replay = _find_replay(state, session, new.thread_key, idempotency_key, digest)
        if replay is not None:
            return replay

    thread = session.scalars(sa.select(Thread).where(Thread.key == new.thread_key)).first()
    _check_thread(state, thread, client)
    if new.parent_id is not None:
        _published_parent(session, thread.id if thread else None, new.parent_id)
    preview_thread = thread or Thread(key=new.thread_key, title=new.title, url=new.url)
    screened = None
    if not client.trusted:
        screening.bot_checks(state, new)
        if state.rate_limiter is not None:
            state.rate_limiter.hit(client.address)
        if state.email_limiter is not None and new.email:
            state.email_limiter.hit(new.email)
        screened = screening.screen(
            state,
            session,
            new,
            preview_thread,
            address=client.address,
            user_agent=client.user_agent,
            referrer=client.referrer,
            blog=client.base_url,
            policy=state.policy,
        )
        screening.refuse_rejected(screened)

    mode = (thread.moderation if thread else None) or state.settings.moderation
    held = screened is not None and screened.action == "hold"
    status = PENDING if held else initial_status(session, mode, new.email)
    fields = {**new.fields(), "status": status}
    for _receiver, verdict in signals.comment_will_be_posted.send(
        state.sender, comment=fields, thread=preview_thread
    ):
        if verdict is False:
            raise Forbidden(ERRORS["rejected"], code="rejected")

    html = render.render_markdown(new.body)
    author_hash = avatar_hash(state.secret_key, new.email or new.author_name)
    created_thread: list[Thread] = []
    effects: subscriptions.Effects = []
    is_proven = bool(new.email) and subscriptions.proven(
        state, session, client.reader_token, new.email or ""
    )

    def work(session: Session) -> Posted:
        created_thread.clear()
        effects.clear()
        if idempotency_key:
            replay = _find_replay(state, session, new.thread_key, idempotency_key, digest)
            if replay is not None:
                return replay
        row = threads.lock_thread(session, new.thread_key)
        if row is None:
            row = Thread(key=new.thread_key, title=new.title, url=new.url)
            session.add(row)
            session.flush()
            created_thread.append(row)
        comment = Comment(
            thread_id=row.id,
            author_name=new.author_name,
            email=new.email,
            website=new.website,
            author_hash=author_hash,
            body_source=new.body,
            body_html=html,
            status=PENDING,
            ip=truncate(client.address),
            idempotency_key=idempotency_key,
            request_digest=digest,
            verdicts=screened.to_json() if screened is not None else "",
            user_agent=client.user_agent[:300],
            referrer=client.referrer[:500],
            created_at=utcnow(),
            last_reply_number=0,
        )
        if new.parent_id is not None:
            parent = _published_parent(session, row.id, new.parent_id)
            comment.parent_id = parent.id
            comment.root_id = parent.root_id or parent.id
            comment.depth = parent.depth + 1
        else:
            comment.depth = 0
        if status == APPROVED:
            publish(session, row, comment)  # before the INSERT, which then carries its number
        session.add(comment)
        session.flush()
        if status == APPROVED:
            subscriptions.on_published(state, session, row, comment, effects)
        for wanted, target in (
            (new.notify_all, subscriptions.Target(row, None)),
            (new.notify_replies, subscriptions.Target(row, comment)),
        ):
            if wanted and new.email:
                subscriptions.subscribe(
                    state,
                    session,
                    email=new.email,
                    target=target,
                    mode="instant",
                    lang=new.lang,
                    base_url=client.base_url,
                    is_proven=is_proven,
                    effects=effects,
                )
        session.flush()
        for message in notices.moderators(state, session, row, comment, client.base_url):
            effects.append(
                (signals.notification_queued, {"message": message, "reason": "moderate"})
            )
        return Posted(comment, row, True, state.signer.edit_token(comment.id))

    result = write(session, work)
    if new.notify_replies or new.notify_all:
        result.subscriptions = "active" if is_proven else "pending"
    if result.created:
        for row in created_thread:
            signals.thread_created.send(state.sender, thread=row)
        signals.comment_posted.send(state.sender, comment=result.comment, thread=result.thread)
        if result.comment.status == PENDING:
            signals.comment_held.send(state.sender, comment=result.comment, thread=result.thread)
        subscriptions.fire(state, effects)
    return result


def publish(session: Session, thread: Thread, comment: Comment) -> None:
    """Make ``comment`` public: give it its number and count it. Call in a write.

    ``thread`` must have been read with a row lock (:func:`threads.lock_thread`), so two
    comments published at once never get the same number.
    """
    if comment.parent_id is None:
        thread.last_number += 1
        comment.number = thread.last_number
        comment.reply_number = 0
    else:
        root = session.get(Comment, comment.root_id, with_for_update=True, populate_existing=True)
        assert root is not None
        root.last_reply_number += 1
        comment.number = root.number
        comment.reply_number = root.last_reply_number
    set_status(thread, comment, APPROVED)


def _digest(new: NewComment) -> str:
    material = [new.thread_key, new.parent_id, new.author_name, new.email, new.body]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _find_replay(
    state: DebateBoxState, session: Session, thread_key: str, key: str, digest: str
) -> Posted | None:
    found = session.execute(
        sa.select(Comment, Thread)
        .join(Thread, Comment.thread_id == Thread.id)
        .where(Thread.key == thread_key, Comment.idempotency_key == key)
    ).first()
    if found is None:
        return None
    comment, thread = found
    if comment.status == DELETED:
        raise Gone("This comment was posted and has since been deleted.", code="deleted")
    if comment.request_digest != digest:
        raise Conflict(
            "This Idempotency-Key was already used for a different comment.",
            code="idempotency_key_reused",
        )
    return Posted(comment, thread, False, state.signer.edit_token(comment.id))


def _check_thread(state: DebateBoxState, thread: Thread | None, client: Client) -> None:
    if not client.origin_allowed:
        raise Forbidden(ERRORS["origin_not_allowed"], code="origin_not_allowed")
    if thread is None:
        if not (state.settings.auto_create_threads or client.trusted):
            raise NotFound(ERRORS["thread_not_found"], code="thread_not_found")
    elif threads.is_closed(thread.closed, thread.created_at, state.settings.close_after_days):
        raise Conflict(ERRORS["thread_closed"], code="thread_closed")


def _published_parent(session: Session, thread_id: int | None, parent_id: int) -> Comment:
    """The comment being answered: it must be published and in the same thread."""
    parent = session.get(Comment, parent_id) if thread_id is not None else None
    if parent is None or parent.thread_id != thread_id or parent.status != APPROVED:
        raise ValidationError(
            ERRORS["parent_unavailable"],
            fields={"parent": "Not a published comment of this thread."},
        )
    return parent


# Author edit and delete ---------------------------------------------------------------


def _authorised(
    state: DebateBoxState, session: Session, comment_id: int, token: str | None
) -> Comment:
    window = state.settings.edit_window
    try:
        state.signer.check_edit_token(token or "", comment_id, max_age=window)
    except TokenExpired as error:
        raise Gone(ERRORS["edit_window_over"], code="edit_window_over") from error
    except TokenInvalid as error:
        raise Forbidden(ERRORS["bad_token"], code="bad_token") from error
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("There is no such comment.")
    if comment.status == DELETED:
        raise Gone(ERRORS["deleted"], code="deleted")
    if (utcnow() - comment.created_at).total_seconds() > window:
        raise Gone(ERRORS["edit_window_over"], code="edit_window_over")
    return comment


def _locked(session: Session, comment_id: int) -> tuple[Comment, Thread]:
    """The author's comment, read under its thread's lock (call in a write); 410 if it went
    or was deleted since the token check."""
    try:
        comment, thread = threads.lock_comment(session, comment_id)
    except NotFound:
        raise Gone(ERRORS["deleted"], code="deleted") from None
    if comment.status == DELETED:
        raise Gone(ERRORS["deleted"], code="deleted")
    return comment, thread


def edit(
    state: DebateBoxState, session: Session, comment_id: int, token: str | None, data: Any
) -> Comment:
    """Replace the body of a comment whose author holds a valid edit token."""
    _authorised(state, session, comment_id, token)
    body = parse_edit(state.settings, data)
    html = render.render_markdown(body)
    previous: list[str] = []

    def work(session: Session) -> Comment:
        comment, thread = _locked(session, comment_id)
        previous[:] = [comment.body_source]
        comment.body_source, comment.body_html, comment.edited_at = body, html, utcnow()
        thread.version += 1
        return comment

    comment = write(session, work)
    signals.comment_edited.send(state.sender, comment=comment, previous_body=previous[0])
    return comment


def delete(state: DebateBoxState, session: Session, comment_id: int, token: str | None) -> bool:
    """Delete a comment whose author holds a valid edit token.

    The row stays, without its text, as the tombstone "comment deleted" while replies
    hang below it, so they keep their place. Returns whether it is shown as a tombstone.
    """
    _authorised(state, session, comment_id, token)

    def work(session: Session) -> tuple[Comment, bool]:
        comment, thread = _locked(session, comment_id)
        set_status(thread, comment, DELETED)
        # The author asked for it to go: keep only what holds the replies in place.
        comment.body_source = comment.body_html = comment.website = ""
        comment.author_name = comment.author_hash = comment.ip = ""
        comment.email = None
        comment.edited_at = utcnow()
        return comment, threads.has_public_replies(session, comment)

    comment, tombstone = write(session, work)
    signals.comment_deleted.send(state.sender, comment=comment, tombstone=tombstone)
    return tombstone


def preview(state: DebateBoxState, data: Any) -> str:
    """Render a body as it would be stored, without storing anything."""
    return render.render_markdown(parse_edit(state.settings, data))
