"""The ``debatebox`` command, run as a newcomer would: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from debatebox import migrate

pytestmark = pytest.mark.slow
DEBATEBOX = [sys.executable, "-m", "debatebox.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    url: str, data: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            raw = response.read()
            return response.status, response.headers, raw
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until_up(url: str, proc: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"server exited early: {out}\n{err}")
        try:
            request(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*DEBATEBOX, *args],
        env={**os.environ, **env},
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.terminate()
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_upgrade_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    result = subprocess.run(
        [*DEBATEBOX, "upgrade", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert migrate.head() in result.stdout


def test_serve_takes_options_and_environment(tmp_path: Path, processes: list[Any]) -> None:
    port = free_port()
    env = {
        "DEBATEBOX_SECRET_KEY": "serve-secret",
        "DEBATEBOX_MIN_FILL_SECONDS": "0",
        "DEBATEBOX_MODERATION": "all",  # from the environment
    }
    proc = start(
        [
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--database-url",
            f"sqlite:///{tmp_path / 'served.sqlite3'}",
            "--origin",
            "https://news.example",
        ],
        env,
        tmp_path,
    )
    processes.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", proc)
    status, _headers, raw = request(f"{base}/debatebox/api/config")
    assert status == 200
    config = json.loads(raw)
    assert config["moderation"] == "all"
    comment = {
        "thread": "/story",
        "name": "Ann",
        "email": "ann@example.org",
        "body": "Hi",
        "form_token": config["form_token"],
    }
    status, headers, raw = request(
        f"{base}/debatebox/api/comments", comment, {"Origin": "https://news.example"}
    )
    assert status == 202, raw
    assert headers["Access-Control-Allow-Origin"] == "https://news.example"
    status, _headers, raw = request(
        f"{base}/debatebox/api/comments", comment, {"Origin": "https://other.example"}
    )
    assert status == 403
    assert json.loads(raw)["error"] == "origin_not_allowed"


def test_serve_refuses_a_bad_setting_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *DEBATEBOX,
            "serve",
            "--port",
            str(free_port()),
            "--database-url",
            f"sqlite:///{tmp_path / 'x.sqlite3'}",
        ],
        env={**os.environ, "DEBATEBOX_SECRET_KEY": "k", "DEBATEBOX_ORIGINS": "news.example"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "Error: DEBATEBOX_ORIGINS entries look like https://example.org" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_serves_a_page_with_a_debate(tmp_path: Path, processes: list[Any]) -> None:
    port = free_port()
    proc = start(
        ["demo", "--port", str(port), "--db", str(tmp_path / "demo.sqlite3")], {}, tmp_path
    )
    processes.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz", proc)
    status, _headers, raw = request(base + "/")
    page = raw.decode()
    assert status == 200
    assert 'data-debatebox-thread="/demo/should-cities-ban-cars"' in page
    assert "Footfall is what sells" in page
    # The debate is rendered on the server (readers without JavaScript see it and can
    # post), and the widget's script tag is there to take it over.
    assert '<section class="debatebox" data-debatebox-thread=' in page
    assert page.count('class="debatebox-comment"') == 5
    assert 'action="/debatebox/form/comments"' in page
    script = re.search(r'<script src="(/debatebox/embed\.js\?v=\w+)" defer></script>', page)
    assert script is not None, page
    status, headers, raw = request(base + script[1])
    assert status == 200
    assert "javascript" in headers["Content-Type"]
    assert b"data-debatebox-thread" in raw
    status, _headers, raw = request(
        f"{base}/debatebox/api/comments?thread=/demo/should-cities-ban-cars"
    )
    assert json.loads(raw)["thread"]["count"] == 5
