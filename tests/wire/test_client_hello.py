"""ClientHello builder and parser, SSLv2 messages, the server-flight reader, the cipher suite
registry: byte-level cases from the RFC layouts, round trips and WireError-only fuzzing."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import wire
from scanner.wire import (
    ClientHello,
    Extension,
    KeyShareEntry,
    ServerFlight,
    StopAt,
    WireError,
)

TLS12, TLS13 = 0x0303, 0x0304
RANDOM = bytes(range(32))

# --- a ClientHello byte by byte --------------------------------------------------------


def test_minimal_client_hello_bytes() -> None:
    hello = ClientHello(TLS12, RANDOM, b"", (0xC02F, 0x009C), b"\x00",
                        (wire.server_name_extension("example.com"),))
    encoded = wire.encode_client_hello(hello)
    sni = bytes.fromhex("0000 0010 000e 00 000b") + b"example.com"
    body = (bytes.fromhex("0303") + RANDOM + b"\x00" + bytes.fromhex("0004 c02f 009c")
            + bytes.fromhex("01 00") + len(sni).to_bytes(2, "big") + sni)
    assert encoded == b"\x01" + len(body).to_bytes(3, "big") + body
    record = wire.client_hello_record(hello)
    assert record[:5] == bytes([22, 3, 1]) + len(encoded).to_bytes(2, "big")
    assert record[5:] == encoded


def test_extension_builders_match_rfc_layouts() -> None:
    assert wire.supported_versions_extension([TLS13, TLS12]).data == bytes.fromhex("0403040303")
    assert wire.supported_groups_extension([29, 23]).data == bytes.fromhex("0004001d0017")
    assert wire.key_share_extension([KeyShareEntry(29, b"\xaa" * 2)]).data == bytes.fromhex(
        "0006 001d 0002 aaaa".replace(" ", ""))
    assert wire.key_share_extension([]).data == b"\x00\x00"
    assert wire.alpn_extension(["h2", "http/1.1"]).data == b"\x00\x0c\x02h2\x08http/1.1"
    assert wire.status_request_extension().data == b"\x01\x00\x00\x00\x00"
    assert wire.renegotiation_info_extension().data == b"\x00"
    assert wire.ec_point_formats_extension().data == b"\x01\x00"
    assert wire.psk_key_exchange_modes_extension().data == b"\x01\x01"
    assert wire.next_protocol_negotiation_extension() == Extension(13172, b"")


@pytest.mark.parametrize("bad", [
    lambda: wire.supported_groups_extension([]),
    lambda: wire.supported_groups_extension([0x10000]),
    lambda: wire.alpn_extension([""]),
    lambda: wire.alpn_extension(["x" * 256]),
    lambda: wire.key_share_extension([KeyShareEntry(29, b"")]),
    lambda: wire.server_name_extension(""),
    lambda: wire.encode_client_hello(ClientHello(TLS12, b"short", b"", (1,))),
    lambda: wire.encode_client_hello(ClientHello(TLS12, RANDOM, bytes(33), (1,))),
    lambda: wire.encode_client_hello(ClientHello(TLS12, RANDOM, b"", ())),
    lambda: wire.encode_client_hello(ClientHello(
        TLS12, RANDOM, b"", (1,), b"\x00", (Extension(5, b""), Extension(5, b"")))),
])
def test_builder_rejects_what_cannot_be_encoded(bad) -> None:
    with pytest.raises(WireError):
        bad()


@pytest.mark.parametrize("suites", [1, 60, 100, 150, 200, 240, 300])
def test_padding_keeps_hellos_out_of_256_to_511(suites: int) -> None:
    hello = ClientHello(TLS12, RANDOM, b"", tuple(range(1, suites + 1)), b"\x00",
                        (wire.server_name_extension("a.example"),))
    before = len(wire.encode_client_hello(hello))
    padded = wire.pad_client_hello(hello)
    after = len(wire.encode_client_hello(padded))
    assert not 256 <= after < 512
    if 256 <= before < 512:
        assert after == 512 and padded.extensions[-1].type == 21
    else:
        assert padded == hello
    # no extensions block at all (SSLv3 style): never padded
    bare = ClientHello(0x0300, RANDOM, b"", tuple(range(1, 150)), b"\x00", None)
    assert wire.pad_client_hello(bare) == bare


def test_parse_client_hello_from_pythons_ssl_module() -> None:
    """An independent encoder: CPython's ssl (OpenSSL) ClientHello parses field by field."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sslobj = context.wrap_bio(incoming, outgoing, server_hostname="scan.example")
    with pytest.raises(ssl.SSLWantReadError):
        sslobj.do_handshake()
    record = outgoing.read()
    msg_type, body = wire.split_handshake(record[5:5 + int.from_bytes(record[3:5], "big")])
    hello = wire.parse_client_hello(body)
    assert msg_type == 1
    assert hello.server_name == "scan.example"
    assert hello.alpn_protocols == ("h2", "http/1.1")
    assert TLS13 in (hello.supported_versions or ())
    assert hello.max_version == TLS13
    assert hello.key_shares and all(share.key_exchange for share in hello.key_shares)
    names = {wire.cipher_suite(code).openssl for code in hello.cipher_suites}
    assert {c["name"] for c in context.get_ciphers()} <= names


