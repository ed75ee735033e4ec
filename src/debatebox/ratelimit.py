"""Per-IP (and per-email) limits on new comments, counted in Flask-Limiter's storage.

The limit uses Flask-Limiter's notation (``"10 per minute;100 per hour"``) and its
storage, so ``memory://`` works for one process and ``redis://`` shares the counters
between every worker and machine. Only comments that passed validation and the bot
checks are counted; the check runs inside the posting pipeline, not as a decorator.

:class:`LoginLimiter` counts the admin login page's failed logins per client address in
the same storage (``DEBATEBOX_RATE_LIMIT_STORAGE``).
"""

from __future__ import annotations

import time
from typing import Any

from limits import RateLimitItem, parse, parse_many
from limits.storage import MovingWindowSupport, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

from .errors import RateLimited
from .messages import ERRORS

SCOPE = "debatebox-post"
#: Failed logins allowed per client address, in ``limits`` notation.
LOGIN_LIMIT = "5 per 5 minutes"
_LOGIN_SCOPE = "debatebox-admin-login"


def _retry_after(strategy: RateLimiter, item: RateLimitItem, scope: str, key: str) -> int:
    """Whole seconds until ``key`` may try again under ``item`` (at least 1)."""
    reset_at, _remaining = strategy.get_window_stats(item, scope, key)
    return max(1, int(reset_at - time.time()) + 1)


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
                wait = _retry_after(strategy, item, self.scope, address)
                raise RateLimited(ERRORS["rate_limited"].format(wait=wait), retry_after=wait)


class LoginLimiter:
    """Counts failed logins per client address against :data:`LOGIN_LIMIT`.

    A moving window where the storage supports one (memory, Redis), else a fixed window.
    While an address is over the limit, every login from it is refused, right password
    or not; a successful login clears its count.
    """

    def __init__(self, storage_uri: str, spec: str = LOGIN_LIMIT) -> None:
        storage = storage_from_string(storage_uri)
        self.item: RateLimitItem = parse(spec)
        self._strategy: RateLimiter = (
            MovingWindowRateLimiter(storage)
            if isinstance(storage, MovingWindowSupport)
            else FixedWindowRateLimiter(storage)
        )

    def check(self, address: str) -> None:
        """Raise RateLimited while ``address`` has used up its failed attempts."""
        if self._strategy.test(self.item, _LOGIN_SCOPE, address):
            return
        wait = _retry_after(self._strategy, self.item, _LOGIN_SCOPE, address)
        minutes = (wait + 59) // 60
        raise RateLimited(
            f"Too many failed logins from your address. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            retry_after=wait,
        )

    def failed(self, address: str) -> None:
        self._strategy.hit(self.item, _LOGIN_SCOPE, address)

    def succeeded(self, address: str) -> None:
        self._strategy.clear(self.item, _LOGIN_SCOPE, address)
