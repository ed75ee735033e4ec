"""A small Flask site with a reader debate under each article.

It shows the usual way to add debatebox to an application built in a factory:

* the site keeps its own Flask-SQLAlchemy ``db`` and its own ``Article`` model;
* ``DebateBox(db=db)`` is created once at import time and attached in ``create_app``
  with ``init_app``, so the comment tables live in the site's database;
* each article page renders its comments on the server with
  ``{{ debatebox.thread(article.slug, title=article.title) }}`` inside the embed markup;
* a signal receiver logs every new comment.

Run it from the repository root::

    flask --app examples/flask_site/app.py debatebox upgrade
    flask --app examples/flask_site/app.py run
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, render_template
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from debatebox import DebateBox, signals


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
box = DebateBox(db=db)


class Article(db.Model):  # type: ignore[name-defined,misc]
    """One page of the site; its slug doubles as the key of its comment thread."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text)


#: The two articles the site starts with: (slug, title, summary).
ARTICLES: tuple[tuple[str, str, str], ...] = (
    (
        "four-day-week",
        "Should the working week be four days long?",
        "Trials in several countries kept output steady with one day less at work."
        " Is it time to make the shorter week the rule?",
    ),
    (
        "school-phones",
        "Should phones be banned in schools?",
        "Some schools lock phones away at the gate. Others teach pupils to use them well."
        " Which works better?",
    ),
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the site. ``config`` overrides the defaults (tests pass their own)."""
    app = Flask(__name__)
    app.config.from_mapping(
        # Signs debatebox's edit and form tokens too: use a real secret in production.
        SECRET_KEY=os.environ.get("SECRET_KEY", "change-me-in-production"),
        # A relative SQLite path lands in the instance folder (examples/flask_site/instance).
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///site.sqlite3"),
        # Replies nest two levels below a top-level comment on this site.
        DEBATEBOX_MAX_DEPTH=2,
    )
    if config:
        app.config.update(config)

    db.init_app(app)
    box.init_app(app)
    signals.comment_posted.connect(_log_comment, app)

    with app.app_context():
        create_tables()

    @app.get("/")
    def index() -> str:
        articles = db.session.scalars(sa.select(Article).order_by(Article.id)).all()
        return render_template("index.html", articles=articles)

    @app.get("/articles/<slug>")
    def article(slug: str) -> str:
        found = db.session.scalars(sa.select(Article).where(Article.slug == slug)).first()
        if found is None:
            abort(404)
        return render_template("article.html", article=found)

    return app


def create_tables() -> None:
    """Create the site's own tables and its articles (debatebox's come from its upgrade).

    ``db.create_all()`` does not touch the comment tables: they belong to debatebox's
    migrations, run by ``flask debatebox upgrade``.
    """
    db.create_all()
    known = set(db.session.scalars(sa.select(Article.slug)))
    for slug, title, summary in ARTICLES:
        if slug not in known:
            db.session.add(Article(slug=slug, title=title, summary=summary))
    db.session.commit()


def _log_comment(sender: Flask, *, comment: Any, thread: Any, **extra: Any) -> None:
    """Receiver for ``comment_posted``: the sender is the application itself."""
    sender.logger.info(
        "New comment %s on %r by %s (%s)",
        comment.id,
        thread.key,
        comment.author_name,
        comment.status,
    )
