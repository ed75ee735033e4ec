"""Hostile comments are inert in the widget, in a real browser.

Payloads go in as names, bodies (Markdown), websites, page titles and thread keys: a
few typed into the widget's own form, the rest posted straight to the JSON API from the
host page's origin. Then the thread is shown by the widget and the page is searched:

* no dialog opened and the canary ``window.__pwned``, which every payload tries to set,
  stays undefined;
* the shadow root holds no ``script``, ``iframe``, ``object``, ``embed``, ``svg`` (…)
  element, and no element anywhere has an ``on*`` attribute;
* every link is http, https, mailto or a ``#fragment``, every ``src`` http(s);
* names are shown as the text that was typed, tags and all.
"""

from __future__ import annotations

import html
import json
import unicodedata
import urllib.error
import urllib.request
import uuid
from typing import Any, TypeAlias

import pytest
from playwright.sync_api import Locator, Page, expect

# The fixtures' classes (tests/browser/conftest.py); conftest modules are not importable.
CommentServer: TypeAlias = Any
HostSite: TypeAlias = Any
Watch: TypeAlias = Any

CANARY = "window.__pwned=1"
THREAD = "[data-debatebox-thread]"
WEBSITE_ERROR = "Website must be an http(s) address."

#: Author names (at most 80 characters). Each is stored as typed and must show as text.
NAMES = [
    f"<img src=x onerror={CANARY}>",
    f"<script>{CANARY}</script>",
    f"</script><script>{CANARY}</script>",
    f'"><svg onload={CANARY}>',
    f"'><iframe src=javascript:{CANARY}>",
    f'<a href="javascript:{CANARY}">Marta</a>',
    f"javascript:{CANARY}",
    f"{{{{constructor.constructor('{CANARY}')()}}}}",
    f"${{{CANARY}}}",
    "$& $' $` {name} {label} {n} $1",
    "\u202eexe.tpircs\u202c Marta",
    f"Ad\u200bmin<img src=x onerror={CANARY}>",
    "\uff1cscript\uff1ewindow.__pwned=1\uff1c/script\uff1e",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    f"<details open ontoggle={CANARY}>",
    f"<input autofocus onfocus={CANARY}>",
    "<style>*{display:none!important}</style>Hidden",
    f"\u2066<b onmouseover={CANARY}>bidi</b>\u2069",
]

#: Comment bodies (Markdown). ``True``: raw HTML on one line, shown literally as text.
BODIES: list[tuple[str, bool]] = [
    (f"<script>{CANARY}</script>", True),
    (f"<SCRIPT SRC=data:,{CANARY}></SCRIPT>", True),
    (f"<scr<script>ipt>{CANARY}</scr</script>ipt>", True),
    (f"</script><script>{CANARY}</script>", True),
    (f"<img src=x onerror={CANARY}>", True),
    (f'<img src="x" onerror="{CANARY}">', True),
    (f"<svg onload={CANARY}>", True),
    (f"<svg><animate onbegin={CANARY} attributeName=x dur=1s>", True),
    (f"<body onload={CANARY}>", True),
    (f"<details open ontoggle={CANARY}>x</details>", True),
    (f"<input autofocus onfocus={CANARY}>", True),
    (f"<video><source onerror={CANARY}></video>", True),
    ('<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>', True),
    (f"<iframe src=javascript:{CANARY}></iframe>", True),
    (f'<object data="javascript:{CANARY}"></object>', True),
    (f'<embed src="javascript:{CANARY}">', True),
    (f"<math><mtext><table><mglyph><style><img src=x onerror={CANARY}>", True),
    (f'<noscript><p title="</noscript><img src=x onerror={CANARY}>">', True),
    (f"<form><button formaction=javascript:{CANARY}>go</button></form>", True),
    (f'<meta http-equiv="refresh" content="0;url=javascript:{CANARY}">', True),
    ("<base href=javascript:/>", True),
    (f'<a href="javascript:{CANARY}">raw link</a>', True),
    (f"[markdown link](javascript:{CANARY})", False),
    (f"[mixed case](JaVaScRiPt:{CANARY})", False),
    (f"[entity](&#106;avascript:{CANARY})", False),
    (f"[hex entity](&#x6A;avascript:{CANARY})", False),
    (f"[tab inside](java\tscript:{CANARY})", False),
    (f"[fullwidth](\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54:{CANARY})", False),
    (f"[zero width](java\u200bscript:{CANARY})", False),
    ("[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", False),
    ("[vbscript](vbscript:msgbox(1))", False),
    (f"![image](javascript:{CANARY})", False),
    (f"[reference][1]\n\n[1]: javascript:{CANARY}", False),
    (f"<javascript:{CANARY}>", False),
    (f'[title](https://example.org "\\" onmouseover=\\"{CANARY}")', False),
    (f'https://example.org/"onmouseover="{CANARY}', False),
    (f"www.example.org/<script>{CANARY}</script>", False),
    (f"`<script>{CANARY}</script>` in code", False),
    (f"```html\n</script><script>{CANARY}</script>\n```", False),
    (f"> <img src=x onerror={CANARY}>\n\n- <svg onload={CANARY}>", False),
    (f"*<img src=x onerror={CANARY}>* and **<b onclick={CANARY}>x</b>**", False),
    (f"\u202e[click](javascript:{CANARY})\u202c right-to-left override", False),
    (f"{{{{constructor.constructor('{CANARY}')()}}}} and ${{{CANARY}}}", False),
    (f'<div style="background:url(javascript:{CANARY})">styled</div>', True),
    (f"<style>@import 'javascript:{CANARY}';</style>", True),
    (f"<template><img src=x onerror={CANARY}></template>", True),
    (f"<x onpointerenter={CANARY}>hover me</x>", True),
]

