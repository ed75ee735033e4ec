"""Per-IP (and per-email) limits on new comments, counted in Flask-Limiter's storage.

The limit uses Flask-Limiter's notation (``"10 per minute;100 per hour"``) and its
storage, so ``memory://`` works for one process and ``redis://`` shares the counters
between every worker and machine. Only comments that passed validation and the bot
checks are counted; the check runs inside the posting pipeline, not as a decorator.
"""

from __future__ import annotations

import time
from typing import Any

from limits import RateLimitItem, parse_many

from .errors import RateLimited
from .messages import ERRORS

SCOPE = "debatebox-post"


class PostLimiter:
    """Counts posts per client address against ``spec``."""

    def __init__(self, limiter: Any, spec: str, scope: str = SCOPE) -> None:
        #: A Flask-Limiter ``Limiter`` already registered on the app.
        self._limiter = limiter
        self.items: list[RateLimitItem] = parse_many(spec)
        #: Counters of different limiters (per address, per email) never mix.
        self.scope = scope

    def hit(self, address: str) -> None:
        """Count one post from ``address``; raise :class:`RateLimited` when over a limit."""
        strategy = self._limiter.limiter
        for item in self.items:
            if not strategy.hit(item, self.scope, address):
                reset_at, _remaining = strategy.get_window_stats(item, self.scope, address)
                wait = max(1, int(reset_at - time.time()) + 1)
                raise RateLimited(ERRORS["rate_limited"].format(wait=wait), retry_after=wait)