# --- round trips -----------------------------------------------------------------------

_u16 = st.integers(0, 0xFFFF)
_alpn_name = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                     max_size=20)
_host = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,8}){1,3}", fullmatch=True)


@st.composite
def client_hellos(draw: st.DrawFn) -> tuple[ClientHello, dict[str, object]]:
    values: dict[str, object] = {
        "sni": draw(st.none() | _host),
        "versions": draw(st.none() | st.lists(_u16, min_size=1, max_size=10)),
        "groups": draw(st.none() | st.lists(_u16, min_size=1, max_size=20)),
        "sigalgs": draw(st.none() | st.lists(_u16, min_size=1, max_size=20)),
        "shares": draw(st.none() | st.lists(
            st.builds(KeyShareEntry, _u16, st.binary(min_size=1, max_size=70)), max_size=3)),
        "alpn": draw(st.none() | st.lists(_alpn_name, min_size=1, max_size=8)),
    }
    extensions: list[Extension] = []
    if values["sni"] is not None:
        extensions.append(wire.server_name_extension(values["sni"]))  # type: ignore[arg-type]
    if values["versions"] is not None:
        extensions.append(wire.supported_versions_extension(values["versions"]))  # type: ignore[arg-type]
    if values["groups"] is not None:
        extensions.append(wire.supported_groups_extension(values["groups"]))  # type: ignore[arg-type]
    if values["sigalgs"] is not None:
        extensions.append(wire.signature_algorithms_extension(values["sigalgs"]))  # type: ignore[arg-type]
    if values["shares"] is not None:
        extensions.append(wire.key_share_extension(values["shares"]))  # type: ignore[arg-type]
    if values["alpn"] is not None:
        extensions.append(wire.alpn_extension(values["alpn"]))  # type: ignore[arg-type]
    if draw(st.booleans()):
        extensions += [wire.renegotiation_info_extension(), wire.status_request_extension(),
                       wire.session_ticket_extension(), wire.empty_extension(23)]
    hello = ClientHello(
        legacy_version=draw(st.sampled_from([0x0300, 0x0301, 0x0302, 0x0303])),
        random=draw(st.binary(min_size=32, max_size=32)),
        session_id=draw(st.binary(max_size=32)),
        cipher_suites=tuple(draw(st.lists(_u16, min_size=1, max_size=150))),
        compression_methods=draw(st.binary(min_size=1, max_size=3)),
        extensions=tuple(extensions) if extensions or draw(st.booleans()) else None,
    )
    return hello, values


