"""Rendering of reader-supplied content: comment Markdown, websites and avatars.

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

import colorsys
import hashlib
import hmac
import ipaddress
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "ALLOWED_URL_SCHEMES",
    "LINK_REL",
    "avatar_hash",
    "identicon_svg",
    "normalize_website",
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


# --------------------------------------------------------------------------
# Commenter website
# --------------------------------------------------------------------------

_WEBSITE_MAX_LENGTH: Final = 500
_WEBSITE_ERROR: Final = "Website must be an http(s) address."
_SCHEME_PREFIX_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LABEL_RE: Final = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_PATH_SAFE: Final = "/:@!$&'()*+,;=%"
_QUERY_SAFE: Final = _PATH_SAFE + "?"


def _normalize_host(host: str, *, bracketed: bool, dotted: bool) -> str:
    """Validate and normalise a URL host; return it as it should appear in the netloc.

    With ``dotted``, a domain name must have at least two labels.
    """
    if bracketed:
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise ValueError(_WEBSITE_ERROR) from None
    host = host.removesuffix(".")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(_WEBSITE_ERROR) from None
    labels = ascii_host.split(".")
    if labels[-1].isdigit():
        try:
            return str(ipaddress.IPv4Address(ascii_host))
        except ValueError:
            raise ValueError(_WEBSITE_ERROR) from None
    if (
        (dotted and len(labels) < 2)
        or len(ascii_host) > 253
        or not all(map(_LABEL_RE.match, labels))
    ):
        raise ValueError(_WEBSITE_ERROR)
    return ascii_host


def normalize_website(url: str) -> str:
    """Validate and normalise the website a commenter typed.

    Surrounding whitespace is stripped and an empty value gives ``""``.  A value
    without a scheme (``example.org/me``) gets ``https://`` in front.  Only absolute
    ``http``/``https`` URLs are accepted, with a host that is a domain name
    (internationalised names are converted to their ``xn--`` form) or an IP
    address.  A single-label host such as ``localhost`` is accepted only when the
    scheme was typed, so that a stray word is not mistaken for a site.
    Credentials, whitespace, control characters, backslashes and values longer
    than 500 characters are refused.  The scheme and host are lower-cased, a
    default port is dropped, and characters that are not allowed in URLs are
    percent-encoded.

    :raises ValueError: with a short message that can be shown to the commenter.
    """
    text = url.strip()
    if not text:
        return ""
    if len(text) > _WEBSITE_MAX_LENGTH:
        raise ValueError("Website address is too long.")
    if _has_unsafe_chars(text) or text.startswith("/"):
        raise ValueError(_WEBSITE_ERROR)

    match = _SCHEME_PREFIX_RE.match(text)
    guessed_scheme = match is None or text[match.end() : match.end() + 1].isdigit()
    if guessed_scheme:
        # No scheme; "example.org:8080" is a host and port, not a scheme.
        text = "https://" + text
    scheme, _, rest = text.partition(":")
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS or not rest.startswith("//"):
        raise ValueError(_WEBSITE_ERROR)

    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(_WEBSITE_ERROR) from None
    if "@" in parts.netloc or not parts.hostname:
        raise ValueError(_WEBSITE_ERROR)

    netloc = _normalize_host(
        parts.hostname, bracketed=parts.netloc.startswith("["), dotted=guessed_scheme
    )
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    result: str = urlunsplit(
        (
            scheme,
            netloc,
            quote(parts.path, safe=_PATH_SAFE),
            quote(parts.query, safe=_QUERY_SAFE),
            quote(parts.fragment, safe=_QUERY_SAFE),
        )
    )
    if len(result) > _WEBSITE_MAX_LENGTH:
        raise ValueError("Website address is too long.")
    return result


# --------------------------------------------------------------------------
# Avatars
# --------------------------------------------------------------------------


def avatar_hash(secret: str | bytes, identity: str) -> str:
    """Return a stable, non-reversible avatar key for a commenter.

    ``identity`` is the commenter's e-mail address (or their name when they gave
    none); it is stripped and lower-cased, then authenticated with HMAC-SHA256
    under ``secret``.  The first 32 hex characters are returned.  Without the
    secret the value cannot be linked back to the address, unlike a plain hash.

    :raises ValueError: if ``secret`` is empty (an unkeyed hash would be guessable).
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("avatar secret must not be empty")
    message = identity.strip().lower().encode("utf-8")
    digest: str = hmac.new(key, message, hashlib.sha256).hexdigest()
    return digest[:32]


_HEX_RE: Final = re.compile(r"[0-9a-f]{16,}")
_GRID: Final = 5
_HALF: Final = (_GRID + 1) // 2
_BACKGROUND: Final = "#f0f0f0"


def identicon_svg(digest: str, *, size: int = 48) -> str:
    """Return a small, self-contained identicon SVG for a hex ``digest``.

    The image is a 5x5 grid mirrored left to right, drawn in one colour on a light
    grey background.  The digest is hashed once more, so every character of it
    influences the picture; the same digest always yields the same SVG.

    :param digest: at least 16 hexadecimal characters (e.g. :func:`avatar_hash`).
    :param size: rendered width and height in pixels, 1 to 1024.
    :raises ValueError: for a non-hex or too short digest, or a bad size.
    """
    normalized = digest.lower()
    if not _HEX_RE.fullmatch(normalized):
        raise ValueError("digest must be at least 16 hexadecimal characters")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 1024:
        raise ValueError("size must be an integer from 1 to 1024")

    seed = hashlib.sha256(normalized.encode("ascii")).digest()
    cells = int.from_bytes(seed[0:2], "big") & 0x7FFF
    if not cells:
        cells = 1 << (_GRID // 2 * _HALF + _GRID // 2)  # never empty: light the centre cell
    hue = int.from_bytes(seed[2:4], "big") % 360
    saturation = 0.50 + (seed[4] % 21) / 100  # 50-70 %
    lightness = 0.36 + (seed[5] % 13) / 100  # 36-48 %
    red, green, blue = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    colour = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"

    rects: list[str] = []
    for row in range(_GRID):
        for col in range(_HALF):
            if not cells >> (row * _HALF + col) & 1:
                continue
            columns = {col, _GRID - 1 - col}
            for x in sorted(columns):
                rects.append(f'<rect x="{1 + 2 * x}" y="{1 + 2 * row}" width="2" height="2"/>')

    view = 2 * _GRID + 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {view} {view}"'
        f' width="{size}" height="{size}" role="img" aria-hidden="true"'
        ' shape-rendering="crispEdges">'
        f'<rect width="{view}" height="{view}" fill="{_BACKGROUND}"/>'
        f'<g fill="{colour}">{"".join(rects)}</g>'
        "</svg>"
    )
