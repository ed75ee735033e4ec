"""Shared fixtures: a real database of each kind, an app on it, and helpers.

Every test that asks for ``app`` (or ``db_url``) runs once on SQLite, PostgreSQL and
MariaDB. SQLite gets a new file per test. For PostgreSQL and MariaDB the run creates its
own database (a random name), migrates it once, empties every debatebox table before each
test, and drops the database at the end: nothing depends on an earlier run.

Environment: ``DEBATEBOX_TEST_DATABASES`` (default ``sqlite,postgresql,mariadb``),
``DEBATEBOX_TEST_POSTGRES_URL``, ``DEBATEBOX_TEST_MARIADB_URL``.
"""

from __future__ import annotations

import contextlib
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

SERVERS = {
    "postgresql": os.environ.get(
        "DEBATEBOX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("DEBATEBOX_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
KINDS = [
    kind.strip()
    for kind in os.environ.get("DEBATEBOX_TEST_DATABASES", "sqlite,postgresql,mariadb").split(",")
    if kind.strip()
]
TABLES = ("debatebox_comment", "debatebox_thread")


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


BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "DEBATEBOX_MIN_FILL_SECONDS": 0,
    "DEBATEBOX_RATE_LIMIT": "",
    "SERVER_NAME": "comments.test",
}


@pytest.fixture
def make_app(db_url: str, tmp_path: Any) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database with extra config: ``make_app(DEBATEBOX_X=…)``."""
    made: list[Flask] = []

    def factory(**config: Any) -> Flask:
        app = Flask(f"host{len(made)}", instance_path=str(tmp_path / f"instance{len(made)}"))
        app.config.update(BASE_CONFIG, DEBATEBOX_DATABASE_URL=db_url)
        app.config.update(config)
        DebateBox(app)
        made.append(app)
        return app

    yield factory
    for app in made:
        app.extensions["debatebox"].engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


class Api:
    """Small helper speaking the JSON API through a test client."""

    prefix = "/debatebox/api"

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self._form_token: str | None = None

    @property
    def form_token(self) -> str:
        if self._form_token is None:
            self._form_token = self.client.get(f"{self.prefix}/config").get_json()["form_token"]
        return self._form_token

    def post(
        self,
        thread: str = "/article",
        body: str = "A comment.",
        *,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> Any:
        payload = {
            "thread": thread,
            "name": "Ann",
            "email": "ann@example.org",
            "body": body,
            "form_token": self.form_token,
            **fields,
        }
        payload = {key: value for key, value in payload.items() if value is not ...}
        return self.client.post(f"{self.prefix}/comments", json=payload, headers=headers)

    def posted(
        self, thread: str = "/article", body: str = "A comment.", **fields: Any
    ) -> dict[str, Any]:
        response = self.post(thread, body, **fields)
        assert response.status_code == 201, response.get_json()
        data: dict[str, Any] = response.get_json()
        return data

    def thread(self, key: str = "/article", **params: Any) -> Any:
        return self.client.get(f"{self.prefix}/comments", query_string={"thread": key, **params})

    def edit(self, comment_id: int, token: str | None, body: str) -> Any:
        headers = {"X-Debatebox-Token": token} if token is not None else {}
        return self.client.patch(
            f"{self.prefix}/comments/{comment_id}", json={"body": body}, headers=headers
        )

    def delete(self, comment_id: int, token: str | None) -> Any:
        headers = {"X-Debatebox-Token": token} if token is not None else {}
        return self.client.delete(f"{self.prefix}/comments/{comment_id}", headers=headers)


def flatten(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every comment of a nested API list, in display order."""
    out: list[dict[str, Any]] = []
    for comment in comments:
        out.append(comment)
        out.extend(flatten(comment["replies"]))
    return out


@contextlib.contextmanager
def count_queries(engine: sa.Engine) -> Iterator[list[str]]:
    """Collect the SQL statements run on ``engine`` inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@contextlib.contextmanager
def captured_signals(signal: Any, app: Flask) -> Iterator[list[dict[str, Any]]]:
    """Record every send of ``signal`` by ``app`` as a dict of its keyword arguments."""
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **extra: Any) -> None:
        calls.append({"sender": sender, **extra})

    signal.connect(receiver, app)
    try:
        yield calls
    finally:
        signal.disconnect(receiver, app)


def snapshot(app: Flask) -> list[tuple[Any, ...]]:
    """Every stored row of every debatebox table, to prove nothing changed."""
    engine = app.extensions["debatebox"].engine
    rows: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        for table in TABLES:
            rows.extend(
                (table, *row) for row in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
            )
    return rows
