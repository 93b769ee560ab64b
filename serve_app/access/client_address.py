"""The address a request comes from: the anonymous caller's identity (its rate-limit buckets)
and the key of its refused-key counter.

The peer is whoever opened the connection. Only a configured proxy (`trusted_proxies`) is
believed about whom it forwards for: `X-Forwarded-For`, to which each proxy appends the
address it saw, is read from the right through trusted hops, and the first address that is
no trusted proxy is the client. What lies left of it was written by the client or by proxies
nobody vouches for, so a client cannot choose its identity by sending the header itself.
"""

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[IPNetwork]) -> None:
        self._trusted = tuple(trusted_proxies)

    def of(self, peer: str | None, forwarded_for: Iterable[str]) -> str:
        """The client of a connection from `peer` (None: unknown) carrying these
        X-Forwarded-For values, in the order they came."""
        if peer is None:
            return "unknown"
        client = peer
        if not self._trusts(_address(peer)):
            return client
        hops = [hop for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:  # not an address: the trusted hop that wrote it is all we know
                return client
            client = str(address)
            if not self._trusts(address):
                return client
        return client  # every hop is a trusted proxy: the first one is the client

    def _trusts(self, address: IPAddress | None) -> bool:
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._trusted)


def _address(hop: str) -> IPAddress | None:
    """An X-Forwarded-For entry (`198.51.100.7`, `198.51.100.7:4711`, `2001:db8::7`,
    `[2001:db8::7]:4711`) as an address; None for anything else (`unknown`, a name)."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1 : hop.find("]")] if "]" in hop else hop
    elif hop.count(":") == 1:
        hop = hop.partition(":")[0]
    try:
        return ipaddress.ip_address(hop)
    except ValueError:
        return None
