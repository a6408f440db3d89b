"""One fuzz target per sans-IO parser in ``scanner.wire`` and per STARTTLS preamble and
post-handshake check in ``scanner.starttls``, with seed inputs.

A target takes arbitrary bytes and must either parse them or raise ``WireError`` (a
``PreambleError`` for ``scanner.starttls``): anything else (IndexError, ValueError,
RecursionError, a hang) is a bug. Targets whose parser depends
on the negotiated protocol version take it from the first input byte. Every derived property
of a parsed result is read too, so lazily decoded fields are fuzzed as well.

Shared by ``fuzz.py`` (atheris, coverage-guided) and ``tests`` (seeds must parse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scanner import starttls, wire
from tests.support import tlsbytes as tb  # the tests' byte builders make the seeds

VERSIONS = (0x0300, 0x0301, 0x0302, 0x0303, 0x0304)


def _version_and_body(data: bytes) -> tuple[int, bytes]:
    if not data:
        return 0x0303, b""
    return VERSIONS[data[0] % len(VERSIONS)], data[1:]


def _exercise(value: object) -> None:
    """Read every public attribute, so properties that decode lazily run too.

    Lazily decoded properties may raise ``WireError`` on a malformed extension (that is their
    documented answer, as for any parser); anything else is a crash.
    """
    for attribute in dir(value):
        if not attribute.startswith("_"):
            try:
                member = getattr(value, attribute)
            except wire.WireError:
                continue
            if not callable(member):
                str(member)


def _versioned(parse: Callable[..., object]) -> Callable[[bytes], object]:
    def target(data: bytes) -> object:
        version, body = _version_and_body(data)
        return parse(body, version=version)

    return target


def _handshake_message(data: bytes) -> object:
    version, body = _version_and_body(data)
    message = wire.parse_handshake_message(body, version=version)
    if message.parsed is not None:
        _exercise(message.parsed)
    return message


def _record_tracker(data: bytes) -> object:
    """Feed the stream in chunks whose sizes come from the first byte."""
    tracker = wire.RecordTracker()
    chunk = 1 + (data[0] if data else 0)
    for position in range(1, len(data), chunk):
        tracker.feed(data[position:position + chunk])
    assert len(tracker.handshake_headers) <= 64
    return tracker


def _http_exchange(exchange_type: Callable[[wire.HttpRequest], wire.HttpExchange]
                   ) -> Callable[[bytes], object]:
    """Feed a server's answer in chunks whose sizes come from the first byte, then a close."""
    def target(data: bytes) -> object:
        exchange = exchange_type(wire.HttpRequest())
        exchange.start()
        chunk = 1 + (data[0] if data else 0)
        for position in range(1, len(data), chunk):
            exchange.feed(data[position:position + chunk])
        exchange.feed(b"")
        assert exchange.finished
        return exchange.response

    return target


def _sniff(data: bytes) -> object:
    assert isinstance(wire.looks_like_tls(data), bool)
    assert wire.describe_non_tls(data).isprintable()
    return None


@dataclass(frozen=True)
class Target:
    """A parser of ``scanner.wire`` and how to call it with one fuzz input."""

    parser: object
    run: Callable[[bytes], object]


def _direct(parser: Callable[[bytes], object]) -> Target:
    return Target(parser, parser)


def _chunks(data: bytes) -> list[bytes]:
    """The input after its first byte, cut in chunks whose size that byte gives."""
    size = 1 + (data[0] if data else 0)
    return [data[start:start + size] for start in range(1, len(data), size)]


def _preamble(protocol: str) -> Target:
    """A fresh preamble fed the server's side of the conversation, then closed."""
    def run(data: bytes) -> object:
        machine = starttls.preamble_for(protocol, "example.com")
        assert machine is not None
        machine.start()
        for chunk in _chunks(data):
            machine.feed(chunk)
        if not machine.done:
            machine.closed()  # must raise PreambleError
            raise AssertionError("closed() returned")
        return None

    return Target(type(starttls.preamble_for(protocol, "example.com")), run)


