"""Qualities of the widget a reader notices without reading its code.

Accessibility (axe-core, light and dark), download size, resistance to hostile host
CSS, dark mode, narrow screens, translations and plural forms, and the screenshots of
docs/embedding.md (written to ``docs/screenshots/``).

axe-core comes from the npm registry: ``npm ci --prefix tests/browser`` installs the
version pinned in ``tests/browser/package.json`` into ``tests/browser/node_modules``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from debatebox import decisions
from debatebox.config import MAX_DISPLAY_DEPTH
from debatebox.models import Comment

# The fixtures' classes (tests/browser/conftest.py); conftest modules are not importable.
CommentServer: TypeAlias = Any
HostSite: TypeAlias = Any
Watch: TypeAlias = Any

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = HERE.parents[1] / "docs" / "screenshots"
CATALOGS = HERE.parents[1] / "src" / "debatebox" / "static" / "i18n"
THREAD = "[data-debatebox-thread]"
COUNT_HEADING = re.compile(r"^\d+ comments?$")
#: embed.js, gzipped at level 9, may not be larger than this.
MAX_GZIPPED_BYTES = 12 * 1024
#: A plain article page, light or dark with the reader's system setting.
ARTICLE_CSS = (
    "<style>body{margin:0;padding:24px 16px;font:17px/1.6 Georgia,serif;color:#222;"
    "background:#fafaf7}main{max-width:720px;margin:0 auto}"
    "@media (prefers-color-scheme:dark){body{background:#0e0f12;color:#ddd}}</style>"
)
HOSTILE_CSS = (
    "<style>* { display:block !important; color: red !important; font-size: 40px !important }"
    " button { all: unset } input,textarea { display:none !important }</style>"
)


def script_errors(watch: Watch) -> list[str]:
    """Errors of the page's scripts; HTTP errors the test asked for are not counted."""
    return [e for e in watch.errors if not e.startswith("Failed to load resource")]


def new_key(prefix: str = "/quality") -> str:
    """A thread key no other test uses."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


# Seeding ------------------------------------------------------------------------------


def approve(server: CommentServer, comment_id: int) -> None:
    """Publish a held comment, as a moderator approving it would."""
    state = server.app.extensions["debatebox"]
    with state.new_session() as session:
        decisions.approve(state, session, comment_id)


def backdate(server: CommentServer, comment_id: int, minutes: float) -> None:
    """Make a comment ``minutes`` old, so relative times read like a real thread."""
    state = server.app.extensions["debatebox"]
    when = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=minutes)
    with state.new_session() as session, session.begin():
        session.execute(sa.update(Comment).where(Comment.id == comment_id).values(created_at=when))


def seed(
    server: CommentServer,
    key: str,
    body: str,
    *,
    name: str = "Marta",
    email: str | None = None,
    website: str | None = None,
    parent: int | None = None,
    minutes: float | None = None,
    title: str = "Should cities ban cars?",
) -> int:
    """Post a published comment through the API as a server-side client; return its id."""
    client = server.app.test_client()
    token = client.get("/debatebox/api/config").get_json()["form_token"]
    data: dict[str, Any] = {
        "thread": key,
        "title": title,
        "name": name,
        "email": email or f"{name.lower().replace(' ', '.')}@example.org",
        "body": body,
        "form_token": token,
    }
    if parent is not None:
        data["parent"] = parent
    if website is not None:
        data["website"] = website
    answer = client.post("/debatebox/api/comments", json=data)
    assert answer.status_code in (201, 202), answer.get_json()
    comment_id = int(answer.get_json()["comment"]["id"])
    if answer.status_code == 202:
        approve(server, comment_id)
    if minutes is not None:
        backdate(server, comment_id, minutes)
    return comment_id


def seed_realistic(server: CommentServer, key: str) -> None:
    """A short debate: Markdown, a nested exchange and a reply deeper than the display cap."""
    marta = seed(
        server,
        key,
        "Shops on our high street did *better* after the ban, not worse. The footfall "
        "figures are in the [council report](https://example.org/report).\n\n"
        "People walk past more windows than they drive past.",
        name="Marta Kowalska",
        minutes=60 * 26,
    )
    jonas = seed(
        server,
        key,
        "Only because the buses came **first**:\n\n"
        "> Every line ran every ten minutes before a single road was closed.\n\n"
        "Without that the town centre would have emptied.",
        name="Jonas",
        parent=marta,
        minutes=60 * 20,
    )
    again = seed(
        server,
        key,
        "Fair point, but the buses were paid for by the parking fees the ban freed up.",
        name="Marta Kowalska",
        parent=jonas,
        minutes=60 * 5,
    )
    priya = seed(
        server,
        key,
        "Same in Ghent: the bus lanes came with the plan, not before it.",
        name="Priya",
        parent=again,
        minutes=60 * 3,
    )
    seed(
        server,
        key,
        "Ghent also kept every street open to bikes and deliveries. That matters.",
        name="Tom",
        parent=priya,
        minutes=95,
    )
    seed(
        server,
        key,
        "Has anyone looked at delivery traffic? Vans were exempt, and `deliveries per day` "
        "went up in the pilot:\n\n- 2019: 310\n- 2023: 455",
        name="Priya",
        minutes=40,
    )


def host_page(
    host: HostSite,
    server: CommentServer,
    key: str,
    *,
    attrs: str = "",
    head: str = ARTICLE_CSS,
    lang: str = "en",
    extra: str = "",
) -> str:
    return str(
        host.page(
            "<main><h1>Should cities ban cars?</h1><p>Three cities tried it. Here is what "
            "happened to their shops, their air and their buses.</p>"
            f'<div data-debatebox-thread="{key}" data-debatebox-title="Should cities ban cars?" '
            f"{attrs}></div>{extra}</main>",
            comments=server,
            head=head,
            lang=lang,
        )
    )


def widget(page: Page) -> Locator:
    return page.locator(THREAD).first


def heading(page: Page, pattern: re.Pattern[str] = COUNT_HEADING) -> Locator:
    return page.get_by_role("heading", name=pattern)


def write_and_post(page: Page, body: str, *, name: str = "Sam") -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(f"{name.lower()}@example.org")
    page.get_by_label("Comment", exact=True).fill(body)
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("article", has_text=body[:24])).to_be_visible()


@pytest.fixture(scope="module")
def moderated(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    """A server holding a reader's first comment for moderation (the seeds are approved)."""
    return make_comment_server(DEBATEBOX_MODERATION="first-time")


