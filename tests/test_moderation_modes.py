"""Moderation modes per thread, and threads that close by themselves after N days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask

from debatebox.models import Thread, utcnow
from support import Api


def set_thread(app: Flask, key: str, **values: object) -> None:
    with app.extensions["debatebox"].new_session() as db:
        db.execute(sa.update(Thread).where(Thread.key == key).values(**values))
        db.commit()


def test_a_thread_can_hold_what_the_site_publishes(make_app: Callable[..., Flask]) -> None:
    app = make_app(DEBATEBOX_MODERATION="open")
    api = Api(app.test_client())
    assert api.post("/calm", "Published").status_code == 201
    api.posted("/heated", "First")
    set_thread(app, "/heated", moderation="all")
    assert api.post("/heated", "Held here").status_code == 202
    assert api.post("/calm", "Still published").status_code == 201


def test_a_thread_can_publish_what_the_site_holds(make_app: Callable[..., Flask]) -> None:
    app = make_app(DEBATEBOX_MODERATION="all")
    api = Api(app.test_client())
    assert api.post("/live", "Held").status_code == 202
    set_thread(app, "/live", moderation="open")
    assert api.post("/live", "Published").status_code == 201
    set_thread(app, "/live", moderation="first-time")
    assert api.post("/live", "New author", email="new@example.org").status_code == 202
    assert api.post("/live", "Known author").status_code == 201  # ann has one approved


def test_threads_close_after_the_configured_days(make_app: Callable[..., Flask]) -> None:
    app = make_app(DEBATEBOX_CLOSE_AFTER_DAYS=3)
    api = Api(app.test_client())
    api.posted("/old", "While it was open")
    before = api.thread("/old")
    assert before.get_json()["thread"]["closed"] is False
    set_thread(app, "/old", created_at=utcnow() - dt.timedelta(days=3, minutes=1))
    after = api.thread("/old")
    assert after.get_json()["thread"]["closed"] is True
    assert after.headers["ETag"] != before.headers["ETag"]  # no stale "open" from a cache
    refused = api.post("/old", "Too late")
    assert refused.status_code == 409 and refused.get_json()["error"] == "thread_closed"
    assert len(api.thread("/old").get_json()["comments"]) == 1


def test_threads_never_close_by_age_by_default(app: Flask) -> None:
    api = Api(app.test_client())
    api.posted("/old", "First")
    set_thread(app, "/old", created_at=utcnow() - dt.timedelta(days=3650))
    assert api.post("/old", "Ten years later").status_code == 201
