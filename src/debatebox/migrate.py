"""Create and upgrade debatebox's schema with the Alembic migrations in the package.

debatebox keeps its own version table (``debatebox_alembic_version``), so a host that
uses Alembic for its own tables keeps its history separate. Several processes may call
:func:`upgrade` at once (gunicorn workers starting together): a database lock lets one
migrate while the others wait, then find nothing left to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from . import database

VERSION_TABLE = "debatebox_alembic_version"
_LOCK_NAME = "debatebox_migrate"
_PG_LOCK_ID = 0x64656261  # "deba"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "debatebox:migrations")
    return config


def head() -> str:
    """The newest revision shipped with this version of debatebox."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at, or ``None`` before the first upgrade."""
    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default)."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (``"base"`` drops every debatebox table)."""
    _run(engine, command.downgrade, revision)


def _run(engine: sa.Engine, action: object, revision: str) -> None:
    config = alembic_config()
    with _locked(engine) as conn:
        config.attributes["connection"] = conn
        action(config, revision)  # type: ignore[operator]


@contextlib.contextmanager
def _locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        token = database._immediate.set(True)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            database._immediate.reset(token)
    elif backend == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
            yield conn
    elif backend in {"mysql", "mariadb"}:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT GET_LOCK(:name, 120)"), {"name": _LOCK_NAME})
            try:
                yield conn
                conn.commit()
            finally:
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK_NAME})
    else:
        with engine.begin() as conn:
            yield conn