def open_realistic(page: Page, host: HostSite, server: CommentServer, *, attrs: str = "") -> str:
    """The realistic thread with the reader's own held comment, posted through the widget."""
    key = new_key()
    seed_realistic(server, key)
    page.goto(host_page(host, server, key, attrs=attrs))
    expect(heading(page)).to_have_text("6 comments")
    write_and_post(
        page,
        "I run a bike shop on Mill Street. Our sales doubled in the first year, and "
        "**nobody** asks where to park any more.",
    )
    expect(page.get_by_text("awaiting moderation", exact=True)).to_be_visible()
    return key


# Accessibility ------------------------------------------------------------------------

AXE_RUN = """async (element) => {
  const result = await axe.run(element);
  const inShadow = (node) => Array.isArray(node.target[0]);
  const checked = [...result.passes, ...result.violations, ...result.incomplete]
    .flatMap((r) => r.nodes).filter(inShadow).length;
  const violations = result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
  }));
  return { violations, checked };
}"""


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['url']})")
        for node in v["nodes"]:
            lines.append(f"    at {json.dumps(node['target'])}")
            lines.append(f"       {node['html'][:200]}")
            for line in (node["summary"] or "").splitlines():
                lines.append(f"       {line}")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("theme", "scheme"),
    [("", "light"), ("dark", "light"), ("", "dark")],
    ids=["light", "dark-attribute", "dark-system"],
)
def test_no_serious_accessibility_violations(
    page: Page, host: HostSite, moderated: CommentServer, watch: Watch, theme: str, scheme: str
) -> None:
    assert AXE.is_file(), "axe-core is missing: run `npm ci --prefix tests/browser`"
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    attrs = f'data-debatebox-theme="{theme}"' if theme else ""
    open_realistic(page, host, moderated, attrs=attrs)
    # A reply form, opened and sent empty, so its errors show.
    jonas = page.locator("article", has_text="Only because the buses")
    jonas.get_by_role("button", name="Reply").click()
    expect(page.get_by_text("Replying to Jonas")).to_be_visible()
    page.get_by_label("Comment", exact=True).fill("")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Please correct the marked fields.")).to_be_visible()
    # The reader's own comment offers Edit and Delete.
    own = page.locator("article", has_text="I run a bike shop")
    expect(own.get_by_role("button", name="Edit")).to_be_visible()
    expect(own.get_by_role("button", name="Delete")).to_be_visible()
    # Another reader's comment, being reported.
    vans = page.locator("article", has_text="Has anyone looked at delivery traffic")
    vans.get_by_role("button", name="Report").click()
    expect(vans.get_by_role("group", name="Why are you reporting this comment?")).to_be_visible()

    page.add_script_tag(path=str(AXE))
    result = widget(page).evaluate(AXE_RUN)
    violations = result["violations"]
    print(
        f"\naxe-core ({theme or 'auto'} theme, {scheme} system): {result['checked']} checks "
        f"inside the shadow root, {len(violations)} violations"
    )
    assert result["checked"] > 50, "axe-core did not look inside the widget's shadow root"
    if violations:
        print(describe(violations))
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, "serious or critical accessibility violations:\n" + describe(bad)
    assert not script_errors(watch), watch.errors