def _check(protocol: str) -> Target:
    def run(data: bytes) -> object:
        check = starttls.check_for(protocol)
        assert check is not None
        check.request()
        for chunk in _chunks(data):
            answer = check.feed(chunk)
            if answer is not None:
                assert answer.summary.isprintable()
                return answer
        return None

    return Target(type(starttls.check_for(protocol)), run)


STARTTLS_PROTOCOLS = tuple(p for p in starttls.PROTOCOLS if p != starttls.TLS)
CHECKED_PROTOCOLS = tuple(p for p in STARTTLS_PROTOCOLS if starttls.check_for(p) is not None)


TARGETS: dict[str, Target] = {
    "handshake_message": Target(wire.parse_handshake_message, _handshake_message),
    "server_hello": _direct(wire.parse_server_hello),
    "certificate_request": Target(wire.parse_certificate_request,
                                  _versioned(wire.parse_certificate_request)),
    "new_session_ticket": Target(wire.parse_new_session_ticket,
                                 _versioned(wire.parse_new_session_ticket)),
    "certificate": Target(wire.parse_certificate, _versioned(wire.parse_certificate)),
    "encrypted_extensions": _direct(wire.parse_encrypted_extensions),
    "certificate_status": _direct(wire.parse_certificate_status),
    "extensions": _direct(wire.parse_extensions),
    "alpn": _direct(wire.parse_alpn_extension),
    "signature_algorithms": _direct(wire.parse_signature_algorithms_extension),
    "certificate_authorities": _direct(wire.parse_certificate_authorities_extension),
    "oid_filters": _direct(wire.parse_oid_filters_extension),
    "supported_versions": _direct(wire.parse_supported_versions_server),
    "key_share": _direct(wire.parse_key_share_server),
    "handshake_header": _direct(wire.parse_handshake_header),
    "split_handshake": _direct(wire.split_handshake),
    "split_handshake_stream": _direct(wire.split_handshake_stream),
    "record_header": _direct(wire.parse_record_header),
    "alert": _direct(wire.parse_alert),
    "distinguished_name": _direct(wire.parse_distinguished_name),
    "decode_oid": _direct(wire.decode_oid),
    "record_tracker": Target(wire.RecordTracker, _record_tracker),
    "client_hello": _direct(wire.parse_client_hello),
    "sslv2_message": _direct(wire.parse_sslv2_message),
    "next_protocol_negotiation": _direct(wire.parse_next_protocol_negotiation_extension),
    "renegotiation_info": _direct(wire.parse_renegotiation_info_extension),
    "ec_point_formats": _direct(wire.parse_ec_point_formats_extension),
    "ecdhe_server_key_exchange": _direct(wire.parse_ecdhe_server_key_exchange),
    "dhe_server_key_exchange": _direct(wire.parse_dhe_server_key_exchange),
    "sniff_looks_like_tls": Target(wire.looks_like_tls, _sniff),
    "sniff_describe_non_tls": Target(wire.describe_non_tls, _sniff),
    **{f"starttls_{protocol}": _preamble(protocol) for protocol in STARTTLS_PROTOCOLS},
    **{f"starttls_check_{protocol}": _check(protocol) for protocol in CHECKED_PROTOCOLS},
    "http1_exchange": Target(wire.Http1Exchange, _http_exchange(wire.Http1Exchange)),
    "http2_exchange": Target(wire.Http2Exchange, _http_exchange(wire.Http2Exchange)),
}


def run_one(name: str, data: bytes) -> None:
    """The fuzzing contract: parse or WireError."""
    try:
        result = TARGETS[name].run(data)
    except (wire.WireError, starttls.PreambleError):
        return
    _exercise(result)


# --- seeds: valid inputs to start from ----------------------------------------------------

_DN = bytes.fromhex("30153113301106035504030c0a4578616d706c65204341")
_TLS12, _TLS13 = 3, 4  # indexes into VERSIONS for the version byte


