"""The server-rendered thread of a real Flask host, in Chromium, with and without JavaScript.

The host is a Flask app of the test's own, set up the way ``make_app`` in tests/conftest.py
sets one up, whose article pages call ``{{ debatebox.thread(key) }}`` and
``{{ debatebox.script() }}``. With JavaScript off, a reader reads, posts, replies, gets
their mistakes back in words and sees a held comment announced, all through the plain
form. With JavaScript on, embed.js takes over that same markup without showing any
comment twice. Threads are seeded through the JSON API (in process, no ``Origin``);
everything the reader does goes through the browser.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string, request
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_quality import AXE, describe
from test_widget import seed as seed_comment
from test_widget import stored

from debatebox import DebateBox, migrate
from support import BASE_CONFIG

# The fixtures' classes (tests/browser/conftest.py); conftest modules are not importable.
Watch = Any

#: An article of the host site: the thread and the widget's script tag, as a host writes them.
ARTICLE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <title>{{ title }}</title>
</head>
<body>
  <main><h1>{{ title }}</h1><p>Should city centres ban private cars?</p></main>
  {{ debatebox.thread(key, title=title) }}
  {{ debatebox.script() }}
</body>
</html>"""

TITLE = "Cars in the city"
COUNT = re.compile(r"\d+ comments?")


def new_key() -> str:
    """A thread key (and article path) no other test uses."""
    return f"/articles/{uuid.uuid4().hex[:12]}"


@dataclass
class Site:
    """The host site under test, served on loopback."""

    app: Flask
    origin: str

    def url(self, key: str) -> str:
        return f"{self.origin}{key}"


@pytest.fixture(scope="session")
def server_thread(request: pytest.FixtureRequest) -> Any:
    """``ServerThread`` of tests/browser/conftest.py, reached through pytest's plugins."""
    conftest = request.config.pluginmanager.get_plugin(str(Path(__file__).with_name("conftest.py")))
    assert conftest is not None
    return conftest.ServerThread


@pytest.fixture(scope="module")
def make_site(
    tmp_path_factory: pytest.TempPathFactory, server_thread: Any
) -> Iterator[Callable[..., Site]]:
    """Start a host site with debatebox and extra config: ``make_site(DEBATEBOX_X=…)``."""
    started: list[tuple[Flask, Any]] = []

    def factory(**config: Any) -> Site:
        folder = tmp_path_factory.mktemp("host")
        app = Flask(f"nojs-host{len(started)}", instance_path=str(folder / "instance"))
        # As make_app: the tests' base config (no minimum fill time, no rate limit, no spam
        # checks) on an SQLite file; but no SERVER_NAME, since the browser asks 127.0.0.1.
        app.config.update(BASE_CONFIG, DEBATEBOX_DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}")
        app.config.update(SERVER_NAME=None, **config)
        DebateBox(app)
        migrate.upgrade(app.extensions["debatebox"].engine)

        @app.get("/articles/<slug>")
        def article(slug: str) -> str:
            return render_template_string(ARTICLE, key=request.path, title=TITLE)

        server = server_thread(app)
        started.append((app, server))
        return Site(app=app, origin=server.origin)

    yield factory
    for app, server in started:
        server.stop()
        app.extensions["debatebox"].engine.dispose()


@pytest.fixture(scope="module")
def site(make_site: Callable[..., Site]) -> Site:
    """The host site publishing comments at once (tests keep apart by their thread keys)."""
    return make_site()


@pytest.fixture
def reader(browser: Browser) -> Iterator[Page]:
    """A page in a browser with JavaScript turned off."""
    made: BrowserContext = browser.new_context(
        java_script_enabled=False, viewport={"width": 1000, "height": 900}
    )
    yield made.new_page()
    made.close()


# Helpers ------------------------------------------------------------------------------


def seed(site: Site, key: str, body: str, *, name: str = "Marta", parent: int | None = None) -> int:
    """Post a comment through the JSON API as a server-side client; its id."""
    return int(seed_comment(site, key, body, name=name, parent=parent)["comment"]["id"])


def write(page: Page, body: str, name: str = "Ann", email: str = "ann@example.org") -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Comment", exact=True).fill(body)


