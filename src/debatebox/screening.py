"""Screening a new comment: the spam defence between validation and storing.

An ordered pipeline of small checks, each giving a verdict (``publish``, ``hold`` or
``reject``) with a reason; the strongest wins and all of them are kept with the comment
for moderators (``Comment.verdicts``):

1. bans (:mod:`debatebox.bans`): the address's network, the email, its domain;
2. the built-in checks (:mod:`debatebox.spam`): block lists, links, markup, phrases…;
3. duplicates: the same text again from the same email, or on the same thread, within
   ``DUPLICATE_WINDOW``;
4. Akismet's comment-check, when ``AKISMET_KEY`` is set; if Akismet cannot be reached
   the comment is held (nothing is lost, nobody gets an error);
5. the host's :class:`ModerationPolicy`, which sees every verdict and may add its own.

The moderation mode (``open``/``first-time``/``all``) then holds what passed if the mode
says so. Rate limits per address and per email run before, in :mod:`debatebox.comments`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import bans, spam
from .akismet import AkismetClient, AkismetComment, AkismetUnavailable
from .config import Settings
from .errors import Conflict, Forbidden
from .messages import ERRORS
from .models import Comment, Thread, utcnow
from .state import DebateBoxState
from .tokens import TokenExpired, TokenInvalid
from .validation import NewComment

Verdict = spam.Verdict
#: The reason recorded when Akismet found a comment clean.
AKISMET_HAM = "Akismet: not spam"


class ModerationPolicy:
    """What a host adds to the screening. Subclass it and pass an instance as
    ``DebateBox(app, policy=MyPolicy())``.

    :meth:`verdict` gets the comment's fields (a dict like ``comment_will_be_posted``
    sends), its thread (possibly not stored yet) and the verdicts so far; it returns a
    :class:`~debatebox.spam.Verdict` (``Verdict("hold", "policy", "links to rivals")``)
    or ``None`` to add nothing. A policy can hold or reject; it cannot publish what a
    check held (a moderator can).
    """

    def verdict(
        self, comment: dict[str, Any], thread: Thread, verdicts: list[Verdict]
    ) -> Verdict | None:
        return None


@dataclasses.dataclass(frozen=True)
class Screening:
    """The outcome: the strongest verdict and all of them."""

    action: str
    verdicts: list[Verdict]

    def to_json(self) -> str:
        return json.dumps([dataclasses.asdict(v) for v in self.verdicts])


def rules(state: DebateBoxState) -> spam.SpamRules:
    """The built-in checks' rules from the application's settings."""
    return _rules(state.settings)


@functools.lru_cache(maxsize=16)
def _rules(s: Settings) -> spam.SpamRules:
    # Built once per application's Settings (frozen: hashable, never changed), which
    # already checked that blocked_action is hold or reject.
    return spam.SpamRules(
        max_links=s.spam_max_links,
        blocked_words=s.blocked_words,
        blocked_emails=s.blocked_emails,
        blocked_domains=s.blocked_domains,
        blocked_action=cast(spam.Action, s.blocked_action),
    )


def akismet_client(state: DebateBoxState, blog: str) -> AkismetClient | None:
    s = state.settings
    if not s.akismet_key:
        return None
    return AkismetClient(s.akismet_key, s.public_url or blog, endpoint=s.akismet_endpoint)


def akismet_comment(
    comment: Comment | NewComment, *, ip: str, user_agent: str, referrer: str, permalink: str
) -> AkismetComment:
    body = comment.body_source if isinstance(comment, Comment) else comment.body
    return AkismetComment(
        user_ip=ip,
        user_agent=user_agent,
        referrer=referrer,
        permalink=permalink,
        comment_type="reply" if comment.parent_id else "comment",
        comment_author=comment.author_name,
        comment_author_email=comment.email or "",
        comment_author_url=comment.website,
        comment_content=body,
    )


def screen(
    state: DebateBoxState,
    session: Session,
    new: NewComment,
    thread: Thread,
    *,
    address: str,
    user_agent: str = "",
    referrer: str = "",
    blog: str = "",
    policy: ModerationPolicy | None = None,
) -> Screening:
    """Run the pipeline for a comment about to be stored (see the module docstring)."""
    s = state.settings
    verdicts: list[Verdict] = []
    ban = bans.match(session, ip=address, email=new.email)
    if ban is not None:
        action: spam.Action = "reject" if ban.action == "reject" else "hold"
        verdicts.append(Verdict(action, "ban", f"banned {ban.kind} {ban.value}: {ban.reason}"))
    if s.spam_checks:
        candidate = spam.Candidate(
            name=new.author_name,
            email=new.email or "",
            website=new.website,
            body=new.body,
            ip=address,
        )
        verdicts.extend(spam.check(candidate, rules(state)))
    duplicate = _duplicate(session, new, thread, s.duplicate_window)
    if duplicate:
        verdicts.append(Verdict("reject", "duplicate", duplicate))
    client = akismet_client(state, blog)
    if client is not None:
        try:
            found = client.check(
                akismet_comment(
                    new, ip=address, user_agent=user_agent, referrer=referrer, permalink=new.url
                )
            )
        except AkismetUnavailable as error:
            verdicts.append(Verdict("hold", "akismet", f"Akismet unavailable: {error}"))
        else:
            if found.discard:
                verdicts.append(Verdict("reject", "akismet", "Akismet: blatant spam"))
            elif found.spam:
                verdicts.append(Verdict("hold", "akismet", "Akismet: spam"))
            else:
                verdicts.append(Verdict("publish", "akismet", AKISMET_HAM))
    if policy is not None:
        extra = policy.verdict(new.fields(), thread, list(verdicts))
        if extra is not None:
            verdicts.append(extra)
    return Screening(spam.decide(verdicts).action, verdicts)


def bot_checks(state: DebateBoxState, new: NewComment) -> None:
    """The honeypot is empty and the signed form token is neither too young nor too old."""
    if new.honeypot:
        raise Forbidden(ERRORS["bot_check"], code="bot_check")
    if not new.form_token:
        raise Forbidden(ERRORS["form_token_missing"], code="form_token_missing")
    try:
        age = state.signer.form_age(new.form_token, max_age=state.settings.form_max_age)
    except TokenExpired as error:
        raise Forbidden(ERRORS["form_expired"], code="form_expired") from error
    except TokenInvalid as error:
        raise Forbidden(ERRORS["form_token_invalid"], code="form_token_invalid") from error
    if age < state.settings.min_fill_seconds:
        raise Forbidden(ERRORS["too_fast"], code="too_fast")


def refuse_rejected(screened: Screening) -> None:
    """Raise the refusal a ``reject`` verdict means: a duplicate, or a comment turned away
    (the reason goes to the moderators' record, not to the poster)."""
    if screened.action != "reject":
        return
    if any(v.action == "reject" and v.check == "duplicate" for v in screened.verdicts):
        raise Conflict(ERRORS["duplicate"], code="duplicate")
    raise Forbidden(ERRORS["rejected"], code="rejected")


def _duplicate(session: Session, new: NewComment, thread: Thread, window: int) -> str:
    """Why the text is a duplicate (a match by the same email first), or ``""``; one query."""
    by_email = Comment.email == new.email if new.email else None
    on_thread = Comment.thread_id == thread.id if thread.id is not None else None
    matches = [match for match in (by_email, on_thread) if match is not None]
    if not window or not matches:
        return ""
    since = utcnow() - dt.timedelta(seconds=window)
    email_first = sa.case((by_email, 1), else_=0) if by_email is not None else sa.literal(0)
    query = sa.select(email_first).where(
        Comment.body_source == new.body, Comment.created_at >= since, sa.or_(*matches)
    )
    if by_email is not None:
        query = query.order_by(email_first.desc())
    found = session.scalars(query.limit(1)).first()
    if found is None:
        return ""
    if found:
        return "The same text was posted by the same email recently."
    return "The same text was posted on this thread recently."


@dataclasses.dataclass(frozen=True)
class StoredVerdict:
    """A verdict as kept in ``Comment.verdicts`` (read back without judging it)."""

    action: str
    check: str
    reason: str


def read_verdicts(text: str) -> tuple[list[StoredVerdict], str]:
    """The verdicts stored with a comment, or ``([], text)`` when the text is not a list
    of them (shown as it is)."""
    if not text.strip():
        return [], ""
    try:
        data = json.loads(text)
    except ValueError:
        return [], text
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return [], text
    return [
        StoredVerdict(
            str(item.get("action", "")), str(item.get("check", "")), str(item.get("reason", ""))
        )
        for item in data
    ], ""


def akismet_said(comment: Comment) -> bool | None:
    """Whether Akismet called ``comment`` spam when it was posted (``None``: not asked)."""
    verdicts, _raw = read_verdicts(comment.verdicts or "")
    for v in verdicts:
        if v.check == "akismet" and "unavailable" not in v.reason:
            return v.action != "publish"
    return None
