"""Create and upgrade debatebox's schema with the Alembic migrations in the package.

debatebox keeps its own version table (``debatebox_alembic_version``), so a host that
uses Alembic for its own tables keeps its history separate. Several processes may call
:func:`upgrade` at once (gunicorn workers starting together): a database lock lets one
migrate while the others wait, then find nothing left to do.

Alembic is imported only when a migration really runs: a server whose schema is
already current (:func:`is_current`, one plain query) never loads it, which keeps
about 11 MiB out of every worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import database

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision in ``migrations/versions`` (a test holds the two together).
HEAD = "0003"
VERSION_TABLE = "debatebox_alembic_version"
_LOCK_NAME = "debatebox_migrate"
_PG_LOCK_ID = 0x64656261  # "deba"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "debatebox:migrations")
    return config


def head() -> str:
    """The newest revision shipped with this version of debatebox, as Alembic sees it."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at, or ``None`` before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def is_current(engine: sa.Engine) -> bool:
    """Whether the schema is at :data:`HEAD`, asked with one query and no Alembic."""
    try:
        with engine.connect() as conn:
            query = sa.select(sa.column("version_num", sa.String)).select_from(
                sa.table(VERSION_TABLE)
            )
            found = conn.execute(query).all()
    except sa.exc.DBAPIError:
        return False  # no version table yet
    return [row[0] for row in found] == [HEAD]


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default)."""
    from alembic import command

    _run(engine, command.upgrade, revision)


def upgrade_if_needed(engine: sa.Engine) -> bool:
    """Upgrade to the newest revision unless already there; return whether it ran."""
    if is_current(engine):
        return False
    upgrade(engine)
    return True


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (``"base"`` drops every debatebox table)."""
    from alembic import command

    _run(engine, command.downgrade, revision)


def _run(engine: sa.Engine, action: Any, revision: str) -> None:
    config = alembic_config()
    with _locked(engine) as conn:
        config.attributes["connection"] = conn
        action(config, revision)


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
