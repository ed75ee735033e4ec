"""The standalone comment server, for sites that are not Flask applications.

``create_app()`` is the WSGI factory for production servers::

    gunicorn 'debatebox.standalone:create_app()'

It reads every ``DEBATEBOX_*`` setting from the environment and upgrades the schema
when it starts (safe with several workers starting at once).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify

from . import migrate
from .admin_access import accounts
from .config import from_environ, parse_flag
from .extension import DebateBox
from .version import __version__

SECRET_FILE = "debatebox-secret.key"


def create_app(
    config: Mapping[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """A Flask application serving only debatebox; ``config`` overrides the environment."""
    instance = (
        instance_path or os.environ.get("DEBATEBOX_INSTANCE_PATH") or os.path.abspath("instance")
    )
    app = Flask("debatebox.standalone", instance_path=instance, instance_relative_config=True)
    # The session cookie (admin login, CSRF of the forms): HTTPS only, no script access,
    # not sent by cross-site forms. DEBATEBOX_SECURE_COOKIES=0 allows plain http (tests,
    # a server tried out on another machine without TLS); any value but a clear "no"
    # keeps the cookie HTTPS-only.
    secure = parse_flag(os.environ.get("DEBATEBOX_SECURE_COOKIES", "1"), otherwise=True)
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(from_environ())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = app.config.get("DEBATEBOX_SECRET_KEY") or _instance_secret(
            instance
        )
    box = DebateBox(app, admin_check=accounts)  # `debatebox create-admin` accounts
    del box
    state = app.extensions["debatebox"]
    if state.settings.auto_upgrade:
        migrate.upgrade_if_needed(state.engine)
        state.engine.dispose()  # no pooled connection may cross a worker fork

    @app.get("/")
    def index() -> Response:
        return jsonify(service="debatebox", version=__version__)

    @app.get("/healthz")
    def health() -> Response:
        return jsonify(status="ok")

    return app


def _instance_secret(instance: str) -> str:
    """A random key kept in the instance folder, made once and shared by all workers.

    Servers on several machines must set ``DEBATEBOX_SECRET_KEY`` instead.
    """
    os.makedirs(instance, exist_ok=True)
    path = os.path.join(instance, SECRET_FILE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another worker may be writing it this instant
            with open(path, encoding="ascii") as handle:
                key = handle.read().strip()
            if key:
                return key
            time.sleep(0.05)
        raise RuntimeError(f"{path} is empty: delete it or set DEBATEBOX_SECRET_KEY.") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
