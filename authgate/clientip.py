"""The client's IP address: the socket peer, or — only behind proxies the app trusts — the
right-most address in ``X-Forwarded-For`` that is not one of those proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``10.0.0.0/8``, ``127.0.0.1``, ``::1`` ... as networks.

    Raises:
        ValueError: a value is not an address or network.
    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(scope: Scope, trusted_proxies: tuple[Network, ...] = ()) -> str:
    """The client address of ``scope``; ``X-Forwarded-For`` counts only from a trusted peer."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if not trusted_proxies or not _within(peer, trusted_proxies):
        return peer
    forwarded = ",".join(Headers(scope=scope).getlist("x-forwarded-for"))
    chain = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(chain):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain is not evidence of anything: use the socket
        if not _within(hop, trusted_proxies):
            return hop
    return chain[0] if chain else peer
