"""Webhook URLs: only public https destinations pass, however the address is spelled or
resolved, and the delivery can connect to the very address that was checked."""

import datetime as dt
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.webhooks.urls import UnsafeURL, check_url, pinned_request_kwargs, resolve_checked

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


def answers(*addresses: str) -> "Resolver":
    """A resolver that gives these answers for any host, and remembers what it was asked."""
    return Resolver(list(addresses))


@dataclass
class Resolver:
    addresses: list[str]
    asked: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.addresses


# --- what is accepted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "address"),
    [
        (f"https://{PUBLIC_V4}/hook", PUBLIC_V4),
        (f"https://{PUBLIC_V4}:8443/", PUBLIC_V4),
        (f"https://[{PUBLIC_V6}]/hook", PUBLIC_V6),
        ("https://[::ffff:93.184.216.34]/", "::ffff:93.184.216.34"),
    ],
)
def test_a_public_literal_address_is_accepted_without_dns(url: str, address: str) -> None:
    resolver = answers("10.0.0.1")  # would refuse, were it asked
    assert check_url(url) == url
    assert resolve_checked(url, resolver=resolver) == (url, [ipaddress.ip_address(address)])
    assert resolver.asked == []


def test_a_name_resolving_to_public_addresses_is_accepted() -> None:
    resolver = answers(PUBLIC_V4, PUBLIC_V6, PUBLIC_V4)
    url, addresses = resolve_checked("https://hooks.example.com/zoo?x=1", resolver=resolver)
    assert url == "https://hooks.example.com/zoo?x=1"
    assert addresses == [ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6)]
    assert resolver.asked == [("hooks.example.com", 443)]


def test_the_resolver_is_asked_for_the_port_of_the_url() -> None:
    resolver = answers(PUBLIC_V4)
    resolve_checked("http://hooks.example.com:8080/", allow_insecure=True, resolver=resolver)
    resolve_checked("http://hooks.example.com/", allow_insecure=True, resolver=resolver)
    assert resolver.asked == [("hooks.example.com", 8080), ("hooks.example.com", 80)]


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTPS://Hooks.Example.COM", "https://hooks.example.com/"),
        ("https://hooks.example.com.:443/a?b=c", "https://hooks.example.com/a?b=c"),
        ("https://hooks.example.com:08443/a?", "https://hooks.example.com:8443/a"),
        ("https://[2606:2800:0220:0001::0001]/", "https://[2606:2800:220:1::1]/"),
    ],
)
def test_the_url_comes_back_normalised(url: str, normalised: str) -> None:
    assert check_url(url) == normalised


@pytest.mark.parametrize("port", [1, 65535])
def test_any_port_from_1_to_65535_is_accepted(port: int) -> None:
    assert check_url(f"https://hooks.example.com:{port}/") == f"https://hooks.example.com:{port}/"


def test_a_url_of_2000_characters_is_accepted() -> None:
    url = "https://hooks.example.com/" + "a" * (2000 - len("https://hooks.example.com/"))
    assert check_url(url) == url


# --- scheme and syntax --------------------------------------------------------------------


