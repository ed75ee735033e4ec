"""The emails debatebox sends, composed and queued in the outbox of the caller's transaction.

* ``confirm``: the double opt-in link of a pending subscription;
* ``notify``: a comment was published on a followed thread (or below a followed comment);
* ``digest``: once a day, the new comments of every followed thread of one address;
* ``published``: an author's held comment was approved (``NOTIFY_AUTHORS``).

Every email carries ``List-Unsubscribe`` (an https link) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), and links to the
"manage my subscriptions" page. Each has a deduplication key naming its recipient and
event, so the same event never mails the same address twice.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from . import outbox, tokens
from .mailtext import Mail, MailComment, html_part, text_part
from .messages import translator
from .models import PENDING, Comment, OutboxMessage, Subscription, Thread, utcnow
from .moderation import ALLOWED_FROM
from .state import DebateBoxState

#: The outbox ``kind`` of each email.
CONFIRM = "confirm"
NOTIFY = "notify"
DIGEST = "digest"
PUBLISHED = "published"


@dataclasses.dataclass(frozen=True)
class Recipient:
    """Who an email goes to, with what its links need."""

    email: str
    subscriber_id: int
    lang: str
    #: The comment server's public URL as the subscription saw it.
    base_url: str
    #: Subscriptions the unsubscribe link ends (empty: it turns author notices off).
    subscription_ids: tuple[int, ...] = ()


def link(state: DebateBoxState, base_url: str, path: str, lang: str = "en") -> str:
    """An absolute URL below the blueprint, for an email; pages open in ``lang``."""
    root = state.settings.public_url or base_url.rstrip("/")
    query = f"?lang={lang}" if lang != "en" else ""
    return f"{root}{state.settings.url_prefix}{path}{query}"


def unsubscribe_token(state: DebateBoxState, recipient: Recipient) -> str:
    return state.signer.dumps(
        tokens.UNSUBSCRIBE, {"s": list(recipient.subscription_ids), "u": recipient.subscriber_id}
    )


def permalink(thread: Thread, comment: Comment) -> str | None:
    """The comment on its host page, when the thread knows the page's URL."""
    return f"{thread.url}#comment-{comment.id}" if thread.url else None


def host_of(state: DebateBoxState, base_url: str) -> str:
    """The comment server's host name, for Message-IDs and List-Id."""
    return urlsplit(link(state, base_url, "")).hostname or "localhost"


def moderation_token(state: DebateBoxState, comment: Comment, action: str) -> str:
    """A moderation link's token: bound to the action, the comment and its status now."""
    return state.signer.dumps(tokens.MODERATE, {"c": comment.id, "a": action, "s": comment.status})


def _title(thread: Thread) -> str:
    return outbox.one_line(thread.title or thread.key, 150)


def _queue(
    state: DebateBoxState,
    session: Session,
    *,
    kind: str,
    dedup_key: str,
    recipient: Recipient,
    mail: Mail,
) -> OutboxMessage | None:
    t = translator(recipient.lang)
    lang, base = recipient.lang, recipient.base_url
    unsubscribe = link(
        state, base, f"/subscriptions/unsubscribe/{unsubscribe_token(state, recipient)}", lang
    )
    manage_token = state.signer.subscriber_token(tokens.MANAGE, recipient.subscriber_id)
    manage = link(state, base, f"/subscriptions/manage/{manage_token}", lang)
    host = host_of(state, base)
    mail = dataclasses.replace(mail, links=[(t("unsubscribe"), unsubscribe), (t("manage"), manage)])
    return outbox.queue(
        session,
        kind=kind,
        dedup_key=dedup_key,
        recipient=recipient.email,
        subject=mail.subject,
        text=text_part(mail),
        html=html_part(mail),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{outbox.one_line(state.settings.site_name, 80)} <comments.{host}>",
        },
        domain=host,
    )


def _mail_comment(thread: Thread, comment: Comment, heading: str | None = None) -> MailComment:
    return MailComment(
        author=comment.author_name,
        label=comment.label,
        text=comment.body_source,
        html=comment.body_html,
        link=permalink(thread, comment),
        heading=heading,
    )


def confirmation(
    state: DebateBoxState,
    session: Session,
    subscription: Subscription,
    email: str,
    thread: Thread,
    comment_label: str | None,
) -> OutboxMessage | None:
    """Queue the double opt-in email of a pending subscription."""
    t = translator(subscription.lang)
    site = state.settings.site_name
    title = _title(thread)
    token = state.signer.dumps(
        tokens.CONFIRM, {"s": subscription.id, "u": subscription.subscriber_id}
    )
    recipient = Recipient(
        email,
        subscription.subscriber_id,
        subscription.lang,
        subscription.base_url,
        (subscription.id,),
    )
    if subscription.comment_id and comment_label:
        intro = t("confirm_intro_replies", title=title, site=site, label=comment_label)
    elif subscription.comment_id:  # asked with a comment not yet published
        intro = t("confirm_intro_mine", title=title, site=site)
    else:
        intro = t("confirm_intro_thread", title=title, site=site)
    mail = Mail(
        subject=t("confirm_subject", title=title),
        lang=recipient.lang,
        intro=[intro],
        action=(
            t("confirm_action"),
            link(state, recipient.base_url, f"/subscriptions/confirm/{token}", recipient.lang),
        ),
        outro=[t("confirm_ignore")],
        why=t("why_subscribed", title=title, site=site),
    )
    # One confirmation per subscription and request time: a later request may send again.
    key = f"confirm:{subscription.id}:{utcnow().isoformat()}"
    return _queue(state, session, kind=CONFIRM, dedup_key=key, recipient=recipient, mail=mail)


