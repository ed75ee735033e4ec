"""Administrators of the standalone server, and the settings moderators change on threads.

Accounts are made with ``debatebox create-admin`` (or ``flask debatebox create-admin``);
passwords are kept only as salted hashes (:func:`werkzeug.security.generate_password_hash`,
scrypt with a random salt), so two accounts with the same password have different hashes.
Failed logins are counted per client address by
:class:`debatebox.ratelimit.LoginLimiter`, in the same storage as the comment rate limit
(``DEBATEBOX_RATE_LIMIT_STORAGE``: memory or Redis).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .config import MODERATION_MODES
from .database import write
from .errors import Conflict, NotFound, ValidationError
from .models import Admin, Thread, audit, utcnow

#: Shortest password ``create-admin`` accepts.
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$")
#: Checked against when the username is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("debatebox: no such admin")


# Accounts -----------------------------------------------------------------------------


def create(session: Session, username: str, password: str) -> Admin:
    """Store a new administrator; ValidationError for a bad name or a short password,
    Conflict when the name is taken."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationError(
            "A username is 1 to 80 letters, digits or . _ @ + - characters.",
            fields={"username": "Not a valid username."},
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"A password has at least {MIN_PASSWORD_LENGTH} characters.",
            fields={"password": "Too short."},
        )
    password_hash = generate_password_hash(password)

    def work(session: Session) -> Admin:
        taken = session.scalar(sa.select(Admin.id).where(Admin.username == username))
        if taken is not None:
            raise Conflict(f"There is an administrator {username!r} already.", code="taken")
        admin = Admin(username=username, password_hash=password_hash, created_at=utcnow())
        session.add(admin)
        session.flush()
        return admin

    return write(session, work)


def authenticate(session: Session, username: str, password: str) -> Admin | None:
    """The administrator with this name and password (its ``last_login_at`` set to now),
    or ``None``. Takes as long for an unknown name as for a wrong password."""
    admin = session.scalar(sa.select(Admin).where(Admin.username == username.strip()))
    if admin is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(admin.password_hash, password):
        return None
    admin_id = admin.id

    def work(session: Session) -> Admin:
        found = session.get(Admin, admin_id)
        if found is None:
            raise NotFound("There is no such administrator.")
        found.last_login_at = utcnow()
        return found

    return write(session, work)


def session_key(admin_hash: str, secret: str) -> str:
    """A short key kept in the login cookie: a new password ends every open login."""
    return hmac.new(secret.encode(), admin_hash.encode(), hashlib.sha256).hexdigest()[:24]


def logged_in(session: Session, admin_id: object, key: object, secret: str) -> str | None:
    """The username of a login cookie's administrator, if the account and password are
    still those it was issued for."""
    if type(admin_id) is not int or not isinstance(key, str):
        return None
    row = session.execute(
        sa.select(Admin.username, Admin.password_hash).where(Admin.id == admin_id)
    ).first()
    if row is None or not hmac.compare_digest(session_key(row.password_hash, secret), key):
        return None
    return str(row.username)


# Thread settings ----------------------------------------------------------------------

#: A thread's moderation choices; ``""`` follows the site's ``DEBATEBOX_MODERATION``.
THREAD_MODES = ("", *MODERATION_MODES)
MAX_TITLE_LENGTH = 300


@dataclasses.dataclass(frozen=True)
class ThreadSettings:
    title: str
    #: ``None`` follows ``DEBATEBOX_MODERATION``.
    moderation: str | None
    closed: bool


def save_thread(
    session: Session, thread_id: int, settings: ThreadSettings, *, by: str
) -> list[str]:
    """Change a thread's title, moderation mode and closed flag; write what changed to the
    audit log and bump the thread's version (readers see the new title and state).

    Returns the changes, e.g. ``["closed: no → yes"]``; nothing is written when empty.
    """
    title = " ".join(settings.title.split())
    if len(title) > MAX_TITLE_LENGTH:
        raise ValidationError(
            f"A title has at most {MAX_TITLE_LENGTH} characters.", fields={"title": "Too long."}
        )
    if (settings.moderation or "") not in THREAD_MODES:
        raise ValidationError(
            "Moderation is the site default, open, first-time or all.",
            fields={"moderation": "Unknown mode."},
        )
    moderation = settings.moderation or None

    def work(session: Session) -> list[str]:
        thread = session.get(Thread, thread_id, with_for_update=True)
        if thread is None:
            raise NotFound("There is no such thread.")
        changes = []
        if thread.title != title:
            changes.append(f"title: {thread.title!r} → {title!r}")
            thread.title = title
        if thread.moderation != moderation:
            changes.append(
                f"moderation: {thread.moderation or 'default'} → {moderation or 'default'}"
            )
            thread.moderation = moderation
        if bool(thread.closed) != settings.closed:
            changes.append(
                f"closed: {'yes' if thread.closed else 'no'} → {'yes' if settings.closed else 'no'}"
            )
            thread.closed = settings.closed
        if changes:
            thread.version += 1
            session.add(audit(by, "thread", thread_id=thread.id, detail="; ".join(changes)))
        return changes

    return write(session, work)
