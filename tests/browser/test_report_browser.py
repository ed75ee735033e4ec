"""Readers report comments from the widget, in Chromium: a reason, once, and enough of
them send the comment back to the moderators."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, Route, expect
from test_widget import comment, heading, new_key, open_thread, post, seed

from debatebox import tokens
from debatebox.models import Report

CommentServer = HostSite = Watch = Any

QUESTION = "Why are you reporting this comment?"
THANKS = "Thank you. A moderator will look at this comment."


@pytest.fixture(scope="module")
def two_to_hold(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    """Two readers' reports hold a comment."""
    return make_comment_server(DEBATEBOX_REPORTS_TO_HOLD=2)


def reports_of(server: CommentServer, comment_id: int) -> list[str]:
    state = server.app.extensions["debatebox"]
    with state.new_session() as db:
        return list(db.scalars(sa.select(Report.reason).where(Report.comment_id == comment_id)))


def report_from_elsewhere(server: CommentServer, comment_id: int) -> None:
    """Another reader, at another address, reports the comment through the API."""
    answer = server.app.test_client().post(
        f"/debatebox/api/comments/{comment_id}/reports",
        json={"reason": "spam"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert answer.status_code == 202, answer.get_json()


def test_a_reader_reports_a_comment_and_two_reports_hold_it(
    page: Page, host: HostSite, two_to_hold: CommentServer, watch: Watch
) -> None:
    key = new_key()
    rude = seed(two_to_hold, key, "Cyclists are parasites.", name="Rex")["comment"]
    seed(two_to_hold, key, "Buses first, then bikes.", name="Ines")
    open_thread(page, host, two_to_hold, key)
    expect(heading(page)).to_have_text("2 comments")
    reader = two_to_hold.app.extensions["debatebox"].signer.subscriber_token(tokens.READER, 7)
    page.evaluate("(t) => localStorage.setItem('debatebox|reader', JSON.stringify(t))", reader)

    target = comment(page, "Cyclists are parasites.")
    target.get_by_role("button", name="Report").click()
    question = target.get_by_role("group", name=QUESTION)
    expect(question).to_be_visible()
    expect(question.get_by_role("button", name="Spam")).to_be_focused()
    for reason in ("Abuse", "Off-topic", "Other", "Cancel"):
        expect(question.get_by_role("button", name=reason)).to_be_visible()
    with page.expect_request(lambda r: r.url.endswith(f"/comments/{rude['id']}/reports")) as sent:
        question.get_by_role("button", name="Abuse").click()
    expect(target.get_by_text(THANKS)).to_be_focused()
    assert sent.value.headers.get("x-debatebox-reader") == reader
    assert json.loads(sent.value.post_data or "{}") == {"reason": "abuse"}
    assert reports_of(two_to_hold, rude["id"]) == ["abuse"]
    expect(target.get_by_role("button", name="Report")).to_have_count(0)
    expect(target.get_by_role("button", name="Reply")).to_be_visible()

    # After a reload this browser is not offered a second report; one report is not enough.
    page.reload()
    expect(heading(page)).to_have_text("2 comments")
    expect(target.get_by_role("button", name="Report")).to_have_count(0)
    expect(comment(page, "Buses first").get_by_role("button", name="Report")).to_be_visible()

    report_from_elsewhere(two_to_hold, rude["id"])
    page.reload()
    expect(heading(page)).to_have_text("1 comment")
    expect(page.get_by_text("Cyclists are parasites.")).to_have_count(0)
    assert not watch.errors, watch.errors


def test_cancel_and_keyboard_leave_nothing_sent(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    target_id = seed(comments, key, "Parking should cost more.", name="Lea")["comment"]["id"]
    open_thread(page, host, comments, key)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/reports") else None)
    target = comment(page, "Parking should cost more.")
    target.get_by_role("button", name="Report").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Spam")).to_be_focused()
    for _ in range(4):  # Abuse, Off-topic, Other, Cancel
        page.keyboard.press("Tab")
    expect(target.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(target.get_by_role("group", name=QUESTION)).to_have_count(0)
    expect(target.get_by_role("button", name="Report")).to_be_focused()

    # The keyboard sends one too.
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(target.get_by_role("button", name="Off-topic")).to_be_focused()
    page.keyboard.press("Enter")
    expect(target.get_by_text(THANKS)).to_be_visible()
    assert reports_of(comments, target_id) == ["off-topic"]
    assert len(sent) == 1


def test_no_report_on_ones_own_comment(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    seed(comments, key, "Trams are the answer.", name="Olga")
    open_thread(page, host, comments, key)
    post(page, "I think buses are.")
    own = comment(page, "I think buses are.")
    expect(own.get_by_role("button", name="Edit")).to_be_visible()
    expect(own.get_by_role("button", name="Report")).to_have_count(0)
    expect(
        comment(page, "Trams are the answer.").get_by_role("button", name="Report")
    ).to_be_visible()
    page.reload()
    expect(comment(page, "I think buses are.").get_by_role("button", name="Edit")).to_be_visible()
    expect(comment(page, "I think buses are.").get_by_role("button", name="Report")).to_have_count(
        0
    )


def test_no_report_where_reports_are_off(
    page: Page, host: HostSite, make_comment_server: Callable[..., CommentServer]
) -> None:
    server = make_comment_server(DEBATEBOX_REPORTS_TO_HOLD=0)
    key = new_key()
    seed(server, key, "Nothing to report here.", name="Ana")
    open_thread(page, host, server, key)
    expect(
        comment(page, "Nothing to report here.").get_by_role("button", name="Reply")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Report")).to_have_count(0)


def test_a_failed_report_says_why_and_can_be_sent_again(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    target_id = seed(comments, key, "Fewer lanes, fewer cars.", name="Kenji")["comment"]["id"]
    open_thread(page, host, comments, key)
    target = comment(page, "Fewer lanes, fewer cars.")

    def offline(route: Route) -> None:
        route.abort("connectionrefused")

    page.route("**/reports", offline)
    target.get_by_role("button", name="Report").click()
    target.get_by_role("button", name="Spam").click()
    message = target.get_by_text("Cannot reach the comment server.")
    expect(message).to_be_focused()
    assert reports_of(comments, target_id) == []

    page.unroute("**/reports", offline)
    target.get_by_role("button", name="Report").click()
    target.get_by_role("button", name="Spam").click()
    expect(target.get_by_text(THANKS)).to_be_visible()
    expect(message).to_have_count(0)
    assert reports_of(comments, target_id) == ["spam"]


def test_every_kind_of_comment_has_its_buttons(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    """Authors with and without a website are built from different prebuilt comments;
    each keeps its Reply and Report buttons, and the reader's own its Edit and Delete."""
    key = new_key()
    seed(comments, key, "Plain author.", name="Ana")
    seed(comments, key, "Author with a site.", name="Ben", website="https://ben.example.org/")
    seed(comments, key, "Plain again.", name="Cy")
    open_thread(page, host, comments, key)
    post(page, "Mine.")
    for text in ("Plain author.", "Author with a site.", "Plain again."):
        box = comment(page, text).locator(".db-act")
        expect(box.get_by_role("button")).to_have_text(["Reply", "Report"])
    expect(comment(page, "Mine.").locator(".db-act").get_by_role("button")).to_have_text(
        ["Reply", "Edit", "Delete"]
    )
    expect(page.locator(".db-b button")).to_have_count(0)
