"""HTTP/1.1 HEAD requests and status lines, and DN attributes for the look-alike CA copy."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from scanner.pkix.issuing import name_from_der
from scanner.wire import (
    MAX_STATUS_LINE,
    HttpStatusLine,
    WireError,
    build_head_request,
    name_attributes,
    parse_distinguished_name,
    read_status_line,
)


def test_head_request_is_minimal_and_closes() -> None:
    assert build_head_request("/health?x=1", "api.example.com:8443", user_agent="mtlsweep/1") == (
        b"HEAD /health?x=1 HTTP/1.1\r\nHost: api.example.com:8443\r\nUser-Agent: mtlsweep/1\r\n"
        b"Accept: */*\r\nConnection: close\r\n\r\n")
    assert b"Host: [2001:db8::1]:443\r\n" in build_head_request("/", "[2001:db8::1]:443",
                                                                user_agent="m")


@pytest.mark.parametrize(
    ("path", "host"),
    [("health", "a.example"), ("/a b", "a.example"), ("/a\r\nX: y", "a.example"),
     ("/", "a.example\r\nX: y"), ("/", "a example"), ("/", ""), ("", "a.example"),
     ("/é", "a.example")],
)
def test_head_request_refuses_what_would_split_the_request(path: str, host: str) -> None:
    with pytest.raises(WireError):
        build_head_request(path, host, user_agent="m")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n",
         HttpStatusLine("1.1", 400, "Bad Request")),
        (b"HTTP/1.0 200 OK\n", HttpStatusLine("1.0", 200, "OK")),
        (b"HTTP/1.1 204\r\n", HttpStatusLine("1.1", 204, "")),
        (b"HTTP/1.1 204 \r\n", HttpStatusLine("1.1", 204, "")),
        (b"HTTP/1.1 403 Forbidden \xe9\r\n", HttpStatusLine("1.1", 403, "Forbidden \xe9")),
    ],
)
def test_status_lines(data: bytes, expected: HttpStatusLine) -> None:
    assert read_status_line(data) == expected


@pytest.mark.parametrize("data", [b"", b"H", b"HTTP/1.1 4", b"HTTP/1.1 400 Bad Req"])
def test_partial_status_line_asks_for_more(data: bytes) -> None:
    assert read_status_line(data) is None


@pytest.mark.parametrize(
    "data",
    [b"<!DOCTYPE HTML>\r\n", b"SSH-2.0-OpenSSH\r\n", b"\x00\x00\x12\x04",  # h2 SETTINGS frame
     b"HTTP/1.1 99 Too Low\r\n", b"HTTP/1.1 2000 OK\r\n", b"HTTP/2 200\r\n",
     b"HTTP/2.0 200 OK\r\n", b"HTTP/1.1 200 OK\x00\r\n", b"http/1.1 200 OK\r\n"],
)
def test_not_http(data: bytes) -> None:
    with pytest.raises(WireError):
        read_status_line(data)


def test_endless_status_line_is_refused_not_buffered() -> None:
    assert read_status_line(b"HTTP/1.1 200 " + b"x" * (MAX_STATUS_LINE - 20)) is None
    with pytest.raises(WireError, match="longer than"):
        read_status_line(b"HTTP/1.1 200 " + b"x" * MAX_STATUS_LINE)


@given(st.binary(max_size=300))
def test_status_line_reader_only_raises_wire_error(data: bytes) -> None:
    try:
        line = read_status_line(data)
    except WireError:
        return
    assert line is None or 100 <= line.status <= 999


@given(st.text(max_size=40), st.text(max_size=40))
def test_request_builder_only_raises_wire_error_and_never_splits(path: str, host: str) -> None:
    try:
        request = build_head_request(path, host, user_agent="m")
    except WireError:
        return
    assert request.count(b"\r\n") == 6 and request.endswith(b"\r\n\r\n")


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