def test_http_is_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeURL, match=r"must use https$"):
        check_url("http://hooks.example.com/")
    assert check_url("http://hooks.example.com/", allow_insecure=True) == (
        "http://hooks.example.com/"
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
        "gopher://hooks.example.com:70/_GET",
        "javascript:alert(1)",
        "hooks.example.com/hook",
        "//hooks.example.com/hook",
    ],
)
@pytest.mark.parametrize("allow_insecure", [False, True])
def test_other_schemes_are_refused(url: str, allow_insecure: bool) -> None:
    with pytest.raises(UnsafeURL, match="must use https"):
        check_url(url, allow_insecure=allow_insecure)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:secret@hooks.example.com/", "user name or password"),
        ("https://user@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com\\@127.0.0.1/", "user name or password"),
        ("https://hooks.example.com/" + "a" * 1975, "at most 2000 characters; this one has 2001"),
        ("https:///hook", "need a host"),
        ("https://", "need a host"),
        ("https://:443/", "need a host"),
        ("https://[]/", "not a valid URL"),
        ("https://hooks.example.com:0/", "port must be a number from 1 to 65535"),
        ("https://hooks.example.com:65536/", "port must be a number from 1 to 65535"),
        ("https://hooks.example.com:https/", "port must be a number from 1 to 65535"),
        ("https://hooks.example.com:/", "port must be a number from 1 to 65535"),
        ("https://hooks.example.com/#section", "fragment"),
        ("https://hooks.example.com/#", "fragment"),
        ("https://hooks.example.com/a b", "spaces or control characters"),
        ("https://hooks.example.com\t.evil/", "spaces or control characters"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "spaces or control characters"),
        ("https://::1/", "in brackets"),
        ("https://[fe80::1%25eth0]/", "zone"),
        ("https://[127.0.0.1]/", "cannot be in brackets"),
        ("https://[1:2:3]/", "not a valid URL"),
        ("https://hooks_example!.com/", "not a valid host name"),
        ("https://hooks..example.com/", "not a valid host name"),
        ("https://-hooks.example.com/", "not a valid host name"),
        ("https://%31%32%37.0.0.1/", "not an IPv4 address"),
        ("https://hooks%2eexample.com/", "not a valid host name"),
        ("https://" + "a" * 64 + ".example.com/", "not a valid host name"),
        ("https://bücher.example/", "ASCII form"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeURL, match=re.escape(message)):
        check_url(url, allow_private=True)


# --- addresses that are not public --------------------------------------------------------

# (address, what the message calls it). The multicast, reserved and site-local ones are
# "global" to ipaddress, so a check of is_global alone would let them through.
SPECIAL = "a special-purpose address (documentation, benchmarking and the like)"
NOT_PUBLIC = [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("0.0.0.0", "the unspecified address"),
    ("100.64.0.1", "a shared address (carrier-grade NAT)"),
    ("198.18.0.1", SPECIAL),
    ("192.0.2.1", SPECIAL),
    ("240.0.0.1", "a reserved address"),
    ("224.0.0.1", "a multicast address"),
    ("233.252.0.1", "a multicast address"),
    ("::1", "a loopback address"),
    ("::", "the unspecified address"),
    ("fd00::1", "a private address"),
    ("fe80::1", "a link-local address"),
    ("fec0::1", "a site-local address"),
    ("ff0e::1", "a multicast address"),
    ("2001:db8::1", SPECIAL),
    ("::ffff:127.0.0.1", "a loopback address (it carries 127.0.0.1)"),
    ("::ffff:169.254.169.254", "the cloud metadata address (it carries 169.254.169.254)"),
    ("64:ff9b::a00:1", "a private address (it carries 10.0.0.1)"),
    ("2002:a00:1::1", "a private address (it carries 10.0.0.1)"),
    ("::7f00:1", "a reserved address"),  # IPv4-compatible, long deprecated
]


@pytest.mark.parametrize(("address", "reason"), NOT_PUBLIC)
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str, reason: str) -> None:
    with pytest.raises(UnsafeURL) as refused:
        resolve_checked("https://hooks.example.com/", resolver=answers(address))
    assert str(refused.value) == f"hooks.example.com resolves to {address}, {reason}"


@pytest.mark.parametrize(("address", "reason"), NOT_PUBLIC)
def test_a_non_public_literal_address_is_refused(address: str, reason: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeURL) as refused:
        check_url(f"https://{host}/hook")
    assert str(refused.value) == f"{address} is {reason}"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]:8443/",
        "https://10.0.0.1:8443/",
    ],
)
def test_literal_addresses_are_refused_before_any_resolution(url: str) -> None:
    resolver = answers(PUBLIC_V4)
    with pytest.raises(UnsafeURL, match=r" is (a loopback|the cloud metadata|a private) "):
        resolve_checked(url, resolver=resolver)
    assert resolver.asked == []


@pytest.mark.parametrize(
    "good_first", [True, False], ids=["public-then-private", "private-then-public"]
)
def test_one_private_answer_among_public_ones_refuses(good_first: bool) -> None:
    both = [PUBLIC_V4, PUBLIC_V6, "10.0.0.1"]
    resolver = answers(*(both if good_first else both[::-1]))
    with pytest.raises(UnsafeURL, match=re.escape("resolves to 10.0.0.1, a private address")):
        resolve_checked("https://hooks.example.com/", resolver=resolver)