@given(client_hellos(), st.booleans())
@settings(max_examples=120)
def test_build_then_parse_gives_the_same_values(case, pad: bool) -> None:
    hello, values = case
    if pad:
        hello = wire.pad_client_hello(hello)
    encoded = wire.encode_client_hello(hello)
    msg_type, body = wire.split_handshake(encoded)
    parsed = wire.parse_client_hello(body)
    assert msg_type == 1
    assert parsed == hello
    assert parsed.server_name == values["sni"]
    assert parsed.supported_versions == (None if values["versions"] is None
                                         else tuple(values["versions"]))  # type: ignore[arg-type]
    assert parsed.supported_groups == (None if values["groups"] is None
                                       else tuple(values["groups"]))  # type: ignore[arg-type]
    assert parsed.signature_algorithms == (None if values["sigalgs"] is None
                                           else tuple(values["sigalgs"]))  # type: ignore[arg-type]
    assert parsed.key_shares == (None if values["shares"] is None
                                 else tuple(values["shares"]))  # type: ignore[arg-type]
    assert parsed.alpn_protocols == (None if values["alpn"] is None
                                     else tuple(values["alpn"]))  # type: ignore[arg-type]
    records = wire.client_hello_record(hello, record_version=0x0303)
    assert records[:3] == b"\x16\x03\x03" and records[5:] == encoded


@given(st.binary(max_size=600))
@settings(max_examples=500)
def test_parse_client_hello_raises_only_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        wire.parse_client_hello(data)


@given(client_hellos(), st.data())
@settings(max_examples=80)
def test_truncated_or_mutated_hellos_raise_only_wire_error(case, data: st.DataObject) -> None:
    body = wire.encode_client_hello(case[0])[4:]
    cut = data.draw(st.integers(0, len(body)))
    flip = data.draw(st.integers(0, max(0, len(body) - 1)))
    mutated = bytearray(body)
    if mutated:
        mutated[flip] ^= data.draw(st.integers(1, 255))
    for candidate in (body[:cut], bytes(mutated)):
        with contextlib.suppress(WireError):
            wire.parse_client_hello(candidate)


# --- SSLv2 -------------------------------------------------------------------------------


def test_sslv2_client_hello_layout() -> None:
    record = wire.build_sslv2_client_hello([0x0700C0, 0x010080], challenge=bytes(16))
    assert record == bytes.fromhex(
        "801f 01 0002 0006 0000 0010 0700c0 010080".replace(" ", "")) + bytes(16)
    everything = wire.build_sslv2_client_hello(challenge=bytes(32))
    assert wire.sslv2_record_length(everything[:2]) == len(everything) - 2 == 9 + 21 + 32


def test_sslv2_server_hello_and_error() -> None:
    body = (bytes.fromhex("04 00 01 0002 0003 0006 0004".replace(" ", "")) + b"\x30\x01\x00"
            + bytes.fromhex("0700c0010080") + b"abcd")
    hello = wire.parse_sslv2_message(body)
    assert hello == wire.Ssl2ServerHello(False, 1, 2, b"\x30\x01\x00", (0x0700C0, 0x010080),
                                         b"abcd")
    error = wire.parse_sslv2_message(b"\x00\x00\x01")
    assert isinstance(error, wire.Ssl2Error) and error.name == "NO-CIPHER-ERROR"


@pytest.mark.parametrize("bad", [
    lambda: wire.build_sslv2_client_hello(challenge=bytes(15)),
    lambda: wire.build_sslv2_client_hello([], challenge=bytes(16)),
    lambda: wire.parse_sslv2_message(b"\x05"),
    lambda: wire.parse_sslv2_message(bytes.fromhex("04000100020000000400000102030405")),
    lambda: wire.sslv2_record_length(b"\x00\x10"),
])
def test_sslv2_errors(bad) -> None:
    with pytest.raises(WireError):
        bad()


@given(st.binary(max_size=80))
def test_sslv2_parser_raises_only_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        wire.parse_sslv2_message(data)


# --- the server flight reader ------------------------------------------------------------


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(payload).to_bytes(
        2, "big") + payload


def server_hello(version: int = TLS12, suite: int = 0xC02F, extensions: bytes = b"",
                 random: bytes = bytes(32)) -> bytes:
    body = version.to_bytes(2, "big") + random + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    if extensions:
        body += len(extensions).to_bytes(2, "big") + extensions
    return b"\x02" + len(body).to_bytes(3, "big") + body


SKE_X25519 = b"\x0c\x00\x00\x28" + b"\x03\x00\x1d\x20" + bytes(32) + b"\x04\x03\x00\x00"
DONE = b"\x0e\x00\x00\x00"


