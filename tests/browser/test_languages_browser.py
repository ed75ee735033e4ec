"""The widget on a page in another language, in Chromium: the server's own messages (a
refused field, a duplicate) reach the reader in the page's language too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from test_widget import new_key, publish

CommentServer = HostSite = Watch = Any


@pytest.fixture(scope="module")
def strict(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    """A server that refuses the same text twice."""
    return make_comment_server(DEBATEBOX_DUPLICATE_WINDOW=3600)


def open_in(page: Page, host: HostSite, server: CommentServer, lang: str, empty: str) -> None:
    """A new thread on a page whose ``lang`` is ``lang``; ``empty`` is its "0 comments"."""
    key = new_key()
    page.goto(publish(host, f'<div data-debatebox-thread="{key}"></div>', server, lang=lang))
    expect(page.get_by_role("heading", name=empty)).to_be_visible()


def script_errors(watch: Watch) -> list[str]:
    """Console errors but the browser's note of each refused request (expected here)."""
    return [e for e in watch.errors if not e.startswith("Failed to load resource")]


def write_german(page: Page, body: str, website: str = "") -> None:
    page.get_by_label("Name").fill("Jana")
    page.get_by_label("E-Mail").fill("jana@example.org")
    page.get_by_label("Website").fill(website)
    page.get_by_label("Kommentar", exact=True).fill(body)
    page.get_by_role("button", name="Kommentar abschicken").click()


def test_refused_website_is_explained_in_german_next_to_the_field(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    requests: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: requests.append(r.headers) if r.method == "POST" and "/api/" in r.url else None,
    )
    open_in(page, host, comments, "de", "0 Kommentare")
    write_german(page, "Mehr Busse, bitte.", website="ftp://example.org/jana")
    website = page.get_by_label("Website")
    expect(website).to_have_accessible_description("Die Website muss eine http(s)-Adresse sein.")
    expect(page.get_by_role("alert")).to_contain_text(
        "Bitte korrigieren Sie die markierten Felder."
    )
    assert requests and requests[-1].get("accept-language") == "de"
    # The text is kept; with the address corrected the comment goes out.
    expect(page.get_by_label("Kommentar", exact=True)).to_have_value("Mehr Busse, bitte.")
    website.fill("https://example.org/jana")
    page.get_by_role("button", name="Kommentar abschicken").click()
    expect(page.locator(".db-b", has_text="Mehr Busse, bitte.")).to_be_visible()
    assert script_errors(watch) == []


def test_duplicate_is_refused_in_polish(
    page: Page, host: HostSite, strict: CommentServer, watch: Watch
) -> None:
    open_in(page, host, strict, "pl", "0 komentarzy")
    for _ in range(2):
        page.get_by_label("Imię").fill("Ola")
        page.get_by_label("E-mail").fill("ola@example.org")
        page.get_by_label("Komentarz", exact=True).fill("Najpierw autobusy.")
        page.get_by_role("button", name="Opublikuj komentarz").click()
        expect(page.locator(".db-b", has_text="Najpierw autobusy.")).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_text("Ten tekst został już przez Ciebie wysłany.")
    expect(page.get_by_label("Komentarz", exact=True)).to_have_value("Najpierw autobusy.")
    assert script_errors(watch) == []
