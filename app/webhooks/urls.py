"""Webhook URLs that cannot be aimed at the service's own network (SSRF).

A webhook makes the service send a request wherever a subscriber says. Left unchecked, a
subscriber could have it post to 127.0.0.1, to a database on the private network or to the
cloud metadata service at 169.254.169.254, and read the answers in the delivery log. So:

* `check_url` checks the text alone, without DNS: https only (http with `allow_insecure`), a
  host, no user:password, a port from 1 to 65535, at most 2,000 characters. A literal IP host
  is judged here, and so are local names (localhost, *.localhost, *.local, *.internal, which
  holds metadata.google.internal, *.home.arpa, *.localdomain, and single-label names such as
  `redis` or `metadata`, which only a local resolver or hosts file answers).
* `resolve_checked` then resolves the host and refuses it if any address is not public: one
  bad answer among good ones is enough, since the client may connect to any of them. It runs
  when a subscription is created and again before every delivery, because a name can point
  elsewhere later (DNS rebinding).
* `pinned_request_kwargs` has the delivery connect to the address just checked instead of
  resolving the name a second time, while the receiver still sees its own name in the Host
  header and in TLS (the server name sent and the name the certificate is checked against).

Decisions:

* A fragment (`#...`) is refused, not dropped: it is never sent, so a subscriber who put a
  token there learns it now rather than from a receiver that never sees it.
* A numeric host must be a dotted quad of decimal numbers (93.184.216.34). The other forms
  getaddrinfo accepts (2130706433, 0x7f000001, 0x7f.0.0.1, 017700000001, 127.1, all of them
  127.0.0.1) are refused outright, public or not and even with `allow_private`: they only
  serve to slip past checks like these.
* A host name must be ASCII (an internationalised name in its xn-- form), so the name checked
  is the name resolved. It is lower-cased and loses a trailing dot; a default port is dropped.
* `allow_private` (tests, or receivers on the same network by choice) accepts every address
  and every local name; the scheme, the syntax and "must resolve" still hold.

An address is public when `ipaddress` calls it global and it is not multicast, reserved or
site-local (some of those count as global). An IPv6 address that carries an IPv4 one
(::ffff:a.b.c.d, NAT64's 64:ff9b::a.b.c.d, 6to4's 2002:aabb:ccdd::) is judged by the IPv4
address, where the packets end up; Teredo (2001::/32) is not global to begin with.

The delivery must not follow redirects (each Location is a new URL to check) nor take a proxy
from the environment (httpx's trust_env=False), or the checked address is not the one reached.
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"https": 443, "http": 80}
# Names that only a local resolver answers: RFC 6761 (localhost), RFC 6762 (mDNS, .local),
# RFC 8375 (home.arpa), ICANN's private-use .internal, and the hosts files' localdomain.
LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "home.arpa")
METADATA_ADDRESS = ipaddress.IPv4Address("169.254.169.254")
PRIVATE_NETWORKS = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv6Network("fc00::/7"),
)
SHARED_NETWORK = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# A last label like these makes getaddrinfo read the whole host as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_PORT = re.compile(r"[0-9]{1,5}")


class UnsafeURL(ValueError):
    """A webhook URL the service will not send to; the message tells the subscriber why.

    A ValueError, so a pydantic validator that calls `check_url` reports a field error.
    """


@dataclass(frozen=True)
class _Target:
    """A webhook URL taken apart, its parts normalised."""

    scheme: str
    host: str  # a lower-case name, or the address as written in a URL ([...] for IPv6)
    port: int
    address: IPAddress | None  # the host, when it is a literal IP
    path: str  # the path and query

    @property
    def netloc(self) -> str:
        if self.port == DEFAULT_PORTS[self.scheme]:
            return self.host
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


def check_url(url: str, *, allow_insecure: bool = False, allow_private: bool = False) -> str:
    """The normalised URL, or UnsafeURL: syntax, scheme, literal addresses and local names,
    without DNS, so it can validate a request body."""
    return _check(url, allow_insecure=allow_insecure, allow_private=allow_private).url


def resolve_checked(
    url: str,
    *,
    allow_insecure: bool = False,
    allow_private: bool = False,
    resolver: Resolver | None = None,
) -> tuple[str, list[IPAddress]]:
    """`check_url`, then every address the host resolves to (A and AAAA, through
    getaddrinfo unless `resolver` is given), refused if any is not public. Run at creation
    and before every delivery, since a name may resolve elsewhere by then.

    Returns the normalised URL and the addresses, to connect to one of them and no other.
    """
    target = _check(url, allow_insecure=allow_insecure, allow_private=allow_private)
    if target.address is not None:
        return target.url, [target.address]
    addresses: list[IPAddress] = []
    for answer in _resolve(target.host, target.port, resolver or _system_resolver):
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            raise UnsafeURL(f"{target.host} resolves to {answer!r}, not an IP address") from None
        reason = None if allow_private else _non_public(address)
        if reason is not None:
            raise UnsafeURL(f"{target.host} resolves to {_show(address)}, {reason}")
        if address not in addresses:
            addresses.append(address)
    return target.url, addresses


def pinned_request_kwargs(url: str, address: IPAddress) -> dict[str, Any]:
    """The url, headers and extensions for an httpx request that connects to `address` (one
    `resolve_checked` returned) instead of resolving the host again, which could answer
    differently this time.

    The URL names the address, so httpx does no DNS; the Host header keeps the subscriber's
    host, and so does TLS: httpx sends the "sni_hostname" extension as the server name and
    checks the certificate against it. Use as
    `client.request("POST", **kwargs, content=body)`, adding your headers to kwargs["headers"].
    httpx pools connections by scheme, address and port: a client shared by receivers whose
    names resolve to one address may send one's request over the TLS connection checked for
    the other, so keep a client per receiver host or turn keep-alive off.
    """
    target = _parse(url, allow_insecure=True)
    host = f"[{_show(address)}]" if address.version == 6 else str(address)
    port = "" if target.port == DEFAULT_PORTS[target.scheme] else f":{target.port}"
    kwargs: dict[str, Any] = {
        "url": f"{target.scheme}://{host}{port}{target.path}",
        "headers": {"Host": target.netloc},
    }
    if target.scheme == "https" and target.address is None:
        kwargs["extensions"] = {"sni_hostname": target.host}
    return kwargs


def _check(url: str, *, allow_insecure: bool, allow_private: bool) -> _Target:
    target = _parse(url, allow_insecure=allow_insecure)
    if allow_private:
        return target
    if target.address is not None:
        reason = _non_public(target.address)
        if reason is not None:
            raise UnsafeURL(f"{_show(target.address)} is {reason}")
    else:
        _refuse_local_name(target.host)
    return target


def _parse(url: str, *, allow_insecure: bool) -> _Target:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(
            f"webhook URLs may be at most {MAX_URL_LENGTH} characters; this one has {len(url)}"
        )
    # urlsplit would quietly drop tabs and newlines, and an HTTP client might not.
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UnsafeURL("webhook URLs cannot contain spaces or control characters")
    if "#" in url:
        raise UnsafeURL("webhook URLs cannot have a fragment (#...): it is never sent")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_insecure and scheme == "http"):
        allowed = "https or http" if allow_insecure else "https"
        shown = f", not {scheme}" if scheme and scheme != "http" else ""
        raise UnsafeURL(f"webhook URLs must use {allowed}{shown}")
    if "@" in parts.netloc:
        raise UnsafeURL("webhook URLs cannot carry a user name or password (user:pass@host)")
    host, port = _split_netloc(parts.netloc)
    address: IPAddress | None
    if host.startswith("["):
        address = _ipv6_literal(host[1:-1])
        host = f"[{_show(address)}]"
    else:
        host = host.lower().removesuffix(".")
        address = _ipv4_literal(host)
        if address is None:
            _check_name(host)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(scheme, host, port or DEFAULT_PORTS[scheme], address, path)


def _split_netloc(netloc: str) -> tuple[str, int | None]:
    """The host (IPv6 still in brackets) and the port, if one is given."""
    if netloc.startswith("["):
        end = netloc.find("]") + 1
        host, rest = netloc[:end], netloc[end:]
    else:
        host, colon, port = netloc.partition(":")
        if ":" in port:
            raise UnsafeURL("an IPv6 address goes in brackets, as in https://[2001:db8::1]/")
        rest = colon + port
    if not host.strip("[]"):
        raise UnsafeURL("webhook URLs need a host")
    if not rest:
        return host, None
    if not rest.startswith(":"):
        raise UnsafeURL(f"{netloc} is not a host and port")
    port = rest[1:]
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise UnsafeURL(f"the port must be a number from 1 to 65535, not {port!r}")
    return host, int(port)


def _ipv6_literal(text: str) -> ipaddress.IPv6Address:
    if "%" in text:
        raise UnsafeURL("webhook URLs cannot name an IPv6 zone (%...)")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise UnsafeURL(f"[{text}] is not an IPv6 address") from None


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The address, if the host is one: getaddrinfo reads a host whose last label is numeric
    as an IPv4 address in any of inet_aton's forms, so only the dotted quad gets through."""
    if not _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2]):
        return None
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        pass
    try:
        meant = f"{host} is {ipaddress.IPv4Address(socket.inet_aton(host))} written another way; "
    except OSError:
        meant = f"{host} is not an IPv4 address; "
    raise UnsafeURL(f"{meant}write IPv4 addresses as four decimal numbers, as in 93.184.216.34")


