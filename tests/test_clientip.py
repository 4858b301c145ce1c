"""``client_ip`` and ``parse_networks``: whose address a request is counted and recorded under."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.types import Scope

from authgate.config import parse_networks
from authgate.http.clientip import client_ip
from authgate.limits.addresses import throttle_bucket

PROXIES = parse_networks(["10.0.0.0/8", "192.0.2.1"])


def scope_from(peer: str | None, *forwarded_for: str) -> Scope:
    """An HTTP scope from socket peer ``peer`` with one header per ``forwarded_for`` value."""
    headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for]
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"host", b"testserver"), *headers],
        "client": (peer, 5000) if peer is not None else None,
    }


def test_parse_networks_accepts_addresses_and_networks() -> None:
    networks = parse_networks([" 10.0.0.0/8 ", "127.0.0.1", "::1", "2001:db8::/32", "10.1.2.3/8"])
    assert networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("2001:db8::/32"),
        ipaddress.ip_network("10.0.0.0/8"),  # host bits are tolerated, not an error
    )


@pytest.mark.parametrize("value", ["not-an-ip", "10.0.0.0/33", "", "300.1.1.1"])
def test_parse_networks_refuses_what_is_not_an_address(value: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_networks(["127.0.0.1", value])


def test_without_trusted_proxies_the_socket_peer_counts_even_with_forwarded_for() -> None:
    scope = scope_from("198.51.100.4", "1.2.3.4")
    assert client_ip(scope) == "198.51.100.4"
    assert client_ip(scope, ()) == "198.51.100.4"


def test_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    assert client_ip(scope_from("198.51.100.4", "1.2.3.4"), PROXIES) == "198.51.100.4"


def test_a_trusted_peer_without_forwarded_for_is_the_client() -> None:
    assert client_ip(scope_from("10.0.0.5"), PROXIES) == "10.0.0.5"
    assert client_ip(scope_from("10.0.0.5", " , "), PROXIES) == "10.0.0.5"


def test_a_trusted_peer_yields_the_right_most_untrusted_hop() -> None:
    # the client forged the first entry; our proxies appended the rest
    scope = scope_from("10.0.0.5", "6.6.6.6, 198.51.100.23, 192.0.2.1, 10.9.9.9")
    assert client_ip(scope, PROXIES) == "198.51.100.23"


def test_all_hops_trusted_yields_the_left_most() -> None:
    assert client_ip(scope_from("10.0.0.5", "10.1.1.1, 192.0.2.1, 10.2.2.2"), PROXIES) == "10.1.1.1"


@pytest.mark.parametrize(
    "header",
    ["198.51.100.23, garbage, 10.2.2.2", "unknown", "198.51.100.23:8080", "1.2.3.4, 10.0.0.0/8"],
)
def test_a_malformed_hop_falls_back_to_the_socket_peer(header: str) -> None:
    assert client_ip(scope_from("10.0.0.5", header), PROXIES) == "10.0.0.5"


def test_a_malformed_hop_left_of_the_client_does_not_matter() -> None:
    # parsing stops at the first untrusted hop from the right; what the client wrote is moot
    assert client_ip(scope_from("10.0.0.5", "garbage, 198.51.100.23"), PROXIES) == "198.51.100.23"


def test_ipv6_peers_and_hops() -> None:
    proxies = parse_networks(["2001:db8:ffff::/48"])
    assert client_ip(scope_from("2001:db8:1::9", "2001:db8:2::1"), proxies) == "2001:db8:1::9"
    scope = scope_from("2001:db8:ffff::1", "2001:db8:2::1, 2001:db8:ffff::2")
    assert client_ip(scope, proxies) == "2001:db8:2::1"
    mixed = scope_from("2001:db8:ffff::1", "198.51.100.23")
    assert client_ip(mixed, proxies) == "198.51.100.23"


def test_several_forwarded_for_headers_are_one_list_in_order() -> None:
    scope = scope_from("10.0.0.5", "198.51.100.23, 10.3.3.3", "198.51.100.99", "10.4.4.4")
    assert client_ip(scope, PROXIES) == "198.51.100.99"
    all_trusted = scope_from("10.0.0.5", "10.3.3.3", "10.4.4.4")
    assert client_ip(all_trusted, PROXIES) == "10.3.3.3"


def test_no_client_in_scope_is_an_empty_address() -> None:
    assert client_ip(scope_from(None, "198.51.100.23"), PROXIES) == ""
    assert client_ip(scope_from(None)) == ""


@pytest.mark.parametrize(
    "peer",
    ["1" * 3000, "not-an-address", "fe80::1%eth0", "fe80::1%" + "x" * 40, "", "10.0.0.1:80"],
)
def test_a_peer_that_is_not_an_address_is_no_address(peer: str) -> None:
    assert client_ip(scope_from(peer)) == ""
    assert client_ip(scope_from(peer, "198.51.100.23"), PROXIES) == ""


def test_addresses_are_canonical() -> None:
    assert client_ip(scope_from("2001:DB8:0:0::1")) == "2001:db8::1"
    assert client_ip(scope_from("::ffff:198.51.100.4")) == "198.51.100.4"  # IPv4-mapped
    assert client_ip(scope_from("10.0.0.5", "::FFFF:198.51.100.4"), PROXIES) == "198.51.100.4"


def test_an_over_long_forwarded_hop_falls_back_to_the_socket_peer() -> None:
    assert client_ip(scope_from("10.0.0.5", "1" * 3000), PROXIES) == "10.0.0.5"


@pytest.mark.parametrize(
    ("ip", "bucket"),
    [
        ("198.51.100.4", "198.51.100.4"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("", "unknown"),
        ("x" * 3000, "unknown"),
    ],
)
def test_clients_are_throttled_per_ipv4_address_and_per_ipv6_64(ip: str, bucket: str) -> None:
    assert throttle_bucket(ip) == bucket
    assert len(throttle_bucket(ip)) <= 45
