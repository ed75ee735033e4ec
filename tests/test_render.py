"""Unit tests for debatebox.render: Markdown, plain text, websites and avatars."""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest

from debatebox.avatars import avatar_hash, identicon_svg
from debatebox.render import ALLOWED_TAGS, LINK_REL, plain_text, render_markdown
from debatebox.urls import normalize_website

REL = 'rel="nofollow ugc noopener"'


# --------------------------------------------------------------------------
# render_markdown: supported features
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("*a* and _b_", "<p><em>a</em> and <em>b</em></p>", id="emphasis"),
        pytest.param(
            "**a** and __b__", "<p><strong>a</strong> and <strong>b</strong></p>", id="strong"
        ),
        pytest.param("~~gone~~", "<p><s>gone</s></p>", id="strikethrough"),
        pytest.param(
            "[docs](https://example.org/x)",
            f'<p><a href="https://example.org/x" {REL}>docs</a></p>',
            id="link",
        ),
        pytest.param(
            "see https://example.org/x",
            f'<p>see <a href="https://example.org/x" {REL}>https://example.org/x</a></p>',
            id="bare-url",
        ),
        pytest.param(
            "www.example.org",
            f'<p><a href="http://www.example.org" {REL}>www.example.org</a></p>',
            id="bare-www",
        ),
        pytest.param(
            "write to ann@example.org",
            f'<p>write to <a href="mailto:ann@example.org" {REL}>ann@example.org</a></p>',
            id="bare-email",
        ),
        pytest.param(
            "<https://example.org/>",
            f'<p><a href="https://example.org/" {REL}>https://example.org/</a></p>',
            id="autolink",
        ),
        pytest.param("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>", id="unordered-list"),
        pytest.param("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>", id="ordered-list"),
        pytest.param(
            "3. a\n4. b", '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>', id="ordered-list-start"
        ),
        pytest.param("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>", id="blockquote"),
        pytest.param("`a<b>`", "<p><code>a&lt;b&gt;</code></p>", id="inline-code"),
        pytest.param(
            "```python\nprint('<hi>')\n```",
            "<pre><code>print('&lt;hi&gt;')\n</code></pre>",
            id="fenced-code",
        ),
        pytest.param(
            "    x = 1\n    y = 2", "<pre><code>x = 1\ny = 2\n</code></pre>", id="indented"
        ),
        pytest.param("one\ntwo", "<p>one<br>\ntwo</p>", id="soft-break-is-hard"),
        pytest.param("one  \ntwo", "<p>one<br>\ntwo</p>", id="hard-break"),
        pytest.param("a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>", id="thematic-break"),
        pytest.param("a &amp; b &copy;", "<p>a &amp; b ©</p>", id="entities"),
    ],
)
def test_markdown_features(source: str, expected: str) -> None:
    assert render_markdown(source) == expected


@pytest.mark.parametrize("source", ["", " ", "\n\n", "\t \r\n "])
def test_empty_input_renders_empty(source: str) -> None:
    assert render_markdown(source) == ""
    assert render_markdown(source, allow_images=True) == ""


def test_result_has_no_surrounding_whitespace() -> None:
    html = render_markdown("\n\n  hello  \n\n- item\n\n")
    assert html == html.strip()
    assert html.startswith("<p>hello</p>")
    assert html.endswith("</ul>")


def test_headings_are_plain_paragraphs() -> None:
    assert render_markdown("# Title") == "<p># Title</p>"
    assert render_markdown("###### Small") == "<p>###### Small</p>"
    assert render_markdown("Title\n=====") == "<p>Title<br>\n=====</p>"
    assert not re.search(r"<h[1-6]", render_markdown("# a\n## b\nc\n---"))


def test_tables_are_not_rendered() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<table" not in html
    assert "| a | b |" in html


