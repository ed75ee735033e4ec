"""The commenter's website field: only absolute http(s) addresses, normalised."""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from .render import _has_unsafe_chars

__all__ = ["WebsiteTooLong", "normalize_website"]

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


class WebsiteTooLong(ValueError):
    """The website, as typed or once normalised, is longer than 500 characters."""


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

    :raises ValueError: with a short message that can be shown to the commenter;
        :class:`WebsiteTooLong` when the address is too long.
    """
    text = url.strip()
    if not text:
        return ""
    if len(text) > _WEBSITE_MAX_LENGTH:
        raise WebsiteTooLong("Website address is too long.")
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
        raise WebsiteTooLong("Website address is too long.")
    return result