def landed_on_new_comment(page: Page, url: str) -> int:
    """The browser is back on the article, at the new comment: its id."""
    expect(page).to_have_url(re.compile(re.escape(url) + r"\?debatebox_comment=(\d+)#comment-\1$"))
    return int(page.url.rsplit("-", 1)[1])


# Without JavaScript -------------------------------------------------------------------


def test_reader_without_javascript_reads_and_posts(reader: Page, site: Site) -> None:
    key = new_key()
    first = seed(site, key, "Shops do *better* without cars.")
    answer = seed(site, key, "Not without buses.", name="Jonas", parent=first)
    url = site.url(key)
    reader.goto(url)
    expect(reader.get_by_role("heading", name=COUNT)).to_have_text("2 comments")
    expect(reader.locator(f"#comment-{first} .debatebox-body").first).to_have_text(
        "Shops do better without cars."
    )
    expect(
        reader.locator(f"#comment-{first} .debatebox-replies > #comment-{answer}")
    ).to_contain_text("Not without buses.")
    expect(reader.get_by_role("heading", name="Leave a comment")).to_be_visible()

    write(reader, "Ghent did it *slowly*, street by street.")
    reader.get_by_role("button", name="Post comment").click()
    mine = landed_on_new_comment(reader, url)
    expect(reader.locator(f"#comment-{mine} > .debatebox-body")).to_have_text(
        "Ghent did it slowly, street by street."
    )
    expect(reader.locator(f"#comment-{mine} em")).to_have_text("slowly")
    expect(reader.locator(f"#comment-{mine} .debatebox-author")).to_have_text("Ann")
    expect(reader.locator(f"#comment-{mine} .debatebox-number")).to_have_text("#2")
    expect(reader.locator(f"#comment-{mine}")).to_be_in_viewport()
    expect(reader.get_by_role("heading", name=COUNT)).to_have_text("3 comments")
    # A new top-level comment, after the first thread; the form is empty for the next one.
    assert reader.locator("ol.debatebox-comments > li").evaluate_all(
        "items => items.map(li => li.id)"
    ) == [f"comment-{first}", f"comment-{mine}"]
    expect(reader.get_by_label("Comment", exact=True)).to_have_value("")
    assert stored(site, key)[-1]["html"] == "<p>Ghent did it <em>slowly</em>, street by street.</p>"


def test_reply_link_posts_a_nested_reply(reader: Page, site: Site) -> None:
    key = new_key()
    parent = seed(site, key, "Buses first, then the ban.")
    other = seed(site, key, "Deliveries are the hard part.", name="Priya")
    url = site.url(key)
    reader.goto(url)
    reader.locator(f"#comment-{parent}").get_by_role("link", name="Reply").click()
    expect(reader).to_have_url(f"{url}?debatebox_reply={parent}#debatebox-form")
    form_heading = reader.locator("#debatebox-form h3")
    expect(form_heading).to_have_text("Reply to Marta, #1")
    # Cancel (outside the heading) turns the form back into a new comment; Reply again,
    # this time to write.
    reader.locator("#debatebox-form").get_by_role("link", name="Cancel").click()
    expect(reader.get_by_role("heading", name="Leave a comment")).to_be_visible()
    reader.locator(f"#comment-{parent}").get_by_role("link", name="Reply").click()
    expect(form_heading).to_contain_text("Reply to Marta, #1")

    write(reader, "Agreed: the order matters.", name="Jonas", email="jonas@example.org")
    reader.get_by_role("button", name="Post comment").click()
    reply = landed_on_new_comment(reader, url)
    nested = reader.locator(f"#comment-{parent} > ol.debatebox-replies > li")
    expect(nested).to_have_count(1)
    expect(nested).to_have_attribute("id", f"comment-{reply}")
    expect(nested).to_have_attribute("data-depth", "1")
    expect(nested.locator(".debatebox-body")).to_have_text("Agreed: the order matters.")
    expect(reader.locator(f"#comment-{other} .debatebox-replies")).to_have_count(0)
    # Back on the plain article, the form is for a new comment again.
    expect(reader.get_by_role("heading", name="Leave a comment")).to_be_visible()
    expect(reader.get_by_role("heading", name=COUNT)).to_have_text("3 comments")
    assert {c["id"]: c["parent"] for c in stored(site, key)}[reply] == parent


