"""Every ``DEBATEBOX_*`` setting, its default and its meaning, in one place.

Settings are read once, when :meth:`debatebox.DebateBox.init_app` runs, into a frozen
:class:`Settings`. The host application's ``app.config`` wins over these defaults; the
standalone server fills ``app.config`` from environment variables of the same names
(see :func:`from_environ`). ``docs/configuration.md`` is the reference for users.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from typing import Any

#: Where the blueprint is mounted: the widget, the JSON API and the admin live below it.
URL_PREFIX = "/debatebox"
#: SQLAlchemy URL of the comment database when the host passes no ``db``. ``None`` means
#: an SQLite file ``debatebox.sqlite3`` in the application's instance folder.
#: ``postgresql://`` and ``mysql://``/``mariadb://`` URLs get the psycopg / PyMySQL driver.
DATABASE_URL: str | None = None
#: With a host Flask-SQLAlchemy ``db``: the bind key whose engine holds the comment tables
#: (``None`` = the host's default database).
BIND: str | None = None
#: Host-page origins (``https://example.org``) allowed to write and to read with CORS.
#: A list, or one comma-separated string. The server's own origin is always allowed.
ORIGINS: tuple[str, ...] = ()
#: Whether a post for an unknown thread key creates the thread (only from allowed origins).
AUTO_CREATE_THREADS = True
#: Replies nest this many levels below a top-level comment (depth 0). Deeper replies are
#: shown at this depth and say whom they answer.
MAX_DEPTH = 3
#: Top-level comments per page when the request names no ``limit``.
PAGE_SIZE = 50
#: The largest ``limit`` a reader may ask for.
MAX_PAGE_SIZE = 1000
#: Order of top-level comments when the request names none: ``oldest`` or ``newest``.
DEFAULT_SORT = "oldest"
#: Seconds during which an author may edit or delete a comment with its edit token.
EDIT_WINDOW = 15 * 60
#: Whether readers must give an email address (never shown to anyone).
REQUIRE_EMAIL = True
#: Longest author name, in characters.
MAX_NAME_LENGTH = 80
#: Longest comment body, in characters.
MAX_BODY_LENGTH = 10_000
#: Largest request body the API accepts, in bytes (413 beyond it).
MAX_REQUEST_BYTES = 64 * 1024
#: Longest thread key, in characters.
MAX_KEY_LENGTH = 255
#: A form posted sooner than this many seconds after it was served is refused (bots).
MIN_FILL_SECONDS = 3.0
#: A form token older than this many seconds is refused; the reader reloads the form.
FORM_MAX_AGE = 24 * 60 * 60
#: Per-IP limit on new comments, in Flask-Limiter notation (``"5 per minute;50 per day"``).
#: Empty turns it off.
RATE_LIMIT = "10 per minute;100 per hour"
#: Where rate-limit counters live: ``memory://`` (one process) or ``redis://host:6379``
#: so that every worker shares them.
RATE_LIMIT_STORAGE = "memory://"
#: Proxies whose ``X-Forwarded-For`` is believed: IP addresses or CIDR networks.
TRUSTED_PROXIES: tuple[str, ...] = ()
#: Moderation mode for new comments: ``open`` (publish), ``first-time`` (hold until the
#: author's email has an approved comment) or ``all`` (hold every comment).
MODERATION = "open"
#: Use Gravatar images for authors with an email (the email's MD5 goes to gravatar.com).
#: Off by default: avatars are identicons made on this server.
GRAVATAR = False
#: Outgoing mail server, ``smtp://user:password@host:587?starttls=1`` or ``smtps://…``
#: (``None``: no mail is sent).
SMTP_URL: str | None = None
#: Public base URL of the comment server (``https://comments.example.org``), used for the
#: links in emails. ``None``: the URL the request that caused the email came in on.
PUBLIC_URL: str | None = None
#: The site's name in emails and on the subscription pages.
SITE_NAME = "debatebox"
#: Sender of every email: an address, or ``Name <address>``.
MAIL_FROM = "debatebox <noreply@localhost>"
#: Reply-To of every email (``None``: none).
MAIL_REPLY_TO: str | None = None
#: Who delivers queued mail: ``thread`` (a background thread in each web process, fine
#: for small sites and the demo) or ``worker`` (only ``debatebox deliver-mail`` processes).
MAIL_DELIVERY = "thread"
#: Delivery attempts before a message is given up (temporary failures are retried).
MAIL_MAX_ATTEMPTS = 8
#: Seconds before the first retry; each further retry waits twice as long (at most a day).
MAIL_RETRY_DELAY = 60
#: At most one confirmation email per address in this many seconds.
CONFIRM_INTERVAL = 600
#: Seconds a confirmation link stays valid.
CONFIRM_MAX_AGE = 7 * 24 * 60 * 60
#: Seconds an unsubscribe link (in every email) stays valid.
UNSUBSCRIBE_MAX_AGE = 400 * 24 * 60 * 60
#: Seconds a "manage my subscriptions" link stays valid.
MANAGE_MAX_AGE = 30 * 24 * 60 * 60
#: Seconds the reader token kept by the widget after a confirmation stays valid; with it,
#: the same reader subscribes again without a new confirmation.
READER_MAX_AGE = 365 * 24 * 60 * 60
#: Whether authors get an email when their held comment is published by a moderator.
NOTIFY_AUTHORS = False
#: Threads close for new comments this many days after they were created (0: never).
CLOSE_AFTER_DAYS = 0
#: Per-email limit on new comments (Flask-Limiter notation, in the rate-limit storage);
#: empty turns it off.
EMAIL_RATE_LIMIT = "5 per minute;100 per day"
#: Whether the built-in spam checks run (:mod:`debatebox.spam`; see docs/moderation.md).
SPAM_CHECKS = True
#: More links than this in one comment holds it.
SPAM_MAX_LINKS = 2
#: Words and phrases, email addresses, and email/website domains that hold (or reject,
#: with ``BLOCKED_ACTION = "reject"``) a comment. Lists, or comma-separated strings.
BLOCKED_WORDS: tuple[str, ...] = ()
BLOCKED_EMAILS: tuple[str, ...] = ()
BLOCKED_DOMAINS: tuple[str, ...] = ()
BLOCKED_ACTION = "hold"
#: The same text again within this many seconds (same email, or same thread) is refused
#: as a duplicate; 0 turns the check off.
DUPLICATE_WINDOW = 24 * 60 * 60
#: An Akismet API key turns Akismet's comment-check on (``None``: off).
AKISMET_KEY: str | None = None
#: Akismet's API (a test server on loopback in the tests).
AKISMET_ENDPOINT = "https://rest.akismet.com"
#: Shown under the comment form while Akismet is on.
PRIVACY_NOTICE = "This site uses Akismet to reduce spam."
#: A page saying how comment data is processed, linked after the notice (``None``: none).
PRIVACY_URL: str | None = None
#: Readers' reports (each reader counts once) that take a published comment back to the
#: moderation queue. 0 turns reporting off.
REPORTS_TO_HOLD = 3
#: Moderators' email addresses: a list, or one comma-separated string. They get an email
#: with signed Approve / Reject / Spam / Delete links for every held comment.
MODERATORS: tuple[str, ...] = ()
#: Which new comments are mailed to the moderators: ``held`` or ``all``.
MODERATOR_EMAILS = "held"
#: Seconds a moderation link stays valid.
MODERATION_LINK_MAX_AGE = 7 * 24 * 60 * 60
#: Key for signed tokens. ``None`` uses the application's ``SECRET_KEY``.
SECRET_KEY: str | None = None
#: Whether the standalone server (``debatebox serve``, ``create_app()``) and the demo
#: create or upgrade the schema when they start. Host applications run
#: ``flask debatebox upgrade`` instead.
AUTO_UPGRADE = True

_DEFAULTS: dict[str, Any] = {
    name: value for name, value in globals().items() if name.isupper() and not name.startswith("_")
}
KEYS: tuple[str, ...] = tuple(f"DEBATEBOX_{name}" for name in _DEFAULTS)
#: The deepest ``MAX_DEPTH`` allowed: the widget's nesting fits a 320 px wide screen up to
#: here (a browser test checks). Not a setting, so defined after the defaults.
MAX_DISPLAY_DEPTH = 8
MODERATION_MODES = ("open", "first-time", "all")
SORTS = ("oldest", "newest")
MAIL_DELIVERIES = ("thread", "worker")


class ConfigError(ValueError):
    """A ``DEBATEBOX_*`` setting has a value debatebox cannot use."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The settings of one application, read once at ``init_app``."""

    url_prefix: str
    database_url: str | None
    bind: str | None
    origins: tuple[str, ...]
    auto_create_threads: bool
    max_depth: int
    page_size: int
    max_page_size: int
    default_sort: str
    edit_window: int
    require_email: bool
    max_name_length: int
    max_body_length: int
    max_request_bytes: int
    max_key_length: int
    min_fill_seconds: float
    form_max_age: int
    rate_limit: str
    rate_limit_storage: str
    trusted_proxies: tuple[str, ...]
    moderation: str
    gravatar: bool
    smtp_url: str | None
    secret_key: str | None
    auto_upgrade: bool
    public_url: str | None
    site_name: str
    mail_from: str
    mail_reply_to: str | None
    mail_delivery: str
    mail_max_attempts: int
    mail_retry_delay: int
    confirm_interval: int
    confirm_max_age: int
    unsubscribe_max_age: int
    manage_max_age: int
    reader_max_age: int
    notify_authors: bool
    close_after_days: int
    email_rate_limit: str
    spam_checks: bool
    spam_max_links: int
    blocked_words: tuple[str, ...]
    blocked_emails: tuple[str, ...]
    blocked_domains: tuple[str, ...]
    blocked_action: str
    duplicate_window: int
    akismet_key: str | None
    akismet_endpoint: str
    privacy_notice: str
    privacy_url: str | None
    reports_to_hold: int
    moderators: tuple[str, ...]
    moderator_emails: str
    moderation_link_max_age: int

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Settings:
        """Build settings from an ``app.config``-like mapping, defaults filling the gaps."""
        values: dict[str, Any] = {}
        for name, default in _DEFAULTS.items():
            raw = config.get(f"DEBATEBOX_{name}", default)
            values[name.lower()] = _coerce(name, raw, default)
        if values["public_url"]:
            values["public_url"] = values["public_url"].rstrip("/")
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        if self.moderation not in MODERATION_MODES:
            raise ConfigError(
                f"DEBATEBOX_MODERATION must be one of {', '.join(MODERATION_MODES)},"
                f" not {self.moderation!r}."
            )
        if self.default_sort not in SORTS:
            raise ConfigError(f"DEBATEBOX_DEFAULT_SORT must be one of {', '.join(SORTS)}.")
        if not 1 <= self.max_depth <= MAX_DISPLAY_DEPTH:
            raise ConfigError(
                f"DEBATEBOX_MAX_DEPTH must be from 1 to {MAX_DISPLAY_DEPTH}: deeper nesting"
                " does not fit a 320 px wide screen."
            )
        if not 1 <= self.page_size <= self.max_page_size:
            raise ConfigError("DEBATEBOX_PAGE_SIZE must be between 1 and DEBATEBOX_MAX_PAGE_SIZE.")
        if not self.url_prefix.startswith("/") or self.url_prefix.endswith("/"):
            raise ConfigError("DEBATEBOX_URL_PREFIX must start with '/' and not end with one.")
        if not 1 <= self.max_name_length <= 200:
            raise ConfigError("DEBATEBOX_MAX_NAME_LENGTH must be between 1 and 200.")
        if not 1 <= self.max_key_length <= 255:
            raise ConfigError("DEBATEBOX_MAX_KEY_LENGTH must be between 1 and 255.")
        if not 1 <= self.max_body_length <= 100_000:
            raise ConfigError("DEBATEBOX_MAX_BODY_LENGTH must be between 1 and 100000.")
        try:
            for entry in self.trusted_proxies:
                ipaddress.ip_network(entry, strict=False)
        except ValueError as error:
            raise ConfigError(f"DEBATEBOX_TRUSTED_PROXIES: {error}.") from error
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise ConfigError("DEBATEBOX_SMTP_URL must start with smtp:// or smtps://.")
        if self.mail_delivery not in MAIL_DELIVERIES:
            raise ConfigError(
                f"DEBATEBOX_MAIL_DELIVERY must be one of {', '.join(MAIL_DELIVERIES)}."
            )
        if self.blocked_action not in ("hold", "reject"):
            raise ConfigError("DEBATEBOX_BLOCKED_ACTION must be hold or reject.")
        if self.privacy_url and not self.privacy_url.startswith(("http://", "https://")):
            raise ConfigError("DEBATEBOX_PRIVACY_URL must be an http(s) address.")
        if self.moderator_emails not in ("held", "all"):
            raise ConfigError("DEBATEBOX_MODERATOR_EMAILS must be held or all.")
        for address in self.moderators:
            if "@" not in address or any(c in address for c in " <>,\r\n"):
                raise ConfigError(f"DEBATEBOX_MODERATORS: {address!r} is not an email address.")
        if self.mail_max_attempts < 1 or self.mail_retry_delay < 1:
            raise ConfigError(
                "DEBATEBOX_MAIL_MAX_ATTEMPTS and DEBATEBOX_MAIL_RETRY_DELAY must be 1 or more."
            )
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ConfigError("DEBATEBOX_PUBLIC_URL looks like https://comments.example.org.")
        for name in ("mail_from", "mail_reply_to", "site_name"):
            value = getattr(self, name) or ""
            if "\r" in value or "\n" in value:
                raise ConfigError(f"DEBATEBOX_{name.upper()} must be on one line.")
        for origin in self.origins:
            if origin.count("/") != 2 or not origin.startswith(("http://", "https://")):
                raise ConfigError(
                    f"DEBATEBOX_ORIGINS entries look like https://example.org, not {origin!r}."
                )


def parse_flag(raw: str, *, otherwise: bool = False) -> bool:
    """A yes/no setting written as text: ``1``/``true``/``yes``/``on`` or
    ``0``/``false``/``no``/``off`` (any case, spaces around); anything else is ``otherwise``."""
    word = raw.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    return otherwise


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if raw is None or (raw == "" and default is None):
        return None
    try:
        if isinstance(default, bool):
            return parse_flag(raw) if isinstance(raw, str) else bool(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"DEBATEBOX_{name} has an unusable value {raw!r}: {exc}") from exc
    return str(raw) if isinstance(raw, str | int | float) else raw


def from_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``DEBATEBOX_*`` variables of the environment, for ``app.config.update``."""
    environ = os.environ if environ is None else environ
    return {key: environ[key] for key in KEYS if key in environ}