def feed_in_pieces(flight: ServerFlight, data: bytes, size: int) -> None:
    for start in range(0, len(data), size):
        flight.feed(data[start : start + size])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_flight_reads_tls12_first_flight_in_any_fragmentation(size: int) -> None:
    data = record(22, server_hello() + b"\x0b\x00\x00\x03\x00\x00\x00") + record(
        22, SKE_X25519) + record(22, DONE)
    flight = ServerFlight(stop_at=StopAt.SERVER_HELLO_DONE)
    feed_in_pieces(flight, data, size)
    assert flight.done and flight.error is None
    assert flight.server_hello is not None and flight.server_hello.cipher_suite == 0xC02F
    assert [t for t, _ in flight.messages] == [2, 11, 12, 14]
    assert wire.parse_ecdhe_server_key_exchange(flight.message(12) or b"") == 29


def test_flight_stops_at_server_hello_and_at_hello_retry_request() -> None:
    flight = ServerFlight()
    flight.feed(record(22, server_hello()))
    assert flight.done and flight.server_hello is not None
    hrr_extensions = bytes.fromhex("002b00020304 0033 0002 0017".replace(" ", ""))
    hrr = ServerFlight(stop_at=StopAt.SERVER_HELLO_DONE)
    hrr.feed(record(22, server_hello(extensions=hrr_extensions,
                                     random=wire.HELLO_RETRY_REQUEST_RANDOM)))
    assert hrr.done and hrr.server_hello is not None
    assert hrr.server_hello.is_hello_retry_request and hrr.server_hello.key_share_group == 23


def test_flight_warning_alert_then_hello_and_fatal_alert() -> None:
    flight = ServerFlight()
    flight.feed(record(21, b"\x01\x70") + record(22, server_hello()))
    assert flight.done and flight.server_hello is not None
    assert [a.name for a in flight.warnings] == ["unrecognized_name"]
    fatal = ServerFlight()
    fatal.feed(record(21, b"\x02\x46"))
    assert fatal.done and fatal.alert is not None and fatal.alert.name == "protocol_version"


@pytest.mark.parametrize(("data", "field", "text"), [
    (b"HTTP/1.1 400 Bad Request\r\n", "not_tls", "HTTP/1.1 400 Bad Request"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "not_tls", "SSH-2.0-OpenSSH_9.6"),
    (record(22, b"\x0b\x00\x00\x00"), "error", "expected server_hello first"),
    (record(23, b"xx"), "error", "content type application_data"),
    (record(21, b"\x02"), "error", "alert record of 1 bytes"),
    (record(22, server_hello(extensions=b"\x00\x05\x00")), "error", "ServerHello"),
])
def test_flight_failures_are_described(data: bytes, field: str, text: str) -> None:
    flight = ServerFlight()
    flight.feed(data)
    assert flight.done
    assert text in (getattr(flight, field) or "")


def test_flight_sslv2_answers() -> None:
    body = bytes.fromhex("04 00 01 0002 0000 0003 0000".replace(" ", "")) + bytes.fromhex("0700c0")
    flight = ServerFlight()
    feed_in_pieces(flight, (0x8000 | len(body)).to_bytes(2, "big") + body, 1)
    assert flight.done and isinstance(flight.sslv2, wire.Ssl2ServerHello)
    assert flight.sslv2.cipher_kinds == (0x0700C0,)
    error = ServerFlight()
    error.feed(bytes.fromhex("8003 00 0001".replace(" ", "")))
    assert isinstance(error.sslv2, wire.Ssl2Error)


def test_flight_caps_what_it_buffers() -> None:
    flight = ServerFlight(stop_at=StopAt.SERVER_HELLO_DONE, max_bytes=1000)
    flight.feed(record(22, server_hello()))
    for _ in range(5):
        flight.feed(record(22, b"\x0b\x00\x01\x00" + bytes(256)))
    assert flight.done and "more than 1000 bytes" in (flight.error or "")


@given(st.lists(st.binary(max_size=64), max_size=8), st.sampled_from(list(StopAt)))
@settings(max_examples=200)
def test_flight_never_raises(chunks: list[bytes], stop_at: StopAt) -> None:
    flight = ServerFlight(stop_at=stop_at)
    for chunk in chunks:
        flight.feed(chunk)