def test_empty_comment_is_caught_and_nothing_typed_is_lost(reader: Page, site: Site) -> None:
    key = new_key()
    url = site.url(key)
    posts: list[str] = []
    reader.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    reader.goto(url)
    reader.get_by_label("Website").fill("https://ann.example.org/")
    write(reader, "", name="Ann", email="ann@example.org")
    # The browser itself stops an empty comment (a required field), before any request.
    reader.get_by_role("button", name="Post comment").click()
    assert reader.get_by_label("Comment", exact=True).evaluate("e => e.validity.valueMissing")
    expect(reader.get_by_label("Name", exact=True)).to_have_value("Ann")

    # Blank lines get past the browser; the server says what is wrong, keeping the rest.
    reader.get_by_label("Comment", exact=True).fill("  \n\n  ")
    reader.get_by_role("button", name="Post comment").click()
    expect(reader.get_by_role("heading", name="Your comment was not posted")).to_be_visible()
    assert posts == [f"{site.origin}/debatebox/form/comments"]  # the blank one only
    expect(reader.get_by_role("alert")).to_have_text("Comment is required.")
    body = reader.get_by_label("Comment", exact=True)
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_accessible_description("Comment is required.")
    expect(reader.get_by_label("Name", exact=True)).to_have_value("Ann")
    expect(reader.get_by_label("Email", exact=True)).to_have_value("ann@example.org")
    expect(reader.get_by_label("Website")).to_have_value("https://ann.example.org/")
    expect(reader.get_by_role("link", name="back to the page")).to_have_attribute("href", key)

    # Corrected on that page, the comment goes through and the reader is back.
    body.fill("Now with words.")
    reader.get_by_role("button", name="Post comment").click()
    mine = landed_on_new_comment(reader, url)
    expect(reader.locator(f"#comment-{mine} .debatebox-body")).to_have_text("Now with words.")
    expect(reader.locator(f"#comment-{mine} a.debatebox-author")).to_have_attribute(
        "href", "https://ann.example.org/"
    )


def test_refused_email_keeps_the_comment(reader: Page, site: Site) -> None:
    key = new_key()
    reader.goto(site.url(key))
    text = "A long and carefully considered reply\n\nwith two paragraphs."
    # The browser's own check lets this through; the server's does not.
    write(reader, text, email="ann@localhost")
    reader.get_by_role("button", name="Post comment").click()
    expect(reader.get_by_role("heading", name="Your comment was not posted")).to_be_visible()
    problem = "Email does not look like an email address."
    expect(reader.get_by_role("alert")).to_have_text(problem)
    email = reader.get_by_label("Email", exact=True)
    expect(email).to_have_accessible_description(problem)
    expect(email).to_have_value("ann@localhost")
    expect(reader.get_by_label("Comment", exact=True)).to_have_value(text)
    assert stored(site, key) == []


def test_held_comment_says_awaiting_moderation(
    reader: Page, make_site: Callable[..., Site]
) -> None:
    holding = make_site(DEBATEBOX_MODERATION="all")
    key = new_key()
    url = holding.url(key)
    reader.goto(url)
    write(reader, "Please approve me")
    reader.get_by_role("button", name="Post comment").click()
    expect(reader).to_have_url(f"{url}?debatebox_held=1#debatebox-form")
    expect(reader.get_by_role("status")).to_have_text(
        "Thank you! Your comment is awaiting moderation."
    )
    # Held: not listed, not counted, and the form is ready for another comment.
    expect(reader.get_by_role("heading", name=COUNT)).to_have_text("0 comments")
    expect(reader.locator(".debatebox-comment")).to_have_count(0)
    expect(reader.get_by_label("Comment", exact=True)).to_have_value("")
    # The notice is for the one redirect; the article itself does not repeat it.
    reader.goto(url)
    expect(reader.get_by_text("awaiting moderation")).to_have_count(0)


