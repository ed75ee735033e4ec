"""The ``debatebox`` command: ``demo``, ``serve``, ``upgrade``, ``deliver-mail`` and
``create-admin``.

Every option of ``serve`` can also come from the environment variable named in its help;
a command-line option wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from . import database, migrate
from .config import MODERATION_MODES, ConfigError
from .version import __version__

if TYPE_CHECKING:
    from flask import Flask

#: Options several commands share.
database_url_option = click.option(
    "--database-url",
    envvar="DEBATEBOX_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL; default an SQLite file in ./instance [env DEBATEBOX_DATABASE_URL].",
)
smtp_url_option = click.option(
    "--smtp-url",
    envvar="DEBATEBOX_SMTP_URL",
    default=None,
    help="Mail server, smtp://user:pass@host:587?starttls=1 [env DEBATEBOX_SMTP_URL].",
)


@click.group()
@click.version_option(__version__, prog_name="debatebox")
def main() -> None:
    """debatebox: threaded comments and debates for any website."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", "database_path", default=None, help="SQLite file (default: a temp file).")
@click.option(
    "--smtp-url",
    envvar="DEBATEBOX_SMTP_URL",
    default=None,
    help="Mail server for email subscriptions (default: none) [env DEBATEBOX_SMTP_URL].",
)
def demo(host: str, port: int, database_path: str | None, smtp_url: str | None) -> None:
    """Start a demo page with a debate and the comment server, no configuration needed."""
    from .demo import create_demo_app

    app = create_demo_app(
        database_path,
        DEBATEBOX_RATE_LIMIT="",
        DEBATEBOX_MIN_FILL_SECONDS=1,
        DEBATEBOX_SMTP_URL=smtp_url,
        DEBATEBOX_SITE_NAME="debatebox demo",
        SESSION_COOKIE_SECURE=False,  # the demo is plain http, also from other machines
    )
    click.echo(f"debatebox demo: open http://{_url_host(host)}:{port}/  (Ctrl+C stops it)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


_ENV_OPTIONS = {
    "database_url": "DEBATEBOX_DATABASE_URL",
    "origin": "DEBATEBOX_ORIGINS",
    "smtp_url": "DEBATEBOX_SMTP_URL",
    "moderation": "DEBATEBOX_MODERATION",
}


@main.command()
@click.option(
    "--host",
    envvar="DEBATEBOX_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on [env DEBATEBOX_HOST].",
)
@click.option(
    "--port",
    envvar="DEBATEBOX_PORT",
    default=8000,
    show_default=True,
    type=int,
    help="Port to listen on [env DEBATEBOX_PORT].",
)
@database_url_option
@click.option(
    "--origin",
    envvar="DEBATEBOX_ORIGINS",
    default=None,
    help="Allowed host-page origins, comma separated [env DEBATEBOX_ORIGINS].",
)
@smtp_url_option
@click.option(
    "--moderation",
    envvar="DEBATEBOX_MODERATION",
    default=None,
    type=click.Choice(MODERATION_MODES),
    help="open, first-time or all [env DEBATEBOX_MODERATION].",
)
@click.option(
    "--workers",
    envvar="DEBATEBOX_WORKERS",
    default=2,
    show_default=True,
    type=int,
    help="Worker processes [env DEBATEBOX_WORKERS].",
)
def serve(host: str, port: int, workers: int, **options: Any) -> None:
    """Run the standalone comment server."""
    for name, value in options.items():
        if value is not None:
            os.environ[_ENV_OPTIONS[name]] = str(value)
    from .standalone import create_app

    try:
        app = create_app()  # fails here, once, on a bad setting; upgrades the schema
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    prefix = app.extensions["debatebox"].settings.url_prefix
    click.echo(f"debatebox {__version__} serving on http://{_url_host(host)}:{port}{prefix}/")
    try:
        from .server import run_gunicorn
    except ImportError:  # no gunicorn on this platform
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    else:
        run_gunicorn(app, host=host, port=port, workers=workers)


@main.command()
@click.option(
    "--database-url",
    envvar="DEBATEBOX_DATABASE_URL",
    required=True,
    help="SQLAlchemy URL [env DEBATEBOX_DATABASE_URL].",
)
@click.option("--revision", default="head", show_default=True)
def upgrade(database_url: str, revision: str) -> None:
    """Create or upgrade debatebox's tables in DATABASE_URL."""
    engine = database.create_engine(database_url)
    migrate.upgrade(engine, revision)
    click.echo(f"debatebox schema at revision {migrate.current(engine)}.")


@main.command("deliver-mail")
@database_url_option
@smtp_url_option
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
def deliver_mail(database_url: str | None, smtp_url: str | None, once: bool) -> None:
    """Send queued emails: a worker for production (several may run at once)."""
    for name, value in (("database_url", database_url), ("smtp_url", smtp_url)):
        if value is not None:
            os.environ[_ENV_OPTIONS[name]] = value
    os.environ["DEBATEBOX_MAIL_DELIVERY"] = "worker"
    from .commands import deliver_mail as run

    with _standalone() as app, app.app_context():
        run(app.extensions["debatebox"], once=once)


@main.command("create-admin")
@click.argument("username")
@database_url_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(username: str, database_url: str | None, password_stdin: bool) -> None:
    """Create an administrator who logs in to the admin pages (/debatebox/admin/)."""
    from .commands import create_admin as create
    from .commands import read_password

    password = read_password(password_stdin)
    config = {"DEBATEBOX_DATABASE_URL": database_url} if database_url else {}
    with _standalone(config) as app:  # upgrades the schema first, as `serve` does
        create(app.extensions["debatebox"], username, password)


@contextmanager
def _standalone(config: dict[str, Any] | None = None) -> Iterator[Flask]:
    """The standalone app for a one-off command (a bad setting is a clean error); its
    database connections are closed when the command ends, however it ends."""
    from .standalone import create_app

    try:
        app = create_app(config)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    try:
        yield app
    finally:
        app.extensions["debatebox"].engine.dispose()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    main()
