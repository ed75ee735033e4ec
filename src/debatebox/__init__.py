"""debatebox: threaded reader comments and debates for any website.

Use it as a Flask extension (``DebateBox(app)``) or run ``debatebox serve``.
"""

from __future__ import annotations

from .extension import DebateBox
from .version import __version__

__all__ = ["DebateBox", "__version__"]
