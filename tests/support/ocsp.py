"""OCSP responses and odd certificates for stapling and chain tests, made at test time.

Responses are built with cryptography's ``OCSPResponseBuilder`` and written as DER for
``nginx ssl_stapling_file`` / ``gnutls-serv --ocsp-response``.  Certificates that
cryptography refuses to sign (SHA-1) are signed by the ``openssl`` CLI.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from scanner.pkix import issuing

from .pki import (
    LIFETIME_DAYS,
    Credential,
    Issuer,
    Leaf,
    PrivateKey,
    cert_pem,
    generate_key,
    key_pem,
    name,
)
from .processes import find_binary

# id-pkix-ocsp-basic (RFC 6960 4.2.1), DER-encoded OID with tag and length.
_OCSP_BASIC_OID_DER = bytes.fromhex("06092b0601050507300101")


@dataclass(frozen=True)
class OcspTimes:
    """The three times of a response, relative to ``now``; ``next_update=None`` omits it."""

    now: dt.datetime
    this_update: dt.timedelta = dt.timedelta(hours=-1)
    next_update: dt.timedelta | None = dt.timedelta(days=3, minutes=30)


def ocsp_response(
    cert: x509.Certificate,
    issuer: Issuer,
    *,
    times: OcspTimes,
    status: Literal["good", "revoked", "unknown"] = "good",
    revoked_at: dt.datetime | None = None,
    reason: x509.ReasonFlags | None = None,
    responder: Credential | None = None,
    responder_id: Literal["hash", "name"] = "hash",
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    """DER of a successful OCSP response about ``cert``.

    Signed by ``issuer`` itself, or by ``responder`` (a delegated responder, included in the
    response) when given.  ``algorithm`` is the CertID hash (SHA-1 by default, as deployed).
    """
    cert_status = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED,
                   "unknown": ocsp.OCSPCertStatus.UNKNOWN}[status]
    signer = responder or issuer
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=issuer.cert, algorithm=algorithm or hashes.SHA1(),
        cert_status=cert_status,
        this_update=times.now + times.this_update,
        next_update=times.now + times.next_update if times.next_update is not None else None,
        revocation_time=revoked_at if status == "revoked" else None,
        revocation_reason=reason if status == "revoked" else None,
    ).responder_id(
        ocsp.OCSPResponderEncoding.HASH if responder_id == "hash"
        else ocsp.OCSPResponderEncoding.NAME, signer.cert,
    )
    if responder is not None:
        builder = builder.certificates([responder.cert])
    response = builder.sign(signer.key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def ocsp_responder(ca: Issuer, common_name: str = "OCSP Responder", *,
                   not_before: dt.datetime | None = None) -> Leaf:
    """A delegated OCSP responder certificate issued by ``ca`` (EKU OCSPSigning); valid from
    ``not_before`` (default: a few minutes ago)."""
    responder = issuing.issue(ca, name(common_name, "mtlsweep tests"), days=LIFETIME_DAYS,
                              usage=ExtendedKeyUsageOID.OCSP_SIGNING, extra=(x509.OCSPNoCheck(),),
                              not_before=not_before)
    return Leaf(responder.certificate, responder.key, ca)


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def response_wrapping(basic_response: bytes) -> bytes:
    """An OCSPResponse (status successful) whose BasicOCSPResponse is ``basic_response``.

    Servers check only this outer structure when they load a staple (nginx's
    d2i_OCSP_RESPONSE), so garbage inside is stapled as-is: a malformed response on the wire.
    """
    response_bytes = _tlv(0x30, _OCSP_BASIC_OID_DER + _tlv(0x04, basic_response))
    return _tlv(0x30, _tlv(0x0A, b"\x00") + _tlv(0xA0, response_bytes))


def write_der(path: Path, der: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(der)
    return path


def sha1_signed_server_cert(ca: Issuer, workdir: Path, hostnames: tuple[str, ...] = (
        "localhost",), *, key: PrivateKey | None = None, days: int = 90) -> Leaf:
    """A server certificate signed with SHA-1 by ``ca``, via ``openssl x509 -req -sha1``
    (cryptography no longer signs with SHA-1); ``key`` defaults to a fresh EC key."""
    openssl = find_binary("openssl")
    if openssl is None:
        raise RuntimeError("openssl not found")
    workdir.mkdir(parents=True, exist_ok=True)
    key = key or generate_key("ec")
    csr = (x509.CertificateSigningRequestBuilder().subject_name(name(hostnames[0]))
           .sign(key, hashes.SHA256()))
    (workdir / "req.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    (workdir / "ca.pem").write_bytes(cert_pem(ca.cert))
    (workdir / "ca.key").write_bytes(key_pem(ca.key))
    sans = ",".join(f"DNS:{h}" for h in hostnames)
    (workdir / "ext.cnf").write_text(
        f"basicConstraints=critical,CA:FALSE\nsubjectAltName={sans}\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n")
    subprocess.run(
        [openssl, "x509", "-req", "-in", str(workdir / "req.pem"), "-CA", str(workdir / "ca.pem"),
         "-CAkey", str(workdir / "ca.key"), "-set_serial", "0x5a1",
         "-sha1", "-days", str(days), "-extfile", str(workdir / "ext.cnf"),
         "-out", str(workdir / "cert.pem")],
        check=True, capture_output=True, timeout=30,
    )
    cert = x509.load_pem_x509_certificate((workdir / "cert.pem").read_bytes())
    return Leaf(cert, key, ca)
