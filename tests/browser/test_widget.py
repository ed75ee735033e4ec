"""The embed.js widget in Chromium, on a host page of another origin.

Threads are seeded through the JSON API of the comment server (in process, without an
``Origin`` header) when a test is not about posting itself; everything a reader does goes
through the widget. Locators are roles and labels: Playwright pierces the open shadow root.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeAlias

import pytest
from playwright.sync_api import Browser, Page, Route, expect

# The fixtures' classes (tests/browser/conftest.py); conftest modules are not importable.
CommentServer: TypeAlias = Any
HostSite: TypeAlias = Any
Watch: TypeAlias = Any

NAMES = re.compile(r"\d+ comments?")


def new_key(prefix: str = "/t") -> str:
    """A thread key no other test uses."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


# Helpers ------------------------------------------------------------------------------


def seed(
    server: CommentServer,
    key: str,
    body: str = "Seeded",
    *,
    name: str = "Marta",
    parent: int | None = None,
    website: str | None = None,
) -> dict[str, Any]:
    """Post a comment through the API as a server-side client; return the answer."""
    client = server.app.test_client()
    token = client.get("/debatebox/api/config").get_json()["form_token"]
    data: dict[str, Any] = {
        "thread": key,
        "name": name,
        "email": "seed@example.org",
        "body": body,
        "form_token": token,
    }
    if parent is not None:
        data["parent"] = parent
    if website is not None:
        data["website"] = website
    answer = client.post("/debatebox/api/comments", json=data)
    assert answer.status_code in (201, 202), answer.get_json()
    return dict(answer.get_json())


def stored(server: CommentServer, key: str) -> list[dict[str, Any]]:
    """Every published comment of a thread, flattened, as the API lists them."""
    page = server.app.test_client().get(
        "/debatebox/api/comments", query_string={"thread": key, "limit": 1000}
    )
    found: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found.append(item)
            walk(item["replies"])

    walk(page.get_json()["comments"])
    return found


def publish(host: HostSite, body: str, server: CommentServer, head: str = "", **kw: Any) -> str:
    """A host page; its empty icon keeps the browser from a favicon request (a 404 error)."""
    return str(
        host.page(body, comments=server, head='<link rel="icon" href="data:,">' + head, **kw)
    )


def open_thread(
    page: Page, host: HostSite, server: CommentServer, key: str, attrs: str = "", **kw: Any
) -> str:
    url = publish(
        host,
        f'<main><h1>Article</h1><div data-debatebox-thread="{key}" '
        f'data-debatebox-title="Article" {attrs}></div></main>',
        server,
        **kw,
    )
    page.goto(url)
    expect(heading(page)).to_be_visible()
    return url


def heading(page: Page) -> Any:
    return page.get_by_role("heading", name=NAMES)


def write(page: Page, body: str, name: str = "Ann", email: str = "ann@example.org") -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Comment").fill(body)


def post(page: Page, body: str, name: str = "Ann", shown: str | None = None) -> None:
    write(page, body, name)
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".db-b", has_text=shown or body)).to_be_visible()


def comment(page: Page, text: str) -> Any:
    """The <article> of the comment whose body has ``text`` (not its replies)."""
    return page.locator("article.db-a", has=page.locator(".db-b", has_text=text))


def json_error(host: HostSite, status: int, error: str, **headers: str) -> dict[str, Any]:
    """Arguments for route.fulfill: an API error a cross-origin page may read."""
    return {
        "status": status,
        "content_type": "application/json",
        "headers": {
            "Access-Control-Allow-Origin": host.origin,
            "Access-Control-Expose-Headers": "ETag, Retry-After",
            **headers,
        },
        "body": json.dumps({"error": error, "message": f"Server says {error}.", "fields": {}}),
    }


