"""ALPN questions answered by raw hellos give the same facts as full handshakes: each server
is scanned with the alpn probe answering every question with a handshake (the reference,
as before raw hellos answered them), with the alpn probe alone (no suite enumeration to
carry its questions: hellos of its own), and together with cipher_suites (whose TLS 1.2
hellos carry the questions in the clear, and whose TLS 1.3 hellos carry them and decrypt
EncryptedExtensions to read the answer)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scanner.probes.shared.enumeration import Enumerator
from scanner.results import Record

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]
EVERY = "h2,http/1.1,http/1.0,http/0.9,spdy/3.1,grpc-exp,acme-tls/1,imap"


def _servers(request: pytest.FixtureRequest, name: str) -> Any:
    if name == "nginx-h2":
        return request.getfixturevalue("nginx_server")(mode="none", http2=True), ()
    if name == "nginx-http1":  # h2 alone is rejected: a carried hello is refused
        return request.getfixturevalue("nginx_server")(mode="none"), ()
    if name in ("gnutls-fatal", "gnutls-ignored"):
        fatal = ["--alpn-fatal"] if name == "gnutls-fatal" else []
        return request.getfixturevalue("gnutls_server")(
            require_client_cert=False, request_client_cert=False, verify_client_cert=False,
            extra_args=["--alpn", "h2", "--alpn", "http/1.1", *fatal]), ()
    if name == "openssl-every":  # more questions than suite hellos
        return request.getfixturevalue("openssl_server")(
            verify=None, extra_args=["-alpn", EVERY]), ("imap", "pop3")
    if name == "openssl-tls13-certificate-required":  # only TLS 1.3 hellos can carry
        return request.getfixturevalue("openssl_server")(
            verify="require", tls_versions=("1.3",), extra_args=["-alpn", EVERY]), ()
    if name == "nginx-tls13-http1":  # TLS 1.3 only; h2 alone is rejected
        return request.getfixturevalue("nginx_server")(mode="none", tls_versions=("1.3",)), ()
    assert name == "openssl-tls12-certificate-required"
    return request.getfixturevalue("openssl_server")(
        verify="require", tls_versions=("1.2",), extra_args=["-alpn", "http/1.1"]), ()


@contextlib.contextmanager
def _handshakes_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The reference: no ALPN question gets a raw hello of its own (nor, without
    cipher_suites, a carried one), so each is asked with a full handshake."""
    async def no_hello(*_args: object) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(Enumerator, "alpn_hello", no_hello)
        yield


@pytest.mark.parametrize("name", ["nginx-h2", "nginx-http1", "gnutls-fatal", "gnutls-ignored",
                                  "openssl-every", "openssl-tls12-certificate-required",
                                  "openssl-tls13-certificate-required", "nginx-tls13-http1"])
def test_raw_answers_are_the_handshakes_answers(request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch,
                                                scan: Scan, name: str) -> None:
    server, extra = _servers(request, name)
    with _handshakes_only(monkeypatch):
        reference = scan(server.port, probes=("alpn",), alpn_extra=extra)
    alone = scan(server.port, probes=("alpn",), alpn_extra=extra)
    carried = scan(server.port, probes=("alpn", "cipher_suites"), alpn_extra=extra)
    records = (reference, alone, carried)
    assert all(r.status == "ok" for r in records), [(r.error, r.probe_errors) for r in records]
    assert reference.alpn is not None and alone.alpn is not None and carried.alpn is not None
    assert alone.alpn.model_dump() == reference.alpn.model_dump()
    assert carried.alpn.model_dump() == reference.alpn.model_dump()
    full = [r.stats.connections - r.stats.raw_connections for r in records]
    # the questions after the first took no handshake of their own (unless a refusal
    # other than no_application_protocol left it unclear which offer was refused)
    assert full[1] < full[0] and full[2] < full[0], full


@pytest.mark.parametrize(("curves", "http2"), [
    ("X25519:prime256v1:secp384r1", True),
    ("secp384r1:X25519", True),
    ("X25519:prime256v1:secp384r1", False),
])
def test_tls13_alpn_and_group_questions_share_hellos(nginx_server: Callable[..., Any],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     scan: Scan, curves: str,
                                                     http2: bool) -> None:
    """A TLS 1.3 suite hello carries a group question and an ALPN question together
    (secp384r1 first: some carried hellos get a HelloRetryRequest, which answers the group
    question only; without http2, an h2-only offer is refused, and whose question made the
    difference is unknown); every facet is the one each probe finds alone."""
    server = nginx_server(mode="none", tls_versions=("1.2", "1.3"), http2=http2,
                          extra_directives=f"ssl_ecdh_curve {curves};")
    probes = ("alpn", "groups", "cipher_suites")
    with _handshakes_only(monkeypatch):
        alone = {probe: scan(server.port, probes=(probe,)) for probe in probes}
    together = scan(server.port, probes=probes)
    assert together.status == "ok", (together.error, together.probe_errors)
    for probe in probes:
        facet, reference = getattr(together, probe), getattr(alone[probe], probe)
        assert facet is not None and reference is not None
        assert _without_counts(facet) == _without_counts(reference), probe
    full = [r.stats.connections - r.stats.raw_connections
            for r in (alone["alpn"], together)]
    assert full[1] < full[0], full


def _without_counts(facet: Any) -> Any:
    dumped = facet.model_dump()
    for entry in dumped.values():
        if isinstance(entry, dict):
            entry.pop("connections", None)
    return dumped



def _version_test_server(request: pytest.FixtureRequest, name: str) -> Any:
    if name.startswith("nginx"):
        return request.getfixturevalue("nginx_server")(
            mode="none", tls_versions=("1.2", "1.3"), http2=name == "nginx-h2")
    assert name == "gnutls-fatal-acme"  # neither h2 nor http/1.1: the carried hello is refused
    return request.getfixturevalue("gnutls_server")(
        require_client_cert=False, request_client_cert=False, verify_client_cert=False,
        extra_args=["--alpn", "acme-tls/1", "--alpn-fatal"])


@pytest.mark.parametrize("name", ["nginx-h2", "nginx-http1", "gnutls-fatal-acme"])
def test_tls13_version_test_carries_an_alpn_question(request: pytest.FixtureRequest,
                                                     scan: Scan, name: str) -> None:
    """The TLS 1.3 version test carries one of the alpn probe's questions (refused by
    GnuTLS, and then sent again plain): every fact read from the version test is the one a
    scan without alpn reads, and the alpn facts are those of the alpn probe alone."""
    server = _version_test_server(request, name)
    probes = ("protocols", "extensions", "cipher_suites", "groups", "engine_agreement")
    plain = scan(server.port, probes=probes)
    carried = scan(server.port, probes=(*probes, "alpn"))
    alpn_alone = scan(server.port, probes=("alpn",))
    for record in (plain, carried, alpn_alone):
        assert record.status == "ok", (record.error, record.probe_errors)
    for probe in probes:
        facet, reference = getattr(carried, probe), getattr(plain, probe)
        assert facet is not None and reference is not None
        assert _without_counts(facet) == _without_counts(reference), probe
    assert carried.alpn is not None and alpn_alone.alpn is not None
    assert carried.alpn.model_dump() == alpn_alone.alpn.model_dump()
