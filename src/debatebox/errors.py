"""Errors the services raise; the web edges turn them into HTTP responses.

Each error carries a stable machine-readable ``code``, a human ``message`` in English
(the web edges give it in the reader's language, see :func:`debatebox.messages.said`),
optional per-field messages and the HTTP ``status`` that fits.
"""

from __future__ import annotations


class DebateBoxError(Exception):
    """Base class: something the caller asked for cannot be done."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code
        self.retry_after = retry_after

    def with_status(self, status: int) -> DebateBoxError:
        """This error with another HTTP status (for the few that have no class)."""
        self.status = status
        return self


class BadRequest(DebateBoxError):
    """The request cannot be understood (malformed JSON, unknown fields)."""


class ValidationError(DebateBoxError):
    """The request is understood but its values are not acceptable."""

    status = 422
    code = "invalid"


class Forbidden(DebateBoxError):
    """The request is refused: wrong origin, vetoed, bot check failed, bad token."""

    status = 403
    code = "forbidden"


class NotFound(DebateBoxError):
    status = 404
    code = "not_found"


class Conflict(DebateBoxError):
    """The request conflicts with the current state (closed thread, reused key)."""

    status = 409
    code = "conflict"


class Gone(DebateBoxError):
    """The thing existed but can no longer be acted on (edit window over)."""

    status = 410
    code = "gone"


class RateLimited(DebateBoxError):
    status = 429
    code = "rate_limited"


class Unavailable(DebateBoxError):
    """The database is too busy right now; the client may retry after a moment."""

    status = 503
    code = "unavailable"
