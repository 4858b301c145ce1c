"""Client addresses as the limits count them: a canonical IP address, an IPv6 client per
/64 (one subscriber usually holds a whole /64), and one shared bucket for a request
without an address (failing closed)."""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# the longest text form of an IPv6 address (with an embedded IPv4 tail)
MAX_ADDRESS_LENGTH = 45
IPV6_BUCKET_PREFIX = 64
UNKNOWN_CLIENT = "unknown"


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