def test_post_without_csrf_token_is_refused_and_text_kept(reader: Page, site: Site) -> None:
    key = new_key()
    url = site.url(key)
    reader.goto(url)
    write(reader, "Typed while the session ran out")
    # The form's CSRF token is gone, and so is the session it belonged to.
    reader.locator("#debatebox-form input[name=csrf_token]").evaluate("e => e.remove()")
    reader.context.clear_cookies()
    reader.get_by_role("button", name="Post comment").click()
    expect(reader.get_by_role("heading", name="Your comment was not posted")).to_be_visible()
    expect(reader.get_by_role("alert")).to_have_text(
        "This form has expired. Please post your comment again."
    )
    expect(reader.get_by_label("Comment", exact=True)).to_have_value(
        "Typed while the session ran out"
    )
    expect(reader.get_by_label("Name", exact=True)).to_have_value("Ann")
    assert stored(site, key) == []
    # The error page carries a fresh token: posting again from it works.
    reader.get_by_role("button", name="Post comment").click()
    mine = landed_on_new_comment(reader, url)
    expect(reader.locator(f"#comment-{mine} .debatebox-body")).to_have_text(
        "Typed while the session ran out"
    )
    assert len(stored(site, key)) == 1


def test_comment_posted_beyond_the_first_page_is_shown(
    reader: Page, make_site: Callable[..., Site]
) -> None:
    small = make_site(DEBATEBOX_PAGE_SIZE=2)
    key = new_key()
    for n in (1, 2):
        seed(small, key, f"Point {n}")
    url = small.url(key)
    reader.goto(url)
    write(reader, "The third point, mine.")
    reader.get_by_role("button", name="Post comment").click()
    mine = landed_on_new_comment(reader, url)
    expect(reader.get_by_role("heading", name=COUNT)).to_have_text("3 comments")
    # The reader was sent to their comment: it must be there to see.
    expect(reader.locator(f"#comment-{mine}")).to_contain_text(
        "The third point, mine.", timeout=1000
    )


# With JavaScript ----------------------------------------------------------------------


def each_comment_once(page: Page, ids: list[int], *, server_rendered: list[int]) -> None:
    """Every comment is shown once: one ``#comment-ID`` in the widget's shadow root, one
    visible on the page. The server's copy stays in the section's light DOM, unshown."""
    section = page.locator("section.debatebox")
    counts = section.evaluate(
        """(e, ids) => ids.map(id => [
            e.shadowRoot.querySelectorAll('#comment-' + id).length,
            e.querySelectorAll('#comment-' + id).length,
        ])""",
        ids,
    )
    assert counts == [[1, 1 if i in server_rendered else 0] for i in ids], counts
    for comment_id in ids:
        expect(page.locator(f"#comment-{comment_id}").filter(visible=True)).to_have_count(1)
    expect(section.locator("ol.debatebox-comments")).to_be_hidden()


def test_widget_takes_over_the_rendered_thread_without_duplicates(
    page: Page, site: Site, watch: Watch
) -> None:
    key = new_key()
    first = seed(site, key, "Footfall is what sells.")
    answer = seed(site, key, "Not without buses.", name="Jonas", parent=first)
    url = site.url(key)
    page.goto(url)
    heading = page.get_by_role("heading", name=COUNT)
    expect(heading).to_have_count(1)
    expect(heading).to_have_text("2 comments")
    expect(page.locator(".db-list")).to_be_visible()
    each_comment_once(page, [first, answer], server_rendered=[first, answer])
    expect(page.get_by_text("Footfall is what sells.").filter(visible=True)).to_have_count(1)
    # One form, the widget's: the plain one is replaced, not hidden beside it.
    expect(page.locator("form.debatebox-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Post comment")).to_have_count(1)
    expect(page.get_by_role("link", name="Reply")).to_have_count(0)

    write(page, "Posted through the widget.")
    page.get_by_role("button", name="Post comment").click()
    posted = page.locator("article.db-a", has=page.locator(".db-b", has_text="through the widget"))
    expect(posted).to_be_visible()
    expect(heading).to_have_text("3 comments")
    mine = next(c["id"] for c in stored(site, key) if c["author"] == "Ann")
    each_comment_once(page, [first, answer, mine], server_rendered=[first, answer])

    page.reload()
    expect(heading).to_have_text("3 comments")
    expect(page.locator(".db-list")).to_be_visible()
    each_comment_once(page, [first, answer, mine], server_rendered=[first, answer, mine])
    expect(page.get_by_text("Posted through the widget.").filter(visible=True)).to_have_count(1)
    assert watch.errors == []


