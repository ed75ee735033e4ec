"""Avatars made on this server: an identicon per commenter, no third-party request.

:func:`avatar_hash` names a commenter's picture without revealing their email, and
:func:`identicon_svg` draws the picture for such a name.
"""

from __future__ import annotations

import colorsys
import hashlib
import hmac
import re
from typing import Final

__all__ = ["avatar_hash", "identicon_svg"]

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
