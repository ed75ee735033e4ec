"""Rendering of reader-supplied content: comment Markdown to safe HTML, and back to text.

This module is part of the core layer: it depends only on the standard library,
``markdown-it-py`` (with ``linkify-it-py``) and ``nh3``.

Comment Markdown
----------------
:func:`render_markdown` turns a comment body into an HTML fragment.  Supported:
emphasis, strong, strikethrough (``~~x~~``), links, bare URLs and ``www.`` hosts
(linkified), e-mail addresses (``mailto:`` links), ordered and unordered lists,
block quotes, inline code, fenced and indented code blocks, thematic breaks and
hard line breaks: a single newline becomes ``<br>``, as comment writers expect.

Deliberately *not* supported:

* Raw HTML.  Tags typed by the reader are shown escaped, as text.
* Headings.  The ATX (``# x``) and setext (``x`` / ``===``) heading rules are
  disabled, so such lines render as ordinary paragraph text; a comment has no
  business shouting over the page's own headings.
* Tables.
* Images, unless ``allow_images=True``.  When images are off, ``![alt](url)``
  renders as a ``!`` followed by an ordinary link to ``url`` labelled ``alt``.

Nesting (block quotes, lists, emphasis) is limited to 20 levels; content nested
more deeply than that is dropped rather than parsed recursively.

Links
-----
Only *absolute* ``http:``/``https:`` URLs with a host, and ``mailto:``
addresses, become links (for images: only ``http:``/``https:``).  Everything else
is refused at parse time, so the Markdown stays visible as typed
(``[x](/foo)`` renders as the text ``[x](/foo)``).  That includes relative
URLs (``/foo``, ``foo``, ``#top``, ``?q``), protocol-relative ones (``//host``),
and ``javascript:``/``vbscript:``/``data:``/``ftp:`` and other schemes, however
they are disguised with entities, escapes, whitespace or mixed case.  Relative
URLs are refused because a comment can be shown on pages at different paths (and
in e-mails), where a relative link would point somewhere different each time.

Every link gets ``rel="nofollow ugc noopener"``.

Defence in depth
----------------
The HTML produced by markdown-it is then sanitised again by ``nh3`` with an
explicit allowlist of tags, attributes and URL schemes (relative URLs denied,
comments stripped), so a bug in the Markdown layer cannot smuggle markup
through.  :data:`ALLOWED_TAGS`, :data:`ALLOWED_ATTRIBUTES` and
:data:`ALLOWED_URL_SCHEMES` describe the output contract.

Performance
-----------
Building a ``MarkdownIt`` parser is comparatively slow, so one parser and one
sanitiser per ``allow_images`` variant are built at import time.  The linkify
helper used by markdown-it keeps per-call state, so each parser is guarded by a
lock; rendering is pure-Python and CPU-bound, so the lock costs no real
parallelism.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "ALLOWED_URL_SCHEMES",
    "LINK_REL",
    "plain_text",
    "render_markdown",
]

# --------------------------------------------------------------------------
# Output contract
# --------------------------------------------------------------------------

#: Tags that may appear in :func:`render_markdown` output (``img`` only with images on).
ALLOWED_TAGS: Final[frozenset[str]] = frozenset(
    {"a", "br", "code", "del", "em", "s", "strong"}  # inline
    | {"blockquote", "hr", "li", "ol", "p", "pre", "ul"}  # block
)
_IMAGE_TAGS: Final[frozenset[str]] = frozenset({"img"})

#: Attributes allowed per tag (besides ``rel`` on ``a``, which is always set by the sanitiser).
ALLOWED_ATTRIBUTES: Final[dict[str, frozenset[str]]] = {
    "a": frozenset({"href"}),
    "ol": frozenset({"start"}),
    "img": frozenset({"src", "alt"}),
}

#: URL schemes allowed in ``href`` (``src`` is limited to http and https).
ALLOWED_URL_SCHEMES: Final[frozenset[str]] = frozenset({"http", "https", "mailto"})
_IMAGE_URL_SCHEMES: Final[frozenset[str]] = frozenset({"http", "https"})

#: The ``rel`` value every rendered link carries.
LINK_REL: Final = "nofollow ugc noopener"

# --------------------------------------------------------------------------
# URL checks shared by the Markdown layer and the sanitiser
# --------------------------------------------------------------------------


def _has_unsafe_chars(value: str) -> bool:
    """True if ``value`` holds a backslash or a control, format or separator character."""
    return any(unicodedata.category(ch)[0] in "CZ" for ch in value) or "\\" in value


def _is_allowed_url(url: str, schemes: frozenset[str]) -> bool:
    """True if ``url`` is absolute, uses one of ``schemes`` and is well formed.

    ``http``/``https`` URLs must name a host; ``mailto`` URLs must name an address.
    Whitespace, control characters and backslashes anywhere make the URL unacceptable.
    """
    if not url or _has_unsafe_chars(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return False
    if scheme == "mailto":
        return bool(parts.path) and not parts.netloc
    if not url[len(scheme) + 1 :].startswith("//"):
        return False
    try:
        return bool(parts.hostname)
    except ValueError:
        return False


def _is_allowed_link(url: str) -> bool:
    return _is_allowed_url(url, ALLOWED_URL_SCHEMES)


def _is_allowed_image(url: str) -> bool:
    return _is_allowed_url(url, _IMAGE_URL_SCHEMES)


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def _text_token(content: str, level: int) -> Token:
    token = Token("text", "", 0)
    token.content = content
    token.level = level
    return token


def _enforce_urls(state: StateCore) -> None:
    """Core rule: drop any link or image whose URL is not acceptable.

    The parser's ``validateLink`` already refuses bad destinations; this rule
    catches the rest: markdown-it still builds a link for an empty destination
    (``[x]()``), and images need the stricter http/https-only check.  A refused
    link keeps its label as plain text; a refused image becomes its alt text.
    """
    for block in state.tokens:
        children = block.children
        if block.type != "inline" or not children:
            continue
        kept: list[Token] = []
        dropped_links: list[bool] = []
        changed = False
        for token in children:
            if token.type == "link_open":
                bad = not _is_allowed_link(str(token.attrGet("href") or ""))
                dropped_links.append(bad)
                if bad:
                    changed = True
                    continue
            elif token.type == "link_close":
                if dropped_links and dropped_links.pop():
                    continue
            elif token.type == "image" and not _is_allowed_image(str(token.attrGet("src") or "")):
                changed = True
                token = _text_token(token.content, token.level)
            kept.append(token)
        if changed:
            block.children = kept


def _build_markdown(*, allow_images: bool) -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {"html": False, "breaks": True, "linkify": True, "typographer": False},
    )
    md.enable(["strikethrough", "linkify"])
    disabled = ["heading", "lheading", "html_block", "html_inline"]
    if not allow_images:
        disabled.append("image")
    md.disable(disabled)
    md.validateLink = _is_allowed_link  # type: ignore[method-assign]
    md.core.ruler.push("debatebox_enforce_urls", _enforce_urls)
    return md


def _build_cleaner(*, allow_images: bool) -> Callable[[str], str]:
    """Return an ``nh3`` sanitiser bound to the allowlists for this variant."""
    tags = set(ALLOWED_TAGS | _IMAGE_TAGS) if allow_images else set(ALLOWED_TAGS)
    attributes = {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items() if tag in tags}
    # nh3 allows ``title`` and ``lang`` on every tag unless the generic set is given.
    attributes["*"] = set()
    schemes = set(ALLOWED_URL_SCHEMES)

    def clean(html: str) -> str:
        # Relative URLs are removed by _filter_attribute (they have no allowed scheme).
        return nh3.clean(
            html,
            tags=tags,
            clean_content_tags={"script", "style"},
            attributes=attributes,
            attribute_filter=_filter_attribute,
            strip_comments=True,
            link_rel=LINK_REL,
            url_schemes=schemes,
        )

    return clean


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Last line of defence inside nh3: URLs must pass the same check as in Markdown."""
    if attribute == "href":
        return value if _is_allowed_link(value) else None
    if attribute == "src":
        return value if _is_allowed_image(value) else None
    if attribute == "start":
        return value if value.isascii() and value.isdigit() and len(value) <= 9 else None
    return value


