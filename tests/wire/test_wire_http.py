"""The HTTP request probes send after TLS (h11 and h2, sans-IO), and DN attributes for the
look-alike CA copy."""

from __future__ import annotations

import hashlib

import h2.config
import h2.connection
import h2.events
import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from scanner.pkix.issuing import name_from_der
from scanner.wire import (
    MAX_BODY_BYTES,
    Http1Exchange,
    Http2Exchange,
    HttpRequest,
    HttpResponse,
    WireError,
    name_attributes,
    parse_distinguished_name,
)


def test_get_request_names_host_and_path_and_closes() -> None:
    request = HttpRequest(path="/health?x=1", host="api.example.com:8443", user_agent="m/1")
    assert Http1Exchange(request).start() == (
        b"GET /health?x=1 HTTP/1.1\r\nHost: api.example.com:8443\r\nUser-Agent: m/1\r\n"
        b"Accept: */*\r\nConnection: close\r\n\r\n")
    assert request.label == "GET /health?x=1 (Host: api.example.com:8443)"
    assert b"Host: [2001:db8::1]:443\r\n" in Http1Exchange(
        HttpRequest(host="[2001:db8::1]:443", method="HEAD")).start()


@pytest.mark.parametrize(
    ("path", "host"),
    [("health", "a.example"), ("/a b", "a.example"), ("/a\r\nX: y", "a.example"),
     ("/", "a.example\r\nX: y"), ("/", "a example"), ("/", ""), ("", "a.example"),
     ("/é", "a.example")],
)
def test_request_refuses_what_would_split_it(path: str, host: str) -> None:
    with pytest.raises(WireError):
        HttpRequest(path=path, host=host)


def _answer(*chunks: bytes) -> Http1Exchange:
    exchange = Http1Exchange(HttpRequest())
    exchange.start()
    for chunk in chunks:
        exchange.feed(chunk)
    return exchange


def test_response_head_keeps_status_and_the_telling_headers() -> None:
    exchange = _answer(b"HTTP/1.1 301 Moved\r\nServer: nginx\r\nLocation: https://x/\r\n",
                       b"Strict-Transport-Security: max-age=63072000\r\n"
                       b"Content-Length: 5\r\n\r\nab")
    assert exchange.response == HttpResponse(
        http_version="1.1", status=301, reason="Moved", server="nginx",
        strict_transport_security="max-age=63072000", location="https://x/",
        body_sha256=hashlib.sha256(b"ab").hexdigest(), body_bytes=2)
    assert not exchange.finished  # the rest of the body may still come
    exchange.feed(b"cde")
    assert exchange.finished and not exchange.closed


def test_partial_head_waits_and_a_close_ends_an_http10_body() -> None:
    exchange = _answer(b"HTTP/1.0 200 ok\r\nContent-type: text/html\r\n")
    assert exchange.response is None and not exchange.finished
    exchange.feed(b"\r\n<HTML>")
    assert exchange.response is not None and exchange.response.http_version == "1.0"
    exchange.feed(b"")
    assert exchange.finished


def test_body_is_read_only_up_to_the_cap() -> None:
    exchange = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n")
    exchange.feed(b"x" * MAX_BODY_BYTES + b"past the cap")
    assert exchange.finished and exchange.response is not None
    # The digest covers the bytes up to the cap, and nothing past it.
    assert exchange.response.body_bytes == MAX_BODY_BYTES
    assert exchange.response.body_sha256 == hashlib.sha256(b"x" * MAX_BODY_BYTES).hexdigest()


def test_a_close_before_any_answer_is_a_close() -> None:
    exchange = _answer(b"")
    assert exchange.closed and exchange.response is None


@pytest.mark.parametrize(
    "data",
    [b"<!DOCTYPE HTML>\r\n", b"SSH-2.0-OpenSSH\r\n", b"\x00\x00\x12\x04",  # h2 SETTINGS
     b"220 smtp ready", b"http/1.1 200 OK\r\n", b"HTTP/1.1 2000 OK\r\n\r\n",
     b"HTTP/1.1 200 OK\x00\r\n\r\n"],
)
def test_not_http(data: bytes) -> None:
    with pytest.raises(WireError):
        _answer(data)


