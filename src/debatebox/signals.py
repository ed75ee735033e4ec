"""Signals a host application can connect to.

Every signal is sent with the Flask application as sender; receivers should accept
``**extra`` so that arguments added later do not break them. Connect with
``debatebox.signals.comment_posted.connect(receiver, app)`` to hear one app only.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent before a new comment is stored, with ``comment`` (a dict of the validated
#: fields: ``thread_key``, ``parent_id``, ``author_name``, ``email``, ``website``,
#: ``body``, ``status``) and ``thread`` (the :class:`~debatebox.models.Thread`, which
#: may be new and not yet stored). A receiver that returns ``False`` vetoes the comment:
#: nothing is stored and the client gets 403 ``rejected``.
comment_will_be_posted = _signals.signal("comment-will-be-posted")

#: Sent after a new comment is committed, with ``comment`` (the stored
#: :class:`~debatebox.models.Comment`) and ``thread``.
comment_posted = _signals.signal("comment-posted")

#: Sent after an author edited a comment, with ``comment`` and ``previous_body``
#: (the Markdown source before the edit).
comment_edited = _signals.signal("comment-edited")

#: Sent after a comment was deleted, with ``comment`` (its row; when its author deleted
#: it, the body is already removed) and ``tombstone`` (``True`` when it stays as
#: "comment deleted" because of replies); also ``thread`` and ``moderator`` when a
#: moderator deleted it.
comment_deleted = _signals.signal("comment-deleted")

#: Sent when a thread is created by a first comment, with ``thread``.
thread_created = _signals.signal("thread-created")

#: Sent after a new comment was stored held for moderation, with ``comment`` and
#: ``thread``.
comment_held = _signals.signal("comment-held")

#: Sent after a moderator published a held comment (or one marked spam), with
#: ``comment``, ``thread`` and ``moderator`` (who decided, or ``""``).
comment_approved = _signals.signal("comment-approved")

#: Sent after a moderator rejected a held comment, with ``comment``, ``thread`` and
#: ``moderator``.
comment_rejected = _signals.signal("comment-rejected")

#: Sent after a reader's report of a comment was counted, with ``comment``, ``thread``,
#: ``reason`` (``spam``, ``abuse``, ``off-topic``, ``other``) and ``held`` (whether this
#: report took it to ``DEBATEBOX_REPORTS_TO_HOLD`` and held it for review).
comment_flagged = _signals.signal("comment-flagged")

#: Sent after a moderator marked a comment as spam, with ``comment``, ``thread`` and
#: ``moderator``.
comment_marked_spam = _signals.signal("comment-marked-spam")

#: Sent after a subscription was asked for and stored, with ``subscription`` (a
#: :class:`~debatebox.models.Subscription`), ``email`` and ``thread``; its ``status`` is
#: ``pending`` (a confirmation email was queued, unless one went to the address
#: recently) or ``active`` (the reader proved the address with a reader token).
subscription_requested = _signals.signal("subscription-requested")

#: Sent after a reader confirmed a subscription from the link in its email, with
#: ``subscription``, ``email`` and ``thread``.
subscription_confirmed = _signals.signal("subscription-confirmed")

#: Sent after a subscription was removed (unsubscribe link, one-click unsubscribe, the
#: manage page), with ``subscription`` (the deleted row, detached), ``email`` and
#: ``thread``.
subscription_removed = _signals.signal("subscription-removed")

#: Sent after an email was queued in the outbox, with ``message`` (the
#: :class:`~debatebox.models.OutboxMessage`) and ``reason`` (``confirm``, ``notify``,
#: ``digest`` or ``published``).
notification_queued = _signals.signal("notification-queued")