@given(st.binary(max_size=200), st.integers(1, 16))
@settings(max_examples=300)
def test_flight_never_raises_on_tls_looking_garbage(tail: bytes, size: int) -> None:
    flight = ServerFlight(stop_at=StopAt.SERVER_HELLO_DONE)
    feed_in_pieces(flight, b"\x16\x03\x03" + tail, size)


# --- extension parsers used by the enumeration probes ------------------------------------


def test_small_extension_parsers() -> None:
    assert wire.parse_next_protocol_negotiation_extension(b"\x02h2\x08http/1.1") == (
        "h2", "http/1.1")
    assert wire.parse_next_protocol_negotiation_extension(b"") == ()
    assert wire.parse_renegotiation_info_extension(b"\x00") == b""
    assert wire.parse_ec_point_formats_extension(b"\x01\x00") == (0,)
    assert wire.parse_ecdhe_server_key_exchange(b"\x01\x00") is None  # explicit prime curve
    for bad in (lambda: wire.parse_next_protocol_negotiation_extension(b"\x05h2"),
                lambda: wire.parse_renegotiation_info_extension(b""),
                lambda: wire.parse_ec_point_formats_extension(b"\x00"),
                lambda: wire.parse_ecdhe_server_key_exchange(b"\x03\x00\x1d"),
                lambda: wire.parse_ecdhe_server_key_exchange(b"\x07")):
        with pytest.raises(WireError):
            bad()


@given(st.binary(max_size=40))
def test_extension_parsers_raise_only_wire_error(data: bytes) -> None:
    for parse in (wire.parse_next_protocol_negotiation_extension,
                  wire.parse_renegotiation_info_extension,
                  wire.parse_ec_point_formats_extension,
                  wire.parse_ecdhe_server_key_exchange):
        with contextlib.suppress(WireError):
            parse(data)


# --- the cipher suite registry ----------------------------------------------------------


def test_registry_covers_the_iana_table() -> None:
    suites = wire.CIPHER_SUITES
    assert len(suites) >= 340
    assert len({s.iana for s in suites.values()}) == len(suites)
    named = [s.openssl for s in suites.values() if s.openssl]
    assert len(set(named)) == len(named)
    assert suites[0xC02B].openssl == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert suites[0x000A].iana == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    assert suites[0x000A].openssl == "DES-CBC3-SHA"
    assert suites[0x0004].openssl == "RC4-MD5"
    assert suites[0x1301].tls13 and not suites[0xC02F].tls13
    assert suites[0x00FF].signalling and suites[0x5600].signalling
    assert suites[0xC013].cbc and suites[0xC013].ecdhe and not suites[0xC02F].cbc
    assert suites[0xC02F].aead and suites[0x0003].export
    assert wire.cipher_suite(0x0A0A).iana == "unknown_0x0A0A"  # GREASE is not a suite
    assert wire.cipher_suite_by_openssl_name("AES128-SHA") == suites[0x002F]
    assert wire.SSL2_CIPHER_KINDS[0x0700C0].openssl == "DES-CBC3-MD5"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
def test_registry_agrees_with_the_local_openssl() -> None:
    """Every suite the installed OpenSSL knows has the same IANA and OpenSSL name here."""
    listing = subprocess.run(
        ["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    assert len(rows) > 100
    for row in rows:
        high, low = row[0].split(",")
        code = int(high, 16) << 8 | int(low, 16)
        suite = wire.CIPHER_SUITES[code]
        assert (suite.iana, suite.openssl) == (row[2], row[4]), row


def test_padding_counts_the_length_encoding_gives() -> None:
    """pad_client_hello counts the length instead of encoding: the count must match."""
    from scanner.wire.client_hello import _encoded_length

    for count in (0, 1, 50, 120, 200, 300):
        for extensions in (None, (), (wire.server_name_extension("example.com"),
                                      wire.Extension(0xFF01, bytes(count)))):
            hello = ClientHello(TLS12, RANDOM, bytes(count % 33), tuple(range(1, count + 2)),
                                b"\x00", extensions)
            assert _encoded_length(hello) == len(wire.encode_client_hello(hello))
