"""What the raw engine sends: key shares a server will accept, and hellos per version."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, mlkem

from scanner import wire
from scanner.engine import raw
from scanner.engine.raw import RawOffer
from scanner.offers import keyshares
from scanner.probes.shared.candidates import candidates, chunks, weakest_first
from scanner.wire import TLSVersion

GROUP = {name: code for code, name in wire.NAMED_GROUPS.items()}


def parse(record: bytes) -> wire.ClientHello:
    assert record[0] == 22
    msg_type, body = wire.split_handshake(record[5:])
    assert msg_type == 1
    return wire.parse_client_hello(body)


def test_key_shares_are_valid_public_values() -> None:
    shares = keyshares.KEY_SHARES
    assert len(shares[GROUP["x25519"]]) == 32 and len(shares[GROUP["x448"]]) == 56
    for name, curve in (("secp256r1", ec.SECP256R1()), ("secp384r1", ec.SECP384R1()),
                        ("secp521r1", ec.SECP521R1())):
        ec.EllipticCurvePublicKey.from_encoded_point(curve, shares[GROUP[name]])
    mlkem768 = shares[GROUP["MLKEM768"]]
    mlkem1024 = shares[GROUP["MLKEM1024"]]
    # cryptography runs FIPS 203's encapsulation-key check when loading.
    mlkem.MLKEM768PublicKey.from_public_bytes(mlkem768)
    mlkem.MLKEM1024PublicKey.from_public_bytes(mlkem1024)
    hybrid = shares[GROUP["X25519MLKEM768"]]
    assert len(hybrid) == 1216 and hybrid == mlkem768 + shares[GROUP["x25519"]]
    assert len(shares[GROUP["SecP256r1MLKEM768"]]) == 65 + 1184
    assert len(shares[GROUP["SecP384r1MLKEM1024"]]) == 97 + 1568
    assert keyshares.key_share(GROUP["ffdhe2048"]) is None


def test_random_bytes_would_not_be_a_valid_mlkem_key() -> None:
    """Why the key is built coefficient by coefficient: 0xFFF > q fails the check."""
    with pytest.raises(ValueError):
        mlkem.MLKEM768PublicKey.from_public_bytes(b"\xff" * 1184)


def test_tls13_offer() -> None:
    suites = weakest_first(candidates(TLSVersion.TLSv1_3))
    hello = parse(RawOffer(TLSVersion.TLSv1_3, suites, sni="scan.example").encode())
    assert hello.legacy_version == TLSVersion.TLSv1_2 and len(hello.session_id) == 32
    assert hello.supported_versions == (TLSVersion.TLSv1_3,)
    assert hello.cipher_suites == suites
    assert all(wire.CIPHER_SUITES[code].tls13 for code in suites)
    assert hello.server_name == "scan.example"
    assert hello.supported_groups == raw.TLS13_GROUPS
    assert [share.group for share in hello.key_shares or ()] == [GROUP["x25519"]]
    # no key share for a group not offered; an empty share list when none is left
    only_p384 = parse(RawOffer(TLSVersion.TLSv1_3, suites, groups=(GROUP["secp384r1"],)).encode())
    assert only_p384.key_shares == ()
    pq = parse(RawOffer(TLSVersion.TLSv1_3, suites,
                        key_share_groups=(GROUP["X25519MLKEM768"],)).encode())
    assert [len(s.key_exchange) for s in pq.key_shares or ()] == [1216]


def test_tls12_and_older_offers() -> None:
    suites = weakest_first(candidates(TLSVersion.TLSv1_2))
    hello = parse(RawOffer(TLSVersion.TLSv1_2, suites, sni="a.example", alpn=("h2",)).encode())
    assert hello.legacy_version == TLSVersion.TLSv1_2 and hello.supported_versions is None
    assert len(hello.cipher_suites) > 300
    offered = {ext.type for ext in hello.extensions or ()}
    # SNI, groups, point formats, sigalgs, reneg, ETM, EMS, ticket, OCSP, NPN, ALPN
    assert {0, 10, 11, 13, 0xFF01, 22, 23, 35, 5, 13172, 16} <= offered
    assert hello.alpn_protocols == ("h2",)
    tls10 = parse(RawOffer(TLSVersion.TLSv1_0, suites).encode())
    # No signature_algorithms before TLS 1.2.
    assert tls10.legacy_version == TLSVersion.TLSv1_0
    assert not tls10.offers(wire.ExtensionType.signature_algorithms)
    record = RawOffer(TLSVersion.SSLv3, suites).encode()
    assert record[1:3] == b"\x03\x00"
    sslv3 = parse(record)
    assert sslv3.extensions is None
    assert sslv3.cipher_suites[-1] == wire.SCSV_EMPTY_RENEGOTIATION_INFO


def test_candidate_order_and_chunks() -> None:
    legacy = candidates(TLSVersion.TLSv1_2)
    assert len(legacy) == len(set(legacy)) > 330
    assert not any(wire.CIPHER_SUITES[c].signalling or wire.CIPHER_SUITES[c].tls13
                   for c in legacy)
    first = set(chunks(legacy)[0])
    # the first chunk (used alone when a server refuses the big hello) holds what real
    # servers deploy, legacy 3DES and RC4 included
    for name in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "AES128-SHA",
                 "DES-CBC3-SHA", "RC4-SHA", "DHE-RSA-AES256-GCM-SHA384"):
        suite = wire.cipher_suite_by_openssl_name(name)
        assert suite is not None and suite.code in first, name
    ordered = weakest_first(legacy)
    weakest = wire.CIPHER_SUITES[ordered[0]]
    assert weakest.export or "_NULL" in weakest.iana
    assert wire.CIPHER_SUITES[ordered[-1]].aead
    # every chunked hello stays a small one
    for chunk in chunks(legacy):
        assert len(RawOffer(TLSVersion.TLSv1_2, chunk, sni="a.example").encode()) < 700


@pytest.mark.parametrize("version", [TLSVersion.SSLv3, TLSVersion.TLSv1_0, TLSVersion.TLSv1_2,
                                     TLSVersion.TLSv1_3])
def test_encoded_hellos_differ_only_in_fresh_random_bytes(version: TLSVersion) -> None:
    """``encode`` reuses one encoding per offer: each hello still gets its own random (and
    TLS 1.3 session id), and the rest is what encoding the hello afresh gives."""
    offer = RawOffer(version, candidates(version)[:30], sni="example.test")
    first, second = parse(offer.encode()), parse(offer.encode())
    fresh = parse(offer._encode_fresh()[0])
    assert first.random != second.random
    if version == TLSVersion.TLSv1_3:
        assert len(first.session_id) == 32 and first.session_id != second.session_id
    for hello in (first, second):
        assert (hello.legacy_version, hello.cipher_suites, hello.compression_methods,
                hello.extensions) == (fresh.legacy_version, fresh.cipher_suites,
                                      fresh.compression_methods, fresh.extensions)
        assert len(hello.session_id) == len(fresh.session_id)
