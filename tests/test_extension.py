"""The extension's contract with its host: registration, databases, config, templates, CLI."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from debatebox import DebateBox, migrate
from debatebox.config import ConfigError
from support import BASE_CONFIG, Api


def _app(tmp_path: Any, **config: Any) -> Flask:
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    app.config.update(BASE_CONFIG)
    app.config.update(config)
    return app


def test_registering_twice_says_what_to_do(tmp_path: Any) -> None:
    app = _app(tmp_path)
    box = DebateBox(app)
    with pytest.raises(RuntimeError, match="once per application"):
        box.init_app(app)
    with pytest.raises(RuntimeError, match="already registered"):
        DebateBox(app)


def test_one_extension_object_serves_several_apps(tmp_path: Any) -> None:
    box = DebateBox()
    first = _app(tmp_path / "a", DEBATEBOX_URL_PREFIX="/comments")
    second = _app(tmp_path / "b")
    box.init_app(first)
    box.init_app(second)
    assert first.extensions["debatebox"] is not second.extensions["debatebox"]
    for app in (first, second):
        with app.app_context():
            migrate.upgrade(app.extensions["debatebox"].engine)
    assert first.test_client().get("/comments/api/config").status_code == 200
    assert first.test_client().get("/debatebox/api/config").status_code == 404
    assert second.test_client().get("/debatebox/api/config").status_code == 200
    # The default database is an SQLite file in each app's instance folder.
    assert (tmp_path / "a" / "instance" / "debatebox.sqlite3").exists()


def test_missing_secret_is_a_clear_error(tmp_path: Any) -> None:
    app = _app(tmp_path)
    del app.config["SECRET_KEY"]
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        DebateBox(app)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("DEBATEBOX_MODERATION", "sometimes", "DEBATEBOX_MODERATION"),
        ("DEBATEBOX_MAX_DEPTH", "deep", "DEBATEBOX_MAX_DEPTH"),
        ("DEBATEBOX_MAX_DEPTH", 0, "DEBATEBOX_MAX_DEPTH"),
        ("DEBATEBOX_MAX_DEPTH", 9, "DEBATEBOX_MAX_DEPTH"),
        ("DEBATEBOX_DEFAULT_SORT", "random", "DEBATEBOX_DEFAULT_SORT"),
        ("DEBATEBOX_URL_PREFIX", "comments/", "DEBATEBOX_URL_PREFIX"),
        ("DEBATEBOX_ORIGINS", "news.example", "DEBATEBOX_ORIGINS"),
        ("DEBATEBOX_SMTP_URL", "mail.example:25", "DEBATEBOX_SMTP_URL"),
        ("DEBATEBOX_TRUSTED_PROXIES", "10.0.0.1, proxy.local", "DEBATEBOX_TRUSTED_PROXIES"),
        ("DEBATEBOX_MAX_NAME_LENGTH", 500, "DEBATEBOX_MAX_NAME_LENGTH"),
    ],
)
def test_bad_settings_are_refused_at_init(
    tmp_path: Any, key: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        DebateBox(_app(tmp_path, **{key: value}))


def _host_db() -> tuple[SQLAlchemy, type]:
    class HostBase(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=HostBase)

    class Article(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "host_article"
        id: Mapped[int] = mapped_column(primary_key=True)
        slug: Mapped[str] = mapped_column(db.String(100))

    return db, Article


def test_comment_tables_in_the_hosts_database(db_url: str, tmp_path: Any) -> None:
    db, article_model = _host_db()
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=db_url)
    db.init_app(app)
    DebateBox(app, db=db)
    with app.app_context():
        assert app.extensions["debatebox"].engine is db.engine
        db.create_all()
        db.session.add(article_model(slug="hello"))
        db.session.commit()
    try:
        api = Api(app.test_client())
        api.posted("/hello", body="Hosted comment")
        data = api.thread("/hello").get_json()
        assert data["comments"][0]["html"] == "<p>Hosted comment</p>"
        with app.app_context():
            assert db.session.query(article_model).count() == 1
    finally:
        with app.app_context():
            db.drop_all()
        with app.app_context():
            _dispose(db)


def test_comment_tables_in_a_separate_bind(db_url: str, tmp_path: Any) -> None:
    db, _article = _host_db()
    host_url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    app = _app(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=host_url,
        SQLALCHEMY_BINDS={"comments": db_url},
        DEBATEBOX_BIND="comments",
    )
    db.init_app(app)
    DebateBox(app, db=db)
    try:
        with app.app_context():
            assert app.extensions["debatebox"].engine is db.engines["comments"]
        Api(app.test_client()).posted("/bound")
        with app.app_context():
            assert "debatebox_comment" not in db.inspect(db.engine).get_table_names()
    finally:
        with app.app_context():
            _dispose(db)


def test_unknown_bind_is_a_clear_error(tmp_path: Any) -> None:
    db, _article = _host_db()
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite://", DEBATEBOX_BIND="nope")
    db.init_app(app)
    with pytest.raises(ConfigError, match="'nope'"):
        DebateBox(app, db=db)
    with app.app_context():
        _dispose(db)


def _dispose(db: SQLAlchemy) -> None:
    for engine in db.engines.values():
        engine.dispose()


def test_jinja_helper_renders_the_thread_without_javascript(app: Flask, api: Api) -> None:
    parent = api.posted("/page", body="Server *rendered*", name="<Ann & Co>")
    api.posted("/page", body="A reply", parent=parent["comment"]["id"], name="Bob")
    with app.test_request_context("/page"):
        html = render_template_string('{{ debatebox.thread("/page", title="Page") }}')
    assert 'data-debatebox-thread="/page"' in html
    assert "2 comments" in html
    assert "<em>rendered</em>" in html
    assert "&lt;Ann &amp; Co&gt;" in html and "<Ann" not in html
    assert f'id="comment-{parent["comment"]["id"]}"' in html
    assert "ann@example.org" not in html


def test_flask_cli_upgrades_the_schema(tmp_path: Any) -> None:
    app = _app(tmp_path)
    DebateBox(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["debatebox", "upgrade"])
    assert result.exit_code == 0, result.output
    assert migrate.head() in result.output
    current = runner.invoke(args=["debatebox", "current"])
    assert f"database: {migrate.head()}" in current.output
    down = runner.invoke(args=["debatebox", "downgrade", "base"])
    assert "empty" in down.output
