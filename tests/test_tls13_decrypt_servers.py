"""Raw TLS 1.3 hellos with real key shares read the server's EncryptedExtensions: the ALPN
choice a TLS 1.3 ServerHello does not show. Each suite and each group we hold keys for is
checked against a real openssl s_server; a group we hold no key for, a HelloRetryRequest
and a plain hello read nothing past the ServerHello."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import trio

from scanner import wire
from scanner.engine.connect import Address
from scanner.engine.contexts import ContextFactory
from scanner.engine.raw import RawOffer, RawOutcome, RawReply
from scanner.engine.session import ConnectionLimits, EndpointSession
from scanner.probes.shared.raw_hellos import RawHellos
from scanner.wire import TLSVersion

pytestmark = pytest.mark.servers

X25519, P256, P384, X448 = 29, 23, 24, 30


def _send(port: int, **fields: Any) -> RawReply:
    async def main() -> RawReply:
        session = EndpointSession(Address(socket.AF_INET, "127.0.0.1", port), "localhost",
                                  contexts=ContextFactory(), limits=ConnectionLimits(8, 4),
                                  timeout=5.0)
        suites = fields.pop("suites", (0x1301, 0x1302, 0x1303))
        return await RawHellos(session).send(
            RawOffer(TLSVersion.TLSv1_3, suites, sni="localhost", **fields))
    return trio.run(main)


@pytest.fixture
def alpn_server(openssl_server: Callable[..., Any]) -> Any:
    return openssl_server(verify="require", tls_versions=("1.2", "1.3"),
                          extra_args=["-alpn", "http/1.1,h2"])


@pytest.mark.parametrize("suite", [0x1301, 0x1302, 0x1303])
def test_each_suite_decrypts(alpn_server: Any, suite: int) -> None:
    reply = _send(alpn_server.port, suites=(suite,), alpn=("h2",), decrypt=True)
    assert reply.outcome is RawOutcome.server_hello and reply.cipher_suite == suite
    assert reply.encrypted_extensions is not None, reply.flight.decryption
    assert reply.encrypted_extensions.alpn_protocol == "h2"


@pytest.mark.parametrize("group", [X25519, P256, P384])
def test_each_key_share_group_decrypts(alpn_server: Any, group: int) -> None:
    reply = _send(alpn_server.port, groups=(group,), key_share_groups=(group,),
                  alpn=("spdy/1", "http/1.1"), decrypt=True)
    assert reply.key_exchange_group() == group
    assert reply.encrypted_extensions is not None, reply.flight.decryption
    assert reply.encrypted_extensions.alpn_protocol == "http/1.1"


def test_no_alpn_offered_reads_none_selected(alpn_server: Any) -> None:
    reply = _send(alpn_server.port, decrypt=True)
    assert reply.encrypted_extensions is not None
    assert reply.encrypted_extensions.alpn_protocol is None


def test_no_overlap_is_an_alert_before_any_key(alpn_server: Any) -> None:
    reply = _send(alpn_server.port, alpn=("imap",), decrypt=True)
    assert reply.outcome is RawOutcome.alert and reply.alert is not None
    assert reply.alert.name == "no_application_protocol"


def test_group_without_our_key_reads_nothing(alpn_server: Any) -> None:
    reply = _send(alpn_server.port, groups=(X448,), key_share_groups=(X448,), alpn=("h2",),
                  decrypt=True)
    assert reply.outcome is RawOutcome.server_hello
    assert reply.encrypted_extensions is None
    decryption = reply.flight.decryption
    assert decryption is not None and decryption.error is not None


def test_hello_retry_request_reads_nothing(alpn_server: Any) -> None:
    reply = _send(alpn_server.port, groups=(P256,), key_share_groups=(), alpn=("h2",),
                  decrypt=True)
    assert reply.outcome is RawOutcome.hello_retry_request
    assert reply.encrypted_extensions is None


def test_plain_hello_is_unchanged(alpn_server: Any) -> None:
    reply = _send(alpn_server.port, alpn=("h2",))
    assert reply.outcome is RawOutcome.server_hello
    assert reply.flight.decryption is None and reply.encrypted_extensions is None
    assert reply.flight.messages[-1][0] == wire.HandshakeType.server_hello