def test_raw_html_is_escaped() -> None:
    assert render_markdown("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>"
    assert (
        render_markdown("<div>\nblock\n</div>") == "<p>&lt;div&gt;<br>\nblock<br>\n&lt;/div&gt;</p>"
    )
    assert render_markdown("<!-- hidden -->") == "<p>&lt;!-- hidden --&gt;</p>"


def test_code_language_class_is_dropped() -> None:
    assert "class=" not in render_markdown("```python\nx\n```")


def test_every_link_gets_rel() -> None:
    html = render_markdown(
        "[a](https://a.example) https://b.example <https://c.example> d@example.net"
    )
    assert html.count("<a ") == 4
    assert html.count(REL) == 4
    assert LINK_REL == "nofollow ugc noopener"


def test_link_title_is_dropped() -> None:
    html = render_markdown('[a](https://example.org "hover text")')
    assert html == f'<p><a href="https://example.org" {REL}>a</a></p>'


@pytest.mark.parametrize(
    "source",
    [
        "[x](/foo)",
        "[x](foo/bar)",
        "[x](#top)",
        "[x](?q=1)",
        "[x](//evil.example)",
        "[x](javascript:alert(1))",
        "[x](ftp://example.org)",
        "[x](tel:+1234)",
        "[x](http:example.org)",
    ],
)
def test_disallowed_link_destinations_stay_text(source: str) -> None:
    html = render_markdown(source)
    assert "<a" not in html
    assert html == f"<p>{source}</p>"


def test_empty_link_destination_keeps_label() -> None:
    assert render_markdown("[label]()") == "<p>label</p>"


def test_reference_links() -> None:
    ok = render_markdown("[x][r]\n\n[r]: https://example.org/ref")
    assert ok == f'<p><a href="https://example.org/ref" {REL}>x</a></p>'
    bad = render_markdown("[x][r]\n\n[r]: javascript:alert(1)")
    assert "<a" not in bad


def test_images_are_off_by_default() -> None:
    html = render_markdown("![a cat](https://example.org/cat.png)")
    assert "<img" not in html
    assert html == f'<p>!<a href="https://example.org/cat.png" {REL}>a cat</a></p>'


def test_images_when_allowed() -> None:
    html = render_markdown('![a cat](https://example.org/cat.png "title")', allow_images=True)
    assert html == '<p><img src="https://example.org/cat.png" alt="a cat"></p>'


@pytest.mark.parametrize(
    "source",
    [
        "![x](javascript:alert(1))",
        "![x](data:image/png;base64,iVBORw0KGgo=)",
        "![x](/local.png)",
        "![x](//evil.example/a.png)",
        "![x](mailto:a@b.example)",
    ],
)
def test_images_with_bad_sources_are_not_rendered(source: str) -> None:
    html = render_markdown(source, allow_images=True)
    assert "<img" not in html
    assert "<a" not in html


def test_allowed_tags_constant() -> None:
    assert {"p", "br", "em", "strong", "del", "s", "a", "ul", "ol", "li"} <= ALLOWED_TAGS
    assert {"blockquote", "code", "pre", "hr"} <= ALLOWED_TAGS
    assert "img" not in ALLOWED_TAGS
    assert not {"h1", "table", "script", "div", "span"} & ALLOWED_TAGS


@pytest.mark.parametrize("marker", ["> ", "- ", "1. "])
def test_deep_nesting_is_capped(marker: str) -> None:
    # Abusive nesting is cut off at markdown-it's limit instead of recursing on.
    html = render_markdown("intro\n\n" + marker * 200 + "deep")
    assert html.startswith("<p>intro</p>")
    assert html.count("<blockquote>") + html.count("<li>") <= 20


def test_rendering_is_thread_safe() -> None:
    sources = [
        f"item {i}: see https://example.org/{i} and www.site{i}.example, mail u{i}@example.org"
        for i in range(60)
    ]
    expected = [render_markdown(source) for source in sources]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(5):
            assert list(pool.map(render_markdown, sources)) == expected


# --------------------------------------------------------------------------
# plain_text
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("", ""),
        ("<p>Hello <em>world</em></p>\n<p>again</p>", "Hello world again"),
        ("<p>one<br>two</p>", "one two"),
        ("<p>a &amp; b &lt;c&gt; &#169;</p>", "a & b <c> ©"),
        ("<ul>\n<li>x</li><li>y</li>\n</ul>", "x y"),
        ("<p>  lots \n\n of\t space  </p>", "lots of space"),
        ("<p>keep</p><script>drop()</script><style>p{}</style>", "keep"),
    ],
)
def test_plain_text(html: str, expected: str) -> None:
    assert plain_text(html) == expected


