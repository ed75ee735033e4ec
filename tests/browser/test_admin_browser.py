"""The admin pages in Chromium, without a line of JavaScript of their own: logging in,
deciding from the queue, bulk actions, banning from a comment's page, 403 for strangers,
and axe-core on the queue."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from test_quality import AXE, AXE_RUN, describe

from debatebox import admins, bans

CommentServer = Watch = Any

USERNAME = "editor"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    """A comment server holding every comment, with one administrator account."""
    made = make_comment_server(DEBATEBOX_MODERATION="all", SESSION_COOKIE_SECURE=False)
    with made.app.extensions["debatebox"].new_session() as session:
        admins.create(session, USERNAME, PASSWORD)
    return made


def new_key() -> str:
    return f"/admin-test/{uuid.uuid4().hex[:12]}"


def seed(server: CommentServer, key: str, body: str, **fields: Any) -> int:
    """Post a comment through the JSON API; the server holds it. Its id."""
    client = server.app.test_client()
    token = client.get("/debatebox/api/config").get_json()["form_token"]
    data = {
        "thread": key,
        "title": "Should cities ban cars?",
        "name": "Marta",
        "email": "marta@example.org",
        "body": body,
        "form_token": token,
        **fields,
    }
    answer = client.post("/debatebox/api/comments", json=data)
    assert answer.status_code == 202, answer.get_json()
    return int(answer.get_json()["comment"]["id"])


def public_ids(server: CommentServer, key: str) -> list[int]:
    """The published comments of a thread, read over HTTP as a reader's widget does."""
    query = urllib.parse.urlencode({"thread": key})
    with urllib.request.urlopen(f"{server.prefix}/api/comments?{query}", timeout=10) as answer:
        return [c["id"] for c in json.load(answer)["comments"]]


def log_in(page: Page, server: CommentServer) -> None:
    page.goto(f"{server.prefix}/admin/login")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {USERNAME}")).to_be_visible()


def queue_of(page: Page, server: CommentServer, key: str, tab: str = "held") -> None:
    query = urllib.parse.urlencode({"tab": tab, "thread": key})
    page.goto(f"{server.prefix}/admin/?{query}")


def test_strangers_get_403(page: Page, server: CommentServer, watch: Watch) -> None:
    comment_id = seed(server, new_key(), "Held for a moderator.")
    for path in ("/", "/?tab=spam", f"/comments/{comment_id}", "/bans", "/threads", "/audit"):
        answer = page.goto(f"{server.prefix}/admin{path}")
        assert answer is not None and answer.status == 403, path
        expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
        expect(page.get_by_text("Held for a moderator.")).to_have_count(0)
    page.get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    answer = page.goto(f"{server.prefix}/admin/")
    assert answer is not None and answer.status == 403


def test_approve_a_held_comment_from_the_queue(
    page: Page, server: CommentServer, watch: Watch
) -> None:
    key = new_key()
    comment_id = seed(server, key, "Shops did *better* after the ban.")
    assert public_ids(server, key) == []
    log_in(page, server)
    queue_of(page, server, key)
    row = page.locator("tr", has_text="Shops did better after the ban.")
    expect(row).to_be_visible()
    expect(row.locator("em")).to_have_text("better")  # the rendered HTML, sanitised
    page.get_by_label(f"Select comment #{comment_id} by Marta").check()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text(f"Approved 1 comment: #{comment_id}.")
    expect(page.get_by_text("No comments here with these filters.")).to_be_visible()
    assert public_ids(server, key) == [comment_id]
    queue_of(page, server, key, "published")
    expect(page.get_by_label(f"Select comment #{comment_id} by Marta")).to_be_visible()
    assert watch.errors == []  # no CSP violation, no script error


def test_bulk_action_on_several_comments(page: Page, server: CommentServer, watch: Watch) -> None:
    key = new_key()
    ids = [seed(server, key, f"Buy cheap watches, offer {n}") for n in range(3)]
    keep = seed(server, key, "A real argument about buses.")
    log_in(page, server)
    queue_of(page, server, key)
    for comment_id in ids:
        page.get_by_label(f"Select comment #{comment_id} by Marta").check()
    page.get_by_role("button", name="Spam").click()
    listed = ", ".join(f"#{i}" for i in reversed(ids))  # in the order of the page
    expect(page.get_by_role("status")).to_have_text(f"Marked as spam 3 comments: {listed}.")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_label(f"Select comment #{keep} by Marta")).to_be_visible()
    queue_of(page, server, key, "spam")
    expect(page.locator("tbody tr")).to_have_count(3)
    assert public_ids(server, key) == []
    assert watch.errors == []


def test_ban_an_author_from_the_comment_page(
    page: Page, server: CommentServer, watch: Watch
) -> None:
    key = new_key()
    comment_id = seed(server, key, "Visit my shop!", name="Spammy", email="seller@shop.example")
    log_in(page, server)
    queue_of(page, server, key)
    page.get_by_role("link", name=f"#{comment_id}").click()
    expect(page.get_by_role("heading", name=f"Comment #{comment_id}")).to_be_visible()
    expect(page.get_by_text("seller@shop.example").first).to_be_visible()
    page.get_by_label("every address at shop.example").check()
    page.get_by_label("rejected").check()
    page.get_by_label("For how many days").fill("30")
    page.get_by_label("Reason").fill("link spam")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The ban was added.")
    expect(
        page.get_by_text("An active ban matches this author: domain shop.example")
    ).to_be_visible()
    with server.app.extensions["debatebox"].new_session() as session:
        found = bans.match(session, ip=None, email="another@shop.example")
        assert found is not None
        assert (found.kind, found.value, found.action) == ("domain", "shop.example", "reject")
        assert found.created_by == USERNAME and found.expires_at is not None
    page.get_by_role("link", name="Bans").click()
    lift = page.get_by_role("button", name="Lift the ban on domain shop.example")
    lift.click()
    expect(page.get_by_role("status")).to_have_text("The ban was lifted.")
    with server.app.extensions["debatebox"].new_session() as session:
        assert bans.match(session, ip=None, email="another@shop.example") is None
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("tbody tr").first).to_contain_text("unban")
    assert watch.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_queue_is_accessible(browser: Browser, server: CommentServer, scheme: str) -> None:
    assert AXE.is_file(), "axe-core is missing: run `npm ci --prefix tests/browser`"
    key = new_key()
    for n in range(3):
        seed(server, key, f"Comment number {n} with a [link](https://example.org/{n}).")
    # The pages allow no script at all: axe-core gets in only with the CSP bypassed.
    context = browser.new_context(
        viewport={"width": 1000, "height": 900},
        bypass_csp=True,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server)
        queue_of(page, server, key)
        expect(page.locator("tbody tr")).to_have_count(3)
        page.add_script_tag(path=str(AXE))
        violations = page.locator("html").evaluate(AXE_RUN)["violations"]
        print(f"\naxe-core on the admin queue ({scheme}): {len(violations)} violations")
        if violations:
            print(describe(violations))
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, "serious or critical accessibility violations:\n" + describe(bad)
        assert errors == []
    finally:
        context.close()
