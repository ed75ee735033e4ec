"""Client addresses: who is really asking, and what of it may be stored."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def parse_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """``("10.0.0.1", "192.168.0.0/16")`` as networks; raises ValueError on a typo."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _in(address: str, networks: Iterable[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted: tuple[str, ...]
) -> str:
    """The client's address, believing ``X-Forwarded-For`` only from trusted proxies.

    The header is read from the right: every hop that is itself a trusted proxy is
    skipped, and the first other address is the client. A request that does not come
    from a trusted proxy is taken at its word, whatever its headers say.
    """
    address = (remote_addr or "").strip()
    if not trusted or not forwarded_for or not _in(address, parse_networks(trusted)):
        return address
    networks = parse_networks(trusted)
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _in(hop, networks):
            return hop if _is_ip(hop) else address
        address = hop
    return address


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def truncate(address: str) -> str:
    """The address with its host part cut off: /24 for IPv4, /48 for IPv6.

    This is what is stored; unparsable input gives ``""``.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)