# --- numeric hosts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "meant"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("010.0.0.1", "8.0.0.1"),
        ("1572395042", PUBLIC_V4),  # refused too: the form, not the address, is the problem
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_ipv4_addresses_in_other_forms_are_refused(
    host: str, meant: str, allow_private: bool
) -> None:
    # getaddrinfo itself reads every one of these hosts as the address `meant`.
    assert socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)[0][4][0] == meant
    resolver = answers(PUBLIC_V4)
    with pytest.raises(UnsafeURL) as refused:
        resolve_checked(f"https://{host}/", allow_private=allow_private, resolver=resolver)
    assert str(refused.value) == (
        f"{host.lower()} is {meant} written another way; "
        "write IPv4 addresses as four decimal numbers, as in 93.184.216.34"
    )
    assert resolver.asked == []


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "example.123", "0xzz.com.0x"])
def test_a_host_ending_in_a_number_must_be_an_ipv4_address(host: str) -> None:
    with pytest.raises(UnsafeURL, match="is not an IPv4 address; write IPv4 addresses as"):
        check_url(f"https://{host}/", allow_private=True)


def test_a_name_with_numeric_labels_before_the_last_is_a_name() -> None:
    resolver = answers("127.0.0.1")  # as 127.0.0.1.nip.io would answer
    with pytest.raises(
        UnsafeURL, match=re.escape("127.0.0.1.nip.io resolves to 127.0.0.1, a loopback")
    ):
        resolve_checked("https://127.0.0.1.nip.io/", resolver=resolver)


# --- local names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://localhost/", "localhost is a local name (.localhost)"),
        ("https://LOCALHOST./", "localhost is a local name (.localhost)"),
        ("https://localhost:8443/hook", "localhost is a local name (.localhost)"),
        ("https://foo.localhost/", "foo.localhost is a local name (.localhost)"),
        ("https://localhost.localdomain/", "localhost.localdomain is a local name (.localdomain)"),
        (
            "https://metadata.google.internal/computeMetadata/v1/",
            "metadata.google.internal is a local name (.internal)",
        ),
        ("https://printer.local/", "printer.local is a local name (.local)"),
        ("https://router.home.arpa/", "router.home.arpa is a local name (.home.arpa)"),
        ("https://redis:6379/", "redis is a local name (a single label)"),
        ("https://metadata/computeMetadata/v1/", "metadata is a local name (a single label)"),
    ],
)
def test_local_names_are_refused_before_resolution(url: str, message: str) -> None:
    resolver = answers(PUBLIC_V4)
    with pytest.raises(UnsafeURL, match=re.escape(message)):
        check_url(url)
    with pytest.raises(UnsafeURL, match=re.escape(message)):
        resolve_checked(url, resolver=resolver)
    assert resolver.asked == []


def test_a_name_merely_ending_like_a_local_one_is_not_local() -> None:
    resolver = answers(PUBLIC_V4)
    url, _ = resolve_checked("https://notlocalhost.example/", resolver=resolver)
    assert url == "https://notlocalhost.example/"
    assert resolve_checked("https://hooks.internal.example/", resolver=resolver)[1]


# --- allow_private ------------------------------------------------------------------------


def test_allow_private_accepts_a_loopback_resolution() -> None:
    resolver = answers("127.0.0.1", "::1")
    with pytest.raises(UnsafeURL, match="loopback"):
        resolve_checked("https://receiver.test:8443/", resolver=resolver)
    url, addresses = resolve_checked(
        "https://receiver.test:8443/", allow_private=True, resolver=resolver
    )
    assert url == "https://receiver.test:8443/"
    assert addresses == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "https://[::1]/", "https://redis/"])
def test_allow_private_accepts_private_literals_and_local_names(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_insecure=True)
    assert check_url(url, allow_insecure=True, allow_private=True) == url


def test_allow_private_still_needs_https() -> None:
    with pytest.raises(UnsafeURL, match="must use https"):
        check_url("http://127.0.0.1:8000/hook", allow_private=True)


# --- resolution failures ------------------------------------------------------------------


