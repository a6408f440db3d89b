"""wire.Transcript: messages fed one at a time give what parsing each once, in order, with the
version the peer's ServerHello selected, gives; and nothing fed ever makes it raise.

Also the typed ServerHello accessors: each one reads its extension exactly as the extension's
own parser does, and says None when the server did not send it.
"""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from scanner import wire
from scanner.wire import (
    AlertDescription,
    ContentType,
    ExtensionType,
    HandshakeType,
    TLSVersion,
    Transcript,
    WireError,
)
from tests.support.tlsbytes import ext, u16s, vec

_DIRECTIONS = st.sampled_from(["sent", "received"])
_CONTENT = st.sampled_from([ContentType.change_cipher_spec, ContentType.alert,
                            ContentType.handshake])
_VERSIONS = st.sampled_from([TLSVersion.SSLv3, TLSVersion.TLSv1_0, TLSVersion.TLSv1_2,
                             TLSVersion.TLSv1_3])


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + vec(3, body)


def server_hello_body(*, version: int = TLSVersion.TLSv1_2, extensions: bytes = b"",
                      random: bytes | None = None) -> bytes:
    return (TLSVersion.TLSv1_2.to_bytes(2, "big") if version == TLSVersion.TLSv1_3
            else version.to_bytes(2, "big")) + (random or os.urandom(32)) + b"\x00" \
        + b"\x13\x01\x00" + vec(2, extensions
                                + (ext(ExtensionType.supported_versions, u16s(version))
                                   if version == TLSVersion.TLSv1_3 else b""))


@st.composite
def captured(draw: st.DrawFn) -> tuple[str, int, int, bytes, bool]:
    """One captured message: mostly plausible handshake messages, some alerts and junk."""
    content_type = draw(_CONTENT)
    if content_type == ContentType.handshake:
        kind = draw(st.sampled_from(["hello", "request", "junk"]))
        if kind == "hello":
            data = handshake(HandshakeType.server_hello,
                             server_hello_body(version=draw(_VERSIONS)))
        elif kind == "request":
            # Valid in one layout only: TLS 1.2 (types, sigalgs, CA names) vs TLS 1.3.
            body = draw(st.sampled_from([
                vec(1, b"\x01") + vec(2, u16s(0x0401)) + vec(2, b""),
                vec(1, b"") + vec(2, ext(ExtensionType.signature_algorithms,
                                         vec(2, u16s(0x0804)))),
            ]))
            data = handshake(HandshakeType.certificate_request, body)
        else:
            data = draw(st.binary(max_size=40))
    elif content_type == ContentType.alert:
        data = draw(st.sampled_from([b"\x02\x28", b"\x01\x00", b"\x02"]))
    else:
        data = b"\x01"
    return (draw(_DIRECTIONS), content_type, draw(_VERSIONS), data, draw(st.booleans()))


def feed_all(messages: list[tuple[str, int, int, bytes, bool]]) -> Transcript:
    transcript = Transcript()
    for direction, content_type, version, data, after in messages:
        transcript.feed(direction, content_type, version, data,  # type: ignore[arg-type]
                        after_handshake=after)
    return transcript


@given(st.lists(captured(), max_size=12))
def test_each_message_is_parsed_once_with_the_negotiated_version(
        messages: list[tuple[str, int, int, bytes, bool]]) -> None:
    transcript = feed_all(messages)
    assert len(transcript) == len(messages)
    negotiated: int | None = None
    for parsed, (direction, content_type, version, data, after) in zip(
            transcript, messages, strict=True):
        assert (parsed.direction, parsed.content_type, parsed.length, parsed.after_handshake) \
            == (direction, content_type, len(data), after)
        if content_type == ContentType.handshake:
            assert parsed.msg_type == (data[0] if data else None)
            try:
                expected = wire.parse_handshake_message(data, version=negotiated or version)
            except WireError as exc:
                assert parsed.handshake is None and parsed.parse_error == str(exc)
            else:
                assert parsed.handshake == expected and parsed.parse_error is None
                hello = expected.parsed
                if isinstance(hello, wire.ServerHello) and direction == "received":
                    negotiated = hello.selected_version
        elif content_type == ContentType.alert:
            assert (parsed.alert is None) == (len(data) != 2)
            assert (parsed.parse_error is None) == (len(data) == 2)
        else:
            assert parsed.handshake is None and parsed.alert is None
    assert transcript.version == negotiated


