"""``flask debatebox …``: schema and mail commands for a host application.

Each command only wraps a library function.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from . import admins, delivery, migrate
from .errors import DebateBoxError
from .outbox import Report

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


def _echo_report(report: Report) -> None:
    click.echo(f"mail: {report.sent} sent, {report.retried} to retry, {report.failed} failed")


def deliver_mail(state: Any, *, once: bool) -> None:
    """Send queued mail: one pass, or until SIGTERM/SIGINT (shared by both CLIs)."""
    if not state.settings.smtp_url:
        raise click.ClickException("Set DEBATEBOX_SMTP_URL: there is no mail server to send to.")
    if once:
        _echo_report(delivery.run_once(state))
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo("debatebox: delivering mail (Ctrl+C stops)")
    delivery.run_forever(state, stop=stop, on_report=_echo_report)


@flask_group.command("deliver-mail")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
def deliver_mail_command(once: bool) -> None:
    """Send the queued emails (run one or more of these next to the web processes)."""
    deliver_mail(current_app.extensions["debatebox"], once=once)


def read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def create_admin(state: Any, username: str, password: str) -> None:
    """Store an administrator of the admin pages (shared by both CLIs)."""
    with state.new_session() as session:
        try:
            admins.create(session, username, password)
        except DebateBoxError as error:
            raise click.ClickException(error.message) from error
    click.echo(f"debatebox: administrator {username!r} created.")


@flask_group.command("create-admin")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin_command(username: str, password_stdin: bool) -> None:
    """Create an account for the admin pages' built-in login (admin_access.accounts)."""
    create_admin(current_app.extensions["debatebox"], username, read_password(password_stdin))
