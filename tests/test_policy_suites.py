"""Policies read cipher suites off the one registry in wire; only providers' spellings are data."""

from __future__ import annotations

import typing

import pytest

from scanner import wire
from scanner.policy.schema import ProtocolName
from scanner.policy.suites import VERSIONS, policy_view, suite_table

# (code, kx, au, oldest version): what `openssl ciphers -V -stdname` (OpenSSL 3.0) says of
# each, the facts the catalog's suite table carried by hand before it was derived.
OPENSSL_FACTS = [
    (0x0004, "RSA", "RSA", "SSLv3"),        # RC4-MD5
    (0x000A, "RSA", "RSA", "SSLv3"),        # DES-CBC3-SHA
    (0x0013, "DHE", "DSS", "SSLv3"),        # DHE-DSS-DES-CBC3-SHA
    (0x0033, "DHE", "RSA", "SSLv3"),        # DHE-RSA-AES128-SHA
    (0x003C, "RSA", "RSA", "TLSv1.2"),      # AES128-SHA256
    (0x009F, "DHE", "RSA", "TLSv1.2"),      # DHE-RSA-AES256-GCM-SHA384
    (0xC009, "ECDHE", "ECDSA", "TLSv1.0"),  # ECDHE-ECDSA-AES128-SHA
    (0xC014, "ECDHE", "RSA", "TLSv1.0"),    # ECDHE-RSA-AES256-SHA
    (0xC02B, "ECDHE", "ECDSA", "TLSv1.2"),  # ECDHE-ECDSA-AES128-GCM-SHA256
    (0xCCA8, "ECDHE", "RSA", "TLSv1.2"),    # ECDHE-RSA-CHACHA20-POLY1305
    (0x1301, "any", "any", "TLSv1.3"),      # TLS_AES_128_GCM_SHA256
    (0x0018, "DH", None, "SSLv3"),          # ADH-RC4-MD5: anonymous, no certificate
]


@pytest.mark.parametrize(("code", "kx", "au", "oldest"), OPENSSL_FACTS,
                         ids=[f"0x{row[0]:04X}" for row in OPENSSL_FACTS])
def test_policy_view_matches_openssl(code: int, kx: str, au: str | None, oldest: str) -> None:
    suite = policy_view(wire.CIPHER_SUITES[code])
    assert (suite.kx, suite.au, suite.min_version) == (kx, au, oldest)
    assert (suite.iana, suite.openssl) == (wire.CIPHER_SUITES[code].iana,
                                           wire.CIPHER_SUITES[code].openssl)


def test_every_registry_suite_resolves_by_each_of_its_names() -> None:
    table = suite_table()
    for suite in wire.CIPHER_SUITES.values():
        for name in filter(None, (suite.iana, suite.openssl)):
            assert table.resolve(name).code == suite.code


def test_provider_spellings_resolve() -> None:
    table = suite_table()
    assert table.resolve("AEAD-AES128-GCM-SHA256").code == 0x1301  # Cloudflare
    assert table.resolve("TLS-AES-256-GCM-SHA384").code == 0x1302  # AWS


def test_version_names_come_from_wire() -> None:
    assert set(VERSIONS) == {v.label for v in wire.TLSVersion if not v.name.startswith("DTLS")}
    # Policies can require any version but SSLv2 (no policy allows it).
    assert typing.get_args(typing.get_args(ProtocolName)[0]) == VERSIONS[:-1]
