"""Many writers on one thread at once: nothing lost, nothing doubled, numbers without gaps.

* Eight OS processes post through real HTTP to the standalone server running under
  gunicorn with four workers on one SQLite file: the production shape of a small site.
* Eight threads post at once to a thread that does not exist yet, on every database.
* Eight threads send the very same request with the same ``Idempotency-Key`` at once.

Every wait is bounded: HTTP requests, barriers, queues, joins and the server's start.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from debatebox import signals
from debatebox.models import Comment, Thread
from support import Api, captured_signals

PREFIX = "/debatebox/api"
WRITERS = 8
#: Whole-test budgets, in seconds.
SERVER_TEST_BUDGET = 240.0
THREAD_TEST_BUDGET = 120.0
REQUEST_TIMEOUT = 60.0


class Deadline:
    """One time budget shared by every wait of a test."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"the test ran over its budget of {self.seconds:.0f} s")
        return remaining


def is_reply_slot(n: int) -> bool:
    """Posts 2 and 3 of every 4 reply to the writer's previous post: a reply, then a
    reply to that reply; posts 0 and 1 are top-level comments."""
    return n % 4 in (2, 3)


# a. Processes through gunicorn on SQLite -------------------------------------------


def _http(
    method: str, url: str, payload: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            body = error.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        return error.code, dict(error.headers), parsed


def http_writer(base: str, index: int, posts: int, barrier: Any, results: Any) -> None:
    """One writer process: fetch a form token, wait for the others, then post ``posts``."""
    sent: list[dict[str, Any]] = []
    outcome: dict[str, Any] = {"index": index, "sent": sent, "error": None}
    try:
        _status, _headers, config = _http("GET", f"{base}{PREFIX}/config")
        form_token = config["form_token"]
        barrier.wait(timeout=REQUEST_TIMEOUT)
        outcome["started"] = time.time()
        previous: int | None = None
        for n in range(posts):
            payload: dict[str, Any] = {
                "thread": "/race",
                "name": f"Writer {index}",
                "email": f"w{index}@example.org",
                "body": f"Post {n} of writer {index}.",
                "form_token": form_token,
            }
            if is_reply_slot(n) and previous is not None:
                payload["parent"] = previous
            key = f"writer-{index}-post-{n}"
            status, _headers, body = _http(
                "POST", f"{base}{PREFIX}/comments", payload, {"Idempotency-Key": key}
            )
            sent.append({"key": key, "payload": payload, "status": status, "body": body})
            if status != 201:
                break
            previous = body["comment"]["id"]
        outcome["finished"] = time.time()
    except Exception as error:  # reported to the parent, which fails the test
        outcome["error"] = repr(error)
    results.put(outcome)


def _gunicorn_flags() -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    # Newer gunicorns open a control socket in the home directory; two servers would clash.
    known = {flag for setting in KNOWN_SETTINGS for flag in (setting.cli or [])}
    return ["--no-control-socket"] if "--no-control-socket" in known else []


@contextlib.contextmanager
def gunicorn_server(directory: Path, database: Path, deadline: Deadline) -> Iterator[str]:
    """The standalone app under gunicorn with four workers; yields its base URL."""
    env = {
        **os.environ,
        "DEBATEBOX_DATABASE_URL": f"sqlite:///{database}",
        "DEBATEBOX_SECRET_KEY": "concurrency-secret",
        "DEBATEBOX_RATE_LIMIT": "",
        "DEBATEBOX_EMAIL_RATE_LIMIT": "",
        "DEBATEBOX_SPAM_CHECKS": "0",
        "DEBATEBOX_DUPLICATE_WINDOW": "0",
        "DEBATEBOX_MIN_FILL_SECONDS": "0",
        "DEBATEBOX_INSTANCE_PATH": str(directory),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "4",
        "-b",
        "127.0.0.1:0",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        *_gunicorn_flags(),
        "debatebox.standalone:create_app()",
    ]
    log_path = directory / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = _wait_until_serving(server, log_path, deadline)
        yield base
    finally:
        _stop(server)


def _wait_until_serving(server: subprocess.Popen[bytes], log_path: Path, deadline: Deadline) -> str:
    start_by = time.monotonic() + min(60.0, deadline.left())
    base = None
    while time.monotonic() < start_by:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
        if base is None:
            found = re.search(r"Listening at: (http://[\d.]+:\d+)", log_path.read_text())
            base = found.group(1) if found else None
        if base is not None:
            with contextlib.suppress(OSError):
                status, _headers, body = _http("GET", f"{base}/healthz")
                if status == 200 and body == {"status": "ok"}:
                    return base
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not start serving in time:\n{log_path.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the gunicorn master and its workers (its own process group) for sure."""
    if server.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # workers left behind, if any
    server.wait(timeout=15)


def run_writer_processes(base: str, posts: int, deadline: Deadline) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    results = context.Queue()
    processes = [
        context.Process(
            target=http_writer, args=(base, index, posts, barrier, results), daemon=True
        )
        for index in range(WRITERS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=deadline.left()) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
        results.close()
        results.join_thread()
    return sorted(outcomes, key=lambda outcome: outcome["index"])


def read_sqlite(database: Path) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as conn:
        conn.row_factory = sqlite3.Row
        threads = conn.execute("SELECT * FROM debatebox_thread").fetchall()
        comments = conn.execute("SELECT * FROM debatebox_comment ORDER BY id").fetchall()
    return threads, comments


def assert_numbering(comments: list[Any]) -> None:
    """Top-level numbers 1..N; below each, reply numbers 1..k; replies share the root's
    number; every (number, reply number) label unique."""
    by_id = {row["id"]: row for row in comments}
    tops = sorted(row["number"] for row in comments if row["parent_id"] is None)
    assert tops == list(range(1, len(tops) + 1))
    assert all(row["reply_number"] == 0 for row in comments if row["parent_id"] is None)
    labels = Counter((row["number"], row["reply_number"]) for row in comments)
    assert [label for label, seen in labels.items() if seen > 1] == []
    replies: dict[int, list[int]] = defaultdict(list)
    for row in comments:
        if row["parent_id"] is not None:
            parent = by_id[row["parent_id"]]
            root = by_id[row["root_id"]]
            assert root["parent_id"] is None
            assert row["number"] == parent["number"] == root["number"]
            assert row["depth"] == parent["depth"] + 1
            replies[row["root_id"]].append(row["reply_number"])
    for root_id, numbers in replies.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), root_id
        assert by_id[root_id]["last_reply_number"] == len(numbers)


@pytest.mark.slow
def test_processes_posting_through_gunicorn_to_one_sqlite_thread(tmp_path: Path) -> None:
    posts = 25
    deadline = Deadline(SERVER_TEST_BUDGET)
    database = tmp_path / "c.sqlite3"
    with gunicorn_server(tmp_path, database, deadline) as base:
        outcomes = run_writer_processes(base, posts, deadline)
        assert [outcome["error"] for outcome in outcomes] == [None] * WRITERS
        # The writers really ran at the same time.
        assert max(o["started"] for o in outcomes) < min(o["finished"] for o in outcomes)
        sent = [item for outcome in outcomes for item in outcome["sent"]]
        statuses = Counter(item["status"] for item in sent)
        assert statuses == {201: WRITERS * posts}, [
            (item["key"], item["status"], item["body"]) for item in sent if item["status"] != 201
        ]
        # Retried requests are answered from what was stored, and store nothing.
        for outcome in outcomes:
            first = outcome["sent"][0]
            status, headers, body = _http(
                "POST",
                f"{base}{PREFIX}/comments",
                first["payload"],
                {"Idempotency-Key": first["key"]},
            )
            assert status == 201
            assert headers.get("Idempotent-Replayed") == "true"
            assert body["comment"]["id"] == first["body"]["comment"]["id"]
        _status, _headers, listing = _http(
            "GET", f"{base}{PREFIX}/comments?thread=/race&limit=1000"
        )

    threads, comments = read_sqlite(database)
    total = WRITERS * posts
    assert len(comments) == total
    assert [(row["key"], row["comment_count"]) for row in threads] == [("/race", total)]
    assert listing["thread"]["count"] == total
    # Each accepted comment is stored exactly once, under its own key.
    answered = {item["body"]["comment"]["id"]: item for item in sent}
    assert len(answered) == total
    assert {row["id"] for row in comments} == set(answered)
    assert sorted(row["idempotency_key"] for row in comments) == sorted(
        item["key"] for item in sent
    )
    for row in comments:
        item = answered[row["id"]]
        assert row["idempotency_key"] == item["key"]
        assert row["parent_id"] == item["payload"].get("parent")
        assert row["body_source"] == item["payload"]["body"]
        label = (
            f"{row['number']}"
            if not row["reply_number"]
            else (f"{row['number']}.{row['reply_number']}")
        )
        assert item["body"]["comment"]["label"] == label
    tops = [row for row in comments if row["parent_id"] is None]
    assert len(tops) == sum(not is_reply_slot(n) for n in range(posts)) * WRITERS
    assert threads[0]["last_number"] == len(tops)
    assert_numbering(comments)


# b. Threads racing to create and fill a new thread, on every database ---------------


def run_threads(count: int, work: Callable[[int], None], deadline: Deadline) -> list[str]:
    """Run ``work(i)`` in ``count`` threads; returns the errors they raised."""
    errors: list[str] = []

    def guarded(index: int) -> None:
        try:
            work(index)
        except BaseException as error:  # reported, never lost in a thread
            errors.append(f"thread {index}: {error!r}")

    workers = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=deadline.left())
    assert not any(worker.is_alive() for worker in workers), "a writer thread hung"
    return errors


def comment_rows(app: Flask, key: str) -> tuple[list[Any], list[Any]]:
    """The rows of thread ``key`` and of its comments, straight from the database."""
    thread_table, comment_table = Thread.__table__, Comment.__table__
    with app.extensions["debatebox"].engine.connect() as conn:
        threads = (
            conn.execute(sa.select(thread_table).where(thread_table.c.key == key)).mappings().all()
        )
        comments = (
            conn.execute(
                sa.select(comment_table)
                .where(comment_table.c.thread_id.in_([row["id"] for row in threads]))
                .order_by(comment_table.c.id)
            )
            .mappings()
            .all()
        )
    return list(threads), list(comments)


@pytest.mark.parametrize("apps", ["one-app", "app-per-thread"])
def test_threads_race_to_create_and_fill_a_new_thread(
    make_app: Callable[..., Flask], apps: str
) -> None:
    posts = 10
    key = "/race/brand-new"
    deadline = Deadline(THREAD_TEST_BUDGET)
    first = make_app()
    app_of = [first if apps == "one-app" or i == 0 else make_app() for i in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    answers: list[list[tuple[int, Any, dict[str, Any]]]] = [[] for _ in range(WRITERS)]

    def write(index: int) -> None:
        api = Api(app_of[index].test_client())
        assert api.form_token
        barrier.wait(timeout=deadline.left())
        previous: int | None = None
        for n in range(posts):
            parent = previous if is_reply_slot(n) else None
            extra = {} if parent is None else {"parent": parent}
            response = api.post(
                key,
                f"Post {n} of writer {index}.",
                name=f"Writer {index}",
                email=f"w{index}@example.org",
                title="Raced",
                headers={"Idempotency-Key": f"w{index}-{n}"},
                **extra,
            )
            answers[index].append((response.status_code, parent, response.get_json()))
            if response.status_code != 201:
                return
            previous = response.get_json()["comment"]["id"]

    assert run_threads(WRITERS, write, deadline) == []
    flat = [answer for per_writer in answers for answer in per_writer]
    assert [status for status, _parent, _body in flat] == [201] * WRITERS * posts, [
        body for status, _parent, body in flat if status != 201
    ]
    threads, comments = comment_rows(first, key)
    assert len(threads) == 1
    assert threads[0]["comment_count"] == len(comments) == WRITERS * posts
    assert {row["id"] for row in comments} == {body["comment"]["id"] for _s, _p, body in flat}
    assert {body["thread"]["key"] for _s, _p, body in flat} == {key}
    assert_numbering(comments)
    listing = Api(first.test_client()).thread(key, limit=1000).get_json()
    assert listing["thread"]["count"] == WRITERS * posts


# c. The same request, with the same Idempotency-Key, eight times at once ------------


@pytest.mark.parametrize("thread_exists", [False, True], ids=["new-thread", "existing-thread"])
def test_same_idempotency_key_at_once_stores_one_comment(
    make_app: Callable[..., Flask], thread_exists: bool
) -> None:
    key = "/idempotent"
    deadline = Deadline(THREAD_TEST_BUDGET)
    app = make_app()
    setup = Api(app.test_client())
    if thread_exists:
        setup.posted(key, "Already here.", name="Earlier")
    request = {
        "thread": key,
        "name": "Ann",
        "email": "ann@example.org",
        "body": "Sent eight times, stored once.",
        "form_token": setup.form_token,
    }
    before_threads, before = comment_rows(app, key)
    barrier = threading.Barrier(WRITERS)
    answers: list[tuple[int, str | None, Any]] = []

    def send(_index: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=deadline.left())
        response = client.post(
            f"{PREFIX}/comments", json=request, headers={"Idempotency-Key": "one-and-the-same"}
        )
        answers.append(
            (response.status_code, response.headers.get("Idempotent-Replayed"), response.get_json())
        )

    with (
        captured_signals(signals.comment_posted, app) as posted,
        captured_signals(signals.thread_created, app) as created,
    ):
        assert run_threads(WRITERS, send, deadline) == []

    assert [status for status, _replayed, _body in answers] == [201] * WRITERS, answers
    assert len({body["comment"]["id"] for _status, _replayed, body in answers}) == 1
    assert sorted(str(replayed) for _status, replayed, _body in answers) == (
        ["None"] + ["true"] * (WRITERS - 1)
    )
    threads, after = comment_rows(app, key)
    assert len(threads) == 1
    assert len(after) == len(before) + 1
    assert [row["idempotency_key"] for row in after].count("one-and-the-same") == 1
    assert threads[0]["comment_count"] == len(after)
    assert len(posted) == 1
    assert len(created) == (0 if thread_exists else 1)
    assert len(before_threads) == (1 if thread_exists else 0)
