"""A scripted TLS server for suites and versions no local TLS stack can still serve.

OpenSSL 3.x (nginx, s_server) and GnuTLS were built without RC4, and 3DES, SSLv3 and SSLv2
are gone from them too, yet real legacy listeners still accept them. This stub answers a
ClientHello the way such a listener does — a ServerHello picking by its configured
preference, a downgrade to its highest version, an alert, or an SSLv2 SERVER-HELLO — and
then closes. It never completes a handshake: the raw engine does not need one.

It parses the client's hello with ``scanner.wire`` (whose parser is tested against byte
strings and OpenSSL's own ClientHellos), and builds its answers byte by byte here.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from scanner import wire

from .processes import TcpServer, tcp_server

HANDSHAKE_FAILURE = 40
PROTOCOL_VERSION = 70
_EXT_RENEGOTIATION_INFO = 0xFF01


@dataclass(frozen=True)
class StubPolicy:
    """What the stub accepts: suites per version (in its preference order), SSLv2 kinds."""

    suites: Mapping[int, Sequence[int]]
    sslv2_kinds: Sequence[int] = ()
    server_order: bool = True
    echo_renegotiation_info: bool = True
    extra_extensions: Sequence[tuple[int, bytes]] = field(default_factory=tuple)
    always_pick: int | None = None  # misbehave: select this suite whatever was offered
    max_suites: int | None = None  # hang up on hellos offering more (size intolerance)
    sslv2_to_everything: bool = False  # misbehave: an SSLv2 SERVER-HELLO to any hello
    deflate: bool = False  # select DEFLATE compression (RFC 3749) when offered (CRIME)


def _record(content_type: int, version: int, payload: bytes) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(payload).to_bytes(
        2, "big") + payload


def _alert(description: int, version: int = 0x0301) -> bytes:
    return _record(21, version, bytes([2, description]))


def _server_hello(version: int, suite: int, session_id: bytes,
                  extensions: Sequence[tuple[int, bytes]], compression: int = 0) -> bytes:
    body = version.to_bytes(2, "big") + os.urandom(32) + bytes([len(session_id)]) + session_id
    body += suite.to_bytes(2, "big") + bytes([compression])
    if extensions:
        block = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d
                         for t, d in extensions)
        body += len(block).to_bytes(2, "big") + block
    message = b"\x02" + len(body).to_bytes(3, "big") + body
    done = b"\x0e\x00\x00\x00"  # ServerHelloDone
    return _record(22, version, message + done)


def _sslv2_server_hello(kinds: Sequence[int]) -> bytes:
    specs = b"".join(kind.to_bytes(3, "big") for kind in kinds)
    certificate = b"\x30\x03\x02\x01\x00"  # not a certificate; the probe does not read it
    connection_id = os.urandom(16)
    body = (b"\x04\x00\x01" + (0x0002).to_bytes(2, "big") + len(certificate).to_bytes(2, "big")
            + len(specs).to_bytes(2, "big") + len(connection_id).to_bytes(2, "big")
            + certificate + specs + connection_id)
    return (0x8000 | len(body)).to_bytes(2, "big") + body


def _receive(conn: socket.socket, server: TcpServer) -> bytes:
    """One whole SSLv2 record or TLS handshake record from the client."""
    conn.settimeout(0.05)
    data = b""
    while not server.stopping.is_set():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return data
        data += chunk
        if data[0] & 0x80 and len(data) >= 2 and len(data) >= 2 + wire.sslv2_record_length(
                data[:2]):
            return data
        if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
            return data
    return data


def answer(policy: StubPolicy, request: bytes) -> bytes:
    """The stub's reply to one client record (pure, so it can be tested on its own)."""
    if policy.sslv2_to_everything:
        return _sslv2_server_hello(policy.sslv2_kinds)
    if request[0] & 0x80:
        offered = request[11 : 11 + int.from_bytes(request[5:7], "big")]
        offered_kinds = {int.from_bytes(offered[i : i + 3], "big")
                         for i in range(0, len(offered), 3)}
        kinds = [kind for kind in policy.sslv2_kinds if kind in offered_kinds]
        if not policy.sslv2_kinds:
            return _alert(PROTOCOL_VERSION)
        if not kinds:
            return (0x8003).to_bytes(2, "big") + b"\x00\x00\x01"  # ERROR NO-CIPHER
        return _sslv2_server_hello(kinds)
    message = request[5 : 5 + int.from_bytes(request[3:5], "big")]
    _msg_type, body = wire.split_handshake(message)
    hello = wire.parse_client_hello(body)
    if policy.max_suites is not None and len(hello.cipher_suites) > policy.max_suites:
        return b""  # close without a word, as intolerant middleboxes do
    # Like a pre-TLS 1.3 server: read legacy_version only, answer the highest version it
    # has that does not exceed it.
    usable = [v for v in policy.suites if v <= hello.legacy_version]
    if not usable:
        return _alert(PROTOCOL_VERSION)
    version = max(usable)
    preference = policy.suites[version]
    if policy.server_order:
        chosen = next((s for s in preference if s in hello.cipher_suites), None)
    else:
        chosen = next((s for s in hello.cipher_suites if s in preference), None)
    if policy.always_pick is not None:
        chosen = policy.always_pick
    if chosen is None:
        return _alert(HANDSHAKE_FAILURE, version)
    extensions = list(policy.extra_extensions)
    secure = (hello.offers(_EXT_RENEGOTIATION_INFO)
              or wire.SCSV_EMPTY_RENEGOTIATION_INFO in hello.cipher_suites)
    if policy.echo_renegotiation_info and secure and hello.extensions is not None:
        extensions.append((_EXT_RENEGOTIATION_INFO, b"\x00"))
    compression = 1 if policy.deflate and 1 in hello.compression_methods else 0
    return _server_hello(version, chosen, hello.session_id, extensions, compression)


@contextlib.contextmanager
def stub_server(policy: StubPolicy) -> Iterator[TcpServer]:
    """A 127.0.0.1 listener answering each ClientHello per ``policy``, then closing."""

    def handle(conn: socket.socket, server: TcpServer) -> None:
        request = _receive(conn, server)
        if not request:
            return
        try:
            reply = answer(policy, request)
        except wire.WireError as exc:
            server.note(f"bad ClientHello: {exc}")
            reply = _alert(50)  # decode_error
        if reply:
            conn.sendall(reply)
        server.note(f"answered {len(request)} bytes with {reply[:6].hex()}")
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)

    with tcp_server(handle, name="tls-stub") as server:
        yield server
