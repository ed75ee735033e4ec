"""The per-application state kept in ``app.extensions["debatebox"]``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .database import make_sessionmaker
from .tokens import Signer


class DebateBoxState:
    """Everything debatebox needs for one application, built once by ``init_app``.

    The engine is resolved on first use, because a host's Flask-SQLAlchemy engines exist
    only inside an application context.
    """

    def __init__(
        self,
        settings: Settings,
        signer: Signer,
        secret_key: str,
        engine_factory: Callable[[], sa.Engine],
        *,
        owns_engine: bool,
        sender: Any,
        rate_limiter: Any = None,
    ) -> None:
        self.settings = settings
        self.signer = signer
        #: The key behind every token and the avatar hashes.
        self.secret_key = secret_key
        #: Whether debatebox created the engine (and may dispose of it, tune it).
        self.owns_engine = owns_engine
        #: The object sent as ``sender`` with every signal: the Flask application.
        self.sender = sender
        #: A :class:`debatebox.ratelimit.PostLimiter`, or ``None`` when limits are off.
        self.rate_limiter = rate_limiter
        #: The per-email :class:`debatebox.ratelimit.PostLimiter`, or ``None``.
        self.email_limiter: Any = None
        #: The host's :class:`debatebox.screening.ModerationPolicy`, or ``None``.
        self.policy: Any = None
        #: Called after a transaction queued mail (the in-process sender's wake-up).
        self.on_mail_queued: Callable[[], None] | None = None
        #: The in-process :class:`debatebox.delivery.MailSender`, if this app runs one.
        self.mail_sender: Any = None
        self._engine_factory = engine_factory
        self._engine: sa.Engine | None = None
        self._sessionmaker: sessionmaker[Session] | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def new_session(self) -> Session:
        if self._sessionmaker is None:
            self._sessionmaker = make_sessionmaker(self.engine)
        return self._sessionmaker()

    def mail_queued(self) -> None:
        """Tell the in-process mail sender, if there is one, that mail is waiting."""
        if self.on_mail_queued is not None:
            self.on_mail_queued()
