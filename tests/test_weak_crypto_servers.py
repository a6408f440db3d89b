"""Findings from enumeration, and DH parameters, against real servers on 127.0.0.1.

A GnuTLS listener with a legacy priority string (TLS 1.0, RC4, 3DES, static RSA) and an
nginx on the 1024-bit RFC 2409 group give the positive findings; nginx with the test PKI's
defaults gives none. GnuTLS's own client (gnutls-cli) and OpenSSL's (s_client) are the
oracles for what the servers accept.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import dh
from cryptography.hazmat.primitives.serialization import Encoding, ParameterFormat
from cryptography.utils import CryptographyDeprecationWarning

from scanner.results import Record
from scanner.wire.dh_groups import well_known_dh_primes
from tests.support.oracle import s_client
from tests.support.pki import PemPaths, TestPKI, issue_server_cert
from tests.support.servers import binary

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]
BASELINE_PROBES = ("protocols", "cipher_suites", "groups", "dh_parameters", "extensions")
LEGACY_GNUTLS = ("NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.0:+ARCFOUR-128:+3DES-CBC:+RSA:"
                 "+DHE-RSA")


@pytest.fixture(scope="module")
def rsa_files(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> PemPaths:
    leaf = issue_server_cert(pki.server_ca, key_type="rsa")
    return leaf.write_pem(tmp_path_factory.mktemp("rsa-weak"))


def gnutls_cli_accepts(port: int, priority: str) -> bool:
    done = subprocess.run([binary("gnutls-cli"), "--insecure", "-p", str(port), "127.0.0.1",
                           "--priority", priority], input=b"", capture_output=True, timeout=10,
                          check=False)
    return b"- Description: " in done.stdout


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", "scan", "--quiet", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def by_id(record: Record) -> dict[str, list[str]]:
    return {f.id: f.evidence for f in record.findings}


def test_legacy_gnutls_findings(gnutls_server, rsa_files: PemPaths, scan: Scan) -> None:
    server = gnutls_server(priority=LEGACY_GNUTLS, server_files=rsa_files,
                           require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False)
    record = scan(server.port, probes=BASELINE_PROBES)
    assert record.status == "ok", record.probe_errors
    found = by_id(record)
    assert {"protocols.tls1_0", "cipher_suites.rc4", "cipher_suites.sweet32",
            "cipher_suites.no_forward_secrecy"} <= set(found), found
    assert "protocols.tls1_1" not in found and "dh_parameters.weak_group" not in found
    assert "TLSv1.2: TLS_RSA_WITH_RC4_128_SHA" in found["cipher_suites.rc4"]
    assert "TLSv1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA" in found["cipher_suites.sweet32"]
    rc4 = next(f for f in record.findings if f.id == "cipher_suites.rc4")
    assert rc4.severity == "high" and "RFC 7465" in rc4.references and rc4.policy == "RFC 7465"
    # GnuTLS's own client agrees: RC4 at TLS 1.2, 3DES at TLS 1.0
    common = ":+RSA:+SHA1:+COMP-NULL:+SIGN-ALL:+CTYPE-X509"
    assert gnutls_cli_accepts(server.port, "NONE:+VERS-TLS1.2:+ARCFOUR-128" + common)
    assert gnutls_cli_accepts(server.port, "NONE:+VERS-TLS1.0:+3DES-CBC" + common)
    assert not gnutls_cli_accepts(server.port, "NONE:+VERS-TLS1.1:+3DES-CBC" + common)
    # the command line: --fail-on gates the baseline's findings; --no-vuln-checks drops the
    # active checks from the default probes
    endpoint = f"127.0.0.1:{server.port}"
    high = cli(endpoint, "--probes", "protocols,cipher_suites,vulnerabilities",
               "--no-vuln-checks", "--fail-on", "high")
    assert high.returncode == 1, high.stderr  # RC4
    (line,) = high.stdout.splitlines()
    assert '"vulnerabilities":null' in line.replace(" ", "")
    critical = cli(endpoint, "--probes", "protocols,cipher_suites", "--fail-on", "critical")
    assert critical.returncode == 0, critical.stderr
    # DHE: GnuTLS answers our RFC 7919 offer with ffdhe2048 (no finding)
    assert record.dh_parameters is not None
    groups = [g for entry in record.dh_parameters.versions().values() for g in entry.groups]
    assert groups and {(g.prime_bits, g.well_known) for g in groups} == {(2048, "ffdhe2048")}


@pytest.fixture(scope="module")
def rfc2409_1024(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prime = next(p for p, name in well_known_dh_primes().items() if name == "rfc2409_1024")
    with warnings.catch_warnings():  # FFDH is deprecated in cryptography: that is the point
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        pem = dh.DHParameterNumbers(prime, 2).parameters().parameter_bytes(
            Encoding.PEM, ParameterFormat.PKCS3)
    path = tmp_path_factory.mktemp("dh1024") / "dh1024.pem"
    path.write_bytes(pem)
    return path


def test_nginx_on_a_1024_bit_shared_prime(nginx_server, rsa_files: PemPaths, rfc2409_1024: Path,
                                         scan: Scan) -> None:
    directives = (f"ssl_certificate {rsa_files.cert}; ssl_certificate_key {rsa_files.key};\n"
                  f'ssl_ciphers "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:'
                  f'@SECLEVEL=1"; ssl_dhparam {rfc2409_1024};')
    server = nginx_server(mode="none", tls_versions=("1.2",), extra_directives=directives)
    record = scan(server.port, probes=BASELINE_PROBES)
    assert record.dh_parameters is not None
    (group,) = record.dh_parameters["TLSv1.2"].groups
    assert (group.name, group.prime_bits, group.well_known) == (
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 1024, "rfc2409_1024")
    weak = next(f for f in record.findings if f.id == "dh_parameters.weak_group")
    assert weak.severity == "medium" and "CVE-2015-4000" in weak.references
    assert weak.evidence == ["TLSv1.2: TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 1024-bit DH, "
                             "rfc2409_1024"]
    oracle = s_client(server.port, tls_version="1.2",
                      extra_args=("-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=1"))
    assert "Server Temp Key: DH, 1024 bits" in oracle.stdout, oracle.summary()


def test_a_modern_nginx_has_no_baseline_findings(nginx_server, scan: Scan) -> None:
    server = nginx_server(mode="none")
    record = scan(server.port, probes=BASELINE_PROBES)
    assert record.status == "ok", record.probe_errors
    assert record.findings == []
    assert record.dh_parameters is not None and record.dh_parameters.versions() == {}
