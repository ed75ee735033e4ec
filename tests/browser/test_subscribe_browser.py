"""Email subscriptions in the widget, in Chromium, with a real SMTP server behind it.

The comment server sends its mail with the in-process sender to an aiosmtpd server on
loopback; the tests read the confirmation emails it received and follow their links in
the browser, as a reader would.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from test_quality import AXE, AXE_RUN, describe

from mailserver import MailServer

CommentServer = HostSite = Watch = Any

REPLIES = "Notify me of replies to my comment"
EVERYTHING = "Notify me of all new comments on this page"
CONFIRM_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/debatebox/subscriptions/confirm/[\w.\-]+)")


@pytest.fixture(scope="module")
def smtp() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture(scope="module")
def mailing(
    make_comment_server: Callable[..., CommentServer], smtp: MailServer
) -> Iterator[CommentServer]:
    """A comment server that sends mail (background sender) and so offers subscriptions."""
    server = make_comment_server(DEBATEBOX_SMTP_URL=smtp.url, DEBATEBOX_CONFIRM_INTERVAL=0)
    yield server
    server.app.extensions["debatebox"].mail_sender.stop()


def open_thread(page: Page, host: HostSite, server: CommentServer, key: str | None = None) -> str:
    key = key or f"/sub/{uuid.uuid4().hex[:12]}"
    url = host.page(
        f'<link rel="icon" href="data:,"><h1>Article</h1>'
        f'<div data-debatebox-thread="{key}" data-debatebox-title="Bikes or cars"></div>',
        comments=server,
    )
    page.goto(url)
    expect(page.get_by_role("heading", name=re.compile(r"comment"))).to_be_visible()
    return url


def comment_form(page: Page) -> Locator:
    return page.locator("form", has=page.get_by_role("button", name="Post comment"))


def subscribe_form(page: Page) -> Locator:
    return page.get_by_role("form", name="Subscribe without commenting")


def mails_to(smtp: MailServer, address: str, count: int = 1) -> list[EmailMessage]:
    """Wait until ``count`` emails reached ``address``; return them."""
    for _ in range(200):  # at most ten seconds
        found = [r.message for r in smtp.messages if address in r.recipients]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no email for {address}: {[r.recipients for r in smtp.messages]}")


def confirm_link(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    found = CONFIRM_LINK.search(str(part.get_content()))
    assert found, part.get_content()
    return found.group(1)


def test_no_subscription_controls_without_a_mail_server(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    open_thread(page, host, comments)
    expect(comment_form(page).get_by_label("Comment", exact=True)).to_be_visible()
    expect(page.get_by_label(REPLIES)).to_have_count(0)
    expect(page.get_by_label(EVERYTHING)).to_have_count(0)
    expect(page.get_by_role("button", name="Subscribe")).to_have_count(0)


def test_checkboxes_subscribe_when_posting(
    page: Page, host: HostSite, mailing: CommentServer, smtp: MailServer, watch: Watch
) -> None:
    open_thread(page, host, mailing)
    form = comment_form(page)
    expect(form.get_by_label(REPLIES, exact=True)).not_to_be_checked()
    expect(form.get_by_label(EVERYTHING, exact=True)).not_to_be_checked()
    address = f"poster-{uuid.uuid4().hex[:8]}@example.org"
    form.get_by_label("Name").fill("Poster")
    form.get_by_label("Email").fill(address)
    form.get_by_label("Comment", exact=True).fill("Bikes, obviously.")
    form.get_by_label(EVERYTHING, exact=True).check()
    form.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Bikes, obviously.")).to_be_visible()
    expect(page.get_by_text(re.compile("confirm"))).to_be_visible()
    (message,) = mails_to(smtp, address)
    assert "Bikes or cars" in message["Subject"]
    assert "new comments" in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert not watch.errors


def test_subscribe_without_commenting_then_confirm_then_token(
    page: Page, host: HostSite, mailing: CommentServer, smtp: MailServer, watch: Watch
) -> None:
    first = open_thread(page, host, mailing)
    box = subscribe_form(page)
    address = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    box.get_by_label("Email", exact=True).fill(address)
    box.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text(re.compile("check your inbox", re.I))).to_be_visible()
    (message,) = mails_to(smtp, address)

    # The reader follows the link, confirms, and goes back to the discussion.
    page.goto(confirm_link(message))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(re.compile("confirmed"))).to_be_visible()
    page.get_by_role("link", name="Back to the discussion").click()
    page.wait_for_url(re.compile(re.escape(first)))
    expect(page.get_by_role("heading", name=re.compile(r"comment"))).to_be_visible()
    # The widget kept the reader token and took it out of the address bar.
    page.wait_for_function("() => !location.hash.includes('debatebox-reader')")
    assert page.evaluate("() => Object.keys(localStorage).some((k) => k.endsWith('reader'))")

    # On another page, the same reader is subscribed at once, without a new email.
    open_thread(page, host, mailing)
    box = subscribe_form(page)
    expect(box.get_by_label("Email", exact=True)).to_have_value(address)
    box.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text(re.compile("You are subscribed"))).to_be_visible()
    assert len(mails_to(smtp, address)) == 1
    assert not watch.errors


def test_subscribe_form_errors_are_shown_and_announced(
    page: Page, host: HostSite, mailing: CommentServer, smtp: MailServer
) -> None:
    open_thread(page, host, mailing)
    before = len(smtp.messages)
    box = subscribe_form(page)
    field = box.get_by_label("Email", exact=True)
    field.fill("not an address")
    box.get_by_role("button", name="Subscribe").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby") or ""
    error = page.locator(f"[id='{described.split()[0]}']")
    expect(error).not_to_be_empty()
    expect(field).to_have_value("not an address")  # what the reader typed stays
    assert len(smtp.messages) == before


def test_subscription_controls_are_accessible(
    page: Page, host: HostSite, mailing: CommentServer
) -> None:
    assert AXE.is_file(), "axe-core is missing: run `npm ci --prefix tests/browser`"
    open_thread(page, host, mailing)
    expect(subscribe_form(page)).to_be_visible()
    page.add_script_tag(path=str(AXE))
    result = page.locator("[data-debatebox-thread]").evaluate(AXE_RUN)
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert result["checked"] > 50
    assert not bad, describe(bad)
