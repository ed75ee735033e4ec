"""The example Flask site in examples/flask_site works as its README says.

The site keeps its own Flask-SQLAlchemy ``db``; debatebox's tables go into the same
SQLite file. A comment posted through the JSON API must then appear, rendered on the
server, on the article page, inside the embed markup.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from debatebox import migrate

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "flask_site" / "app.py"
API = "/debatebox/api"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    """The example's ``app.py``, imported from its path (it is not a package)."""
    spec = importlib.util.spec_from_file_location("debatebox_example_site", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def site(example: ModuleType, tmp_path: Path) -> Iterator[Flask]:
    app: Flask = example.create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "example-site-test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'site.sqlite3'}",
            "DEBATEBOX_MIN_FILL_SECONDS": 0,
            "DEBATEBOX_RATE_LIMIT": "",
            "DEBATEBOX_EMAIL_RATE_LIMIT": "",
            "DEBATEBOX_SPAM_CHECKS": False,
            "DEBATEBOX_DUPLICATE_WINDOW": 0,
        }
    )
    with app.app_context():
        # What `flask --app examples/flask_site/app.py debatebox upgrade` does.
        migrate.upgrade(app.extensions["debatebox"].engine)
        example.create_tables()  # already run by create_app; must be harmless again
    yield app
    with app.app_context():
        example.db.engine.dispose()


def _post(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    token = client.get(f"{API}/config").get_json()["form_token"]
    payload = {"name": "Ann", "email": "ann@example.org", "form_token": token, **fields}
    response = client.post(f"{API}/comments", json=payload)
    assert response.status_code == 201, response.get_json()
    data: dict[str, Any] = response.get_json()
    return data


def test_tables_share_the_site_database(site: Flask, example: ModuleType) -> None:
    with site.app_context():
        names = set(sa.inspect(example.db.engine).get_table_names())
        slugs = example.db.session.scalars(sa.select(example.Article.slug)).all()
    assert {"article", "debatebox_thread", "debatebox_comment"} <= names
    assert sorted(slugs) == ["four-day-week", "school-phones"]


def test_article_page_carries_embed_markup_before_any_comment(site: Flask) -> None:
    html = site.test_client().get("/articles/school-phones").get_data(as_text=True)
    assert (
        '<section class="debatebox" data-debatebox-thread="school-phones"'
        ' data-debatebox-title="Should phones be banned in schools?"'
    ) in html
    assert "0 comments" in html


def test_posted_comment_is_rendered_on_the_article_page(
    site: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = site.test_client()
    with caplog.at_level(logging.INFO, logger=site.logger.name):
        first = _post(client, thread="four-day-week", body="Fridays off, *finally*.")
    reply = _post(
        client,
        thread="four-day-week",
        parent=first["comment"]["id"],
        name="Jonas",
        email="jonas@example.org",
        body="Only if pay stays the same.",
    )
    assert first["comment"]["label"] == "1"
    assert reply["comment"]["label"] == "1.1"
    # The example's comment_posted receiver heard the first comment.
    assert "New comment" in caplog.text
    assert "'four-day-week'" in caplog.text

    response = client.get("/articles/four-day-week")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        '<section class="debatebox" data-debatebox-thread="four-day-week"'
        ' data-debatebox-title="Should the working week be four days long?"'
    ) in html
    assert "2 comments" in html
    assert "<p>Fridays off, <em>finally</em>.</p>" in html
    assert '<strong class="debatebox-author">Ann</strong>' in html
    assert '<span class="debatebox-number">#1</span>' in html
    # The reply is nested inside the first comment's list item.
    first_item = html.index(f'id="comment-{first["comment"]["id"]}"')
    replies = html.index('<ol class="debatebox-replies">', first_item)
    assert replies < html.index("<p>Only if pay stays the same.</p>")
    # Emails are never shown.
    assert "ann@example.org" not in html
    assert "jonas@example.org" not in html

    other = client.get("/articles/school-phones").get_data(as_text=True)
    assert "Fridays off" not in other


def test_unknown_article_is_404(site: Flask) -> None:
    assert site.test_client().get("/articles/nope").status_code == 404