def test_plain_text_of_rendered_markdown() -> None:
    html = render_markdown("**Hi** [there](https://example.org)\n\n- one\n- two\n\n> `code`")
    assert plain_text(html) == "Hi there one two code"


# --------------------------------------------------------------------------
# normalize_website
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("example.org", "https://example.org"),
        ("  example.org/me  ", "https://example.org/me"),
        ("http://example.org", "http://example.org"),
        ("HTTPS://WWW.Example.ORG/Path?Q=1#Frag", "https://www.example.org/Path?Q=1#Frag"),
        ("https://example.org:443/", "https://example.org/"),
        ("http://example.org:80", "http://example.org"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("example.org:8080/x", "https://example.org:8080/x"),
        ("https://example.org.", "https://example.org"),
        ("http://127.0.0.1/", "http://127.0.0.1/"),
        ("http://[::1]:8000/", "http://[::1]:8000/"),
        ("https://bücher.example/ä", "https://xn--bcher-kva.example/%C3%A4"),
        ('https://example.org/a"b<c>', "https://example.org/a%22b%3Cc%3E"),
        ("https://my_blog.example.org", "https://my_blog.example.org"),
        ("http://localhost:5000/page", "http://localhost:5000/page"),
    ],
)
def test_normalize_website_accepts(value: str, expected: str) -> None:
    assert normalize_website(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "javascript:1",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://example.org",
        "mailto:a@example.org",
        "file:///etc/passwd",
        "//example.org",
        "/relative",
        "http:example.org",
        "http:/example.org",
        "https://",
        "http://user:pass@example.org",
        "http://user@example.org",
        "http://@example.org",
        "http://example.org\\@evil.example",
        "http://exa mple.org",
        "http://example.org/a b",
        "http://example.org/\tx",
        "java\tscript:alert(1)",
        "http://example.org/\x00",
        "http://example.org/\u202e",
        "example",
        "localhost:8080",
        "https://-bad-.example",
        "https://999.1.1.1",
        "https://example.org:99999",
        "https://[not-ipv6]/",
        "https://" + "a" * 64 + ".example",
        "https://example.org/" + "x" * 500,
    ],
)
def test_normalize_website_rejects(value: str) -> None:
    with pytest.raises(ValueError, match=r"^Website "):
        normalize_website(value)


def test_normalize_website_message() -> None:
    with pytest.raises(ValueError, match=r"^Website must be an http\(s\) address\.$"):
        normalize_website("javascript:alert(1)")


# --------------------------------------------------------------------------
# avatar_hash
# --------------------------------------------------------------------------


def test_avatar_hash_is_keyed_hmac() -> None:
    expected = hmac.new(b"k3y", b"ann@example.org", hashlib.sha256).hexdigest()[:32]
    assert avatar_hash("k3y", "ann@example.org") == expected
    assert avatar_hash(b"k3y", "ann@example.org") == expected


def test_avatar_hash_is_stable_and_normalised() -> None:
    value = avatar_hash("secret", "Ann@Example.org")
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    assert avatar_hash("secret", "  ann@example.ORG \n") == value
    assert avatar_hash("other secret", "ann@example.org") != value
    assert avatar_hash("secret", "bob@example.org") != value


def test_avatar_hash_does_not_leak_identity() -> None:
    value = avatar_hash("secret", "ann@example.org")
    assert "ann" not in value
    assert "example" not in value
    plain = hashlib.sha256(b"ann@example.org").hexdigest()
    assert value != plain[:32]
    assert value != hashlib.md5(b"ann@example.org").hexdigest()  # Gravatar-style