def test_a_name_without_addresses_does_not_resolve() -> None:
    with pytest.raises(UnsafeURL, match=r"^hooks.example.com does not resolve \(no addresses\)$"):
        resolve_checked("https://hooks.example.com/", resolver=answers())


def test_a_resolver_error_means_the_name_does_not_resolve() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeURL, match=r"^hooks.example.com does not resolve \(Name or service"):
        resolve_checked("https://hooks.example.com/", resolver=failing)


def test_an_answer_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(
        UnsafeURL, match=re.escape("resolves to 'intranet.corp', not an IP address")
    ):
        resolve_checked("https://hooks.example.com/", resolver=answers("intranet.corp"))


# --- the system's own resolver (no public name resolves on this machine) -----------------


def test_the_system_resolver_refuses_localhost() -> None:
    with pytest.raises(UnsafeURL, match="localhost is a local name"):
        resolve_checked("https://localhost/")


def test_the_system_resolver_gives_localhost_s_loopback_addresses_when_allowed() -> None:
    url, addresses = resolve_checked("https://localhost:8443/", allow_private=True)
    assert url == "https://localhost:8443/"
    assert ipaddress.ip_address("127.0.0.1") in addresses
    assert all(a.is_loopback for a in addresses)


def test_an_unknown_name_does_not_resolve() -> None:
    with pytest.raises(UnsafeURL, match=r"^nonexistent\.invalid does not resolve \("):
        resolve_checked("https://nonexistent.invalid/hook")


# --- connecting to the checked address ----------------------------------------------------


def test_the_pinned_request_names_the_address_and_keeps_the_host() -> None:
    v6 = ipaddress.ip_address("2606:2800:220:1::1")
    assert pinned_request_kwargs("https://Hooks.Example.com:8443/a?b=c", v6) == {
        "url": "https://[2606:2800:220:1::1]:8443/a?b=c",
        "headers": {"Host": "hooks.example.com:8443"},
        "extensions": {"sni_hostname": "hooks.example.com"},
    }
    v4 = ipaddress.ip_address(PUBLIC_V4)
    # Plain http has no TLS to name; a literal address needs no other name.
    assert pinned_request_kwargs("http://hooks.example.com/", v4) == {
        "url": f"http://{PUBLIC_V4}/",
        "headers": {"Host": "hooks.example.com"},
    }
    assert pinned_request_kwargs(f"https://{PUBLIC_V4}/", v4) == {
        "url": f"https://{PUBLIC_V4}/",
        "headers": {"Host": PUBLIC_V4},
    }


@dataclass
class Receiver:
    port: int
    certificate: Path
    seen: list[tuple[str, str, bytes]]  # Host, path, body
    server_names: list[str | None]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """An https server on 127.0.0.1 whose certificate is for receiver.test only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("receiver.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    seen: list[tuple[str, str, bytes]] = []
    server_names: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers["Host"], self.path, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _sock, server_name, _ctx: server_names.append(server_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(server.server_address[1], cert_file, seen, server_names)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def trusting(receiver: Receiver) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(receiver.certificate))
    return httpx.Client(verify=context, trust_env=False, timeout=5)


def test_a_pinned_request_reaches_the_checked_address_under_its_own_name(
    receiver: Receiver,
) -> None:
    url, addresses = resolve_checked(
        f"https://receiver.test:{receiver.port}/hook?zoo=1",
        allow_private=True,
        resolver=answers("127.0.0.1"),
    )
    with trusting(receiver) as client:
        response = client.request("POST", **pinned_request_kwargs(url, addresses[0]), content=b"{}")
    assert response.status_code == 204
    assert receiver.seen == [(f"receiver.test:{receiver.port}", "/hook?zoo=1", b"{}")]
    assert receiver.server_names == ["receiver.test"]


def test_a_pinned_request_checks_the_certificate_against_the_host(receiver: Receiver) -> None:
    # The same address under a name the certificate does not carry: TLS must fail.
    url = f"https://other.test:{receiver.port}/hook"
    with trusting(receiver) as client, pytest.raises(httpx.ConnectError, match="certificate"):
        client.request(
            "POST", **pinned_request_kwargs(url, ipaddress.ip_address("127.0.0.1")), content=b""
        )
    assert receiver.seen == []
