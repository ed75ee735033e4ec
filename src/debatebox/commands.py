"""``flask debatebox …``: schema commands for a host application.

Each command only wraps a library function.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from . import migrate

flask_group = AppGroup("debatebox", help="Manage debatebox's comment database.")


def _engine() -> object:
    return current_app.extensions["debatebox"].engine


@flask_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Create or upgrade debatebox's tables."""
    migrate.upgrade(_engine(), revision)  # type: ignore[arg-type]
    click.echo(f"debatebox schema at revision {migrate.current(_engine())}.")  # type: ignore[arg-type]


@flask_group.command("current")
def current() -> None:
    """Show the schema revision of the database and the newest one available."""
    click.echo(f"database: {migrate.current(_engine()) or 'empty'}")  # type: ignore[arg-type]
    click.echo(f"newest:   {migrate.head()}")


@flask_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Take the schema back to REVISION ("base" removes every debatebox table)."""
    migrate.downgrade(_engine(), revision)  # type: ignore[arg-type]
    click.echo(f"debatebox schema at revision {migrate.current(_engine()) or 'empty'}.")  # type: ignore[arg-type]