#: Websites the API must refuse with 422 (the comment is not stored).
REFUSED_WEBSITES = [
    "javascript:alert(1)",
    f"JavaScript:{CANARY}",
    f"  javascript:{CANARY}",
    f"javascript://example.org/%0A{CANARY}",
    f"data:text/html,<script>{CANARY}</script>",
    "vbscript:msgbox(1)",
    f'https://example.org/"><img src=x onerror={CANARY}>',
    "jav&#x09;ascript:alert(1)",
    f"//evil.example/{CANARY}",
]

#: Hostile but valid http(s) addresses: stored normalised, linked only as http(s).
ODD_WEBSITES = [
    f"https://example.org/?q=<script>{CANARY}</script>",
    f"HTTPS://EXAMPLE.ORG/'onmouseover='{CANARY}'",
]

TITLES = [f'"><script>{CANARY}</script>', f"</title><script>{CANARY}</script>"]


def test_there_are_enough_payloads() -> None:
    count = len(NAMES) + len(BODIES) + len(REFUSED_WEBSITES) + len(ODD_WEBSITES) + len(TITLES)
    assert count >= 50, count


def new_key(prefix: str = "/xss") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def shown(text: str) -> str:
    """A name as the API stores it: NFC, surrounding blanks removed."""
    return unicodedata.normalize("NFC", text).strip()


# Posting straight to the API, from the host page's origin ------------------------------


