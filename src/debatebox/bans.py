"""Bans: IP ranges, email addresses and email domains whose comments are held or refused.

A ban has an action (``hold`` or ``reject``) and an optional expiry; an expired ban
matches nothing and is kept for the record. Every change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .database import write
from .errors import NotFound, ValidationError
from .models import Ban, audit, utcnow

KINDS = ("ip", "email", "domain")
BAN_ACTIONS = ("hold", "reject")
#: The longest value a ban can store (``Ban.value``; an email address's limit).
VALUE_LENGTH = 254


def normalize(kind: str, value: str) -> str:
    """The canonical form of a ban's value; raises ValidationError when it is not one."""
    value = value.strip().lower()
    if len(value) > VALUE_LENGTH:
        raise ValidationError(f"At most {VALUE_LENGTH} characters.", fields={"value": "Too long."})
    if kind == "ip":
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError as error:
            raise ValidationError(
                "An IP address or network, like 203.0.113.7 or 203.0.113.0/24.",
                fields={"value": "Not an IP address or network."},
            ) from error
    if kind == "email":
        if value.count("@") != 1 or not value.split("@")[1] or " " in value:
            raise ValidationError("An email address.", fields={"value": "Not an email address."})
        return value
    if kind == "domain":
        value = value.lstrip("@").rstrip(".")
        if not value or "." not in value or any(c in value for c in " @/"):
            raise ValidationError("A domain, like example.org.", fields={"value": "Not a domain."})
        return value
    raise ValidationError("Ban an ip, email or domain.", fields={"kind": "Unknown kind."})


def add(
    session: Session,
    *,
    kind: str,
    value: str,
    action: str = "hold",
    reason: str = "",
    expires_at: dt.datetime | None = None,
    by: str = "",
) -> Ban:
    """Store a ban (and its audit entry) in one transaction."""
    if action not in BAN_ACTIONS:
        raise ValidationError("A ban holds or rejects.", fields={"action": "hold or reject."})
    value = normalize(kind, value)

    def work(session: Session) -> Ban:
        ban = Ban(
            kind=kind,
            value=value,
            action=action,
            reason=reason[:300],
            created_by=by[:100],
            created_at=utcnow(),
            expires_at=expires_at,
        )
        session.add(ban)
        session.add(audit(by, "ban", detail=f"{kind} {value}"))
        session.flush()
        return ban

    return write(session, work)


def lift(session: Session, ban_id: int, *, by: str = "") -> None:
    """End a ban now (it stays in the list, expired)."""

    def work(session: Session) -> None:
        ban = session.get(Ban, ban_id)
        if ban is None:
            raise NotFound("There is no such ban.")
        ban.expires_at = utcnow()
        session.add(audit(by, "unban", detail=f"{ban.kind} {ban.value}"))

    write(session, work)


def _in_force(now: dt.datetime | None) -> sa.ColumnElement[bool]:
    """In SQL: the ban has not expired (at ``now``, default the current time)."""
    return sa.or_(Ban.expires_at.is_(None), Ban.expires_at > (now or utcnow()))


def is_active(ban: Ban, now: dt.datetime | None = None) -> bool:
    """:func:`_in_force` for a loaded ban: it has not expired."""
    return ban.expires_at is None or ban.expires_at > (now or utcnow())


def active(session: Session, now: dt.datetime | None = None) -> list[Ban]:
    return list(session.scalars(sa.select(Ban).where(_in_force(now)).order_by(Ban.id.desc())))


def match(
    session: Session, *, ip: str | None, email: str | None, now: dt.datetime | None = None
) -> Ban | None:
    """The strongest active ban matching an address or email (``reject`` before ``hold``)."""
    email = (email or "").lower()
    domain = email.rsplit("@", 1)[1] if "@" in email else ""
    domains = {".".join(domain.split(".")[i:]) for i in range(len(domain.split(".")))} - {""}
    conditions = [Ban.kind == "ip"]
    if email:
        conditions.append(sa.and_(Ban.kind == "email", Ban.value == email))
    if domains:
        conditions.append(sa.and_(Ban.kind == "domain", Ban.value.in_(domains)))
    found = session.scalars(sa.select(Ban).where(sa.or_(*conditions), _in_force(now))).all()
    address = _address(ip)
    hits = [
        ban
        for ban in found
        if ban.kind != "ip"
        or (address is not None and address in ipaddress.ip_network(ban.value, strict=False))
    ]
    hits.sort(key=lambda ban: ban.action != "reject")
    return hits[0] if hits else None


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip) if ip else None
    except ValueError:
        return None
