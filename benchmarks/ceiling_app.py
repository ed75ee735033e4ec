"""The ceiling for reading a whole thread: a bare Flask app that contains no debatebox code.

It answers ``GET /thread/<thread_id>`` with every row of ``debatebox_comment`` for that
thread, selected with one plain SQLAlchemy Core query and returned by ``flask.jsonify``.
That is about the least work a Flask + SQLAlchemy service can do to serve the same rows
from the same database, so debatebox's whole-thread read rate is reported as a fraction
of this one's.

Run it like debatebox, under gunicorn::

    CEILING_DATABASE_URL=sqlite:////tmp/bench.sqlite3 \\
        gunicorn -w 2 --pythonpath benchmarks 'ceiling_app:create_app()'
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, Response, jsonify

_metadata = sa.MetaData()
#: The columns debatebox reads for a page of a thread, typed as it stores them.
comment_table = sa.Table(
    "debatebox_comment",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("thread_id", sa.Integer),
    sa.Column("parent_id", sa.Integer),
    sa.Column("depth", sa.Integer),
    sa.Column("number", sa.Integer),
    sa.Column("reply_number", sa.Integer),
    sa.Column("author_name", sa.String(200)),
    sa.Column("website", sa.String(500)),
    sa.Column("author_hash", sa.String(32)),
    sa.Column("body_html", sa.Text),
    sa.Column("status", sa.String(16)),
    sa.Column("created_at", sa.DateTime),
    sa.Column("edited_at", sa.DateTime),
)
_SELECTED = [column for column in comment_table.columns if column.name != "thread_id"]


def database_url(url: str) -> sa.URL:
    """Give bare ``postgresql://`` and ``mysql://`` URLs the drivers installed here."""
    parsed = sa.make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in {"mysql", "mariadb"}:
        parsed = parsed.set(drivername=f"{parsed.drivername}+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def create_app(url: str | None = None) -> Flask:
    """The ceiling application; the database comes from ``CEILING_DATABASE_URL``."""
    app = Flask("ceiling")
    engine = sa.create_engine(database_url(url or os.environ["CEILING_DATABASE_URL"]))
    query = sa.select(*_SELECTED).where(comment_table.c.thread_id == sa.bindparam("thread_id"))

    @app.get("/thread/<int:thread_id>")
    def thread(thread_id: int) -> Response:
        with engine.connect() as connection:
            rows = connection.execute(query, {"thread_id": thread_id}).mappings().all()
        return jsonify(comments=[dict(row) for row in rows])

    @app.get("/healthz")
    def health() -> Response:
        return jsonify(status="ok")

    return app