@given(st.lists(captured(), max_size=12), st.integers(0, 12))
def test_feeding_is_incremental(messages: list[tuple[str, int, int, bytes, bool]],
                                cut: int) -> None:
    """A transcript fed a prefix holds exactly what the whole one holds for that prefix."""
    whole = feed_all(messages)
    prefix = feed_all(messages[:cut])
    assert list(prefix) == list(whole)[:cut]


@given(st.lists(st.tuples(_DIRECTIONS, st.integers(0, 0xFF), st.binary(max_size=64)),
                max_size=16))
def test_any_bytes_are_kept_never_raised(messages: list[tuple[str, int, bytes]]) -> None:
    transcript = Transcript()
    for direction, content_type, data in messages:
        transcript.feed(direction, content_type, TLSVersion.TLSv1_2, data)  # type: ignore[arg-type]
    assert len(transcript) == len(messages)
    assert all(isinstance(message.name, str) for message in transcript)


def test_a_tls13_hello_switches_the_layout_of_later_messages() -> None:
    transcript = Transcript()
    hello = handshake(HandshakeType.server_hello,
                      server_hello_body(version=TLSVersion.TLSv1_3))
    transcript.feed("received", ContentType.handshake, TLSVersion.TLSv1_2, hello)
    request = handshake(HandshakeType.certificate_request, vec(1, b"") + vec(2, ext(
        ExtensionType.signature_algorithms, vec(2, u16s(0x0804)))))
    message = transcript.feed("received", ContentType.handshake, TLSVersion.TLSv1_2, request,
                              after_handshake=False)
    assert transcript.version == TLSVersion.TLSv1_3
    assert message.handshake is not None
    assert isinstance(message.handshake.parsed, wire.CertificateRequest)
    assert message.handshake.parsed.tls13
    assert list(transcript.received(HandshakeType.certificate_request)) == [message.handshake]


def test_server_hello_skips_a_hello_retry_request_and_alerts_filter_by_direction() -> None:
    transcript = Transcript()
    retry = handshake(HandshakeType.server_hello, server_hello_body(
        version=TLSVersion.TLSv1_3, random=wire.HELLO_RETRY_REQUEST_RANDOM,
        extensions=ext(ExtensionType.key_share, u16s(0x0017))))
    transcript.feed("received", ContentType.handshake, TLSVersion.TLSv1_2, retry)
    assert transcript.server_hello is None
    hello = handshake(HandshakeType.server_hello, server_hello_body())
    transcript.feed("received", ContentType.handshake, TLSVersion.TLSv1_2, hello)
    assert transcript.server_hello is not None
    assert not transcript.server_hello.is_hello_retry_request
    transcript.feed("sent", ContentType.alert, TLSVersion.TLSv1_2,
                    bytes([2, AlertDescription.decode_error]))
    transcript.feed("received", ContentType.alert, TLSVersion.TLSv1_2, b"\x02")
    assert [m.name for m in transcript.alerts("sent")] == ["alert:decode_error"]
    assert transcript.alerts("received") == []
    assert transcript[-1].parse_error is not None and transcript[-1].name == "unparsed"


# --- typed ServerHello accessors ------------------------------------------------------

_ECHOES = {
    "extended_master_secret": ExtensionType.extended_master_secret,
    "encrypt_then_mac": ExtensionType.encrypt_then_mac,
    "session_ticket": ExtensionType.session_ticket,
    "status_request": ExtensionType.status_request,
}
_ALPN = ExtensionType.application_layer_protocol_negotiation
_NPN = ExtensionType.next_protocol_negotiation
_VALUED = (_ALPN, _NPN, ExtensionType.renegotiation_info, ExtensionType.ec_point_formats)


