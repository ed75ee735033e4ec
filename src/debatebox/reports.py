"""Readers' reports: "this comment is spam / abusive / off-topic".

Each reader counts once per comment: a reader is named by the reader token when it has
one (a confirmed subscriber), and always by its address, so a second report from the
same token or the same address is accepted and not counted. Both are stored only as
keyed hashes. When a published comment reaches ``DEBATEBOX_REPORTS_TO_HOLD`` reports it
goes back to the moderation queue (held, out of the public thread, with its number kept
for when it is approved again), and the moderators get an email.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import notices, signals, subscriptions, tokens
from .database import write
from .errors import Forbidden, NotFound, ValidationError
from .models import APPROVED, PENDING, Report, set_status, utcnow
from .net import truncate
from .state import DebateBoxState
from .threads import lock_comment
from .tokens import TokenInvalid
from .validation import allowlist

REASONS = ("spam", "abuse", "off-topic", "other")
FIELDS = frozenset({"reason", "note"})


def _key(state: DebateBoxState, kind: str, value: str) -> str:
    return hmac.new(
        state.secret_key.encode(), f"report|{kind}|{value}".encode(), hashlib.sha256
    ).hexdigest()[:64]


def _parse(data: Any) -> tuple[str, str]:
    allowlist(data, FIELDS)
    reason = data.get("reason")
    note = data.get("note") or ""
    errors = {}
    if reason not in REASONS:
        errors["reason"] = f"Choose one of: {', '.join(REASONS)}."
    if not isinstance(note, str) or len(note) > 500:
        errors["note"] = "A note is text of at most 500 characters."
    if errors:
        raise ValidationError("Please correct the marked fields.", fields=errors)
    return str(reason), note.strip()


def report(
    state: DebateBoxState,
    session: Session,
    comment_id: int,
    data: Any,
    *,
    address: str,
    reader_token: str | None = None,
    base_url: str = "",
) -> bool:
    """Store a reader's report; returns whether it counted (a reader counts once)."""
    if not state.settings.reports_to_hold:
        raise Forbidden("Reports are turned off here.", code="reports_off")
    reason, note = _parse(data)
    address_key = _key(state, "ip", truncate(address))
    reader_key = None
    if reader_token:
        try:
            subscriber = state.signer.check_subscriber_token(
                tokens.READER, reader_token, max_age=state.settings.reader_max_age
            )
            reader_key = _key(state, "reader", str(subscriber))
        except TokenInvalid:
            pass
    effects: subscriptions.Effects = []
    flagged: list[dict[str, Any]] = []

    def work(session: Session) -> bool:
        effects.clear()
        flagged.clear()
        comment, thread = lock_comment(session, comment_id)
        if comment.status != APPROVED:
            raise NotFound("There is no such comment.")
        known = session.scalar(
            sa.select(Report.id).where(
                Report.comment_id == comment.id,
                sa.or_(
                    Report.address_key == address_key,
                    Report.reporter.in_([k for k in (reader_key, address_key) if k]),
                ),
            )
        )
        if known is not None:
            return False
        session.add(
            Report(
                comment_id=comment.id,
                reason=reason,
                note=note,
                reporter=reader_key or address_key,
                address_key=address_key,
                created_at=utcnow(),
            )
        )
        comment.report_count += 1
        held = comment.report_count >= state.settings.reports_to_hold
        if held:
            set_status(thread, comment, PENDING)  # keeps its number for when approved again
            session.flush()
            for message in notices.moderators(state, session, thread, comment, base_url):
                effects.append(
                    (signals.notification_queued, {"message": message, "reason": "moderate"})
                )
        flagged.append({"comment": comment, "thread": thread, "reason": reason, "held": held})
        return True

    counted = write(session, work)
    for arguments in flagged:
        signals.comment_flagged.send(state.sender, **arguments)
        if arguments["held"]:
            signals.comment_held.send(
                state.sender, comment=arguments["comment"], thread=arguments["thread"]
            )
    subscriptions.fire(state, effects)
    return counted
