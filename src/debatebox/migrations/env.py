"""Alembic environment for debatebox's own migrations.

Normally run through :func:`debatebox.migrate.upgrade`, which hands over a connection.
Run by the ``alembic`` command instead, it connects to ``DEBATEBOX_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context

from debatebox.database import create_engine
from debatebox.migrate import VERSION_TABLE
from debatebox.models import Base

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(os.environ.get("DEBATEBOX_DATABASE_URL", "sqlite:///debatebox.sqlite3"))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