def _names(*names: bytes) -> bytes:
    return b"".join(vec(1, name) for name in names)


_VALUES = {
    _ALPN: st.sampled_from([vec(2, _names(b"h2")), vec(2, _names(b"h2", b"http/1.1")),
                            vec(2, b""), b"\x00", vec(2, _names(b"\xff\xfe"))]),
    _NPN: st.sampled_from([b"", _names(b"h2", b"http/1.1"), b"\x05h2"]),
    ExtensionType.renegotiation_info: st.sampled_from([b"\x00", vec(1, b"\x01" * 12), b"",
                                                       b"\x03ab"]),
    ExtensionType.ec_point_formats: st.sampled_from([vec(1, b"\x00"), vec(1, b"\x00\x01"),
                                                     b"\x00", b""]),
}


@st.composite
def hellos(draw: st.DrawFn) -> wire.ServerHello:
    extensions = b""
    for ext_type in _ECHOES.values():
        if draw(st.booleans()):
            extensions += ext(ext_type, b"")
    for ext_type in _VALUED:
        if draw(st.booleans()):
            extensions += ext(ext_type, draw(_VALUES[ext_type]))
    return wire.parse_server_hello(server_hello_body(extensions=extensions))


def _parsed_or_error(parse: object, data: bytes) -> object:
    try:
        return parse(data)  # type: ignore[operator]
    except WireError as exc:
        return WireError, str(exc)


def _accessor_or_error(hello: wire.ServerHello, name: str) -> object:
    try:
        return getattr(hello, name)
    except WireError as exc:
        return WireError, str(exc)


@given(hellos())
def test_accessors_read_their_extension_as_its_parser_does(hello: wire.ServerHello) -> None:
    for name, ext_type in _ECHOES.items():
        assert getattr(hello, name) == hello.has_extension(ext_type)
    for name, ext_type, parse in (
            ("alpn_protocols", _ALPN, wire.parse_alpn_extension),
            ("renegotiation_info", ExtensionType.renegotiation_info,
             wire.parse_renegotiation_info_extension),
            ("ec_point_formats", ExtensionType.ec_point_formats,
             wire.parse_ec_point_formats_extension)):
        found = wire.find_extension(hello.extensions, ext_type)
        expected = None if found is None else _parsed_or_error(parse, found.data)
        assert _accessor_or_error(hello, name) == expected


@given(hellos())
def test_convenience_accessors_never_raise(hello: wire.ServerHello) -> None:
    try:
        protocols = hello.alpn_protocols
    except WireError:
        protocols = None
    assert hello.alpn_protocol == (protocols[0] if protocols and len(protocols) == 1 else None)
    try:
        info = hello.renegotiation_info
    except WireError:
        info = None
    assert hello.secure_renegotiation is (info == b"")
    npn = wire.find_extension(hello.extensions, _NPN)
    if npn is None:
        assert hello.npn_protocols is None
    else:
        expected = _parsed_or_error(wire.parse_next_protocol_negotiation_extension, npn.data)
        assert hello.npn_protocols == (() if isinstance(expected, tuple) and expected
                                       and expected[0] is WireError else expected)


def test_accessor_examples() -> None:
    hello = wire.parse_server_hello(server_hello_body(extensions=(
        ext(_ALPN, vec(2, _names(b"h2"))) + ext(_NPN, _names(b"spdy/3.1", b"http/1.1"))
        + ext(ExtensionType.renegotiation_info, b"\x00")
        + ext(ExtensionType.extended_master_secret, b""))))
    assert (hello.alpn_protocol, hello.npn_protocols) == ("h2", ("spdy/3.1", "http/1.1"))
    assert hello.secure_renegotiation and hello.extended_master_secret
    assert not (hello.session_ticket or hello.encrypt_then_mac or hello.status_request)
    assert hello.ec_point_formats is None and hello.key_share_group is None
    bare = wire.parse_server_hello(server_hello_body())
    assert (bare.alpn_protocol, bare.npn_protocols, bare.renegotiation_info) == (None,) * 3
    assert not bare.secure_renegotiation