class Api:
    """Posts to the comment server over HTTP as a browser on the host page would."""

    def __init__(self, server: CommentServer, origin: str) -> None:
        self.base = f"{server.prefix}/api"
        self.origin = origin
        with urllib.request.urlopen(f"{self.base}/config", timeout=10) as answer:
            self.token = json.load(answer)["form_token"]

    def post(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        data = {"email": "mallory@example.org", "form_token": self.token, **fields}
        request = urllib.request.Request(
            f"{self.base}/comments",
            data=json.dumps(data).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Origin": self.origin},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)


# Checking the page ------------------------------------------------------------------------

INERT = """(selector) => {
  const problems = [];
  const FORBIDDEN = "script,iframe,frame,frameset,object,embed,svg,math,base,meta,link," +
    "applet,noscript,template,portal,audio,video,form form";
  const URL_ATTRIBUTES = ["href", "src", "action", "formaction", "xlink:href", "data",
    "poster", "background", "cite", "srcset", "ping"];
  const describe = (el) => el.outerHTML.slice(0, 200);
  const schemeOf = (value) => {
    try { return new URL(value).protocol; } catch (e) { return null; }
  };
  const hosts = Array.from(document.querySelectorAll(selector));
  const roots = hosts.map((h) => h.shadowRoot).filter(Boolean);
  if (!hosts.length || roots.length != hosts.length) problems.push("a widget has no shadow root");
  for (const root of roots) {
    for (const el of root.querySelectorAll(FORBIDDEN)) problems.push("element: " + describe(el));
    if (root.querySelectorAll("style").length > 1) problems.push("a second <style> element");
    for (const a of root.querySelectorAll("a[href]")) {
      const href = a.getAttribute("href");
      if (!href.startsWith("#") && !["http:", "https:", "mailto:"].includes(schemeOf(href)))
        problems.push("link: " + describe(a));
    }
    for (const el of root.querySelectorAll("[src]")) {
      if (!["http:", "https:"].includes(schemeOf(el.getAttribute("src"))))
        problems.push("src: " + describe(el));
    }
  }
  for (const scope of [document, ...roots]) {
    for (const el of scope.querySelectorAll("*")) {
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        if (name.startsWith("on")) problems.push("handler attribute: " + describe(el));
        if (name == "srcdoc") problems.push("srcdoc: " + describe(el));
        const value = attr.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
        if (URL_ATTRIBUTES.includes(name) && /^(javascript|vbscript|data):/.test(value))
          problems.push("script URL: " + describe(el));
      }
    }
  }
  const scripts = Array.from(document.querySelectorAll("script"));
  if (scripts.length != 1 || !/\\/debatebox\\/embed\\.js$/.test(scripts[0].src))
    problems.push("scripts on the host page: " + scripts.map(describe).join(" | "));
  for (const el of document.querySelectorAll("iframe,object,embed,svg,frame"))
    problems.push("host page element: " + describe(el));
  return {
    problems,
    pwned: [typeof window.__pwned, typeof parent.__pwned, typeof top.__pwned],
    names: roots.flatMap((r) => Array.from(r.querySelectorAll(".db-n"), (n) => n.textContent)),
    bodies: roots.flatMap((r) => Array.from(r.querySelectorAll(".db-b"), (b) => b.textContent)),
  };
}"""


def assert_inert(page: Page, watch: Watch, *, names: list[str], literal: list[str]) -> None:
    page.wait_for_timeout(800)  # let load/error/toggle/focus handlers fire, if any got in
    found = page.evaluate(INERT, THREAD)
    assert not watch.dialogs, f"a payload opened a dialog: {watch.dialogs}"
    assert found["pwned"] == ["undefined"] * 3, "a payload ran: window.__pwned is set"
    assert not found["problems"], "\n".join(found["problems"])
    missing = [name for name in names if shown(name) not in found["names"]]
    assert not missing, f"names not shown as text: {missing}\nshown: {found['names']}"
    bodies = "\n".join(found["bodies"])
    unseen = [text for text in literal if text not in bodies]
    assert not unseen, f"raw HTML not shown as text: {unseen}"
    errors = [e for e in watch.errors if not e.startswith("Failed to load resource")]
    assert not errors, errors


def thread_page(host: HostSite, server: CommentServer, key: str, title: str = "Article") -> str:
    return str(
        host.page(
            f'<main><h1>Article</h1><div data-debatebox-thread="{html.escape(key)}" '
            f'data-debatebox-title="{html.escape(title)}" data-debatebox-page-size="200"></div>'
            f'<p>Comments: <span id="count" data-debatebox-count="{html.escape(key)}"></span></p>'
            "</main>",
            comments=server,
        )
    )


def by_name(page: Page, name: str) -> Locator:
    """The <article> of the comment whose author is ``name``."""
    return page.locator("article").filter(has=page.get_by_text(shown(name), exact=True))


# Through the API ----------------------------------------------------------------------------


def test_payloads_posted_to_the_api_are_inert(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    api = Api(comments, host.origin)
    key = new_key()
    stored = 0

    # Names: a chain of replies, deeper than the display cap, so "in reply to NAME" shows too.
    parent = None
    for i, name in enumerate(NAMES):
        fields: dict[str, Any] = {"thread": key, "name": name, "body": f"Name payload {i}."}
        if i == 0:
            fields["title"] = TITLES[0]
        if parent is not None:
            fields["parent"] = parent
        status, answer = api.post(**fields)
        assert status == 201, (name, answer)
        assert answer["comment"]["author"] == shown(name)
        parent = answer["comment"]["id"]
        stored += 1

    for body, _ in BODIES:
        status, answer = api.post(thread=key, name="Mallory", body=body)
        assert status == 201, (body, answer)
        stored += 1

    for website in REFUSED_WEBSITES:
        status, answer = api.post(thread=key, name="Mallory", body="Visit me.", website=website)
        assert status == 422, (website, status, answer)
        assert answer["error"] == "invalid"
        assert answer["fields"].get("website") == WEBSITE_ERROR, answer

    for website in ODD_WEBSITES:
        status, answer = api.post(thread=key, name="Odd site", body="Visit me.", website=website)
        if status == 201:
            assert answer["comment"]["website"].startswith("https://"), answer
            stored += 1
        else:
            assert status == 422, (website, answer)

    page.goto(thread_page(host, comments, key))
    expect(page.get_by_role("heading", name=f"{stored} comments")).to_be_visible()
    expect(page.locator("#count")).to_have_text(f"{stored} comments")
    expect(page.get_by_text(f"in reply to {shown(NAMES[-2])}")).to_be_attached()
    literal = [body for body, is_literal in BODIES if is_literal]
    assert_inert(page, watch, names=NAMES, literal=literal)

    # Answering a hostile name puts it in "Replying to …" as text, too.
    by_name(page, NAMES[0]).get_by_role("button", name="Reply").first.click()
    expect(page.get_by_text(f"Replying to {shown(NAMES[0])}", exact=True)).to_be_visible()
    assert_inert(page, watch, names=NAMES, literal=literal)


def test_hostile_thread_key_and_title(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    api = Api(comments, host.origin)
    key = f'/xss/{uuid.uuid4().hex[:6]}/"><img src=x onerror={CANARY}>'
    status, answer = api.post(thread=key, title=TITLES[1], name=NAMES[1], body=BODIES[0][0])
    assert status == 201, answer
    page.goto(thread_page(host, comments, key, title=TITLES[1]))
    expect(page.get_by_role("heading", name="1 comment")).to_be_visible()
    expect(page.locator("#count")).to_have_text("1 comment")
    assert_inert(page, watch, names=[NAMES[1]], literal=[BODIES[0][0]])


# Through the widget's form ----------------------------------------------------------------


def fill(page: Page, *, name: str, body: str, website: str = "") -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill("mallory@example.org")
    page.get_by_label("Website").fill(website)
    page.get_by_label("Comment", exact=True).fill(body)


def send(page: Page, name: str, count: int) -> None:
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("heading", name=f"{count} comment")).to_be_visible()
    expect(by_name(page, name)).to_have_count(1)


def test_payloads_typed_into_the_widget_are_inert(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    page.goto(thread_page(host, comments, key, title=TITLES[0]))
    expect(page.get_by_text("No comments yet.")).to_be_visible()
    names = [NAMES[0], NAMES[2], NAMES[3], NAMES[9]]
    literal = [BODIES[0][0], BODIES[12][0]]

    # A javascript: website is refused: the error shows, nothing is stored, nothing runs.
    fill(page, name=names[0], body=BODIES[0][0], website="javascript:alert(1)")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Please correct the marked fields.")).to_be_visible()
    expect(page.get_by_text(WEBSITE_ERROR)).to_be_visible()
    expect(page.get_by_label("Website")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("No comments yet.")).to_be_visible()
    assert not watch.dialogs

    page.get_by_label("Website").fill("")
    send(page, names[0], 1)

    fill(page, name=names[1], body=f"[click me](javascript:alert(1)) and {BODIES[6][0]}")
    send(page, names[1], 2)

    # A reply to a hostile name, with a body previewed first.
    by_name(page, names[0]).get_by_role("button", name="Reply").click()
    expect(page.get_by_text(f"Replying to {shown(names[0])}", exact=True)).to_be_visible()
    fill(page, name=names[2], body=BODIES[12][0])
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".db-pv")).to_have_text(BODIES[12][0])
    send(page, names[2], 3)

    fill(page, name=names[3], body=BODIES[9][0])
    send(page, names[3], 4)
    assert_inert(page, watch, names=names, literal=literal)

    # The author edits a comment into another payload.
    own = by_name(page, names[1])
    own.get_by_role("button", name="Edit").click()
    page.get_by_label("Edit your text").fill(BODIES[4][0])
    page.get_by_role("button", name="Save").click()
    expect(by_name(page, names[1]).locator(".db-b")).to_have_text(BODIES[4][0])
    literal.append(BODIES[4][0])
    assert_inert(page, watch, names=names, literal=literal)

    # Shown again from the server, as every other reader sees it.
    page.reload()
    expect(page.get_by_role("heading", name="4 comments")).to_be_visible()
    assert_inert(page, watch, names=names, literal=literal)


@pytest.mark.parametrize("website", REFUSED_WEBSITES[:3])
def test_widget_shows_the_refused_website(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch, website: str
) -> None:
    key = new_key()
    page.goto(thread_page(host, comments, key))
    fill(page, name="Mallory", body="My site.", website=website)
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text(WEBSITE_ERROR)).to_be_visible()
    expect(page.get_by_text("No comments yet.")).to_be_visible()
    assert_inert(page, watch, names=[], literal=[])


PLANTS = [
    ('<img src=x onerror="window.__pwned=1">', "a payload ran"),
    ('<a href="javascript:void(0)">x</a>', "link: "),
    ("<svg></svg>", "element: <svg"),
    ('<span onclick="void 0">x</span>', "handler attribute"),
    ('<a href="https://example.org/" data="data:text/html,x">x</a>', "script URL"),
]


@pytest.mark.parametrize(("markup", "caught"), PLANTS, ids=[p[1] for p in PLANTS])
def test_the_checks_catch_a_planted_payload(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch, markup: str, caught: str
) -> None:
    """The checks above are not vacuous: markup planted behind the widget's back is found."""
    key = new_key()
    Api(comments, host.origin).post(thread=key, name="Plain", body="Plain text.")
    page.goto(thread_page(host, comments, key))
    expect(page.get_by_text("Plain text.")).to_be_visible()
    page.evaluate(
        "([sel, markup]) => { document.querySelector(sel).shadowRoot"
        ".querySelector('.db-b').innerHTML = markup; }",
        [THREAD, markup],
    )
    with pytest.raises(AssertionError, match=caught):
        assert_inert(page, watch, names=["Plain"], literal=[])
