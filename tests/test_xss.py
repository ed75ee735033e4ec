"""Hostile input must never yield markup outside the rendering contract.

Every line of ``data/xss_payloads.txt`` is one payload.  Because some payloads need
characters that cannot sit on one line, the two-character sequences ``\\n``,
``\\r``, ``\\t`` and ``\\0`` in the file stand for a newline, carriage return, tab
and NUL character.  Any other backslash is literal.

The rendered HTML is *parsed* (never searched for substrings) and checked against
the contract documented in :mod:`debatebox.render`:

* only allowlisted elements and, per element, only allowlisted attributes;
* every ``href`` is an absolute http/https/mailto URL and every ``src`` an
  absolute http/https URL -- relative URLs are not allowed;
* every link carries exactly ``rel="nofollow ugc noopener"``;
* no comments, declarations, processing instructions or CDATA survive.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from debatebox.render import render_markdown
from debatebox.urls import normalize_website

PAYLOAD_FILE = Path(__file__).parent / "data" / "xss_payloads.txt"
_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t", "\\0": "\0"}
_ESCAPE_RE = re.compile(r"\\[nrt0]")

# The contract, written out independently of the module's own constants.
TAGS = {"p", "br", "em", "strong", "del", "s", "a", "ul", "ol", "li", "blockquote"}
TAGS |= {"code", "pre", "hr"}
ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "rel"}, "ol": {"start"}, "img": {"src", "alt"}}
LINK_SCHEMES = {"http", "https", "mailto"}
IMAGE_SCHEMES = {"http", "https"}
REL = "nofollow ugc noopener"
DANGEROUS_ELEMENTS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "style",
    "link",
    "meta",
    "base",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "svg",
    "math",
    "template",
    "noscript",
    "video",
    "audio",
    "source",
    "details",
    "marquee",
    "portal",
    "body",
    "html",
    "title",
    "xmp",
    "listing",
}


def _decode(line: str) -> str:
    return _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group()], line)


def _load_payloads() -> list[Any]:
    # split("\n"), not splitlines(): payloads may contain U+2028 and friends.
    lines = PAYLOAD_FILE.read_text(encoding="utf-8").split("\n")
    return [
        pytest.param(_decode(line), id=f"line{number}")
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]


PAYLOADS = _load_payloads()


class _Collector(HTMLParser):
    """Records every element, attribute and non-text construct in a fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.end_tags: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.end_tags.append(tag)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"unknown declaration {data!r}")


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def _has_invisible(value: str) -> bool:
    return any(unicodedata.category(ch)[0] in "CZ" for ch in value)


def _assert_url(value: str | None, schemes: set[str]) -> None:
    # HTMLParser has already decoded character references in attribute values,
    # so ``value`` is exactly what a browser would resolve.
    assert value, "URL attribute without a value"
    assert value == value.strip(), value
    assert not _has_invisible(value), value
    assert "\\" not in value, value
    parts = urlsplit(value)
    assert parts.scheme.lower() in schemes, value
    if parts.scheme.lower() == "mailto":
        assert parts.path, value
        assert not parts.netloc, value
    else:
        assert value[len(parts.scheme) + 1 :].startswith("//"), value
        assert parts.hostname, value


def assert_safe_html(html: str, *, allow_images: bool) -> None:
    allowed_tags = TAGS | {"img"} if allow_images else TAGS
    collector = _parse(html)
    assert not collector.other, collector.other
    for tag in collector.end_tags:
        assert tag in allowed_tags, f"closing tag {tag!r}"
    for tag, attrs in collector.elements:
        assert tag not in DANGEROUS_ELEMENTS, f"dangerous element {tag!r}"
        assert tag in allowed_tags, f"element {tag!r}"
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), f"duplicate attributes on {tag}: {names}"
        allowed_attrs = ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            assert name in allowed_attrs, f"attribute {name!r} on {tag!r}"
            assert not name.startswith("on"), name
            if name == "href":
                _assert_url(value, LINK_SCHEMES)
            elif name == "src":
                _assert_url(value, IMAGE_SCHEMES)
            elif name == "start":
                assert value is not None
                assert value.isdigit(), value
        values = dict(attrs)
        if tag == "a":
            assert values.get("rel") == REL, attrs
            assert "href" in values, "link without a destination"
        if tag == "img":
            assert "src" in values, attrs


@pytest.mark.parametrize("allow_images", [False, True], ids=["no-images", "images"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_renders_safely(payload: str, allow_images: bool) -> None:
    html = render_markdown(payload, allow_images=allow_images)
    assert html == html.strip()
    assert_safe_html(html, allow_images=allow_images)
    # Rendering is a pure function of its input.
    assert render_markdown(payload, allow_images=allow_images) == html


def _url_candidates(payload: str) -> list[str]:
    """The payload itself plus any link destination or autolink it contains."""
    candidates = [payload]
    candidates += re.findall(r"\]\(\s*<?([^)>\s]*)", payload)
    candidates += re.findall(r"<([^<>\s]+)>", payload)
    candidates += re.findall(r"(?:href|src|action|data)=\"?([^\"\s>]+)", payload)
    return candidates


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_as_website(payload: str) -> None:
    for candidate in _url_candidates(payload):
        try:
            result = normalize_website(candidate)
        except ValueError:
            continue
        if not result:
            assert not candidate.strip()
            continue
        assert len(result) <= 500
        assert not _has_invisible(result), result
        assert not set(result) & set('<>"`\\ '), result
        parts = urlsplit(result)
        assert parts.scheme in {"http", "https"}, result
        assert result.startswith(f"{parts.scheme}://"), result
        assert parts.hostname, result
        assert "@" not in parts.netloc, result


def test_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 120


@pytest.mark.parametrize(
    "html",
    [
        '<a href="javascript:alert(1)" rel="nofollow ugc noopener">x</a>',
        '<a href="/relative" rel="nofollow ugc noopener">x</a>',
        '<a href="https://x.example">x</a>',
        '<p onclick="alert(1)">x</p>',
        "<script>alert(1)</script>",
        "<!-- x -->",
        '<img src="https://x.example/a.png" alt="">',
    ],
)
def test_checker_rejects_unsafe_html(html: str) -> None:
    """The checker itself must catch each kind of violation it is meant to find."""
    with pytest.raises(AssertionError):
        assert_safe_html(html, allow_images=False)
