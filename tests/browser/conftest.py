"""Browser fixtures: a comment server and a host site on two origins, and Chromium.

The comment server is the standalone app (SQLite in a temporary folder) and the host
site is a separate small Flask app on another port, so every page is cross-origin, as
on a real site. Tests isolate themselves by using a fresh thread key each
(:func:`new_key`). Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright.
"""

from __future__ import annotations

import html
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, abort
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from debatebox.standalone import create_app

CHROMIUM = os.environ.get("DEBATEBOX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where tests save screenshots (kept as artefacts, referenced from docs/embedding.md).
ARTEFACTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_key(prefix: str = "/t") -> str:
    """A thread key no other test uses."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


class ServerThread:
    """A WSGI app served on 127.0.0.1 by a background thread."""

    def __init__(self, app: Flask, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server: BaseWSGIServer = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class CommentServer:
    """The comment server under test and the app behind it."""

    app: Flask
    origin: str
    _server: ServerThread

    @property
    def prefix(self) -> str:
        return f"{self.origin}/debatebox"

    def stop(self) -> None:
        self._server.stop()
        self.app.extensions["debatebox"].engine.dispose()


@dataclass
class HostSite:
    """A plain site on its own origin whose pages embed the widget."""

    origin: str
    pages: dict[str, str] = field(default_factory=dict)

    def page(
        self,
        body: str,
        *,
        comments: CommentServer,
        lang: str = "en",
        head: str = "",
        script: bool = True,
        path: str | None = None,
    ) -> str:
        """Publish a page whose ``body`` holds embed markup; return its URL."""
        path = path or f"/p/{uuid.uuid4().hex[:10]}"
        tag = f'<script src="{comments.prefix}/embed.js" defer></script>' if script else ""
        self.pages[path] = (
            f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Host page</title>{head}</head><body>{body}{tag}</body></html>"
        )
        return f"{self.origin}{path}"


def _host_app(site: HostSite) -> Flask:
    app = Flask("host-site")

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204  # browsers ask for it; a 404 would be logged as a console error

    @app.get("/<path:path>")
    def serve(path: str) -> str:
        found = site.pages.get(f"/{path}")
        if found is None:
            abort(404)
        return found

    return app


@pytest.fixture(scope="session")
def _host_server() -> Iterator[tuple[ServerThread, HostSite]]:
    port = free_port()
    site = HostSite(origin=f"http://127.0.0.1:{port}")
    server = ServerThread(_host_app(site), port)
    yield server, site
    server.stop()


@pytest.fixture
def host(_host_server: tuple[ServerThread, HostSite]) -> HostSite:
    return _host_server[1]


@pytest.fixture(scope="session")
def make_comment_server(
    tmp_path_factory: pytest.TempPathFactory, _host_server: tuple[ServerThread, HostSite]
) -> Iterator[Callable[..., CommentServer]]:
    """Start a comment server allowing the host site's origin: ``make_comment_server(**cfg)``."""
    started: list[CommentServer] = []
    host_origin = _host_server[1].origin

    def factory(**config: Any) -> CommentServer:
        folder = tmp_path_factory.mktemp("comments")
        settings = {
            "SECRET_KEY": "browser-test-secret",
            "DEBATEBOX_DATABASE_URL": f"sqlite:///{folder / 'comments.sqlite3'}",
            "DEBATEBOX_ORIGINS": host_origin,
            "DEBATEBOX_MIN_FILL_SECONDS": 0,
            "DEBATEBOX_RATE_LIMIT": "",
            "DEBATEBOX_EMAIL_RATE_LIMIT": "",
            # The XSS payloads and repeated test texts are not what these tests are about.
            "DEBATEBOX_SPAM_CHECKS": False,
            "DEBATEBOX_DUPLICATE_WINDOW": 0,
            **config,
        }
        app = create_app(settings, instance_path=str(folder / "instance"))
        server = ServerThread(app)
        made = CommentServer(app=app, origin=server.origin, _server=server)
        started.append(made)
        return made

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def comments(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    """The shared comment server (tests keep apart by using their own thread keys)."""
    return make_comment_server()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did that a test may assert on: dialogs opened, console errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1000, "height": 900})
    yield made
    made.close()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(context: BrowserContext, watch: Watch) -> Page:
    """A fresh page; dialogs are recorded and dismissed, console errors kept."""
    made = context.new_page()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    made.on("dialog", on_dialog)
    made.on("pageerror", lambda error: watch.errors.append(str(error)))
    made.on(
        "console",
        lambda message: watch.errors.append(message.text) if message.type == "error" else None,
    )
    return made