class _Renderer:
    __slots__ = ("_cleaner", "_lock", "_md")

    def __init__(self, *, allow_images: bool) -> None:
        self._md = _build_markdown(allow_images=allow_images)
        self._cleaner = _build_cleaner(allow_images=allow_images)
        self._lock = threading.Lock()

    def render(self, source: str) -> str:
        with self._lock:
            html = self._md.render(source)
        return self._cleaner(html).strip()


_RENDERERS: Final[dict[bool, _Renderer]] = {
    False: _Renderer(allow_images=False),
    True: _Renderer(allow_images=True),
}


def render_markdown(source: str, *, allow_images: bool = False) -> str:
    """Render comment Markdown to a safe HTML fragment.

    Returns ``""`` for empty or whitespace-only input; otherwise the fragment has no
    leading or trailing whitespace.  See the module docstring for the dialect.
    """
    if not source or source.isspace():
        return ""
    return _RENDERERS[bool(allow_images)].render(source)


# --------------------------------------------------------------------------
# Plain text
# --------------------------------------------------------------------------

_WHITESPACE_RE: Final = re.compile(r"\s+")
_SKIPPED_CONTENT: Final = frozenset({"script", "style", "template"})
_SPACED_TAGS: Final = frozenset(
    {"p", "br", "li", "ul", "ol", "blockquote", "pre", "hr", "div", "tr", "td", "th", "img"}
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: Sequence[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_CONTENT:
            self._skip_depth += 1
        elif tag in _SPACED_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: Sequence[tuple[str, str | None]]) -> None:
        if tag in _SPACED_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_CONTENT:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _SPACED_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """Return the text content of an HTML fragment, whitespace collapsed.

    Block boundaries (paragraphs, list items, line breaks) become single spaces,
    entities are decoded, and the result is stripped.  Meant for excerpts and
    plain-text e-mail; the result is *text*, so escape it again before putting it
    into HTML.
    """
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _WHITESPACE_RE.sub(" ", "".join(parser.parts)).strip()
