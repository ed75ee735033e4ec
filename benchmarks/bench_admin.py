"""How fast the admin's pages are with a large comment table.

Usage::

    python benchmarks/bench_admin.py [--comments 100000] [--db sqlite|postgresql|mariadb]
                                     [--repeat 20]

It fills a new database (a temporary SQLite file, or a database of its own on the local
PostgreSQL / MariaDB server, dropped at the end) with ``--comments`` comments spread
over 200 threads — 90% published, 7% held, 2% spam, 1% deleted, some reported — by bulk
inserts, refreshes the database's statistics, then asks the admin pages through Flask's
test client (in process, so the figures are the server's own time) ``--repeat`` times
each: every tab's first page, the twentieth page of *Published* (following the "older"
cursor), a thread and an email filter, a text search that one comment in a hundred
matches and one that none does (it reads the whole tab), a comment's detail page, the
thread list and the audit log. It prints the median and the slowest time of each, in
milliseconds, and the number of SQL statements one request runs. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from debatebox import DebateBox, migrate
from debatebox.database import create_engine, normalize_url
from debatebox.models import Comment, Report, Thread

SERVERS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql://root@127.0.0.1:3306/test",
}
STATUSES = ["approved"] * 90 + ["pending"] * 7 + ["spam"] * 2 + ["deleted"]
THREADS = 200


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'admin.sqlite3'}"
        return
    name = f"dbx_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalize_url(SERVERS[kind]), isolation_level="AUTOCOMMIT")
    quote = '"' if kind == "postgresql" else "`"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quote}{name}{quote}"))
    try:
        yield normalize_url(SERVERS[kind]).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {quote}{name}{quote}"))
        admin.dispose()


def seed(url: str, count: int, rng: random.Random) -> None:
    engine = create_engine(url)
    migrate.upgrade(engine)
    start = dt.datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Thread),
            [
                {
                    "key": f"/article/{n}",
                    "title": f"Article {n}",
                    "url": f"https://news.example/article/{n}",
                    "closed": False,
                    "comment_count": 0,
                    "last_number": 0,
                    "version": 0,
                    "created_at": start,
                }
                for n in range(THREADS)
            ],
        )
        thread_ids = [row[0] for row in conn.execute(sa.select(Thread.id))]
        rows = []
        for n in range(count):
            status = rng.choice(STATUSES)
            rows.append(
                {
                    "thread_id": rng.choice(thread_ids),
                    "depth": 0,
                    "number": n + 1 if status == "approved" else None,
                    "reply_number": 0,
                    "last_reply_number": 0,
                    "author_name": f"Reader {n % 5000}",
                    "email": f"reader{n % 5000}@example.org",
                    "website": "",
                    "author_hash": "",
                    "body_source": f"Comment {n}: cars, buses and bikes in town number {n % 97}.",
                    "body_html": f"<p>Comment {n}: cars, buses and bikes.</p>",
                    "status": status,
                    "created_at": start + dt.timedelta(seconds=n * 7),
                    "ip": "198.51.100.0",
                    "request_digest": "",
                    "verdicts": "",
                    "user_agent": "",
                    "referrer": "",
                    "report_count": 1 if n % 500 == 0 and status == "approved" else 0,
                }
            )
            if len(rows) == 5000:
                conn.execute(sa.insert(Comment), rows)
                rows.clear()
        if rows:
            conn.execute(sa.insert(Comment), rows)
        reported = conn.execute(sa.select(Comment.id).where(Comment.report_count > 0)).all()
        conn.execute(
            sa.insert(Report),
            [
                {
                    "comment_id": cid,
                    "reason": "abuse",
                    "note": "",
                    "reporter": f"r{cid}",
                    "address_key": f"a{cid}",
                    "created_at": start,
                }
                for (cid,) in reported
            ],
        )
    with engine.connect() as conn:  # fresh statistics, as a live database has them
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))
        elif engine.dialect.name in ("mysql", "mariadb"):
            conn.execute(sa.text("ANALYZE TABLE debatebox_comment, debatebox_thread"))
        conn.commit()
    engine.dispose()


def app_for(url: str) -> Flask:
    app = Flask("bench-admin")
    app.config.update(
        SECRET_KEY="bench",
        DEBATEBOX_DATABASE_URL=url,
        DEBATEBOX_RATE_LIMIT="",
        DEBATEBOX_EMAIL_RATE_LIMIT="",
    )
    DebateBox(app, admin_check=lambda: "bench")
    return app


def measure(app: Flask, path: str, repeat: int) -> tuple[float, float, int]:
    """Median and slowest time of ``repeat`` GETs of ``path`` (ms), and the SQL statements
    the last one ran."""
    engine = app.extensions["debatebox"].engine
    statements: list[str] = []

    def count(*arguments: object) -> None:
        statements.append(str(arguments[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        times = []
        client = app.test_client()
        for _ in range(repeat):
            statements.clear()
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"{path}: {answer.status_code}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times), max(times), len(statements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "mariadb"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    count, repeat = min(args.comments, 1_000_000), max(1, min(args.repeat, 200))
    with database(args.db) as url:
        started = time.perf_counter()
        seed(url, count, random.Random(5))
        print(f"seeded {count:,} comments on {args.db} in {time.perf_counter() - started:.1f} s")
        app = app_for(url)
        client = app.test_client()
        base = "/debatebox/admin"
        page = client.get(f"{base}/?tab=published").get_data(as_text=True)
        for _ in range(19):  # follow "older" to the twentieth page
            found = re.search(r'href="([^"]*after=[^"]*)">Older', page)
            assert found, "no link to older comments"
            older = found.group(1).replace("&amp;", "&")
            page = client.get(older).get_data(as_text=True)
        some = re.search(r"/comments/(\d+)", page)
        assert some, "no comment link"
        paths = {
            "held": f"{base}/?tab=held",
            "reported": f"{base}/?tab=reported",
            "spam": f"{base}/?tab=spam",
            "published": f"{base}/?tab=published",
            "deleted": f"{base}/?tab=deleted",
            "published, page 20": older,
            "thread filter": f"{base}/?tab=published&thread=/article/7",
            "email filter": f"{base}/?tab=published&email=reader42@example.org",
            "text search": f"{base}/?tab=published&q=number 13.",
            "text search, no match": f"{base}/?tab=published&q=no such words",
            "comment detail": f"{base}/comments/{some.group(1)}",
            "threads": f"{base}/threads",
            "audit log": f"{base}/audit",
        }
        searched = client.get(paths["text search"]).get_data(as_text=True)
        assert 'name="q" value="number 13."' in searched, "the page ignored the text search"
        print(f"\n{'page':<22}{'median ms':>10}{'max ms':>10}{'queries':>9}")
        for name, path in paths.items():
            median, slowest, queries = measure(app, path, repeat)
            print(f"{name:<22}{median:>10.1f}{slowest:>10.1f}{queries:>9}")
        app.extensions["debatebox"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
