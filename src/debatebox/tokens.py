"""Signed, expiring tokens, one salt per purpose.

A token made for one purpose (say, editing comment 7) is refused for any other purpose
and any other comment: the purpose is the itsdangerous salt and the object's id is part
of the signed payload. Nothing is stored server-side.
"""

from __future__ import annotations

import time
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

#: One salt per purpose; never reuse a salt for a new purpose.
EDIT = "debatebox.comment.edit"
FORM = "debatebox.form.timestamp"
CONFIRM = "debatebox.subscription.confirm"
UNSUBSCRIBE = "debatebox.subscription.unsubscribe"
MANAGE = "debatebox.subscriptions.manage"
READER = "debatebox.reader"
MODERATE = "debatebox.comment.moderate"


class TokenInvalid(Exception):
    """The token is malformed, forged, or made for something else."""


class TokenExpired(TokenInvalid):
    """The token was genuine but is too old."""

    def __init__(self, message: str, age: float) -> None:
        super().__init__(message)
        self.age = age


class Signer:
    """Makes and checks the tokens of one application."""

    def __init__(self, secret_key: str | bytes) -> None:
        self._secret_key = secret_key

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret_key, salt=purpose)

    def dumps(self, purpose: str, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def loads(self, purpose: str, token: str, *, max_age: float) -> tuple[Any, float]:
        """The payload and its age in seconds; raises TokenInvalid or TokenExpired."""
        if not isinstance(token, str) or not token or len(token) > 1000:
            raise TokenInvalid("The token is missing or malformed.")
        serializer = self._serializer(purpose)
        try:
            payload, signed_at = serializer.loads(token, return_timestamp=True)
        except SignatureExpired as error:
            signed = error.date_signed.timestamp() if error.date_signed else 0.0
            raise TokenExpired("The token has expired.", time.time() - signed) from error
        except (BadSignature, ValueError, TypeError) as error:
            raise TokenInvalid("The token is not valid.") from error
        if max_age is not None and time.time() - signed_at.timestamp() > max_age:
            raise TokenExpired("The token has expired.", time.time() - signed_at.timestamp())
        return payload, max(0.0, time.time() - signed_at.timestamp())

    # Purpose-specific helpers -------------------------------------------------------

    def edit_token(self, comment_id: int) -> str:
        return self.dumps(EDIT, {"c": comment_id})

    def check_edit_token(self, token: str, comment_id: int, *, max_age: float) -> None:
        payload, _age = self.loads(EDIT, token, max_age=max_age)
        if not isinstance(payload, dict) or payload.get("c") != comment_id:
            raise TokenInvalid("The token is for another comment.")

    def form_token(self) -> str:
        return self.dumps(FORM, {"f": 1})

    def form_age(self, token: str, *, max_age: float) -> float:
        payload, age = self.loads(FORM, token, max_age=max_age)
        if payload != {"f": 1}:
            raise TokenInvalid("The form token is not valid.")
        return age

    def subscriber_token(self, purpose: str, subscriber_id: int) -> str:
        """A manage or reader token: proof of one subscriber's address, by its id only (no
        address in the token, since these end up in URLs)."""
        return self.dumps(purpose, {"u": subscriber_id})

    def check_subscriber_token(self, purpose: str, token: str, *, max_age: float) -> int:
        payload, _age = self.loads(purpose, token, max_age=max_age)
        if not isinstance(payload, dict) or type(payload.get("u")) is not int:
            raise TokenInvalid("The token is not valid.")
        return int(payload["u"])
