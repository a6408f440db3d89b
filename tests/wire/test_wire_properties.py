"""Property tests for every sans-IO parser: random valid messages round-trip, and any bytes at
all either parse or raise WireError (never IndexError, ValueError, struct.error...).

CertificateRequest round trips live in test_wire_handshake.py; this module covers the others,
the record layer, alerts, the extension helpers and the streaming RecordTracker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.wire import (
    HELLO_RETRY_REQUEST_RANDOM,
    MAX_CIPHERTEXT_LENGTH,
    Alert,
    CertificateStatus,
    Extension,
    HandshakeHeader,
    RecordHeader,
    RecordTracker,
    WireError,
    decode_oid,
    describe_non_tls,
    looks_like_tls,
    parse_alert,
    parse_alpn_extension,
    parse_certificate,
    parse_certificate_authorities_extension,
    parse_certificate_status,
    parse_dhe_server_key_exchange,
    parse_distinguished_name,
    parse_encrypted_extensions,
    parse_extensions,
    parse_handshake_header,
    parse_handshake_message,
    parse_key_share_server,
    parse_new_session_ticket,
    parse_oid_filters_extension,
    parse_record_header,
    parse_server_hello,
    parse_signature_algorithms_extension,
    parse_supported_versions_server,
    split_handshake_stream,
)
from scanner.wire.stream import MAX_KEPT_HEADERS
from tests.support.tlsbytes import ext, handshake, record, u16s, vec

TLS12, TLS13 = 0x0303, 0x0304
VERSIONS = st.sampled_from([0x0300, 0x0301, 0x0302, TLS12, TLS13])

# Extension types a parser interprets; generic extensions avoid them so their data may be
# arbitrary.
_INTERPRETED = {5, 13, 16, 42, 43, 47, 48, 50, 51}


@st.composite
def extension_lists(draw: st.DrawFn, max_size: int = 5) -> tuple[Extension, ...]:
    types = draw(st.lists(st.integers(0, 0xFFFF).filter(lambda t: t not in _INTERPRETED),
                          unique=True, max_size=max_size))
    return tuple(Extension(t, draw(st.binary(max_size=24))) for t in types)


def encode(extensions: tuple[Extension, ...]) -> bytes:
    return vec(2, b"".join(ext(e.type, e.data) for e in extensions))


# --- round trips --------------------------------------------------------------------


@st.composite
def server_hellos(draw: st.DrawFn) -> tuple[bytes, dict[str, object]]:
    hello_retry = draw(st.booleans())
    random = HELLO_RETRY_REQUEST_RANDOM if hello_retry else draw(st.binary(min_size=32,
                                                                             max_size=32))
    fields: dict[str, object] = {
        "legacy_version": draw(st.integers(0, 0xFFFF)), "random": random,
        "session_id": draw(st.binary(max_size=32)), "cipher_suite": draw(st.integers(0, 0xFFFF)),
        "compression_method": draw(st.integers(0, 255)),
    }
    extensions = list(draw(extension_lists()))
    version = draw(st.none() | st.integers(0, 0xFFFF))
    if version is not None:
        extensions.append(Extension(43, u16s(version)))
    group = draw(st.none() | st.integers(0, 0xFFFF))
    if group is not None:
        key = b"" if hello_retry else vec(2, draw(st.binary(min_size=1, max_size=64)))
        extensions.append(Extension(51, u16s(group) + key))
    extensions = draw(st.permutations(extensions))
    fields.update(extensions=tuple(extensions), selected=version, group=group)
    block = draw(st.booleans()) or extensions
    body = (u16s(fields["legacy_version"]) + random  # type: ignore[arg-type]
            + vec(1, fields["session_id"]) + u16s(fields["cipher_suite"])  # type: ignore[arg-type]
            + bytes([fields["compression_method"]])  # type: ignore[list-item]
            + (encode(tuple(extensions)) if block else b""))
    return body, fields


@given(server_hellos())
def test_server_hello_round_trip(case: tuple[bytes, dict[str, object]]) -> None:
    body, fields = case
    hello = parse_server_hello(body)
    assert (hello.legacy_version, hello.random, hello.session_id, hello.cipher_suite,
            hello.compression_method, hello.extensions) == (
        fields["legacy_version"], fields["random"], fields["session_id"],
        fields["cipher_suite"], fields["compression_method"], fields["extensions"])
    expected_version = fields["selected"] if fields["selected"] is not None \
        else fields["legacy_version"]
    assert hello.selected_version == expected_version
    assert hello.key_share_group == fields["group"]
    assert parse_handshake_message(handshake(2, body), version=TLS13).parsed == hello


@given(lifetime=st.integers(0, 2**32 - 1), ticket=st.binary(max_size=300))
def test_tls12_new_session_ticket_round_trip(lifetime: int, ticket: bytes) -> None:
    parsed = parse_new_session_ticket(lifetime.to_bytes(4, "big") + vec(2, ticket), version=TLS12)
    assert (parsed.tls13, parsed.lifetime_s, parsed.ticket_length) == (False, lifetime,
                                                                       len(ticket))


@given(lifetime=st.integers(0, 2**32 - 1), age_add=st.integers(0, 2**32 - 1),
       nonce=st.binary(max_size=255), ticket=st.binary(min_size=1, max_size=300),
       early=st.none() | st.integers(0, 2**32 - 1), others=extension_lists(3))
def test_tls13_new_session_ticket_round_trip(lifetime: int, age_add: int, nonce: bytes,
                                             ticket: bytes, early: int | None,
                                             others: tuple[Extension, ...]) -> None:
    extensions = others + ((Extension(42, early.to_bytes(4, "big")),) if early is not None
                           else ())
    body = (lifetime.to_bytes(4, "big") + age_add.to_bytes(4, "big") + vec(1, nonce)
            + vec(2, ticket) + encode(extensions))
    parsed = parse_new_session_ticket(body, version=TLS13)
    assert (parsed.lifetime_s, parsed.age_add, parsed.nonce, parsed.ticket_length,
            parsed.max_early_data, parsed.extensions) == (lifetime, age_add, nonce, len(ticket),
                                                          early, extensions)


@given(certificates=st.lists(st.binary(min_size=1, max_size=200), max_size=4),
       version=VERSIONS, context=st.binary(max_size=8), data=st.data())
def test_certificate_round_trip(certificates: list[bytes], version: int, context: bytes,
                                data: st.DataObject) -> None:
    tls13 = version == TLS13
    entries = b""
    staples: list[bytes | None] = []
    for der in certificates:
        entries += vec(3, der)
        if tls13:
            staple = data.draw(st.none() | st.binary(min_size=1, max_size=40))
            staples.append(staple)
            entries += vec(2, ext(5, b"\x01" + vec(3, staple)) if staple else b"")
    body = (vec(1, context) if tls13 else b"") + vec(3, entries)
    parsed = parse_certificate(body, version=version)
    assert parsed.certificates == tuple(certificates)
    assert parsed.context == (context if tls13 else b"")
    if tls13 and certificates:
        leaf = parsed.leaf_status
        assert (leaf.response if leaf else None) == staples[0]
    else:
        assert parsed.leaf_status is None


@given(status_type=st.integers(0, 255), response=st.binary(min_size=1, max_size=500))
def test_certificate_status_round_trip(status_type: int, response: bytes) -> None:
    body = bytes([status_type]) + vec(3, response)
    assert parse_certificate_status(body) == CertificateStatus(status_type, response)
    assert parse_handshake_message(handshake(22, body), version=TLS12).parsed == \
        CertificateStatus(status_type, response)


ALPN_NAMES = st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=5)


@given(names=ALPN_NAMES, others=extension_lists(3))
def test_encrypted_extensions_and_alpn_round_trip(names: list[bytes],
                                                  others: tuple[Extension, ...]) -> None:
    alpn = vec(2, b"".join(vec(1, n) for n in names))
    decoded = tuple(n.decode("utf-8", "backslashreplace") for n in names)
    assert parse_alpn_extension(alpn) == decoded
    extensions = (*others, Extension(16, alpn))
    parsed = parse_encrypted_extensions(encode(extensions))
    assert parsed.extensions == extensions and parsed.alpn_protocol == decoded[0]


@given(extension_lists(8))
def test_extensions_block_round_trip(extensions: tuple[Extension, ...]) -> None:
    assert parse_extensions(encode(extensions)) == extensions


@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=40))
def test_signature_algorithms_round_trip(schemes: list[int]) -> None:
    assert parse_signature_algorithms_extension(vec(2, u16s(*schemes))) == tuple(schemes)


@given(st.integers(0, 0xFFFF), st.binary(min_size=1, max_size=80), st.booleans())
def test_key_share_and_supported_versions_round_trip(group: int, key: bytes, retry: bool) -> None:
    data = u16s(group) if retry else u16s(group) + vec(2, key)
    assert parse_key_share_server(data) == group
    assert parse_key_share_server(data, hello_retry=retry) == group
    assert parse_supported_versions_server(u16s(group)) == group


_DN_SAMPLES = [bytes.fromhex("3000"),
               bytes.fromhex("30153113301106035504030c0a4578616d706c65204341")]


@given(st.lists(st.sampled_from(_DN_SAMPLES), max_size=6))
def test_certificate_authorities_round_trip(names: list[bytes]) -> None:
    parsed = parse_certificate_authorities_extension(vec(2, b"".join(vec(2, n) for n in names)))
    assert [dn.der for dn in parsed] == names
    assert [dn.rfc4514 for dn in parsed] == [parse_distinguished_name(n).rfc4514 for n in names]


@given(st.lists(st.tuples(st.sampled_from([("2.5.29.37", "551d25"),
                                           ("1.2.840.113549.1.9.1", "2a864886f70d010901")]),
                          st.binary(max_size=16)), max_size=4))
def test_oid_filters_round_trip(filters: list[tuple[tuple[str, str], bytes]]) -> None:
    raw = b"".join(vec(1, bytes.fromhex(h)) + vec(2, v) for (_, h), v in filters)
    parsed = parse_oid_filters_extension(vec(2, raw))
    assert [(f.oid, f.values) for f in parsed] == [(oid, v) for (oid, _), v in filters]


@given(st.integers(0, 255), st.integers(0, 255))
def test_alert_round_trip(level: int, description: int) -> None:
    alert = parse_alert(bytes([level, description]))
    assert alert == Alert(level, description)
    assert alert.name.startswith("unknown_0x") or alert.name.isidentifier()


@given(st.integers(20, 24), st.integers(0, 4), st.integers(0, MAX_CIPHERTEXT_LENGTH))
def test_record_header_round_trip(content_type: int, minor: int, length: int) -> None:
    raw = bytes([content_type, 3, minor]) + length.to_bytes(2, "big")
    assert parse_record_header(raw) == RecordHeader(content_type, 0x0300 | minor, length)
    assert looks_like_tls(raw)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=40)), max_size=8),
       st.binary(max_size=3))
def test_split_handshake_stream_round_trip(messages: list[tuple[int, bytes]],
                                           tail: bytes) -> None:
    encoded = [handshake(t, body) for t, body in messages]
    complete, rest = split_handshake_stream(b"".join(encoded) + tail)
    assert list(complete) == encoded and rest == tail
    for message in complete:
        assert parse_handshake_header(message[:4]) == HandshakeHeader(
            message[0], len(message) - 4)


# --- the streaming record tracker ---------------------------------------------------


@st.composite
def record_streams(draw: st.DrawFn) -> tuple[bytes, int, list[tuple[int, int]]]:
    """Handshake messages cut into records at random, maybe a ChangeCipherSpec, then more
    (encrypted-looking) records: (stream, record count, plaintext message headers)."""
    messages = draw(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=60)),
                             max_size=10))
    payload = b"".join(handshake(t, body) for t, body in messages)
    records: list[bytes] = []
    position = 0
    while position < len(payload):
        size = draw(st.integers(1, 50))
        records.append(record(22, payload[position:position + size]))
        position += size
    if draw(st.booleans()):
        records += [record(20, b"\x01"), record(22, draw(st.binary(max_size=40)))]
    records += [record(23, draw(st.binary(max_size=40))) for _ in range(draw(st.integers(0, 3)))]
    return b"".join(records), len(records), [(t, len(body)) for t, body in messages]


@given(record_streams(), st.data())
def test_record_tracker_is_chunking_invariant(case: tuple[bytes, int, list[tuple[int, int]]],
                                              data: st.DataObject) -> None:
    stream, count, headers = case
    whole = RecordTracker()
    whole.feed(stream)
    pieces = RecordTracker()
    position = 0
    while position < len(stream):
        size = data.draw(st.integers(1, 64))
        pieces.feed(stream[position:position + size])
        position += size
    assert [(h.msg_type, h.length) for h in whole.handshake_headers] == headers[:MAX_KEPT_HEADERS]
    assert pieces.handshake_headers == whole.handshake_headers
    assert pieces.records == whole.records == count
    assert pieces.last_record == whole.last_record


@given(st.binary(max_size=300), st.integers(1, 64))
def test_record_tracker_raises_only_wire_error(data: bytes, chunk: int) -> None:
    tracker = RecordTracker()
    with contextlib.suppress(WireError):
        for position in range(0, len(data), chunk):
            tracker.feed(data[position:position + chunk])
    assert len(tracker.handshake_headers) <= MAX_KEPT_HEADERS


def test_record_tracker_refuses_an_oversized_record_once() -> None:
    tracker = RecordTracker()
    tracker.feed(record(22, handshake(2, b"\x00" * 10)))
    with pytest.raises(WireError, match=r"record 2 \(handshake\) declares 18433 bytes"):
        tracker.feed(b"\x16\x03\x03" + (MAX_CIPHERTEXT_LENGTH + 1).to_bytes(2, "big"))
    tracker.feed(b"\x16\x03\x03\xff\xff")  # stopped: no second error, no growth
    assert tracker.records == 1


# --- any bytes: parse or WireError --------------------------------------------------

MORE_PARSERS: dict[str, Callable[[bytes], object]] = {
    "signature_algorithms": parse_signature_algorithms_extension,
    "certificate_authorities": parse_certificate_authorities_extension,
    "oid_filters": parse_oid_filters_extension,
    "record_header": parse_record_header,
    "alert": parse_alert,
    "distinguished_name": parse_distinguished_name,
    "decode_oid": decode_oid,
    "dhe_server_key_exchange": parse_dhe_server_key_exchange,
}


@pytest.mark.parametrize("parser", sorted(MORE_PARSERS))
@given(data=st.binary(max_size=200))
@settings(max_examples=300)
def test_more_parsers_parse_or_wire_error(parser: str, data: bytes) -> None:
    try:
        result = MORE_PARSERS[parser](data)
    except WireError:
        return
    str(result)


@given(st.binary(max_size=200))
def test_sniffers_never_fail(data: bytes) -> None:
    assert isinstance(looks_like_tls(data), bool)
    assert describe_non_tls(data).isprintable()
