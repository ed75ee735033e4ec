"""Engines, sessions and write transactions that survive concurrent writers.

SQLite engines that debatebox creates itself run in WAL mode with foreign keys on and a
busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE`` so that two
writers queue up instead of failing half-way with "database is locked". On every
database a write unit of work that hits a lock, deadlock or serialization failure, or a
unique-key race, is rolled back and run again a bounded number of times.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from .errors import Unavailable
from .messages import ERRORS

log = logging.getLogger("debatebox")
T = TypeVar("T")

#: How often a write unit of work is tried before the client gets 503.
WRITE_ATTEMPTS = 8
SQLITE_BUSY_TIMEOUT_MS = 10_000

_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "debatebox_sqlite_immediate", default=False
)


def normalize_url(url: str | URL) -> URL:
    """Give bare ``postgresql://`` and ``mysql://`` URLs the drivers debatebox ships with.

    MariaDB/MySQL connections always use ``utf8mb4`` so every emoji round-trips.
    """
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif driver in {"mysql", "mariadb"}:
        parsed = parsed.set(drivername=f"{driver}+pymysql")
    if parsed.get_backend_name() in {"mysql", "mariadb"} and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def create_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url`` tuned for debatebox (see the module docstring)."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = sa.create_engine(parsed, **options)
        _tune_sqlite(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    if backend in {"mysql", "mariadb"}:
        options.setdefault("pool_recycle", 3600)
    return sa.create_engine(parsed, **options)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def _retryable(error: exc.DBAPIError | exc.IntegrityError) -> bool:
    if isinstance(error, exc.IntegrityError):
        return True  # a unique-key race (same new thread, same idempotency key)
    text = str(error.orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return True
    code = getattr(error.orig, "sqlstate", None) or ""
    if code in {"40001", "40P01", "55P03"}:  # serialization failure, deadlock, lock timeout
        return True
    args: tuple[Any, ...] = tuple(getattr(error.orig, "args", ()))
    return bool(args) and args[0] in {1205, 1213}  # MariaDB lock wait timeout, deadlock


def write(session: Session, work: Callable[[Session], T], *, attempts: int = WRITE_ATTEMPTS) -> T:
    """Run ``work(session)`` in a write transaction and commit it, retrying on contention.

    ``work`` must be safe to run again from the start: everything it did is rolled back
    before the next attempt. After the last attempt the caller gets
    :class:`~debatebox.errors.Unavailable` (503), never a raw database error.
    """
    last: Exception | None = None
    for attempt in range(attempts):
        session.rollback()  # leave any read transaction so the write starts afresh
        token = _immediate.set(True)
        try:
            session.connection()  # BEGIN (IMMEDIATE on SQLite) happens here
        except exc.OperationalError as error:
            _immediate.reset(token)
            session.rollback()
            last = error
            _pause(attempt)
            continue
        _immediate.reset(token)
        try:
            result = work(session)
            session.commit()
            return result
        except (exc.OperationalError, exc.IntegrityError) as error:
            session.rollback()
            if not _retryable(error) or attempt == attempts - 1:
                if isinstance(error, exc.IntegrityError):
                    raise
                last = error
                break
            last = error
            log.debug("debatebox: retrying a write after %s", error.orig)
            _pause(attempt)
        except BaseException:
            session.rollback()
            raise
    log.warning("debatebox: giving up on a write after %d attempts: %s", attempts, last)
    raise Unavailable(ERRORS["unavailable"], retry_after=2)


def _pause(attempt: int) -> None:
    time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