def comment_notice(
    state: DebateBoxState,
    session: Session,
    recipient: Recipient,
    thread: Thread,
    comment: Comment,
    parent_label: str | None,
) -> OutboxMessage | None:
    """Queue the email telling one subscriber about one newly published comment."""
    t = translator(recipient.lang)
    title = _title(thread)
    name = outbox.one_line(comment.author_name, 80)
    if parent_label:
        subject = t("reply_subject", title=title)
        intro = t("reply_intro", name=name, title=title, label=parent_label)
    else:
        subject = t("notify_subject", title=title)
        intro = t("notify_intro", name=name, title=title)
    mail = Mail(
        subject=subject,
        lang=recipient.lang,
        intro=[intro],
        comments=[_mail_comment(thread, comment)],
        view_label=t("view_comment"),
        why=t("why_subscribed", title=title, site=state.settings.site_name),
    )
    key = f"notify:{comment.id}:{recipient.subscriber_id}"
    return _queue(state, session, kind=NOTIFY, dedup_key=key, recipient=recipient, mail=mail)


def digest(
    state: DebateBoxState,
    session: Session,
    recipient: Recipient,
    items: list[tuple[Thread, Comment]],
    day: str,
) -> OutboxMessage | None:
    """Queue one address's daily digest: the new comments of each followed thread."""
    t = translator(recipient.lang)
    site = state.settings.site_name
    mail = Mail(
        subject=t("digest_subject", site=site),
        lang=recipient.lang,
        intro=[t("digest_intro")],
        comments=[_mail_comment(th, c, heading=_title(th)) for th, c in items],
        view_label=t("view_comment"),
        why=t("why_digest", site=site),
    )
    key = f"digest:{recipient.subscriber_id}:{day}"
    return _queue(state, session, kind=DIGEST, dedup_key=key, recipient=recipient, mail=mail)


def published(
    state: DebateBoxState, session: Session, recipient: Recipient, thread: Thread, comment: Comment
) -> OutboxMessage | None:
    """Queue the notice telling an author that a moderator published their comment."""
    t = translator(recipient.lang)
    title = _title(thread)
    mail = Mail(
        subject=t("published_subject", title=title),
        lang=recipient.lang,
        intro=[t("published_intro", title=title)],
        comments=[_mail_comment(thread, comment)],
        view_label=t("view_comment"),
        why=t("why_author", site=state.settings.site_name),
    )
    key = f"published:{comment.id}"
    return _queue(state, session, kind=PUBLISHED, dedup_key=key, recipient=recipient, mail=mail)


def moderators(
    state: DebateBoxState, session: Session, thread: Thread, comment: Comment, base_url: str
) -> list[OutboxMessage]:
    """Queue the moderators' email about a new comment (call in its write).

    Returns the queued messages. Nothing happens without ``DEBATEBOX_MODERATORS``, or
    for a published comment unless ``MODERATOR_EMAILS`` is ``all``.
    """
    s = state.settings
    if not s.moderators or not s.smtp_url:
        return []
    if comment.status != PENDING and s.moderator_emails != "all":
        return []
    held = comment.status == PENDING
    title = outbox.one_line(thread.title or thread.key, 150)
    name = outbox.one_line(comment.author_name, 80)
    links = [
        (label, link(state, base_url, f"/moderate/{moderation_token(state, comment, a)}"))
        for a, label in (
            ("approve", "Approve"),
            ("reject", "Reject"),
            ("spam", "Spam"),
            ("delete", "Delete"),
        )
        if comment.status in ALLOWED_FROM[a]
    ]
    mail = Mail(
        subject=f"{'Held' if held else 'New'} comment by {name} on “{title}”",
        lang="en",
        intro=[
            f"{name} wrote on “{title}”"
            + (" and it awaits your decision:" if held else " (already published):")
        ],
        comments=[
            MailComment(
                author=comment.author_name,
                label=comment.label,
                text=comment.body_source,
                html=comment.body_html,
                link=permalink(thread, comment) if not held else None,
            )
        ],
        view_label="View the comment",
        outro=[f"{label}: {url}" for label, url in links],
        why=f"You get this email as a moderator of {s.site_name}. Each link asks before it acts.",
    )
    queued: list[OutboxMessage] = []
    for moderator in s.moderators:
        message = outbox.queue(
            session,
            kind="moderate",
            dedup_key=f"moderate:{comment.id}:{comment.status}:{moderator}",
            recipient=moderator,
            subject=mail.subject,
            text=text_part(mail),
            html=html_part(mail),
            domain=host_of(state, base_url),
        )
        if message is not None:
            queued.append(message)
    return queued
