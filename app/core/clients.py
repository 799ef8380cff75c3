"""The client's address: the peer, or what a trusted proxy says in X-Forwarded-For."""

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks (ZWR_TRUSTED_PROXIES); a bare address is a /32 or /128."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(scope: Scope, proxies: tuple[Network, ...] = ()) -> str:
    """The address to count a client's requests by.

    X-Forwarded-For is read only when the peer is a trusted proxy, and then from the right:
    each trusted hop appended the address it saw, so the first untrusted one is the client
    (entries further left were written by the client and prove nothing)."""
    peer = scope.get("client")
    address: str = peer[0] if peer else "unknown"
    if not proxies or not _trusted(address, proxies):
        return address
    forwarded: list[str] = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    hops = [h.strip() for line in forwarded for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else address