@pytest.fixture(scope="module")
def small_pages(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    return make_comment_server(DEBATEBOX_PAGE_SIZE=3)


@pytest.fixture(scope="module")
def shallow(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    return make_comment_server(DEBATEBOX_MAX_DEPTH=2)


# Reading ------------------------------------------------------------------------------


def test_empty_thread_shows_form_and_no_console_errors(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    open_thread(page, host, comments, new_key())
    expect(heading(page)).to_have_text("0 comments")
    expect(page.get_by_text("No comments yet.")).to_be_visible()
    for label in ("Name", "Email", "Website", "Comment"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_text("Your email will not be published.")).to_be_visible()
    expect(page.get_by_text("(optional)")).to_be_visible()
    expect(page.get_by_text("Markdown works")).to_be_visible()
    honeypot = page.locator("input[name=homepage]")
    expect(honeypot).to_have_attribute("tabindex", "-1")
    expect(honeypot).to_have_attribute("autocomplete", "off")
    host_el = page.locator("[data-debatebox-thread]")
    assert host_el.evaluate("e => e.shadowRoot && e.shadowRoot.mode") == "open"
    shown = host_el.evaluate("e => e.shadowRoot.textContent")
    for junk in ("null", "undefined", "false", "[object"):
        assert junk not in shown, shown
    assert watch.errors == [] and watch.dialogs == []


def test_thread_renders_numbers_authors_links_and_times(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    first = seed(comments, key, "First *point*", website="https://marta.example.org/")
    seed(comments, key, "Answer", name="Jonas", parent=first["comment"]["id"])
    seed(comments, key, "Second", name="<b>Priya</b>")
    open_thread(page, host, comments, key)
    expect(heading(page)).to_have_text("3 comments")
    top = comment(page, "First point")
    expect(top.locator(".db-l")).to_have_text("#1")
    author = top.get_by_role("link", name="Marta")
    expect(author).to_have_attribute("href", "https://marta.example.org/")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    expect(top.locator("em")).to_have_text("point")
    expect(top.locator("time")).to_have_text(re.compile(r"now|seconds? ago"))
    assert top.locator("time").get_attribute("datetime") == first["comment"]["created"]
    # The exact time (title) is made when a reader points at the comment's header.
    top.locator("time").hover()
    expect(top.locator("time")).to_have_attribute("title", re.compile(r"\d{4}"))
    expect(top.locator("img.db-av")).to_have_attribute("alt", "")
    permalink = top.locator("a.db-t")
    expect(permalink).to_have_attribute("href", f"#comment-{first['comment']['id']}")
    # The reply is nested in the first comment's list; names are text, never markup.
    nested = page.locator(f"#comment-{first['comment']['id']} > ol > li")
    expect(nested).to_have_count(1)
    expect(nested.locator(".db-l")).to_have_text("#1.1")
    # ... or focuses its permalink.
    nested.locator("a.db-t").focus()
    expect(nested.locator("time")).to_have_attribute("title", re.compile(r"\d{4}"))
    expect(page.get_by_text("<b>Priya</b>")).to_be_visible()
    assert watch.errors == []


def test_avatars_are_loaded_from_the_comment_server(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    seed(comments, key, "Picture me")
    seed(comments, key, "Me too", name="Jonas")
    open_thread(page, host, comments, key)
    avatars = page.locator("img.db-av")
    expect(avatars).to_have_count(2)
    for avatar in avatars.all():
        expect(avatar).to_have_attribute(
            "src", re.compile(rf"^{re.escape(comments.prefix)}/avatar/[0-9a-f]{{32}}\.svg$")
        )
        expect(avatar).to_have_js_property("complete", True)
        assert avatar.evaluate("img => img.naturalWidth") > 0  # loaded, not a broken image
    assert watch.errors == []


def test_empty_thread_key_is_the_page_path(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    path = new_key("/article")
    seed(comments, path, "About this very page")
    page.goto(publish(host, '<div data-debatebox-thread=""></div>', comments, path=path))
    expect(comment(page, "About this very page")).to_be_visible()
    expect(heading(page)).to_have_text("1 comment")
    # What is posted there goes to the same thread.
    post(page, "Agreed")
    assert [c["author"] for c in stored(comments, path)] == ["Marta", "Ann"]
    # DebateBox.load on an element without a key: the page path too.
    other = new_key("/spa")
    seed(comments, other, "Routed page")
    page.goto(publish(host, '<div id="spa"></div>', comments, path=other))
    page.evaluate("DebateBox.load(document.getElementById('spa'))")
    expect(comment(page, "Routed page")).to_be_visible()
    expect(heading(page)).to_have_text("1 comment")
    assert watch.errors == []


def test_reply_beyond_max_depth_says_in_reply_to(
    page: Page, host: HostSite, shallow: CommentServer
) -> None:
    key = new_key()
    one = seed(shallow, key, "Level zero")["comment"]["id"]
    two = seed(shallow, key, "Level one", name="Jonas", parent=one)["comment"]["id"]
    three = seed(shallow, key, "Level two", name="Tom", parent=two)["comment"]["id"]
    open_thread(page, host, shallow, key)
    # Through the widget: a reply to the comment at the deepest shown level.
    comment(page, "Level two").get_by_role("button", name="Reply").click()
    expect(page.get_by_text("Replying to Tom")).to_be_visible()
    post(page, "Level three")
    deep = comment(page, "Level three")
    link = deep.get_by_role("link", name="in reply to Tom, #1.2")
    expect(link).to_have_attribute("href", f"#comment-{three}")
    # Shown at depth 2, as a sibling of the comment it answers.
    assert page.locator(f"#comment-{three} + li").get_attribute("data-d") == "2"
    page.reload()
    expect(
        comment(page, "Level three").get_by_role("link", name="in reply to Tom, #1.2")
    ).to_be_visible()


def test_display_depth_attribute_caps_nesting(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    one = seed(comments, key, "Top")["comment"]["id"]
    two = seed(comments, key, "Child", name="Jonas", parent=one)["comment"]["id"]
    seed(comments, key, "Grandchild", name="Tom", parent=two)
    open_thread(page, host, comments, key, 'data-debatebox-max-depth="1"')
    grandchild = comment(page, "Grandchild")
    expect(grandchild.get_by_role("link", name="in reply to Jonas, #1.1")).to_be_visible()
    expect(page.locator(f"#comment-{one} > ol > li")).to_have_count(2)


def test_tombstone_keeps_replies(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    parent = seed(comments, key, "Will go")
    seed(comments, key, "Still here", name="Jonas", parent=parent["comment"]["id"])
    client = comments.app.test_client()
    gone = client.delete(
        f"/debatebox/api/comments/{parent['comment']['id']}",
        headers={"X-Debatebox-Token": parent["edit_token"]},
    )
    assert gone.get_json()["tombstone"] is True
    open_thread(page, host, comments, key)
    expect(page.get_by_text("Comment deleted")).to_be_visible()
    expect(page.get_by_text("Will go")).to_have_count(0)
    expect(comment(page, "Still here")).to_be_visible()
    expect(heading(page)).to_have_text("1 comment")


def test_collapse_and_expand_replies(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    top = seed(comments, key, "Parent")["comment"]["id"]
    seed(comments, key, "Kid one", parent=top)
    seed(comments, key, "Kid two", parent=top)
    open_thread(page, host, comments, key)
    toggle = comment(page, "Parent").get_by_role("button", name="Hide replies")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(page.get_by_text("Kid one")).to_be_hidden()
    shown = comment(page, "Parent").get_by_role("button", name="Show 2 replies")
    expect(shown).to_have_attribute("aria-expanded", "false")
    expect(shown).to_be_focused()
    shown.click()
    expect(page.get_by_text("Kid one")).to_be_visible()


def test_sort_switch(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    for body in ("Alpha", "Beta", "Gamma"):
        seed(comments, key, body)
    open_thread(page, host, comments, key)
    labels = page.locator(".db-list > li > article .db-l")
    expect(labels).to_have_text(["#1", "#2", "#3"])
    expect(page.get_by_role("button", name="Oldest first")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Newest first").click()
    expect(labels).to_have_text(["#3", "#2", "#1"])
    expect(page.get_by_role("button", name="Newest first")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_sort_attribute(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    for body in ("Alpha", "Beta"):
        seed(comments, key, body)
    open_thread(page, host, comments, key, 'data-debatebox-sort="newest"')
    expect(page.locator(".db-list > li > article .db-l")).to_have_text(["#2", "#1"])


def test_load_more(page: Page, host: HostSite, small_pages: CommentServer, watch: Watch) -> None:
    key = new_key()
    for n in range(7):
        seed(small_pages, key, f"Top {n + 1}")
    open_thread(page, host, small_pages, key)
    rows = page.locator(".db-list > li")
    expect(rows).to_have_count(3)
    more = page.get_by_role("button", name="Load more comments")
    more.click()
    expect(rows).to_have_count(6)
    more.click()
    expect(rows).to_have_count(7)
    expect(more).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("1 more comment loaded.")
    assert watch.errors == []


def test_page_size_attribute(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    for n in range(3):
        seed(comments, key, f"Top {n + 1}")
    open_thread(page, host, comments, key, 'data-debatebox-page-size="2"')
    expect(page.locator(".db-list > li")).to_have_count(2)
    page.get_by_role("button", name="Load more comments").click()
    expect(page.locator(".db-list > li")).to_have_count(3)


def test_permalink_scrolls_and_highlights(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    ids = [
        seed(comments, key, f"Point {n}\n\n" + "More words. " * 40)["comment"]["id"]
        for n in range(12)
    ]
    url = publish(
        host,
        f'<div style="height:1200px">Article</div><div data-debatebox-thread="{key}"></div>',
        comments,
    )
    page.goto(f"{url}#comment-{ids[9]}")
    target = page.locator(f"#comment-{ids[9]}")
    expect(target).to_have_class(re.compile(r"\bdb-hl\b"))
    expect(target).to_be_in_viewport()
    # A link to another comment (hashchange) moves the highlight.
    page.evaluate(f"location.hash = '#comment-{ids[2]}'")
    expect(page.locator(f"#comment-{ids[2]}")).to_have_class(re.compile(r"\bdb-hl\b"))
    expect(page.locator(f"#comment-{ids[2]}")).to_be_in_viewport()
    expect(target).not_to_have_class(re.compile(r"\bdb-hl\b"))


def test_permalink_to_a_later_page(page: Page, host: HostSite, small_pages: CommentServer) -> None:
    key = new_key()
    ids = [seed(small_pages, key, f"Top {n}")["comment"]["id"] for n in range(7)]
    url = publish(host, f'<div data-debatebox-thread="{key}"></div>', small_pages)
    page.goto(f"{url}#comment-{ids[6]}")
    expect(page.locator(f"#comment-{ids[6]}")).to_have_class(re.compile(r"\bdb-hl\b"))


# Counts -------------------------------------------------------------------------------


def test_counts_in_one_request(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    a, b, empty = new_key(), new_key(), new_key()
    seed(comments, a, "one")
    seed(comments, a, "two")
    seed(comments, b, "one")
    path = f"/p/{new_key('counts').split('/')[-1]}"
    seed(comments, path, "for the page path")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/counts" in r.url else None)
    url = publish(
        host,
        f'<p><span id="a1" data-debatebox-count="{a}"></span></p>'
        f'<p><a id="a2" href="#" data-debatebox-count="{a}"></a></p>'
        f'<p><span id="b" data-debatebox-count="{b}"></span></p>'
        f'<p><span id="e" data-debatebox-count="{empty}"></span></p>'
        '<p><span id="self" data-debatebox-count=""></span></p>',
        comments,
        path=path,
    )
    page.goto(url)
    expect(page.locator("#a1")).to_have_text("2 comments")
    expect(page.locator("#a2")).to_have_text("2 comments")
    expect(page.locator("#b")).to_have_text("1 comment")
    expect(page.locator("#e")).to_have_text("0 comments")
    expect(page.locator("#self")).to_have_text("1 comment")
    assert len(requests) == 1
    assert watch.errors == []


def test_counts_api_fills_elements_added_later(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    seed(comments, key, "one")
    seed(comments, key, "two")
    page.goto(publish(host, '<ul id="list"></ul><p id="aside"></p>', comments))
    # A single-page app renders a list later, and a count outside it.
    page.evaluate(
        """k => { for (const [where, id] of [['list', 'in'], ['aside', 'out']]) {
             const e = document.createElement('span');
             e.id = id; e.textContent = 'comments'; e.setAttribute('data-debatebox-count', k);
             document.getElementById(where).append(e); }
           return DebateBox.counts(document.getElementById('list')); }""",
        key,
    )
    expect(page.locator("#in")).to_have_text("2 comments")
    # The promise has settled: what is outside the given root was left alone.
    expect(page.locator("#out")).to_have_text("comments")
    page.evaluate("DebateBox.counts()")
    expect(page.locator("#out")).to_have_text("2 comments")
    assert watch.errors == []


def test_counts_chunked_by_hundred(page: Page, host: HostSite, comments: CommentServer) -> None:
    keys = [f"/c/{n}-{new_key().split('/')[-1]}" for n in range(150)]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/counts" in r.url else None)
    spans = "".join(f'<span data-debatebox-count="{k}"></span>' for k in keys)
    page.goto(publish(host, spans, comments))
    expect(page.locator("[data-debatebox-count]").last).to_have_text("0 comments")
    expect(page.locator("[data-debatebox-count]").first).to_have_text("0 comments")
    assert len(requests) == 2


# Posting ------------------------------------------------------------------------------


def test_post_comment_appears_and_survives_reload(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    open_thread(page, host, comments, key)
    post(page, "My **first** comment", shown="My first comment")
    mine = comment(page, "My first comment")
    expect(mine.locator("strong")).to_have_text("first")
    expect(heading(page)).to_have_text("1 comment")
    expect(page.get_by_role("status")).to_have_text("Your comment was published.")
    expect(page.get_by_label("Comment")).to_have_value("")
    assert [c["author"] for c in stored(comments, key)] == ["Ann"]
    page.reload()
    expect(comment(page, "My first comment")).to_be_visible()
    # Name and email are remembered for the next comment.
    expect(page.get_by_label("Name")).to_have_value("Ann")
    expect(page.get_by_label("Email")).to_have_value("ann@example.org")
    assert watch.errors == []


def test_reply_and_reload_show_the_same_tree(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    open_thread(page, host, comments, key)
    post(page, "Parent text")
    comment(page, "Parent text").get_by_role("button", name="Reply").click()
    expect(page.get_by_text("Replying to Ann")).to_be_visible()
    expect(page.get_by_label("Comment")).to_be_focused()
    page.get_by_label("Comment").fill("Child text")
    page.get_by_role("button", name="Post comment").click()
    expect(comment(page, "Child text")).to_be_visible()
    expect(page.get_by_text("Replying to Ann")).to_be_hidden()

    def tree() -> list[tuple[str, str | None]]:
        rows = page.locator("li.db-c")
        return [
            (row.locator(":scope > article .db-b").inner_text(), row.get_attribute("data-d"))
            for row in rows.all()
        ]

    before = tree()
    assert before == [("Parent text", "0"), ("Child text", "1")]
    page.reload()
    expect(comment(page, "Child text")).to_be_visible()
    assert tree() == before
    parent, child = stored(comments, key)
    assert child["parent"] == parent["id"]
    assert watch.errors == []


def test_reply_opens_the_same_form_under_the_comment(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    first = seed(comments, key, "First")["comment"]["id"]
    second = seed(comments, key, "Second", name="Jonas")["comment"]["id"]
    open_thread(page, host, comments, key)
    forms = page.locator("form")
    expect(forms).to_have_count(1)
    expect(page.locator(".db-top > form")).to_have_count(1)
    page.get_by_label("Name").fill("Ann")
    comment(page, "Second").get_by_role("button", name="Reply").click()
    # The one form, with what was typed in it, now follows the comment it answers.
    under = page.locator(f"#comment-{second} > article + form")
    expect(under).to_have_count(1)
    expect(forms).to_have_count(1)
    expect(page.locator(".db-top > form")).to_have_count(0)
    expect(under.get_by_text("Replying to Jonas")).to_be_visible()
    expect(under.get_by_label("Name")).to_have_value("Ann")
    expect(under.get_by_label("Comment")).to_be_focused()
    # Reply on another comment moves it again.
    comment(page, "First").get_by_role("button", name="Reply").click()
    expect(page.locator(f"#comment-{first} > article + form")).to_have_count(1)
    expect(under).to_have_count(0)
    expect(forms).to_have_count(1)
    expect(page.get_by_text("Replying to Marta")).to_be_visible()
    # Cancel: back in its place above the comments, for a new comment.
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".db-top > form")).to_have_count(1)
    expect(page.locator(f"#comment-{first} > form")).to_have_count(0)
    expect(forms).to_have_count(1)
    expect(page.get_by_text("Replying to")).to_be_hidden()
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    expect(page.get_by_label("Name")).to_have_value("Ann")


def test_preview(page: Page, host: HostSite, comments: CommentServer, watch: Watch) -> None:
    open_thread(page, host, comments, new_key())
    page.get_by_label("Comment").fill("Some **bold** <script>x</script>")
    button = page.get_by_role("button", name="Preview")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    pane = page.locator(".db-pv")
    expect(pane.locator("strong")).to_have_text("bold")
    expect(pane).to_contain_text("<script>x</script>")
    button.click()
    expect(pane).to_be_hidden()
    assert watch.errors == [] and watch.dialogs == []


def test_edit_and_delete_within_the_window(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    open_thread(page, host, comments, key)
    post(page, "Typo here")
    mine = comment(page, "Typo here")
    mine.get_by_role("button", name="Edit").click()
    box = page.get_by_label("Edit your text")
    expect(box).to_have_value("Typo here")
    box.fill("Fixed *here*")
    page.get_by_role("button", name="Save").click()
    fixed = comment(page, "Fixed here")
    expect(fixed.locator("em")).to_have_text("here")
    expect(fixed.get_by_text("edited")).to_be_visible()
    assert stored(comments, key)[0]["html"] == "<p>Fixed <em>here</em></p>"
    # The edit survives a reload, and the buttons are still offered.
    page.reload()
    fixed = comment(page, "Fixed here")
    fixed.get_by_role("button", name="Delete").click()
    expect(fixed.get_by_text("Delete this comment?")).to_be_visible()
    fixed.get_by_role("button", name="Cancel").click()
    expect(fixed.get_by_role("button", name="Delete")).to_be_focused()
    fixed.get_by_role("button", name="Delete").click()
    fixed.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_text("Fixed here")).to_have_count(0)
    expect(heading(page)).to_have_text("0 comments")
    assert stored(comments, key) == []
    assert watch.dialogs == []  # the confirmation is inline, not window.confirm
    assert watch.errors == []


#: Makes this browser believe its comments' edit windows run for ten more minutes.
STILL_MINE = """() => { for (const k of Object.keys(localStorage)) if (k.endsWith('|mine')) {
  const v = JSON.parse(localStorage[k]);
  v.forEach(m => m.exp = m.keep = Date.now() + 6e5);
  localStorage[k] = JSON.stringify(v); } }"""


def past_the_window(page: Page, host: HostSite, server: CommentServer, text: str) -> str:
    """Post ``text`` with a 2-second edit window, see Edit and Delete go when it ends,
    then make the device believe it still runs and reload; the thread's key."""
    key = new_key()
    open_thread(page, host, server, key)
    post(page, text)
    mine = comment(page, text)
    expect(mine.get_by_role("button", name="Edit")).to_be_visible()
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0, timeout=6000)
    expect(mine.get_by_role("button", name="Delete")).to_have_count(0)
    # A device whose clock says the window still runs: the server refuses with 410.
    page.evaluate(STILL_MINE)
    page.reload()
    return key


def test_edit_refused_after_the_window(
    page: Page, host: HostSite, make_comment_server: Callable[..., CommentServer]
) -> None:
    server = make_comment_server(DEBATEBOX_EDIT_WINDOW=2)
    key = past_the_window(page, host, server, "Quick one")
    mine = comment(page, "Quick one")
    mine.get_by_role("button", name="Edit").click()
    page.get_by_label("Edit your text").fill("Too late")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="over")).to_have_text(
        "The time for changing this comment is over."
    )
    assert stored(server, key)[0]["html"] == "<p>Quick one</p>"
    page.get_by_role("button", name="Cancel").click()
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0)


def test_delete_refused_after_the_window(
    page: Page, host: HostSite, make_comment_server: Callable[..., CommentServer]
) -> None:
    server = make_comment_server(DEBATEBOX_EDIT_WINDOW=2)
    key = past_the_window(page, host, server, "Here to stay")
    mine = comment(page, "Here to stay")
    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Yes, delete").click()
    expect(mine.get_by_role("alert")).to_have_text("The time for changing this comment is over.")
    # The comment stays, and this browser is not offered the buttons again.
    expect(mine.get_by_role("button", name="Delete")).to_have_count(0)
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0)
    expect(heading(page)).to_have_text("1 comment")
    assert [c["html"] for c in stored(server, key)] == ["<p>Here to stay</p>"]


def test_refused_delete_leaves_focus_in_the_comment(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    open_thread(page, host, comments, new_key())
    post(page, "Keyboard user's comment")
    page.route(
        "**/debatebox/api/comments/*",
        lambda route: (
            route.fulfill(**json_error(host, 410, "edit_window_over"))
            if route.request.method == "DELETE"
            else route.continue_()
        ),
    )
    mine = comment(page, "Keyboard user's comment")
    mine.get_by_role("button", name="Delete").focus()
    page.keyboard.press("Enter")
    expect(mine.get_by_role("button", name="Yes, delete")).to_be_focused()
    page.keyboard.press("Enter")
    expect(mine.get_by_role("alert")).to_have_text("The time for changing this comment is over.")
    # The button pressed is gone; the focus must not fall back to the top of the page
    # (as Report does, the widget can focus the message).
    expect(mine.locator(":focus")).to_have_count(1)


def test_held_comment_is_shown_to_its_author_only(
    page: Page,
    host: HostSite,
    browser: Browser,
    make_comment_server: Callable[..., CommentServer],
) -> None:
    server = make_comment_server(DEBATEBOX_MODERATION="all")
    key = new_key()
    url = open_thread(page, host, server, key)
    write(page, "Please approve me")
    page.get_by_role("button", name="Post comment").click()
    mine = comment(page, "Please approve me")
    expect(mine.get_by_text("awaiting moderation")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("awaiting moderation")
    expect(heading(page)).to_have_text("0 comments")
    page.reload()
    expect(comment(page, "Please approve me").get_by_text("awaiting moderation")).to_be_visible()
    other = browser.new_context()
    try:
        stranger = other.new_page()
        stranger.goto(url)
        expect(heading(stranger)).to_have_text("0 comments")
        expect(stranger.get_by_text("Please approve me")).to_have_count(0)
    finally:
        other.close()


# Failures -----------------------------------------------------------------------------


def test_draft_survives_a_failed_post_and_a_reload(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    open_thread(page, host, comments, key)

    def drop_posts(route: Route) -> None:
        if route.request.method == "POST":
            route.abort()
        else:
            route.continue_()

    page.route("**/debatebox/api/comments", drop_posts)
    write(page, "Long thoughtful text")
    page.get_by_label("Website").fill("https://ann.example.org")
    page.get_by_role("button", name="Post comment").click()
    error = page.get_by_role("alert").filter(has_text="Cannot reach")
    expect(error).to_be_visible()
    expect(page.get_by_label("Comment")).to_have_value("Long thoughtful text")
    page.unroute("**/debatebox/api/comments")
    page.reload()
    expect(page.get_by_label("Comment")).to_have_value("Long thoughtful text")
    expect(page.get_by_label("Name")).to_have_value("Ann")
    expect(page.get_by_label("Website")).to_have_value("https://ann.example.org")
    page.get_by_role("button", name="Post comment").click()
    expect(comment(page, "Long thoughtful text")).to_be_visible()
    page.reload()
    expect(comment(page, "Long thoughtful text")).to_be_visible()
    expect(page.get_by_label("Comment")).to_have_value("")


def test_reply_draft_survives_a_reload(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    seed(comments, key, "Original")
    open_thread(page, host, comments, key)
    comment(page, "Original").get_by_role("button", name="Reply").click()
    page.get_by_label("Name").fill("Ann")
    page.get_by_label("Comment").fill("Half a reply")
    page.reload()
    expect(page.get_by_text("Replying to Marta")).to_be_visible()
    expect(page.get_by_label("Comment")).to_have_value("Half a reply")
    # Cancel: back to a new top-level comment, whose own draft was empty.
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_label("Comment")).to_have_value("")
    expect(comment(page, "Original").get_by_role("button", name="Reply")).to_be_focused()


def test_retry_after_a_lost_answer_stores_one_comment(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    open_thread(page, host, comments, key)
    keys: list[str | None] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server stores the comment, the reader never hears
            route.fulfill(**json_error(host, 503, "unavailable", **{"Retry-After": "1"}))
        else:
            route.continue_()

    page.route("**/debatebox/api/comments", lose_first_answer)
    write(page, "Only once please")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert").filter(has_text="has a problem")).to_be_visible()
    assert len(stored(comments, key)) == 1
    page.get_by_role("button", name="Post comment").click()
    expect(comment(page, "Only once please")).to_be_visible()
    expect(page.locator("li.db-c")).to_have_count(1)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert len(stored(comments, key)) == 1
    # The next comment gets a key of its own.
    post(page, "A different one")
    assert len(keys) == 3 and keys[2] != keys[0]
    assert len(stored(comments, key)) == 2


def test_expired_form_token_is_renewed_once(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    configs: list[str] = []
    page.on("request", lambda r: configs.append(r.url) if "/api/config" in r.url else None)
    open_thread(page, host, comments, key)
    seen: list[int] = []

    def expire_first(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        seen.append(1)
        if len(seen) == 1:
            route.fulfill(**json_error(host, 403, "form_expired"))
        else:
            route.continue_()

    page.route("**/debatebox/api/comments", expire_first)
    post(page, "After a long lunch")
    assert len(seen) == 2 and len(configs) == 2
    assert len(stored(comments, key)) == 1


def test_too_fast_is_retried_after_the_minimum_time(
    page: Page, host: HostSite, make_comment_server: Callable[..., CommentServer], watch: Watch
) -> None:
    server = make_comment_server(DEBATEBOX_MIN_FILL_SECONDS=1.5)
    key = new_key()
    answers: list[tuple[int, str]] = []

    def hurry_first(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        data = json.loads(route.request.post_data or "{}")
        if not answers:
            # Posted the instant the form was made: a token minted now. (Using the one
            # from page load, a busy machine may take longer than 1.5 s to fill the form.)
            client = server.app.test_client()
            data["form_token"] = client.get("/debatebox/api/config").get_json()["form_token"]
        answer = route.fetch(post_data=json.dumps(data))
        answers.append((answer.status, answer.json().get("error", "")))
        route.fulfill(response=answer)

    open_thread(page, host, server, key)
    page.route("**/debatebox/api/comments", hurry_first)
    post(page, "Typed in a hurry")  # refused as too fast, then accepted
    assert [status for status, _ in answers] == [403, 201]
    assert answers[0][1] == "too_fast"
    assert len(stored(server, key)) == 1


def test_rate_limit_message(page: Page, host: HostSite, comments: CommentServer) -> None:
    open_thread(page, host, comments, new_key())
    page.route(
        "**/debatebox/api/comments",
        lambda route: (
            route.fulfill(**json_error(host, 429, "rate_limited", **{"Retry-After": "41"}))
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    write(page, "Too fast")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert").filter(has_text="wait")).to_have_text(
        "You are posting too fast. Please wait 41 seconds."
    )
    expect(page.get_by_label("Comment")).to_have_value("Too fast")


def test_validation_errors_next_to_fields(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    open_thread(page, host, comments, key)
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_label("Comment").fill("Text I typed")
    page.get_by_role("button", name="Post comment").click()
    name = page.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("Name is required"))
    expect(name).to_be_focused()
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("does not look like an email"))
    described = email.get_attribute("aria-describedby") or ""
    error_id = described.split()[0]
    expect(page.locator(f"#{error_id}")).to_have_text("Email does not look like an email address.")
    expect(page.get_by_role("alert").filter(has_text="correct")).to_have_text(
        "Please correct the marked fields."
    )
    expect(page.get_by_label("Comment")).to_have_value("Text I typed")
    # Typing in a field clears its error.
    name.fill("Ann")
    expect(name).not_to_have_attribute("aria-invalid", "true")
    assert stored(comments, key) == []


def test_network_failure_while_loading(page: Page, host: HostSite, comments: CommentServer) -> None:
    page.route("**/debatebox/api/comments?*", lambda route: route.abort())
    url = publish(host, f'<div data-debatebox-thread="{new_key()}"></div>', comments)
    page.goto(url)
    expect(page.get_by_role("alert")).to_have_text("Comments could not be loaded.")
    page.unroute("**/debatebox/api/comments?*")
    page.get_by_role("button", name="Try again").click()
    expect(heading(page)).to_have_text("0 comments")


def test_origin_not_allowed_cannot_post(
    page: Page, host: HostSite, make_comment_server: Callable[..., CommentServer]
) -> None:
    server = make_comment_server(DEBATEBOX_ORIGINS="http://127.0.0.1:1")
    key = new_key()
    url = publish(host, f'<div data-debatebox-thread="{key}"></div>', server)
    page.goto(url)
    expect(page.get_by_role("alert")).to_have_text("Comments could not be loaded.")
    expect(page.get_by_role("button", name="Post comment")).to_have_count(0)
    # Even when something in between (a misconfigured proxy, say) lets the page read
    # every answer, so that the widget gets a valid form token from /api/config, the
    # server refuses the post: the only thing wrong with it is the page's origin.
    posts: list[tuple[int, str]] = []

    def readable(route: Route) -> None:
        answer = route.fetch()
        if route.request.method == "POST":
            posts.append((answer.status, answer.json().get("error", "")))
        route.fulfill(
            response=answer,
            headers={**answer.headers, "access-control-allow-origin": host.origin},
        )

    page.route(f"{server.prefix}/api/**", readable)
    page.reload()
    write(page, "From a site not on the list")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert").filter(has_text="not allowed")).to_have_text(
        "This site is not allowed to post comments here."
    )
    expect(page.get_by_label("Comment")).to_have_value("From a site not on the list")
    assert posts == [(403, "origin_not_allowed")]
    expect(heading(page)).to_have_text("0 comments")
    assert stored(server, key) == []


def test_closed_thread_has_no_form(page: Page, host: HostSite, comments: CommentServer) -> None:
    from debatebox.models import Thread

    key = new_key()
    seed(comments, key, "Before closing")
    state = comments.app.extensions["debatebox"]
    with state.new_session() as db:
        db.query(Thread).filter(Thread.key == key).update({"closed": True})
        db.commit()
    open_thread(page, host, comments, key)
    expect(page.get_by_text("This discussion is closed for new comments.")).to_be_visible()
    expect(page.get_by_role("button", name="Post comment")).to_have_count(0)
    expect(comment(page, "Before closing").get_by_role("button", name="Reply")).to_have_count(0)


# Accessibility, robustness, integration -------------------------------------------------


def test_keyboard_order_through_the_form(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    open_thread(page, host, comments, new_key())
    page.keyboard.press("Tab")
    expect(page.get_by_label("Name")).to_be_focused()
    for label in ("Email", "Website", "Comment"):
        page.keyboard.press("Tab")
        expect(page.get_by_label(label, exact=True)).to_be_focused()
    for button in ("Preview", "Post comment"):
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=button)).to_be_focused()
    # Focus is visible.
    outline = page.get_by_role("button", name="Post comment").evaluate(
        "e => getComputedStyle(e).outlineStyle"
    )
    assert outline == "solid"


#: The controls a reader sees in the widget, in document order (no widget control has a
#: positive tabindex, so that is the Tab order), but the bot trap (hidden, aria-hidden and
#: out of the Tab order on purpose); kept for FOCUSED.
TABBABLE = """() => {
  const root = document.querySelector('[data-debatebox-thread]').shadowRoot;
  window.tabbable = [...root.querySelectorAll('a[href], button, input, textarea, select')]
    .filter(e => !e.disabled && e.checkVisibility() && !e.closest('[aria-hidden=true]'));
  return window.tabbable.map(e => (e.getAttribute('aria-label') || e.labels?.[0]?.textContent
    || e.textContent.trim()) + (e.localName == 'a' ? ' ' + e.getAttribute('href') : ''));
}"""

#: Which of TABBABLE has the focus (null outside the widget) and whether it shows it.
FOCUSED = """() => {
  const e = document.querySelector('[data-debatebox-thread]').shadowRoot.activeElement;
  if (!e) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle != 'none' && parseFloat(s.outlineWidth) > 0)
    || s.boxShadow != 'none';
  return {index: window.tabbable.indexOf(e), ring};
}"""


def test_keyboard_reaches_every_visible_control(
    page: Page, host: HostSite, small_pages: CommentServer
) -> None:
    key = new_key()
    first = seed(small_pages, key, "Top one, see [the source](https://example.org/)")
    for n in range(2, 5):
        seed(small_pages, key, f"Top {n}", name="Jonas", website="https://jonas.example.org/")
    open_thread(page, host, small_pages, key)
    # The reader's own reply: Edit and Delete; the others' comments: Report.
    comment(page, "Top one").get_by_role("button", name="Reply").click()
    post(page, "My own reply")
    page.reload()
    expect(comment(page, "My own reply").get_by_role("button", name="Edit")).to_be_visible()
    expect(page.get_by_role("button", name="Load more comments")).to_be_visible()
    names = page.evaluate(TABBABLE)
    for control in (
        "Name",
        "Email",
        "Website",
        "Comment",
        "Preview",
        "Post comment",
        "Oldest first",
        "Newest first",
        f"#comment-{first['comment']['id']}",
        "https://example.org/",
        "Reply",
        "Report",
        "Hide replies",
        "Edit",
        "Delete",
        "Jonas",
        "Load more comments",
    ):
        assert any(control in name for name in names), (control, names)
    visited: list[int] = []
    unringed: list[str] = []
    for _ in range(len(names) + 3):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUSED)
        if state is None or (visited and state["index"] == visited[0]):
            break  # out of the widget, or round again
        visited.append(state["index"])
        if not state["ring"]:
            unringed.append(names[state["index"]])
    assert [names[i] for i in visited] == names
    assert unringed == []


def test_keyboard_posting_a_reply(page: Page, host: HostSite, comments: CommentServer) -> None:
    key = new_key()
    seed(comments, key, "Answer me")
    open_thread(page, host, comments, key)
    comment(page, "Answer me").get_by_role("button", name="Reply").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Name")).to_be_focused()
    page.keyboard.type("Kim")
    page.keyboard.press("Tab")
    page.keyboard.type("kim@example.org")
    page.get_by_label("Comment").focus()
    page.keyboard.type("By keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    reply = page.locator("li.db-c[data-d='1']")
    expect(reply).to_be_focused()
    assert reply.get_attribute("data-d") == "1"


def test_hostile_host_css_does_not_break_the_widget(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    hostile = (
        "<style>* { display: block !important; color: red !important; font-size: 40px; }"
        " button { all: unset; } input, textarea { display: none; }"
        " ol, li { list-style: square; margin: 90px; }</style>"
    )
    key = new_key()
    seed(comments, key, "Styled")
    open_thread(page, host, comments, key, head=hostile)
    post(page, "Still works")
    button = page.get_by_role("button", name="Post comment")
    style = button.evaluate(
        "e => { const s = getComputedStyle(e); return [s.display, s.borderTopStyle, s.color]; }"
    )
    assert style[0] != "none" and style[1] == "solid"
    assert style[2] != "rgb(255, 0, 0)"
    body_color = (
        comment(page, "Styled").locator(".db-b p").evaluate("e => getComputedStyle(e).color")
    )
    assert body_color != "rgb(255, 0, 0)"
    assert watch.errors == []


def test_dark_theme_and_custom_properties(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    def colours() -> list[str]:
        found: list[str] = page.locator(".db").first.evaluate(
            "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
        )
        return found

    open_thread(page, host, comments, new_key(), 'data-debatebox-theme="dark"')
    assert colours() == ["rgb(22, 24, 29)", "rgb(233, 233, 236)"]
    page.emulate_media(color_scheme="dark")
    open_thread(page, host, comments, new_key(), 'style="--debatebox-dark-bg: #000"')
    assert colours()[0] == "rgb(0, 0, 0)"
    open_thread(page, host, comments, new_key(), 'data-debatebox-theme="light"')
    assert colours()[0] == "rgb(255, 255, 255)"
    page.emulate_media(color_scheme="light")
    open_thread(page, host, comments, new_key(), 'style="--debatebox-accent: rgb(1, 2, 3)"')
    accent = page.get_by_role("button", name="Post comment").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert accent == "rgb(1, 2, 3)"


def test_narrow_screen_has_no_horizontal_scroll(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    page.set_viewport_size({"width": 320, "height": 700})
    key = new_key()
    top = seed(comments, key, "A " + "long" * 40 + " word")["comment"]["id"]
    kid = seed(comments, key, "Reply", parent=top)["comment"]["id"]
    seed(comments, key, "Deeper", parent=kid)
    open_thread(page, host, comments, key)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_translation_catalog_and_english_fallback(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    catalog = {
        "comments": {"one": "{n} Kommentar", "other": "{n} Kommentare"},
        "name": "Name",
        "post": "Kommentar senden",
    }
    page.route(
        "**/debatebox/i18n/de.json",
        lambda route: route.fulfill(json=catalog, headers={"Access-Control-Allow-Origin": "*"}),
    )
    key = new_key()
    seed(comments, key, "Eins")
    url = publish(host, f'<div data-debatebox-thread="{key}"></div>', comments, lang="de-AT")
    page.goto(url)
    expect(page.get_by_role("heading", name="1 Kommentar")).to_be_visible()
    expect(page.get_by_role("button", name="Kommentar senden")).to_be_visible()
    expect(page.get_by_role("button", name="Preview")).to_be_visible()  # not translated


def test_server_rendered_thread_is_enhanced_not_duplicated(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    key = new_key()
    first = seed(comments, key, "Rendered twice?")["comment"]["id"]
    markup = (
        f'<section class="debatebox" data-debatebox-thread="{key}" data-debatebox-title="T">'
        '<h2 class="debatebox-count">1 comment</h2><ol class="debatebox-comments">'
        f'<li class="debatebox-comment" id="comment-{first}"><div class="debatebox-body">'
        "<p>Rendered twice?</p></div></li></ol></section>"
    )
    page.goto(publish(host, markup, comments))
    expect(heading(page)).to_have_text("1 comment")
    expect(page.locator(".db-b", has_text="Rendered twice?")).to_have_count(1)
    # The server's markup is kept in the light DOM (for search engines), but not shown.
    expect(page.locator("section.debatebox > ol > li")).to_have_count(1)
    expect(page.locator("section.debatebox > ol")).to_be_hidden()
    expect(page.get_by_role("button", name="Post comment")).to_be_visible()


def test_server_rendered_form_is_taken_over(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    first = seed(comments, key, "Answer this")["comment"]["id"]
    markup = (
        f'<section class="debatebox" data-debatebox-thread="{key}">'
        f'<h2>1 comment</h2><ol><li id="comment-{first}"><p>Answer this</p></li></ol>'
        '<form class="debatebox-form" method="post" action="/nowhere">'
        f'<input type="hidden" name="parent" value="{first}">'
        '<label for="n">Name</label><input id="n" name="name">'
        '<label for="b">Comment</label><textarea id="b" name="body"></textarea>'
        "<button>Post comment</button></form></section>"
    )
    # The reader starts typing before the script has run.
    page.goto(publish(host, markup, comments, script=False))
    page.get_by_label("Name").fill("Early bird")
    page.get_by_label("Comment").fill("Typed without the script")
    page.evaluate(
        "src => { const s = document.createElement('script'); s.src = src;"
        " document.body.append(s); }",
        f"{comments.prefix}/embed.js",
    )
    expect(page.get_by_text("Replying to Marta")).to_be_visible()
    expect(page.locator("form.debatebox-form")).to_have_count(0)
    expect(page.get_by_label("Name")).to_have_value("Early bird")
    expect(page.get_by_label("Comment")).to_have_value("Typed without the script")
    page.get_by_label("Email").fill("early@example.org")
    page.get_by_role("button", name="Post comment").click()
    expect(comment(page, "Typed without the script")).to_be_visible()
    assert stored(comments, key)[1]["parent"] == first


def test_public_api_load_reload_destroy(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    seed(comments, key, "Via the API")
    seed(comments, key, "Newer via the API")
    page.goto(publish(host, '<div id="later"><p>fallback text</p></div>', comments))
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", page.evaluate("DebateBox.version"))
    page.evaluate(
        "k => DebateBox.load(document.getElementById('later'), {thread: k, sort: 'newest'})", key
    )
    bodies = page.locator(".db-list > li > article .db-b")
    expect(bodies).to_have_text(["Newer via the API", "Via the API"])
    expect(page.get_by_role("button", name="Newest first")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_text("fallback text")).to_be_hidden()
    seed(comments, key, "Arrived later")
    page.evaluate("DebateBox.reload('#later')")
    expect(bodies).to_have_text(["Arrived later", "Newer via the API", "Via the API"])
    page.evaluate("DebateBox.destroy('#later')")
    expect(page.get_by_text("fallback text")).to_be_visible()
    expect(page.get_by_text("Via the API")).to_have_count(0)
    assert watch.errors == []


def _big_thread(key: str, n: int) -> dict[str, Any]:
    def one(i: int, parent: int | None, depth: int, label: str) -> dict[str, Any]:
        return {
            "id": i,
            "parent": parent,
            "label": label,
            "depth": depth,
            "deleted": False,
            "status": "approved",
            "author": f"Reader {i}",
            "website": "https://example.org/" if i % 3 == 0 else None,
            "avatar": f"https://avatars.example.org/{i % 7}.svg",
            "html": f'<p>Comment number {i} with <em>some</em> text and a <a href="https://example.org">link</a>.</p>',
            "created": "2026-01-01T10:00:00Z",
            "edited": None,
            "reply_to": None,
            "replies": [],
        }

    roots: list[dict[str, Any]] = []
    i = 0
    while i < n:
        i += 1
        top = one(i, None, 0, str(len(roots) + 1))
        for k in range(3):
            if i < n:
                i += 1
                top["replies"].append(one(i, top["id"], 1, f"{top['label']}.{k + 1}"))
        roots.append(top)
    return {
        "thread": {"key": key, "title": "", "url": "", "closed": False, "count": n},
        "sort": "oldest",
        "comments": roots,
        "next_cursor": None,
    }


#: Comments this many seconds old, and the value and unit their time is written with.
AGES = [
    (62, -1, "minute"),
    (331, -6, "minute"),
    (3_700, -1, "hour"),
    (10_900, -3, "hour"),
    (86_500, -1, "day"),
    (259_300, -3, "day"),
    (604_900, -1, "week"),
    (1_296_000, -2, "week"),
    (2_592_100, -1, "month"),
    (5_270_400, -2, "month"),
    (31_622_400, -1, "year"),
    (94_780_800, -3, "year"),
]

INTL = """([ages, count]) => {
  const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  return {
    times: ages.map(([v, unit]) => rtf.format(v, unit)),
    count: new Intl.NumberFormat("en").format(count),
  };
}"""


def test_english_times_and_counts_read_as_intl_writes_them(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    """English is written without Intl's number and relative-time formats (Chromium is slow
    to set those up the first time), so it must say just what they would say."""
    key = new_key()
    now = dt.datetime.now(dt.timezone.utc)
    thread = _big_thread(key, len(AGES) + 1)
    flat = [c for top in thread["comments"] for c in [top, *top["replies"]]]
    for c, seconds in zip(flat, [0] + [age for age, _, _ in AGES], strict=True):
        c["created"] = (now - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    thread["thread"]["count"] = 1234
    page.route(
        "**/debatebox/api/comments?*",
        lambda route: route.fulfill(
            body=json.dumps(thread),
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": host.origin},
        ),
    )
    page.route(
        "https://avatars.example.org/*",
        lambda route: route.fulfill(body="<svg xmlns='http://www.w3.org/2000/svg'/>"),
    )
    open_thread(page, host, comments, key)
    intl = page.evaluate(INTL, [[[v, unit] for _, v, unit in AGES], 1234])
    expect(heading(page)).to_have_text(f"{intl['count']} comments")
    assert intl["count"] == "1,234"
    times = page.locator("a.db-t > time")
    expect(times).to_have_count(len(AGES) + 1)
    for i, text in enumerate(intl["times"], start=1):
        expect(times.nth(i)).to_have_text(text)
    # Seconds change while the page opens: whatever the first says, Intl says the same.
    first = times.nth(0).inner_text()
    seconds = 0 if first == "now" else int(first.split()[0])
    assert first == page.evaluate(
        "(v) => new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(v, 'second')",
        -seconds,
    )
    assert watch.errors == []


#: DOM nodes (elements and text) in the list per comment, bodies not counted: 16.75 for
#: _big_thread (a top-level comment, with its replies' list and toggle, 19; a reply 16). The
#: bound leaves room for less than one more node per comment, so that an extra wrapper or
#: label on every comment (which costs building, style and layout time) fails here; the
#: time itself is measured in benchmarks/bench_widget.py, not by a test.
NODES_PER_COMMENT = 17.5

#: Nodes in the thread's list outside the comment bodies (the server's HTML).
LIST_NODES = """() => {
  const list = document.querySelector('[data-debatebox-thread]').shadowRoot
    .querySelector('.db-list');
  const skipBodies = {acceptNode: n => n.nodeType == 1 && n.classList.contains('db-b')
    ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT};
  const walker = document.createTreeWalker(
    list, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, skipBodies);
  let n = 0;
  while (walker.nextNode()) n++;
  return n;
}"""


def test_a_thousand_comments_render_completely_and_compactly(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    body = json.dumps(_big_thread(key, 1000))
    page.route(
        "**/debatebox/api/comments?*",
        lambda route: route.fulfill(
            body=body,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": host.origin},
        ),
    )
    page.route(
        "https://avatars.example.org/*",
        lambda route: route.fulfill(
            body='<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"/>',
            content_type="image/svg+xml",
        ),
    )
    open_thread(page, host, comments, key)
    expect(heading(page)).to_have_text("1,000 comments")
    expect(page.locator("li.db-c")).to_have_count(1000)
    expect(page.locator(".db-list > li")).to_have_count(250)
    expect(page.locator("li.db-c[data-d='1']")).to_have_count(750)
    expect(page.locator("img.db-av")).to_have_count(1000)
    # The last top-level comment (#250, id 997) and its three replies, in order.
    last = page.locator("#comment-997")
    expect(last.locator(":scope > article .db-l")).to_have_text("#250")
    expect(last.locator(":scope > ol > li > article .db-l")).to_have_text(
        ["#250.1", "#250.2", "#250.3"]
    )
    expect(page.locator("#comment-1000 .db-b")).to_have_text(
        "Comment number 1000 with some text and a link."
    )
    expect(page.locator("#comment-999 .db-n")).to_have_attribute("href", "https://example.org/")
    expect(last.get_by_role("button", name="Hide replies")).to_have_count(1)
    nodes = page.evaluate(LIST_NODES)
    assert nodes / 1000 <= NODES_PER_COMMENT, nodes
    assert watch.errors == []


def test_idle_page_makes_no_extra_requests(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if comments.origin in r.url else None)
    open_thread(page, host, comments, new_key())
    time.sleep(0.3)
    api = sorted(u.split("/debatebox/")[1].split("?")[0] for u in urls)
    assert api == ["api/comments", "api/config", "embed.js"]