# Size ---------------------------------------------------------------------------------


def test_embed_js_is_small_when_gzipped(comments: CommentServer) -> None:
    with urllib.request.urlopen(f"{comments.prefix}/embed.js", timeout=10) as answer:
        data = answer.read()
    packed = len(gzip.compress(data, compresslevel=9))
    print(
        f"\nembed.js: {len(data):,} bytes served, {packed:,} bytes gzipped (level 9), "
        f"limit {MAX_GZIPPED_BYTES:,}"
    )
    assert "__DEBATEBOX_CSS__" not in data.decode("utf-8"), "the stylesheet was not inlined"
    assert packed <= MAX_GZIPPED_BYTES


# Hostile host CSS ---------------------------------------------------------------------

TEXT_COLOURS = """(host) => {
  const found = [];
  const walk = (node) => {
    for (const el of node.querySelectorAll("*")) {
      if (el.closest("[hidden]") || el.tagName == "STYLE") continue;
      const own = Array.from(el.childNodes).some((n) => n.nodeType == 3 && n.textContent.trim());
      const what = el.tagName.toLowerCase() + "." + el.className;
      if (own) found.push([what, getComputedStyle(el).color]);
    }
  };
  walk(host.shadowRoot);
  return found;
}"""


def test_hostile_host_css_leaves_the_widget_usable(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    key = new_key()
    seed(comments, key, "A comment that was here before.", name="Jonas")
    page.goto(host_page(host, comments, key, head=HOSTILE_CSS))
    expect(heading(page)).to_have_text("1 comment")
    for label in ("Name", "Email", "Comment"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    submit = page.get_by_role("button", name="Post comment")
    expect(submit).to_be_visible()
    box = submit.bounding_box()
    assert box is not None
    assert box["width"] >= 40 and box["height"] >= 24, box
    write_and_post(page, "Posted through a page that styles everything red.")
    expect(heading(page)).to_have_text("2 comments")

    colours = widget(page).evaluate(TEXT_COLOURS)
    assert len(colours) > 10, colours
    red = [(what, colour) for what, colour in colours if colour == "rgb(255, 0, 0)"]
    assert not red, f"host CSS reached the widget's text: {red}"
    assert not script_errors(watch), watch.errors


# Dark mode ----------------------------------------------------------------------------

COLOURS = """(host) => {
  const sr = host.shadowRoot;
  const root = sr.querySelector("h2").closest("[data-theme]") || sr.querySelector("h2").parentNode;
  const text = sr.querySelector("article p");
  return {
    background: getComputedStyle(root).backgroundColor,
    text: getComputedStyle(text).color,
  };
}"""


def luminance(css: str) -> float:
    """Relative luminance (WCAG) of an ``rgb()``/``rgba()`` colour."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
    assert len(numbers) == 3, css
    channels = [c / 255 for c in numbers]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize(
    ("theme", "scheme", "dark"),
    [
        ("", "dark", True),
        ("", "light", False),
        ("dark", "light", True),
        ("light", "dark", False),
    ],
    ids=["system-dark", "system-light", "attribute-dark", "attribute-light-overrides-system"],
)
def test_theme_follows_system_and_attribute(
    page: Page, host: HostSite, comments: CommentServer, theme: str, scheme: str, dark: bool
) -> None:
    key = new_key()
    seed(comments, key, "Colours should follow the reader.", name="Jonas")
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    attrs = f'data-debatebox-theme="{theme}"' if theme else ""
    page.goto(host_page(host, comments, key, attrs=attrs))
    expect(heading(page)).to_have_text("1 comment")
    colours = widget(page).evaluate(COLOURS)
    background, text = luminance(colours["background"]), luminance(colours["text"])
    assert "rgba(0, 0, 0, 0)" not in colours["background"], "the widget has no background"
    if dark:
        assert background < 0.1 and text > 0.6, colours
    else:
        assert background > 0.8 and text < 0.2, colours


# Custom properties --------------------------------------------------------------------

#: A value for each documented colour property (docs/embedding.md#theming), none a default:
#: ``--debatebox-NAME`` for the light theme, ``--debatebox-dark-NAME`` for the dark one.
LIGHT_COLOURS = {
    "bg": "rgb(250, 246, 238)",
    "fg": "rgb(40, 20, 10)",
    "muted": "rgb(90, 70, 60)",
    "accent": "rgb(122, 31, 162)",
    "accent-fg": "rgb(255, 252, 210)",
    "border": "rgb(120, 110, 60)",
    "error": "rgb(150, 10, 60)",
    "surface": "rgb(236, 241, 226)",
    "highlight": "rgb(210, 240, 255)",
}
DARK_COLOURS = {
    "bg": "rgb(10, 20, 30)",
    "fg": "rgb(240, 230, 200)",
    "muted": "rgb(180, 170, 150)",
    "accent": "rgb(255, 180, 90)",
    "accent-fg": "rgb(30, 10, 0)",
    "border": "rgb(140, 150, 100)",
    "error": "rgb(255, 150, 200)",
    "surface": "rgb(40, 30, 50)",
    "highlight": "rgb(60, 20, 70)",
}
#: Where a reader sees each colour: (element in the shadow root, computed property).
COLOUR_PARTS: dict[str, list[tuple[str, str]]] = {
    "bg": [(".db", "backgroundColor"), ("input[type=url]", "backgroundColor")],
    "fg": [(".db-b p", "color"), (".db-n", "color"), ("h2", "color"), ("textarea", "color")],
    "muted": [(".db-l", "color"), (".db-t", "color"), (".db-hint", "color")],
    "accent": [
        (".db-b a", "color"),
        ("button[type=submit]", "backgroundColor"),
        ("button[aria-pressed=false]", "color"),
        ("button[aria-pressed=false]", "borderTopColor"),
    ],
    "accent-fg": [("button[type=submit]", "color"), ("button[aria-pressed=true]", "color")],
    "border": [("input[type=url]", "borderTopColor"), (".db-b blockquote", "borderLeftColor")],
    "error": [(".db-fe", "color"), (".db-msg", "color"), ("[aria-invalid=true]", "borderTopColor")],
    "surface": [(".db-f", "backgroundColor"), (".db-b pre", "backgroundColor")],
    "highlight": [(".db-hl > .db-a", "backgroundColor")],
}
COMPUTED = """(host, parts) => parts.map(([selector, property]) => {
  const el = host.shadowRoot.querySelector(selector);
  return el ? getComputedStyle(el)[property] : "missing: " + selector;
})"""
THEMED_BODY = (
    "Cities that tried it: see the [report](https://example.org/report).\n\n"
    "> Footfall went up.\n\n```\nshops = 42\n```"
)


def open_themed(
    page: Page, host: HostSite, server: CommentServer, style: str, attrs: str = ""
) -> None:
    """A thread with a link, a quote and code, the permalinked comment highlighted and the
    form showing its errors, on a host element styled with ``style``."""
    key = new_key()
    seed(server, key, "A comment before.", name="Jonas")
    target = seed(server, key, THEMED_BODY, name="Marta")
    url = host_page(host, server, key, attrs=f'style="{style}" {attrs}')
    page.goto(f"{url}#comment-{target}")
    expect(heading(page)).to_have_text("2 comments")
    expect(widget(page).locator(f"#comment-{target}")).to_have_class(re.compile(r"\bdb-hl\b"))
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Please correct the marked fields.")).to_be_visible()


def computed(page: Page, parts: list[tuple[str, str]]) -> list[str]:
    values: list[str] = widget(page).evaluate(COMPUTED, parts)
    return values


@pytest.mark.parametrize(
    ("theme", "scheme", "dark"),
    [("", "light", False), ("dark", "light", True), ("", "dark", True), ("light", "dark", False)],
    ids=["light", "dark-attribute", "dark-system", "light-attribute"],
)
def test_every_colour_property_reaches_the_widget(
    page: Page, host: HostSite, comments: CommentServer, theme: str, scheme: str, dark: bool
) -> None:
    style = "; ".join(
        [f"--debatebox-{name}: {value}" for name, value in LIGHT_COLOURS.items()]
        + [f"--debatebox-dark-{name}: {value}" for name, value in DARK_COLOURS.items()]
    )
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    attrs = f'data-debatebox-theme="{theme}"' if theme else ""
    open_themed(page, host, comments, style, attrs)
    expected = DARK_COLOURS if dark else LIGHT_COLOURS
    wrong = []
    for name, parts in COLOUR_PARTS.items():
        for (selector, property_), value in zip(parts, computed(page, parts), strict=True):
            if value != expected[name]:
                wrong.append(
                    f"--debatebox-{'dark-' if dark else ''}{name}: {selector} {property_} "
                    f"is {value}, not {expected[name]}"
                )
    assert not wrong, "colour properties without effect:\n" + "\n".join(wrong)


def test_every_documented_property_is_used_and_tested() -> None:
    """The theming table of docs/embedding.md, the stylesheet and the tests here name the
    same custom properties."""
    docs = (HERE.parents[1] / "docs" / "embedding.md").read_text("utf-8")
    table = docs[docs.index("## Theming") : docs.index("## Languages")]
    documented = set(re.findall(r"`--debatebox-([a-z-]+)`", table))
    css = (HERE.parents[1] / "src" / "debatebox" / "static" / "embed.css").read_text("utf-8")
    used = set(re.findall(r"var\(--debatebox-([a-z-]+)", css))
    tested = {*LIGHT_COLOURS, *(f"dark-{name}" for name in DARK_COLOURS), *LAYOUT}
    assert len(documented) == 22, sorted(documented)
    assert used == documented, {"undocumented": used - documented, "unused": documented - used}
    assert tested == documented, {"untested": documented - tested}


#: Where the font, its size, the corners and the spacing show.
TEXT_PARTS = [".db-b p", "h2", "label", "button[type=submit]", "textarea", "input[type=url]"]
ROUND_PARTS = ["button[type=submit]", "button[aria-pressed]", "textarea", "input", ".db-f", "pre"]
SPACED_PARTS = [
    (".db", "paddingTop"),
    (".db", "paddingLeft"),
    (".db-f", "paddingTop"),
    (".db-f", "marginBottom"),
    ("h2", "marginBottom"),
    (".db-bar", "marginBottom"),
]
#: The vertical space between the first two top-level comments, in pixels.
GAP = """(host) => {
  const [one, two] = host.shadowRoot.querySelectorAll(".db-list > li");
  return two.getBoundingClientRect().top - one.getBoundingClientRect().bottom;
}"""
#: The other documented properties and the values the next test gives them.
LAYOUT = {
    "font": "'Courier New', monospace",
    "font-size": "20px",
    "radius": "13px",
    "spacing": "28px",
}


def test_font_size_radius_and_spacing_properties_reach_the_widget(
    page: Page, host: HostSite, comments: CommentServer
) -> None:
    font = '"Courier New", monospace'  # LAYOUT["font"] as computed
    style = "; ".join(f"--debatebox-{name}: {value}" for name, value in LAYOUT.items())
    open_themed(page, host, comments, "")
    plain_sizes = computed(page, [(part, "fontSize") for part in TEXT_PARTS])
    plain_gap = widget(page).evaluate(GAP)
    open_themed(page, host, comments, style)

    families = computed(page, [(part, "fontFamily") for part in TEXT_PARTS])
    assert families == [font] * len(TEXT_PARTS), dict(zip(TEXT_PARTS, families, strict=True))
    # Everything is sized relative to the base: 20px instead of 16px is 25% larger.
    sizes = computed(page, [(part, "fontSize") for part in TEXT_PARTS])
    assert sizes[0] == "20px"
    for part, size, plain in zip(TEXT_PARTS, sizes, plain_sizes, strict=True):
        assert float(size[:-2]) == pytest.approx(float(plain[:-2]) * 1.25, abs=0.01), part
    radii = computed(page, [(part, "borderTopLeftRadius") for part in ROUND_PARTS])
    assert radii == ["13px"] * len(ROUND_PARTS), dict(zip(ROUND_PARTS, radii, strict=True))
    spacing = computed(page, SPACED_PARTS)
    assert spacing == ["28px"] * len(SPACED_PARTS), dict(zip(SPACED_PARTS, spacing, strict=True))
    # Between two comments: three quarters of the spacing.
    gap = widget(page).evaluate(GAP)
    assert gap == pytest.approx(21, abs=0.5), (plain_gap, gap)
    assert plain_gap == pytest.approx(12, abs=0.5)


# Narrow screens -----------------------------------------------------------------------


#: Every element of the widget that sticks out of the viewport, or out of the top-level
#: comment around it (``content-visibility: auto`` clips there, so that overflow never
#: widens the page: it is cut off), or whose content is wider than itself without a
#: scroll bar to reach it. Content inside a horizontal scroller (a code block) counts
#: only through the scroller itself; the honeypot is off screen on purpose.
OVERFLOW = """(host) => {
  const root = host.shadowRoot;
  const limit = document.documentElement.clientWidth;
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const name = (el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
    + (el.id ? "#" + el.id : "") + " " + JSON.stringify((el.textContent || "").slice(0, 40));
  const found = [];
  const scrollers = [];
  let checked = 0;
  for (const el of root.querySelectorAll("*")) {
    if (el.localName == "style" || el.closest(".db-hp")) continue;
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    checked++;
    let up = el.parentElement;
    while (up && !scrolls(up)) up = up.parentElement;
    if (up) continue;
    const top = el.closest(".db-list>li");
    const edge = top ? Math.min(limit, top.getBoundingClientRect().right) : limit;
    if (r.right > edge + 0.5 || r.left < -0.5)
      found.push(`${name(el)}: ${r.left.toFixed(1)} to ${r.right.toFixed(1)}, edge ${edge}`);
    if (scrolls(el)) scrollers.push([el.localName, el.scrollWidth > el.clientWidth]);
    else if (!["input", "textarea"].includes(el.localName) && el.scrollWidth > el.clientWidth + 1)
      found.push(`${name(el)}: content ${el.scrollWidth}px wide in ${el.clientWidth}px`);
  }
  return { found, scrollers, checked, limit };
}"""
#: The deepest nesting shown (``data-d`` of the comments).
DEEPEST = """(host) => Math.max(
  ...Array.from(host.shadowRoot.querySelectorAll("[data-d]"), (li) => +li.dataset.d)
)"""
LONG_WORD = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
LONG_URL = f"https://example.org/a/very/long/address/that/does/not/break/{'x' * 60}?q={'y' * 40}"
LONG_NAME = "Maximiliane-Wilhelmina-Konstantinopolitanische-Schreiberin"
WIDE_CODE = "code_that_is_long = call_with_many_arguments(alpha, beta, gamma, delta, epsilon, zeta)"


def narrow_body(depth: int) -> str:
    """A comment with everything that tends to push a narrow layout sideways."""
    return (
        f"Reply at depth {depth}: {LONG_URL} and {LONG_WORD}, **{LONG_WORD}**, "
        f"[{LONG_WORD}]({LONG_URL}) and `{LONG_WORD}{'_' * 30}`.\n\n"
        f"```\n{WIDE_CODE}\n```\n\n"
        f"    indented_{WIDE_CODE}\n\n"
        f"> {LONG_WORD}{LONG_WORD}\n\n"
        f"- {LONG_URL}\n- {LONG_WORD}\n\n"
        f"1. ~~{LONG_WORD}~~"
    )


@pytest.fixture(scope="module")
def deep(make_comment_server: Callable[..., CommentServer]) -> CommentServer:
    """A server that shows replies nested as deep as the configuration allows."""
    return make_comment_server(DEBATEBOX_MAX_DEPTH=MAX_DISPLAY_DEPTH)


def assert_fits(page: Page, what: str) -> None:
    result = widget(page).evaluate(OVERFLOW)
    assert result["limit"] == 320, result["limit"]
    assert result["checked"] > 100, result
    assert not result["found"], f"{what}: parts of the widget stick out at 320px:\n" + "\n".join(
        result["found"]
    )
    # The code blocks are wider than the screen: each can be scrolled on its own.
    code = [wide for tag, wide in result["scrollers"] if tag == "pre"]
    assert code and all(code), result["scrollers"]
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 320, f"{what}: the page scrolls sideways: {width}px wide at a 320px viewport"


@pytest.mark.parametrize(
    "max_depth", [3, MAX_DISPLAY_DEPTH], ids=["default-depth", "deepest-allowed"]
)
def test_no_horizontal_scrolling_at_320_pixels(
    page: Page,
    host: HostSite,
    comments: CommentServer,
    deep: CommentServer,
    watch: Watch,
    max_depth: int,
) -> None:
    server = comments if max_depth == 3 else deep
    key = new_key()
    parent = None
    for depth in range(max_depth + 3):
        parent = seed(
            server,
            key,
            narrow_body(depth),
            name=f"{LONG_NAME}-{depth}",
            website=f"https://example.org/{LONG_WORD}" if depth % 2 else None,
            parent=parent,
        )
    total = max_depth + 3
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(host_page(host, server, key))
    expect(heading(page)).to_have_text(f"{total} comments")
    last = page.locator("article", has_text=f"Reply at depth {total - 1}:")
    expect(last).to_be_visible()
    shown = widget(page).evaluate(DEEPEST)
    assert shown == max_depth, "the thread does not reach the deepest nesting shown"
    expect(last.get_by_text(f"in reply to {LONG_NAME}-{total - 2}")).to_be_visible()
    assert_fits(page, "the thread")

    # The comment before it being reported, and the form opened as a reply under the
    # deepest one, with a wide preview.
    before = page.locator("article", has_text=f"Reply at depth {total - 2}:")
    before.get_by_role("button", name="Report").click()
    reasons = before.get_by_role("group", name="Why are you reporting this comment?")
    expect(reasons).to_be_visible()
    last.get_by_role("button", name="Reply").click()
    expect(page.get_by_text(f"Replying to {LONG_NAME}-{total - 1}")).to_be_visible()
    page.get_by_label("Name").fill(LONG_NAME)
    page.get_by_label("Email").fill("maximiliane@example.org")
    page.get_by_label("Website").fill(LONG_URL)
    page.get_by_label("Comment", exact=True).fill(narrow_body(total))
    page.get_by_role("button", name="Preview").click()
    expect(widget(page).locator(".db-pv pre").first).to_be_visible()
    expect(reasons).to_be_visible()
    assert_fits(page, "a reply being written under the deepest comment")
    submit = page.get_by_role("button", name="Post comment")
    box = submit.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320, box
    assert not script_errors(watch), watch.errors


# Translations -------------------------------------------------------------------------


def catalog(language: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CATALOGS / f"{language}.json").read_text("utf-8"))
    return loaded


def test_german_page_shows_german_labels_and_plurals(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    de = catalog("de")
    one, two = new_key(), new_key()
    seed(comments, one, "Erster Kommentar.", name="Jonas")
    for n in range(2):
        seed(comments, two, f"Kommentar {n}.", name="Jonas")
    counts = (
        f'<p>Zähler: <span id="c1" data-debatebox-count="{one}"></span>, '
        f'<span id="c2" data-debatebox-count="{two}"></span></p>'
    )
    page.goto(host_page(host, comments, one, lang="de", extra=counts))
    expect(heading(page, re.compile("Kommentar"))).to_have_text("1 Kommentar")
    expect(page.locator("#c1")).to_have_text("1 Kommentar")
    expect(page.locator("#c2")).to_have_text("2 Kommentare")
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    expect(page.get_by_label("E-Mail", exact=True)).to_be_visible()
    expect(page.get_by_label("Kommentar", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=de["post"])).to_be_visible()
    expect(page.get_by_role("button", name="Antworten")).to_be_visible()
    expect(page.get_by_text(de["markdown"])).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Anna")
    page.get_by_label("E-Mail", exact=True).fill("anna@example.org")
    page.get_by_label("Kommentar", exact=True).fill("Zweiter Kommentar.")
    page.get_by_role("button", name=de["post"]).click()
    expect(page.get_by_text("Zweiter Kommentar.")).to_be_visible()
    expect(heading(page, re.compile("Kommentar"))).to_have_text("2 Kommentare")
    expect(page.get_by_text(de["published"])).to_be_attached()
    assert not script_errors(watch), watch.errors


def test_polish_plural_forms(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    keys = {n: new_key() for n in (1, 2, 5, 22)}
    for n, key in keys.items():
        for i in range(n):
            seed(comments, key, f"Komentarz {i}.", name="Ola")
    second = (
        f'<div id="five" data-debatebox-thread="{keys[5]}" data-debatebox-lang="pl"></div>'
        + "".join(
            f'<span id="c{n}" data-debatebox-count="{key}" data-debatebox-lang="pl"></span> '
            for n, key in keys.items()
        )
        + f'<span id="en2" data-debatebox-count="{keys[2]}"></span>'
    )
    page.goto(host_page(host, comments, keys[2], attrs='data-debatebox-lang="pl"', extra=second))
    polish = re.compile("komentar")
    expect(widget(page).get_by_role("heading", name=polish)).to_have_text("2 komentarze")
    expect(page.locator("#five").get_by_role("heading", name=polish)).to_have_text("5 komentarzy")
    expect(page.locator("#c1")).to_have_text("1 komentarz")
    expect(page.locator("#c2")).to_have_text("2 komentarze")
    expect(page.locator("#c5")).to_have_text("5 komentarzy")
    expect(page.locator("#c22")).to_have_text("22 komentarze")
    expect(page.locator("#en2")).to_have_text("2 comments")
    expect(widget(page).get_by_label("Imię", exact=True)).to_be_visible()
    expect(widget(page).get_by_role("button", name="Opublikuj komentarz")).to_be_visible()
    assert not script_errors(watch), watch.errors


@pytest.mark.parametrize(
    ("language", "replies", "shown"),
    [
        ("ru", 5, "Показать 5 ответов"),
        ("ru", 2, "Показать 2 ответа"),
        ("pl", 5, "Pokaż 5 odpowiedzi"),
    ],
)
def test_collapsed_replies_pluralise(
    page: Page, host: HostSite, comments: CommentServer, language: str, replies: int, shown: str
) -> None:
    key = new_key()
    parent = seed(comments, key, "Начало.", name="Ivan")
    for i in range(replies):
        seed(comments, key, f"Ответ {i}.", name="Olga", parent=parent)
    page.goto(host_page(host, comments, key, attrs=f'data-debatebox-lang="{language}"'))
    hide = catalog(language)["hide_replies"]
    first = page.locator("article", has_text="Начало.")
    first.get_by_role("button", name=hide).click()
    expect(first.get_by_role("button", name=shown)).to_be_visible()
    expect(page.get_by_text("Ответ 0.")).to_be_hidden()


PLURAL = "([lang, n]) => new Intl.PluralRules(lang).select(n)"


def test_every_catalog_is_served_and_used(
    page: Page, host: HostSite, comments: CommentServer, watch: Watch
) -> None:
    languages = sorted(path.stem for path in CATALOGS.glob("*.json"))
    assert languages
    key = new_key()
    for n in range(3):
        seed(comments, key, f"Comment {n}.", name="Kim")
    boxes = "".join(
        f'<section id="box-{lang}" data-debatebox-thread="{key}" data-debatebox-lang="{lang}">'
        "</section>"
        for lang in languages
    )
    page.goto(host.page(f"<main>{boxes}</main>", comments=comments))
    for lang in languages:
        strings = catalog(lang)
        box = page.locator(f"#box-{lang}")
        category = page.evaluate(PLURAL, [lang, 3])
        title = strings["comments"][category].replace("{n}", "3")
        expect(box.get_by_role("heading")).to_have_text(title)
        expect(box.get_by_label(strings["name"], exact=True)).to_be_visible()
        expect(box.get_by_label(strings["comment"], exact=True)).to_be_visible()
        expect(box.get_by_role("button", name=strings["post"])).to_be_visible()
        expect(box.get_by_role("button", name=strings["oldest"])).to_be_visible()
    assert not script_errors(watch), watch.errors


# Screenshots for docs/embedding.md ----------------------------------------------------


def shoot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    widget(page).screenshot(path=str(path), animations="disabled", caret="hide")
    assert path.stat().st_size > 5000, f"{name} looks empty"
    return path


@pytest.mark.parametrize(
    ("name", "scheme", "width"),
    [
        ("widget-light.png", "light", 1000),
        ("widget-dark.png", "dark", 1000),
        ("widget-mobile.png", "light", 320),
    ],
)
def test_screenshots(
    page: Page,
    host: HostSite,
    moderated: CommentServer,
    watch: Watch,
    name: str,
    scheme: str,
    width: int,
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    open_realistic(page, host, moderated)
    expect(page.get_by_text("in reply to Priya")).to_be_visible()
    page.wait_for_timeout(300)  # the status message settles
    path = shoot(page, name)
    print(f"\nsaved {path}")
    assert not script_errors(watch), watch.errors
