"""Helpers the tests import (fixtures live in conftest.py, which is not importable)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

#: debatebox's tables, children first.
TABLES = (
    "debatebox_admin",
    "debatebox_audit",
    "debatebox_report",
    "debatebox_ban",
    "debatebox_outbox",
    "debatebox_subscription",
    "debatebox_subscriber",
    "debatebox_comment",
    "debatebox_thread",
)

#: The databases every database test runs on (``DEBATEBOX_TEST_DATABASES`` narrows them).
KINDS = [
    kind.strip()
    for kind in os.environ.get("DEBATEBOX_TEST_DATABASES", "sqlite,postgresql,mariadb").split(",")
    if kind.strip()
]
#: Those with more than one writer at a time, for tests of what commits in between.
SERVER_KINDS = [kind for kind in KINDS if kind != "sqlite"]

BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "DEBATEBOX_MIN_FILL_SECONDS": 0,
    "DEBATEBOX_RATE_LIMIT": "",
    "SERVER_NAME": "comments.test",
    # Tests that are about them turn these back on.
    "DEBATEBOX_EMAIL_RATE_LIMIT": "",
    "DEBATEBOX_SPAM_CHECKS": False,
    "DEBATEBOX_DUPLICATE_WINDOW": 0,
    # Tests deliver queued mail themselves (``outbox.deliver``), so nothing runs behind them.
    "DEBATEBOX_MAIL_DELIVERY": "worker",
}


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