@given(st.lists(st.binary(max_size=100), max_size=4))
def test_http1_reader_only_raises_wire_error(chunks: list[bytes]) -> None:
    try:
        exchange = _answer(*chunks)
    except WireError:
        return
    assert exchange.response is None or 100 <= exchange.response.status <= 999


@given(st.text(max_size=40), st.text(max_size=40))
def test_request_builder_only_raises_wire_error_and_never_splits(path: str, host: str) -> None:
    try:
        request = HttpRequest(path=path, host=host)
    except WireError:
        return
    wire_bytes = Http1Exchange(request).start()
    assert wire_bytes.count(b"\r\n") == 6 and wire_bytes.endswith(b"\r\n\r\n")


def _h2_server() -> h2.connection.H2Connection:
    server = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    server.initiate_connection()
    return server


def test_http2_exchange_sends_authority_and_reads_the_status() -> None:
    exchange = Http2Exchange(HttpRequest(path="/grpc.health", host="api.example:8443"))
    server = _h2_server()
    events = server.receive_data(exchange.start())
    request = next(e for e in events if isinstance(e, h2.events.RequestReceived))
    headers = dict(request.headers or ())
    assert (headers[b":authority"], headers[b":path"], headers[b":method"]) == (
        b"api.example:8443", b"/grpc.health", b"GET")
    server.send_headers(request.stream_id, [(":status", "403"), ("server", "envoy")])
    ack = exchange.feed(server.data_to_send())
    assert ack  # settings acknowledged
    assert exchange.response == HttpResponse(http_version="2", status=403, server="envoy",
                                             body_sha256=hashlib.sha256(b"").hexdigest())
    server.send_data(request.stream_id, b"denied", end_stream=True)
    exchange.feed(server.data_to_send())
    assert exchange.finished and not exchange.closed


def test_http2_refuses_http1_bytes_and_a_goaway_is_a_close() -> None:
    with pytest.raises(WireError):
        exchange = Http2Exchange(HttpRequest())
        exchange.start()
        exchange.feed(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    exchange = Http2Exchange(HttpRequest())
    server = _h2_server()
    server.receive_data(exchange.start())
    server.close_connection()
    exchange.feed(server.data_to_send())
    assert exchange.closed and exchange.response is None


# --- DN attributes and the look-alike copy ---------------------------------------------


def _name(*attributes: x509.NameAttribute[str]) -> x509.Name:
    return x509.Name(list(attributes))


@pytest.mark.parametrize(
    "name",
    [
        _name(x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
              x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
              x509.NameAttribute(NameOID.COMMON_NAME, "Client Root CA One")),
        _name(x509.NameAttribute(NameOID.COMMON_NAME, "Printable CA", _ASN1Type.PrintableString),
              x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ca@example.com")),
        _name(x509.NameAttribute(NameOID.COMMON_NAME, "Ünïcödé BMP", _ASN1Type.BMPString),
              x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "T61", _ASN1Type.T61String)),
        x509.Name([x509.RelativeDistinguishedName([
            x509.NameAttribute(NameOID.COMMON_NAME, "multi"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "valued")])]),
    ],
)
def test_lookalike_name_copies_the_der(name: x509.Name) -> None:
    der = name.public_bytes()
    rdns = name_attributes(der)
    assert len(rdns) == len(name.rdns)
    copy = name_from_der(der)
    assert copy.public_bytes() == der
    assert parse_distinguished_name(der).rfc4514 == name.rfc4514_string()


def test_name_attributes_keep_tags_and_refuse_junk() -> None:
    der = _name(x509.NameAttribute(NameOID.COUNTRY_NAME, "JP")).public_bytes()
    ((attribute,),) = name_attributes(der)
    assert (attribute.oid, attribute.tag, attribute.value, attribute.text) == (
        "2.5.4.6", 0x13, b"JP", "JP")
    with pytest.raises(WireError):
        name_attributes(der + b"\x00")
    with pytest.raises(WireError):
        name_from_der(b"\x30\x03\x31\x01\x00")