def test_reply_link_opened_with_javascript_stays_a_reply(
    page: Page, site: Site, watch: Watch
) -> None:
    key = new_key()
    parent = seed(site, key, "Buses first, then the ban.")
    url = site.url(key)
    # A reply link followed (or shared) before the script ran: the widget keeps it a reply.
    page.goto(f"{url}?debatebox_reply={parent}#debatebox-form")
    expect(page.get_by_text("Replying to Marta")).to_be_visible()
    write(page, "Answered in the widget.", name="Jonas", email="jonas@example.org")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".db-b", has_text="Answered in the widget.")).to_be_visible()
    reply = next(c for c in stored(site, key) if c["author"] == "Jonas")
    assert reply["parent"] == parent
    page.goto(url)
    expect(page.locator(".db-list")).to_be_visible()
    each_comment_once(page, [parent, reply["id"]], server_rendered=[parent, reply["id"]])
    nested = page.locator(f"#comment-{parent} > ol > #comment-{reply['id']}").filter(visible=True)
    expect(nested).to_have_attribute("data-d", "1")
    assert watch.errors == []


def test_rendered_thread_stays_usable_when_the_api_cannot_be_reached(
    page: Page, site: Site
) -> None:
    key = new_key()
    first = seed(site, key, "Still readable.")
    page.route("**/debatebox/api/**", lambda route: route.abort())
    url = site.url(key)
    with page.expect_event("requestfailed", lambda r: "/api/comments" in r.url):
        page.goto(url)
    heading = page.get_by_role("heading", name=COUNT)
    expect(heading).to_have_text("1 comment")
    expect(page.locator(f"#comment-{first} .debatebox-body")).to_have_text("Still readable.")
    expect(page.get_by_role("link", name="Reply")).to_be_visible()
    assert page.locator("section.debatebox").evaluate("e => e.shadowRoot") is None
    # The plain form posts as it does without JavaScript, and the reader comes back to it.
    write(page, "Posted the old way.")
    page.get_by_role("button", name="Post comment").click()
    mine = landed_on_new_comment(page, url)
    expect(page.locator(f"#comment-{mine} .debatebox-body")).to_have_text("Posted the old way.")
    expect(heading).to_have_text("2 comments")


def test_rendered_thread_and_error_page_pass_the_accessibility_check(
    page: Page, site: Site
) -> None:
    """axe-core on what a reader without the widget sees: a reply form open on the
    thread, then the page a refused comment lands on."""
    assert AXE.is_file(), "axe-core is missing: run `npm ci --prefix tests/browser`"
    key = new_key()
    first = seed(site, key, "Footfall is what sells.")
    seed(site, key, "Not without buses.", name="Jonas", parent=first)
    page.route("**/embed.js*", lambda route: route.abort())  # the markup as sent
    page.goto(f"{site.url(key)}?debatebox_reply={first}#debatebox-form")
    expect(page.locator("#debatebox-form h3")).to_have_text("Reply to Marta, #1")
    assert_accessible(page, "the thread with a reply form")
    write(page, "Fine by me.", email="ann@localhost")  # the server refuses the address
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the error page")


def assert_accessible(page: Page, what: str) -> None:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
             const r = await axe.run(document);
             return { checked: r.passes.length,
                      violations: r.violations.map((v) => ({ id: v.id, impact: v.impact,
                        help: v.help, url: v.helpUrl, nodes: v.nodes.map((n) => ({
                          target: n.target, html: n.html, summary: n.failureSummary })) })) };
           }"""
    )
    assert result["checked"] > 10, f"axe-core checked almost nothing on {what}"
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"serious or critical violations on {what}:\n" + describe(bad)
