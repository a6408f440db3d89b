"""Ad-hoc target syntax: host, host:port, [IPv6]:port."""

from __future__ import annotations

import pytest

from scanner.config.targets import TargetSyntaxError, parse_endpoint
from scanner.results.identity import default_sni, format_endpoint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", ("example.com", 443)),
        ("Example.COM:8443", ("example.com", 8443)),
        ("192.0.2.1:10443", ("192.0.2.1", 10443)),
        ("[::1]:8443", ("::1", 8443)),
        ("[2001:db8::1]", ("2001:db8::1", 443)),
        ("2001:db8::1", ("2001:db8::1", 443)),
        ("bücher.example", ("xn--bcher-kva.example", 443)),
    ],
)
def test_parse_endpoint(text: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("example.com:0", "out of range"),
        ("example.com:99999", "out of range"),
        ("example.com:https", "is not a number"),
        ("[::1", "missing ']'"),
        ("[::1]8443", "expected ':port'"),
        ("https://example.com", "looks like a URL"),
        ("", "host is empty"),
        ("exa mple.com", "not a valid host name"),
        ("-bad.example", "not a valid host name"),
    ],
)
def test_bad_endpoints_say_why(text: str, message: str) -> None:
    with pytest.raises(TargetSyntaxError, match=message):
        parse_endpoint(text)


def test_sni_defaults() -> None:
    assert default_sni("api.example.com.") == "api.example.com"
    assert default_sni("192.0.2.1") is None
    assert default_sni("::1") is None
    assert format_endpoint("::1", 443) == "[::1]:443"
