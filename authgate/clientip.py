"""The client's IP address: the socket peer, or — only behind proxies the app trusts — the
right-most address in ``X-Forwarded-For`` that is not one of those proxies.

Every address is validated and bounded before it is used: what the throttle counts, what a
session records and what the events report is a canonical IP address or nothing. IPv6
clients are throttled per /64 (one subscriber usually holds a whole /64).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# the longest text form of an IPv6 address (with an embedded IPv4 tail)
MAX_ADDRESS_LENGTH = 45
IPV6_BUCKET_PREFIX = 64
UNKNOWN_CLIENT = "unknown"


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``10.0.0.0/8``, ``127.0.0.1``, ``::1`` ... as networks.

    Raises:
        ValueError: a value is not an address or network.
    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def parse_address(value: str) -> Address | None:
    """``value`` as an IP address (an IPv4-mapped IPv6 address as its IPv4), else ``None``.

    Longer than any address, or carrying an IPv6 zone (``%eth0``), is not an address.
    """
    if not value or len(value) > MAX_ADDRESS_LENGTH or "%" in value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(scope: Scope, trusted_proxies: tuple[Network, ...] = ()) -> str:
    """The canonical client address of ``scope`` ("" when there is none).

    ``X-Forwarded-For`` counts only when the socket peer is a trusted proxy; a malformed
    chain is not evidence of anything, so the socket peer is used then.
    """
    client = scope.get("client")
    peer = parse_address(str(client[0])) if client else None
    if peer is None:
        return ""
    if not _within(peer, trusted_proxies):
        return str(peer)
    forwarded = ",".join(Headers(scope=scope).getlist("x-forwarded-for"))
    chain = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    hops = [parse_address(hop) for hop in chain]
    for hop in reversed(hops):
        if hop is None:
            return str(peer)
        if not _within(hop, trusted_proxies):
            return str(hop)
    return str(hops[0]) if hops else str(peer)


def throttle_bucket(ip: str) -> str:
    """What one client is counted under: its IPv4 address, its IPv6 /64, or ``unknown``
    for a request without an address (one shared bucket: failing closed)."""
    address = parse_address(ip)
    if address is None:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_BUCKET_PREFIX), strict=False)
        return str(network)
    return str(address)
