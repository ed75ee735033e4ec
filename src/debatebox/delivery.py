"""Running mail delivery: one pass, a worker loop, and the in-process background sender.

A pass (:func:`run_once`) queues the daily digests that are due and sends every due
message of the outbox, batch after batch. ``debatebox deliver-mail`` runs passes in a
loop (:func:`run_forever`); with ``MAIL_DELIVERY = "thread"`` each web process runs the
same loop in a daemon thread (:class:`MailSender`), woken as soon as a request queued
mail. Any number of these may run against one database (see :mod:`debatebox.outbox`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from . import outbox, subscriptions
from .models import utcnow
from .smtp import SmtpTransport
from .state import DebateBoxState

log = logging.getLogger("debatebox.mail")

#: Seconds between two passes when nothing wakes the loop.
POLL_SECONDS = 30.0
#: Seconds between two checks for due digests.
DIGEST_CHECK_SECONDS = 300.0
#: Batches in one pass at most (a pass always ends, however full the outbox).
MAX_BATCHES = 100


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def transport_for(state: DebateBoxState) -> SmtpTransport:
    if not state.settings.smtp_url:
        raise RuntimeError("DEBATEBOX_SMTP_URL is not set: there is no mail server to send to.")
    return SmtpTransport.from_url(state.settings.smtp_url)


def run_once(
    state: DebateBoxState,
    transport: SmtpTransport | None = None,
    *,
    worker: str | None = None,
    digests: bool = True,
    batch: int = 50,
) -> outbox.Report:
    """Queue due digests, then send every message that is due now."""
    transport = transport or transport_for(state)
    worker = worker or worker_name()
    total = outbox.Report()
    session = state.new_session()
    try:
        if digests:
            subscriptions.queue_digests(state, session)
        started = utcnow()
        for _ in range(MAX_BATCHES):
            report = outbox.deliver_due(
                session, state.settings, transport, worker, batch=batch, due_by=started
            )
            total.sent += report.sent
            total.retried += report.retried
            total.failed += report.failed
            if not report.claimed:  # rows other workers hold are theirs to send
                break
    finally:
        session.close()
    return total


def _wait_seconds(state: DebateBoxState) -> float:
    session = state.new_session()
    try:
        due = outbox.next_due(session)
    finally:
        session.close()
    if due is None:
        return POLL_SECONDS
    return max(0.5, min(POLL_SECONDS, (due - utcnow()).total_seconds()))


def run_forever(
    state: DebateBoxState,
    *,
    stop: threading.Event,
    wake: threading.Event | None = None,
    on_report: Callable[[outbox.Report], None] | None = None,
) -> None:
    """Deliver until ``stop`` is set; a set ``wake`` starts the next pass at once."""
    wake = wake or threading.Event()
    transport = transport_for(state)
    worker = worker_name()
    last_digest = 0.0
    while not stop.is_set():
        wake.clear()
        try:
            digests = time.monotonic() - last_digest >= DIGEST_CHECK_SECONDS
            report = run_once(state, transport, worker=worker, digests=digests)
            if digests:
                last_digest = time.monotonic()
            if on_report is not None and report.claimed:
                on_report(report)
            pause = _wait_seconds(state)
        except Exception:  # a database or network hiccup must not end the loop
            log.exception("mail delivery pass failed; trying again later")
            pause = POLL_SECONDS
        if stop.is_set():
            break
        wake.wait(pause)


class MailSender:
    """The background sender of one web process (``MAIL_DELIVERY = "thread"``)."""

    def __init__(self, state: DebateBoxState) -> None:
        self.state = state
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def wake(self) -> None:
        """Start the thread if needed (also after a fork) and make it run a pass now."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=run_forever,
                    args=(self.state,),
                    kwargs={"stop": self.stop_event, "wake": self.wake_event},
                    name="debatebox-mail",
                    daemon=True,
                )
                self._thread.start()
        self.wake_event.set()

    def ensure_started(self) -> None:
        """Start the thread if it is not running, so mail left from before is sent."""
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            self.wake()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.wake_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
