"""serve_app.access.client_address: X-Forwarded-For believed only from trusted proxies."""

import ipaddress

import pytest

from serve_app.access.client_address import ClientAddresses

PROXIES = ClientAddresses([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
        ("203.0.113.7", ["10.0.0.1"], "203.0.113.7"),
        # A trusted proxy's word is taken for the hop it appended ...
        ("10.1.2.3", ["203.0.113.7"], "203.0.113.7"),
        ("10.1.2.3", [], "10.1.2.3"),
        # ... and for the chain through other trusted proxies, up to the first untrusted hop:
        # what the client wrote left of it does not count.
        ("10.1.2.3", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        ("10.1.2.3", ["198.51.100.1, 203.0.113.7, 10.9.9.9"], "203.0.113.7"),
        ("10.1.2.3", ["198.51.100.1", "203.0.113.7, 10.9.9.9"], "203.0.113.7"),  # two headers
        ("10.1.2.3", ["10.5.5.5, 10.9.9.9"], "10.5.5.5"),  # every hop trusted: the first
        # Ports, brackets, IPv6 and IPv4-mapped peers.
        ("10.1.2.3", ["203.0.113.7:4711"], "203.0.113.7"),
        ("::1", ["[2001:db8::7]:4711"], "2001:db8::7"),
        ("::ffff:10.1.2.3", ["2001:db8::7"], "2001:db8::7"),
        # Not an address: the trusted hop that wrote it is all that is known.
        ("10.1.2.3", ["203.0.113.7, unknown"], "10.1.2.3"),
        ("10.1.2.3", ["203.0.113.7, 10.9.9.9, "], "10.1.2.3"),
        (None, ["203.0.113.7"], "unknown"),
        ("testclient", ["203.0.113.7"], "testclient"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(
    peer: str | None, forwarded_for: list[str], client: str
) -> None:
    assert PROXIES.of(peer, forwarded_for) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert ClientAddresses([]).of("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"
