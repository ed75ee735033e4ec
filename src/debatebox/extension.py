"""The Flask extension: ``DebateBox(app)`` or ``box.init_app(app)``."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_limiter import Limiter

from . import commands, database
from .admin import admin_pages
from .admin_access import AdminAccess, AdminCheck
from .api import api
from .config import ConfigError, Settings
from .delivery import MailSender
from .pages import pages
from .ratelimit import PostLimiter
from .state import DebateBoxState
from .tokens import Signer
from .views import script_tag, thread_html, views
from .web import client_ip, close_session
from .widget import widget


class DebateBox:
    """Adds threaded comments to a Flask application.

    ``db`` is the host's Flask-SQLAlchemy object, if it has one: the comment tables then
    live in its database (or in the bind named by ``DEBATEBOX_BIND``). Without it, or
    when ``DEBATEBOX_DATABASE_URL`` is set, debatebox keeps its own engine, by default an
    SQLite file in the instance folder. Either way the tables are created by
    ``flask debatebox upgrade`` (the standalone server runs it by itself).

    ``admin_check`` opens the admin pages (``PREFIX/admin/``, see docs/admin.md): a
    function called inside the request that returns the moderator's name, or ``None``
    for a 403. Without one the admin answers 403 to everyone.
    ``debatebox.admin_access.accounts`` is the built-in check (``create-admin`` accounts
    and a login page).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: Any = None,
        policy: Any = None,
        admin_check: AdminCheck | None = None,
    ) -> None:
        self.db = db
        self._admin_check = admin_check
        #: A :class:`debatebox.screening.ModerationPolicy` (``None``: the built-in checks).
        self.policy = policy
        if app is not None:
            self.init_app(app)

    def admin_check(self, check: AdminCheck) -> AdminCheck:
        """Decorator: ``@box.admin_check`` sets the admin check of the applications this
        object serves that were not given their own in ``init_app``."""
        self._admin_check = check
        return check

    def init_app(self, app: Flask, *, admin_check: AdminCheck | None = None) -> None:
        if "debatebox" in app.extensions:
            raise RuntimeError(
                "debatebox is already registered on this application. Create one DebateBox"
                " and call init_app(app) once per application."
            )
        settings = Settings.from_mapping(app.config)
        secret = settings.secret_key or app.config.get("SECRET_KEY")
        if not secret:
            raise ConfigError(
                "debatebox signs tokens and needs a secret: set SECRET_KEY (or"
                " DEBATEBOX_SECRET_KEY) in the application's config."
            )
        engine_factory, owns = self._engine_factory(app, settings)
        limiter = email_limiter = None
        if settings.rate_limit or settings.email_rate_limit:
            flask_limiter = Limiter(
                key_func=client_ip,
                storage_uri=settings.rate_limit_storage,
                strategy="fixed-window",
                key_prefix="debatebox",
            )
            flask_limiter.init_app(app)
            if settings.rate_limit:
                limiter = PostLimiter(flask_limiter, settings.rate_limit)
            if settings.email_rate_limit:
                email_limiter = PostLimiter(
                    flask_limiter, settings.email_rate_limit, scope="debatebox-email"
                )
        state = app.extensions["debatebox"] = DebateBoxState(
            settings,
            Signer(secret),
            str(secret),
            engine_factory,
            owns_engine=owns,
            sender=app,
            rate_limiter=limiter,
        )
        state.email_limiter = email_limiter
        state.policy = self.policy
        if settings.smtp_url and settings.mail_delivery == "thread":
            sender = state.mail_sender = MailSender(state)
            state.on_mail_queued = sender.wake
            # Mail left queued by an earlier run goes out once the process serves.
            app.before_request(sender.ensure_started)
        app.register_blueprint(views, url_prefix=settings.url_prefix)
        app.register_blueprint(pages, url_prefix=settings.url_prefix)
        app.register_blueprint(api, url_prefix=f"{settings.url_prefix}/api")
        app.register_blueprint(widget, url_prefix=settings.url_prefix)
        app.register_blueprint(admin_pages, url_prefix=f"{settings.url_prefix}/admin")
        app.extensions["debatebox_admin"] = AdminAccess(lambda: admin_check or self._admin_check)
        app.teardown_appcontext(close_session)
        app.jinja_env.globals["debatebox"] = _JinjaHelpers()
        app.cli.add_command(commands.flask_group)

    def _engine_factory(self, app: Flask, settings: Settings) -> tuple[Any, bool]:
        if settings.database_url or self.db is None:
            url = settings.database_url or _default_sqlite(app)
            engine = database.create_engine(url)
            return (lambda: engine), True
        db, bind = self.db, settings.bind
        if bind is not None and bind not in app.config.get("SQLALCHEMY_BINDS", {}):
            raise ConfigError(f"DEBATEBOX_BIND is {bind!r}, but SQLALCHEMY_BINDS has no such bind.")

        def from_host() -> Any:
            try:
                return db.engines[bind]
            except KeyError as error:
                raise ConfigError(
                    f"The Flask-SQLAlchemy object has no bind {bind!r} (DEBATEBOX_BIND)."
                ) from error

        return from_host, False


def _default_sqlite(app: Flask) -> str:
    os.makedirs(app.instance_path, exist_ok=True)
    return f"sqlite:///{os.path.join(app.instance_path, 'debatebox.sqlite3')}"


class _JinjaHelpers:
    """``debatebox`` in templates: ``{{ debatebox.thread("KEY", title="…") }}`` renders a
    thread with its no-JavaScript form, ``{{ debatebox.script() }}`` the widget's tag."""

    @staticmethod
    def thread(key: str, title: str = "", sort: str | None = None, lang: str | None = None) -> Any:
        return thread_html(key, title=title, sort=sort, lang=lang)

    @staticmethod
    def script() -> Any:
        """The widget's ``<script>`` tag, on its long-cached versioned URL."""
        return script_tag()
