"""The client's IP address: the socket peer, or — only behind proxies the app trusts — the
right-most address in ``X-Forwarded-For`` that is not one of those proxies.

Every address is validated and bounded before it is used: what the throttle counts, what a
session records and what the events report is a canonical IP address or nothing. IPv6
clients are throttled per /64 (one subscriber usually holds a whole /64).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Scope

from authgate.config import Network
from authgate.limits.addresses import Address, parse_address


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
