"""Caddy (Go crypto/tls, Debian's 2.6.2): the engines agree on its suite picks, and it has
no extended master secret; each checked against ``openssl s_client``."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from scanner.results import Record
from tests.support.oracle import s_client

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]


def picked(port: int, tls_version: str, *args: str) -> str:
    oracle = s_client(port, tls_version=tls_version, extra_args=args)
    found = re.search(r"Cipher is (\S+)", oracle.stdout)
    assert found is not None, oracle.summary()
    return found.group(1)


def test_caddy_suite_order_depends_on_the_offer_and_it_has_no_ems(caddy_server,
                                                                   scan: Scan) -> None:
    """Go ranks AES-GCM first only when the client's first suite is AES-GCM (else
    ChaCha20-Poly1305 first), so no single preference list predicts its pick from OpenSSL's
    offer. Sending OpenSSL's own suite list raw gives OpenSSL's pick: no disagreement."""
    port = caddy_server(client_auth=None).port
    record = scan(port, probes=("cipher_suites", "extensions", "engine_agreement"))
    assert record.engine_agreement is not None
    suites = {c.version: c for c in record.engine_agreement.checks if c.fact == "cipher_suite"}
    # the oracle: OpenSSL's default offer, and the same suites with ChaCha20 put first
    default_12 = picked(port, "1.2")
    assert default_12 == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert picked(port, "1.2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305:"
                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256") == (
        "ECDHE-ECDSA-CHACHA20-POLY1305")
    default_13 = picked(port, "1.3")
    for version, expected in (("TLSv1.2", default_12), ("TLSv1.3", default_13)):
        check = suites[version]
        assert (check.raw, check.openssl, check.agree) == (expected, expected, True), check
        assert check.detail is not None and "depends on the order of the offer" in check.detail
    assert record.engine_agreement.disagreements == 0
    assert not [f for f in record.findings if f.id == "engine_agreement.disagreement"]
    # EMS: Debian's caddy is built with a Go before 1.21, which has none
    assert record.extensions is not None and record.extensions.extended_master_secret is False
    assert "extensions.no_extended_master_secret" in {f.id for f in record.findings}
    oracle = s_client(port, tls_version="1.2")
    assert "Extended master secret: no" in oracle.stdout, oracle.summary()