def test_avatar_hash_requires_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        avatar_hash("", "ann@example.org")
    with pytest.raises(ValueError, match="secret"):
        avatar_hash(b"", "ann@example.org")


# --------------------------------------------------------------------------
# identicon_svg
# --------------------------------------------------------------------------

SVG_NS = "{http://www.w3.org/2000/svg}"
DIGEST = "0123456789abcdef0123456789abcdef"


def _cells(svg: str) -> set[tuple[int, int]]:
    root = ET.fromstring(svg)
    group = root.find(f"{SVG_NS}g")
    assert group is not None
    return {(int(rect.attrib["x"]), int(rect.attrib["y"])) for rect in group}


def test_identicon_is_valid_svg() -> None:
    svg = identicon_svg(DIGEST)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert root.attrib["width"] == root.attrib["height"] == "48"
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-hidden"] == "true"
    assert root.attrib["viewBox"] == "0 0 12 12"
    children = list(root)
    assert [child.tag for child in children] == [f"{SVG_NS}rect", f"{SVG_NS}g"]
    background = children[0].attrib["fill"]
    assert re.fullmatch(r"#[0-9a-f]{6}", background)
    assert int(background[1:3], 16) >= 0xE0  # light background
    foreground = children[1].attrib["fill"]
    assert re.fullmatch(r"#[0-9a-f]{6}", foreground)
    assert foreground != background
    assert all(rect.tag == f"{SVG_NS}rect" for rect in children[1])
    assert len(children[1]) >= 1


def test_identicon_is_small_and_self_contained() -> None:
    for i in range(50):
        svg = identicon_svg(hashlib.sha256(str(i).encode()).hexdigest())
        assert len(svg.encode()) < 2048
        lowered = svg.lower()
        for needle in ("href", "url(", "<image", "<use", "<script", "<style", "<foreignobject"):
            assert needle not in lowered
        assert lowered.count("http") == 1  # the xmlns namespace name only


def test_identicon_is_mirrored() -> None:
    for i in range(30):
        cells = _cells(identicon_svg(hashlib.sha256(str(i).encode()).hexdigest()))
        assert cells
        assert {(12 - x - 2, y) for x, y in cells} == cells
        assert all(x in {1, 3, 5, 7, 9} and y in {1, 3, 5, 7, 9} for x, y in cells)


def test_identicon_is_never_blank() -> None:
    # This digest draws no cells at all from its bits; the centre cell is lit instead.
    assert _cells(identicon_svg("34310f39d8be3fb904f5383a7909e930")) == {(5, 5)}


def test_identicon_is_deterministic() -> None:
    assert identicon_svg(DIGEST) == identicon_svg(DIGEST)
    assert identicon_svg(DIGEST.upper()) == identicon_svg(DIGEST)


def test_identicons_differ_between_digests() -> None:
    digests = [hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(100)]
    assert len({identicon_svg(digest) for digest in digests}) == len(digests)
    # A single changed character anywhere changes the picture.
    assert identicon_svg(DIGEST) != identicon_svg(DIGEST[:-1] + "0")


def test_identicon_size() -> None:
    root = ET.fromstring(identicon_svg(DIGEST, size=96))
    assert root.attrib["width"] == root.attrib["height"] == "96"


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "abc",
        "0123456789abcde",
        "0123456789abcdeg",
        "zzzzzzzzzzzzzzzzzz",
        " " + DIGEST,
        "é" * 16,
    ],
)
def test_identicon_rejects_bad_digest(digest: str) -> None:
    with pytest.raises(ValueError, match="digest"):
        identicon_svg(digest)


@pytest.mark.parametrize("size", [0, -1, 1025, True])
def test_identicon_rejects_bad_size(size: int) -> None:
    with pytest.raises(ValueError, match="size"):
        identicon_svg(DIGEST, size=size)