def _check_name(host: str) -> None:
    if not host.isascii():
        raise UnsafeURL(f"write the host {host} in its ASCII form (xn--...)")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise UnsafeURL(f"{host} is not a valid host name")


def _refuse_local_name(host: str) -> None:
    for suffix in LOCAL_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            raise UnsafeURL(f"{host} is a local name (.{suffix}), not a public host")
    if "." not in host:
        raise UnsafeURL(f"{host} is a local name (a single label); use the host's full name")


def _non_public(address: IPAddress) -> str | None:
    """Why `address` is no place to send a webhook, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = _non_public(embedded)
            return None if reason is None else f"{reason} (it carries {embedded})"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address == METADATA_ADDRESS:
        return "the cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in PRIVATE_NETWORKS):
        return "a private address"
    if address in SHARED_NETWORK:
        return "a shared address (carrier-grade NAT)"
    if address.is_reserved:
        return "a reserved address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:
        return "a special-purpose address (documentation, benchmarking and the like)"
    return None


def _show(address: IPAddress) -> str:
    """The address as written, an IPv4-mapped one in the dotted form people recognise."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _resolve(host: str, port: int, resolver: Resolver) -> list[str]:
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        why = getattr(exc, "strerror", None) or exc
        raise UnsafeURL(f"{host} does not resolve ({why})") from None
    if not answers:
        raise UnsafeURL(f"{host} does not resolve (no addresses)")
    return answers


def _system_resolver(host: str, port: int) -> list[str]:
    """The A and AAAA answers, as the operating system gives them (hosts file, then DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for _family, _type, _proto, _name, sockaddr in infos]
