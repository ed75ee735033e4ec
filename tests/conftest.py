"""Shared fixtures: a real database of each kind, an app on it, and helpers.

Every test that asks for ``app`` (or ``db_url``) runs once on SQLite, PostgreSQL and
MariaDB. SQLite gets a new file per test. For PostgreSQL and MariaDB the run creates its
own database (a random name), migrates it once, empties every debatebox table before each
test, and drops the database at the end: nothing depends on an earlier run.

Environment: ``DEBATEBOX_TEST_DATABASES`` (default ``sqlite,postgresql,mariadb``),
``DEBATEBOX_TEST_POSTGRES_URL``, ``DEBATEBOX_TEST_MARIADB_URL``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from debatebox import DebateBox, migrate
from debatebox.database import create_engine, normalize_url
from support import BASE_CONFIG, KINDS, TABLES, Api

#: Real servers on loopback: SMTP for the mail tests (fixtures ``mail_server``,
#: ``make_mail_server``) and Akismet's protocol (``akismet_server``).
pytest_plugins = ["mailserver", "akismet_server"]

SERVERS = {
    "postgresql": os.environ.get(
        "DEBATEBOX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("DEBATEBOX_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}


class ServerDatabase:
    """A database of the run's own on a PostgreSQL or MariaDB server."""

    def __init__(self, kind: str, *, migrated: bool = True) -> None:
        self.kind = kind
        self.name = f"dbx_test_{uuid.uuid4().hex[:10]}"
        admin_url = normalize_url(SERVERS[kind])
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text(f"CREATE DATABASE \"{self.name}\" ENCODING 'UTF8'"))
            else:
                conn.execute(
                    sa.text(
                        f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4"
                        " COLLATE utf8mb4_unicode_ci"
                    )
                )
        self.url = admin_url.set(database=self.name).render_as_string(hide_password=False)
        self.engine = create_engine(self.url)
        if migrated:
            migrate.upgrade(self.engine)

    def empty(self) -> None:
        with self.engine.begin() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
                for table in TABLES:
                    conn.execute(sa.text(f"TRUNCATE TABLE {table}"))
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 1"))

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{self.name}`"))
        self.admin.dispose()


@pytest.fixture(scope="session")
def _servers() -> Iterator[dict[str, ServerDatabase]]:
    made: dict[str, ServerDatabase] = {}
    yield made
    for database in made.values():
        database.drop()


@pytest.fixture(params=KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(db_kind: str, tmp_path: Any, _servers: dict[str, ServerDatabase]) -> str:
    """The URL of an empty, migrated database of the kind under test."""
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'comments.sqlite3'}"
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        return url
    if db_kind not in _servers:
        _servers[db_kind] = ServerDatabase(db_kind)
    _servers[db_kind].empty()
    return _servers[db_kind].url


@pytest.fixture
def empty_db_url(db_kind: str, tmp_path: Any) -> Iterator[str]:
    """The URL of a database of the kind under test with no tables at all."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    database = ServerDatabase(db_kind, migrated=False)
    try:
        yield database.url
    finally:
        database.drop()


@pytest.fixture
def made_apps() -> Iterator[list[Flask]]:
    """The apps a test built (append them): their connection pools close after it."""
    made: list[Flask] = []
    yield made
    for app in made:
        app.extensions["debatebox"].engine.dispose()


@pytest.fixture
def make_app(db_url: str, tmp_path: Any, made_apps: list[Flask]) -> Callable[..., Flask]:
    """Build an app on the test database with extra config: ``make_app(DEBATEBOX_X=…)``;
    ``policy`` and ``admin_check`` go to :class:`DebateBox` as a host would pass them."""

    def factory(*, policy: Any = None, admin_check: Any = None, **config: Any) -> Flask:
        n = len(made_apps)
        app = Flask(f"host{n}", instance_path=str(tmp_path / f"instance{n}"))
        app.config.update(BASE_CONFIG, DEBATEBOX_DATABASE_URL=db_url)
        app.config.update(config)
        DebateBox(app, policy=policy, admin_check=admin_check)
        made_apps.append(app)
        return app

    return factory


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)
