"""The baseline's findings, as pure functions of records (the real servers are in
test_weak_crypto_servers.py); and the README's severity table matches RULES."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scanner.policy.baseline import RULES, baseline_findings, with_baseline
from scanner.results import Finding, Record, Severity

BASE: dict[str, Any] = {
    "target": {"host": "h", "port": 443, "sni": None}, "status": "ok",
    "started_at": "2026-01-01T00:00:00Z", "duration_ms": 1, "probes": [],
}


def record(**facets: Any) -> Record:
    return Record.model_validate({**BASE, **facets})


def suites(*codes: str) -> dict[str, Any]:
    return {"suites": [{"code": code, "iana": None, "openssl": None} for code in codes],
            "order": "server", "complete": True, "offered": 1, "connections": 1}


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


def test_versions() -> None:
    protocols = {label: {"accepted": label in ("SSLv2", "SSLv3", "TLSv1.1")}
                 for label in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")}
    found = baseline_findings(record(protocols=protocols))
    assert ids(found) == {"protocols.sslv2", "protocols.sslv3", "protocols.tls1_1"}
    sslv2 = next(f for f in found if f.id == "protocols.sslv2")
    assert (sslv2.severity, sslv2.version, sslv2.evidence) == (Severity.critical, "SSLv2",
                                                               ["SSLv2: accepted"])
    assert "CVE-2016-0800" in sslv2.references


def test_suites_each_rule_once_with_its_evidence() -> None:
    facet = {"TLSv1.0": suites("0x0003", "0x0001", "0x0018", "0x0009", "0x000A"),
             "TLSv1.2": suites("0xC013", "0x002F")}
    found = {f.id: f for f in baseline_findings(record(cipher_suites=facet))}
    # RSA_EXPORT_WITH_RC4_40_MD5, RSA_WITH_NULL_MD5, DH_anon_WITH_RC4_128_MD5,
    # RSA_WITH_DES_CBC_SHA, RSA_WITH_3DES_EDE_CBC_SHA; TLS 1.2: CBC only
    assert set(found) == {"cipher_suites.export", "cipher_suites.null", "cipher_suites.anonymous",
                          "cipher_suites.rc4", "cipher_suites.des", "cipher_suites.sweet32",
                          "cipher_suites.no_forward_secrecy", "cipher_suites.cbc_only"}
    assert found["cipher_suites.rc4"].evidence == ["TLSv1.0: TLS_RSA_EXPORT_WITH_RC4_40_MD5",
                                                   "TLSv1.0: TLS_DH_anon_WITH_RC4_128_MD5"]
    assert found["cipher_suites.des"].evidence == ["TLSv1.0: TLS_RSA_WITH_DES_CBC_SHA"]
    assert found["cipher_suites.cbc_only"].version == "TLSv1.2"
    aead = {"TLSv1.2": suites("0xC013", "0xC02F")}
    assert baseline_findings(record(cipher_suites=aead)) == []


def test_curves_dh_and_extensions() -> None:
    groups = {"TLSv1.2": {"groups": [{"code": "0x0013", "name": "secp192r1",
                                      "via": "server_key_exchange"}],
                          "complete": True, "offered": 30, "connections": 2}}
    dh = {"TLSv1.2": {"groups": [
        {"suite": "0x0033", "name": "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "prime_bits": 768,
         "generator": 2, "well_known": "rfc2409_768"},
        {"suite": "0x009E", "name": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "prime_bits": 2048,
         "generator": 2, "well_known": "ffdhe2048"}]}}
    extensions = {"version": "TLSv1.2", "secure_renegotiation": False,
                  "extended_master_secret": False}
    found = {f.id: f for f in baseline_findings(record(groups=groups, dh_parameters=dh,
                                                       extensions=extensions))}
    assert set(found) == {"groups.weak_curve", "dh_parameters.broken_group",
                          "extensions.no_secure_renegotiation",
                          "extensions.no_extended_master_secret"}
    assert found["dh_parameters.broken_group"].evidence == [
        "TLSv1.2: TLS_DHE_RSA_WITH_AES_128_CBC_SHA: 768-bit DH, rfc2409_768"]


def test_existing_findings_get_references_and_no_duplicate_renegotiation() -> None:
    insecure = Finding(id="renegotiation.insecure", severity=Severity.medium,
                       probe="renegotiation", detail="d")
    done = with_baseline(record(findings=[insecure.model_dump()],
                                extensions={"version": "TLSv1.2", "secure_renegotiation": False,
                                            "extended_master_secret": True}))
    assert [f.id for f in done.findings] == ["renegotiation.insecure"]
    assert done.findings[0].references == ["CVE-2009-3555", "RFC 5746"]


def test_vulnerable_checks_become_findings() -> None:
    facet = {"heartbleed": {"result": "vulnerable", "detail": "leaked 16384 bytes"},
             "compression": {"result": "not_vulnerable", "detail": "null only"}}
    (finding,) = baseline_findings(record(vulnerabilities=facet))
    assert (finding.id, finding.severity) == ("vulnerabilities.heartbleed", Severity.critical)


def test_readme_table_lists_every_rule_with_its_severity() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    readme = readme.split("## Findings: the security baseline")[1].split("\n## ")[0]
    rows = dict(re.findall(r"^\| `([a-z_0-9.]+)` \| (\w+) \|", readme, re.MULTILINE))
    assert rows == {finding_id: rule.severity.value for finding_id, rule in RULES.items()}