def seeds(name: str) -> list[bytes]:
    """A few valid inputs for ``name`` (the version byte included where one is read)."""
    cr12 = tb.certificate_request(ca_names=tb.vec(2, tb.vec(2, _DN)))[4:]
    cr13 = (tb.vec(1, b"") + tb.vec(2, tb.ext(13, tb.vec(2, tb.u16s(0x0403)))
            + tb.ext(47, tb.vec(2, tb.vec(2, _DN)))
            + tb.ext(48, tb.vec(2, tb.vec(1, bytes.fromhex("551d25")) + tb.vec(2, b"\x30\x00")))))
    server_hello = tb.server_hello(extensions=tb.ext(0xFF01, b"\x00"))[4:]
    hello13 = tb.tls13_server_hello(b"\x01" * 32)[4:]
    ticket12 = tb.new_session_ticket(b"t" * 16)[4:]
    ticket13 = (b"\x00" * 8 + tb.vec(1, b"n") + tb.vec(2, b"t")
                + tb.vec(2, tb.ext(42, b"\x00\x00\x40\x00")))
    cert12 = tb.certificate(b"\x30\x03\x02\x01\x01")[4:]
    cert13 = (tb.vec(1, b"") + tb.vec(3, tb.vec(3, b"\x30\x00")
                                      + tb.vec(2, tb.ext(5, b"\x01" + tb.vec(3, b"\x30\x00")))))
    alpn = tb.vec(2, tb.vec(1, b"h2") + tb.vec(1, b"http/1.1"))
    by_name: dict[str, list[bytes]] = {
        "handshake_message": [bytes([_TLS12]) + tb.handshake(13, cr12),
                              bytes([_TLS13]) + tb.handshake(13, cr13),
                              bytes([_TLS13]) + tb.handshake(2, hello13),
                              bytes([_TLS13]) + tb.handshake(4, ticket13),
                              bytes([_TLS13]) + tb.handshake(11, cert13)],
        "server_hello": [server_hello, hello13],
        "certificate_request": [bytes([_TLS12]) + cr12, bytes([_TLS13]) + cr13],
        "new_session_ticket": [bytes([_TLS12]) + ticket12, bytes([_TLS13]) + ticket13],
        "certificate": [bytes([_TLS12]) + cert12, bytes([_TLS13]) + cert13],
        "encrypted_extensions": [tb.vec(2, tb.ext(16, alpn))],
        "certificate_status": [b"\x01" + tb.vec(3, b"\x30\x03\x0a\x01\x00")],
        "extensions": [tb.vec(2, tb.ext(0, b"") + tb.ext(16, alpn))],
        "alpn": [alpn],
        "signature_algorithms": [tb.vec(2, tb.u16s(0x0403, 0x0804))],
        "certificate_authorities": [tb.vec(2, tb.vec(2, _DN))],
        "oid_filters": [tb.vec(2, tb.vec(1, bytes.fromhex("551d25")) + tb.vec(2, b"\x30\x00"))],
        "supported_versions": [b"\x03\x04"],
        "key_share": [b"\x00\x1d" + tb.vec(2, b"k" * 32), b"\x00\x17"],
        "handshake_header": [b"\x02\x00\x00\x46"],
        "split_handshake": [tb.handshake(14, b"")],
        "split_handshake_stream": [tb.handshake(2, server_hello) + tb.handshake(14, b"")[:2]],
        "record_header": [b"\x16\x03\x03\x00\x40"],
        "alert": [b"\x02\x28"],
        "distinguished_name": [_DN, b"\x30\x00"],
        "decode_oid": [bytes.fromhex("2a864886f70d010901")],
        "record_tracker": [b"\x07" + tb.records(22, tb.handshake(2, server_hello), fragment=9)
                           + tb.record(20, b"\x01") + tb.record(23, b"x" * 30)],
        "client_hello": [wire.encode_client_hello(wire.ClientHello(
            legacy_version=0x0303, random=b"r" * 32, session_id=b"", cipher_suites=(0x1301,),
            extensions=(wire.server_name_extension("example.com"),
                        wire.supported_versions_extension((0x0304, 0x0303)),
                        wire.alpn_extension(("h2",)))))[4:]],
        # SERVER-HELLO: type, hit, cert type, version, 3 lengths, certificate, specs, id
        "sslv2_message": [b"\x04\x00\x01\x00\x02\x00\x02\x00\x03\x00\x10"
                          + b"\x30\x00" + b"\x01\x00\x80" + b"i" * 16, b"\x00\x00\x01"],
        "next_protocol_negotiation": [b"\x02h2\x08http/1.1", b""],
        "renegotiation_info": [b"\x00"],
        "ec_point_formats": [b"\x01\x00"],
        "ecdhe_server_key_exchange": [b"\x03\x00\x1d" + tb.vec(1, b"k" * 32)
                                      + b"\x04\x03" + tb.vec(2, b"s" * 8)],
        "dhe_server_key_exchange": [tb.vec(2, b"\xff" * 127 + b"\x61") + tb.vec(2, b"\x02")
                                    + tb.vec(2, b"y" * 128) + b"\x04\x01" + tb.vec(2, b"s" * 8)],
        "sniff_looks_like_tls": [b"\x16\x03\x03\x00\x40", b"\x80\x2e\x04"],
        "sniff_describe_non_tls": [b"HTTP/1.1 400 Bad Request\r\n", b"SSH-2.0-OpenSSH_9"],
        **{f"starttls_{protocol}": [b"\x07" + answer for answer in answers]
           for protocol, answers in STARTTLS_SEEDS.items()},
        **{f"starttls_check_{protocol}": [b"\x05" + answer for answer in answers]
           for protocol, answers in CHECK_SEEDS.items()},
        "http1_exchange": [b"\x07HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n\r\nok",
                           b"\x00HTTP/1.0 403 Forbidden\r\n\r\nno"],
        # SETTINGS, then HEADERS on stream 1 (:status 200 from the static table), END_STREAM
        "http2_exchange": [b"\x05" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                           + b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\x88"],
    }
    return by_name[name]


def _postgres_message(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def _mysql_packet(sequence: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence]) + payload


#: A server's whole side of a successful preamble, per protocol (the seeds must finish it).
STARTTLS_SEEDS: dict[str, list[bytes]] = {
    "postgres": [b"S"],
    "mysql": [bytes.fromhex("4a0000000a31312e342e380001000000616263646566676800ffff210200ff"
                            "c1150000000000000000000069696969696969696969696900"
                            "6d7973716c5f6e61746976655f70617373776f726400")],
    "ldap": [bytes.fromhex("300c02010178070a010004000400")],
    "smtp": [b"220 mx ESMTP\r\n250-mx\r\n250-SIZE 1000\r\n250 STARTTLS\r\n220 go ahead\r\n"],
    "imap": [b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\nA1 OK Begin TLS\r\n"],
    "pop3": [b"+OK ready\r\n+OK Begin TLS\r\n"],
    "ftp": [b"220-welcome\r\n more\r\n220 ready\r\n234 AUTH TLS ok\r\n"],
    "xmpp": [b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/"
             b"streams' from='example.com' version='1.0'><stream:features><starttls xmlns="
             b"'urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
             b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"],
}
#: The server's answer to each post-handshake check (an answer the check classifies).
CHECK_SEEDS: dict[str, list[bytes]] = {
    "postgres": [_postgres_message(b"R", b"\x00\x00\x00\x05"),
                 _postgres_message(b"E", b"SFATAL\x00C28000\x00Mconnection requires a valid "
                                   b"client certificate\x00\x00")],
    "mysql": [_mysql_packet(2, b"\xff\x15\x04#28000Access denied for user 'x'@'h'")],
    "ldap": [bytes.fromhex("300c02010261070a010004000400")],
    "smtp": [b"250-mx\r\n250 STARTTLS\r\n", b"550 certificate required\r\n"],
    "imap": [b"* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=EXTERNAL\r\nA2 OK done\r\n",
             b"* BYE certificate required\r\n"],
    "pop3": [b"+OK\r\nSASL PLAIN EXTERNAL\r\nUSER\r\n.\r\n", b"-ERR no\r\n"],
    "ftp": [b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n", b"500 FEAT?\r\n"],
    "xmpp": [b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/"
             b"streams' version='1.0'><stream:features><mechanisms xmlns='urn:ietf:params:xml"
             b":ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism></mechanisms></stream:features>"],
}
