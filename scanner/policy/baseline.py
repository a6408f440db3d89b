"""The security baseline: findings derived from what a scan already measured.

Enumeration says which versions, suites, curves and DH groups a server accepts; this module
says which of them are weak, why (CVE/CWE/RFC), and which policy rules them out, as
findings ``--fail-on`` can gate. It is a pure function of the finished record (run after the
probes, beside policy identification), so it needs no connection and reads any record that
carries the facets. ``RULES`` is the one severity table (README "Findings" documents it);
findings other probes already make (certificate, renegotiation, OCSP) get their references
and policy from it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scanner import wire
from scanner.results import Finding, ProtocolLabel, Record, Severity
from scanner.wire.cipher_suites import CipherSuite

__all__ = ["RULES", "Rule", "baseline_findings", "with_baseline"]

_NIST = "NIST SP 800-52r2"
_MOZILLA = "Mozilla intermediate"


@dataclass(frozen=True)
class Rule:
    severity: Severity
    summary: str
    references: tuple[str, ...] = ()
    policy: str | None = None


RULES: dict[str, Rule] = {
    "protocols.sslv2": Rule(Severity.critical, "SSL 2.0 accepted (DROWN)",
                            ("CVE-2016-0800", "RFC 6176", "CWE-327"), "RFC 6176"),
    "protocols.sslv3": Rule(Severity.high, "SSL 3.0 accepted (POODLE)",
                            ("CVE-2014-3566", "RFC 7568", "CWE-327"), "RFC 7568"),
    "protocols.tls1_0": Rule(Severity.medium, "TLS 1.0 accepted (deprecated)",
                             ("RFC 8996", "CWE-327"), f"RFC 8996; {_NIST} 3.1; {_MOZILLA}"),
    "protocols.tls1_1": Rule(Severity.medium, "TLS 1.1 accepted (deprecated)",
                             ("RFC 8996", "CWE-327"), f"RFC 8996; {_NIST} 3.1; {_MOZILLA}"),
    "cipher_suites.null": Rule(Severity.critical, "NULL encryption suites accepted",
                               ("CWE-319",), f"{_NIST} 3.3.1"),
    "cipher_suites.anonymous": Rule(Severity.critical, "anonymous (unauthenticated) suites "
                                    "accepted", ("CWE-287",), f"{_NIST} 3.3.1"),
    "cipher_suites.export": Rule(Severity.critical, "export-grade suites accepted (FREAK, "
                                 "LOGJAM)", ("CVE-2015-0204", "CVE-2015-4000", "CWE-326"),
                                 f"{_NIST} 3.3.1"),
    "cipher_suites.rc4": Rule(Severity.high, "RC4 suites accepted",
                              ("CVE-2013-2566", "CVE-2015-2808", "RFC 7465", "CWE-327"),
                              "RFC 7465"),
    "cipher_suites.des": Rule(Severity.high, "single-DES or RC2 suites accepted (56 bits or "
                              "less)", ("CWE-326",), f"{_NIST} 3.3.1"),
    "cipher_suites.sweet32": Rule(Severity.medium, "64-bit block cipher suites accepted "
                                  "(3DES, IDEA: Sweet32)", ("CVE-2016-2183", "CWE-327"),
                                  _MOZILLA),
    "cipher_suites.no_forward_secrecy": Rule(Severity.low, "suites without forward secrecy "
                                             "(static RSA or DH key exchange) accepted",
                                             ("CWE-326",), _MOZILLA),
    "cipher_suites.cbc_only": Rule(Severity.low, "TLS 1.2 accepted with CBC suites only (no "
                                   "AEAD)", ("CVE-2013-0169",), f"{_NIST} 3.3.1; {_MOZILLA}"),
    "groups.weak_curve": Rule(Severity.medium, "ECDHE curves under 224 bits accepted",
                              ("CWE-326", "RFC 8422"), f"{_NIST} 3.3.2"),
    "dh_parameters.weak_group": Rule(Severity.medium, "DHE with a group under 2048 bits "
                                     "(LOGJAM)", ("CVE-2015-4000", "CWE-326"),
                                     f"{_NIST} 3.3.2; {_MOZILLA}"),
    "dh_parameters.broken_group": Rule(Severity.high, "DHE with a group under 1024 bits",
                                       ("CVE-2015-4000", "CWE-326"), f"{_NIST} 3.3.2"),
    "extensions.no_secure_renegotiation": Rule(
        Severity.medium, "no RFC 5746 secure renegotiation", ("CVE-2009-3555", "RFC 5746"),
        f"{_NIST} 3.4.1"),
    "extensions.no_extended_master_secret": Rule(
        Severity.low, "no extended master secret", ("CVE-2015-6112", "RFC 7627"),
        f"{_NIST} 3.4.1"),
    "vulnerabilities.heartbleed": Rule(Severity.critical, "Heartbleed",
                                       ("CVE-2014-0160", "CWE-126")),
    "vulnerabilities.ccs_injection": Rule(Severity.high, "CCS injection",
                                          ("CVE-2014-0224", "CWE-696")),
    "vulnerabilities.fallback_scsv": Rule(Severity.low, "TLS_FALLBACK_SCSV not honoured",
                                          ("RFC 7507", "CVE-2014-3566")),
    "vulnerabilities.ticketbleed": Rule(Severity.high, "Ticketbleed",
                                        ("CVE-2016-9244", "CWE-200")),
    "robot.oracle": Rule(Severity.high, "ROBOT: RSA padding oracle",
                         ("CVE-2017-13099", "CWE-203")),
    "vulnerabilities.zero_rtt": Rule(Severity.low, "TLS 1.3 early data (0-RTT) accepted",
                                     ("RFC 8446", "CWE-294")),
    "vulnerabilities.compression": Rule(Severity.medium, "TLS compression accepted (CRIME)",
                                        ("CVE-2012-4929", "CWE-200")),
    # findings other probes make: the same table gives their references and policy
    "renegotiation.insecure": Rule(Severity.medium, "no secure renegotiation",
                                   ("CVE-2009-3555", "RFC 5746"), f"{_NIST} 3.4.1"),
    "renegotiation.client_initiated_accepted": Rule(
        Severity.low, "client-initiated renegotiation accepted", ("CVE-2011-1473", "CWE-400")),
    "certificate.expired": Rule(Severity.high, "certificate expired", ("CWE-298",)),
    "certificate.expiring": Rule(Severity.medium, "certificate expiring soon", ("CWE-298",)),
    "certificate.weak_key": Rule(Severity.high, "weak certificate key", ("CWE-326",),
                                 f"{_NIST} 3.2"),
    "certificate.sha1_signature": Rule(Severity.medium, "SHA-1 certificate signature",
                                       ("CWE-328",), f"{_NIST} 3.2"),
    "certificate.hostname_mismatch": Rule(Severity.high, "certificate name mismatch",
                                          ("CWE-297",)),
    "certificate.untrusted": Rule(Severity.high, "certificate untrusted", ("CWE-295",)),
}


def with_baseline(record: Record) -> Record:
    """The record with the baseline's findings added and every known finding referenced."""
    if record.status == "error":
        return record
    findings = [_referenced(f) for f in record.findings]
    findings += baseline_findings(record, already={f.id for f in findings})
    return record.model_copy(update={"findings": findings})


def _referenced(finding: Finding) -> Finding:
    rule = RULES.get(finding.id)
    if rule is None or finding.references:
        return finding
    return finding.model_copy(update={"references": list(rule.references),
                                      "policy": rule.policy})


def _finding(finding_id: str, probe: str, detail: str, evidence: Iterable[str],
             version: str | None = None) -> Finding:
    rule = RULES[finding_id]
    return Finding(id=finding_id, severity=rule.severity, probe=probe, detail=detail,
                   version=version, references=list(rule.references), policy=rule.policy,
                   evidence=list(evidence))


def baseline_findings(record: Record, *, already: set[str] | None = None) -> list[Finding]:
    """Findings from the protocols, cipher_suites, groups, dh_parameters, extensions and
    vulnerabilities facets of ``record`` (those it has)."""
    already = already or set()
    findings = [*_protocol_findings(record), *_suite_findings(record),
                *_curve_findings(record), *_dh_findings(record), *_vulnerability_findings(record)]
    if record.robot is not None and record.robot.result == "vulnerable":
        findings.append(_finding("robot.oracle", "robot", f"{RULES['robot.oracle'].summary}: "
                                 f"{record.robot.detail}", [record.robot.detail],
                                 record.robot.version))
    findings += [f for f in _extension_findings(record)
                 if not (f.id == "extensions.no_secure_renegotiation"
                         and "renegotiation.insecure" in already)]
    return findings


_PROTOCOL_IDS: dict[ProtocolLabel, str] = {"SSLv2": "protocols.sslv2", "SSLv3": "protocols.sslv3",
                 "TLSv1.0": "protocols.tls1_0", "TLSv1.1": "protocols.tls1_1"}


def _protocol_findings(record: Record) -> list[Finding]:
    if record.protocols is None:
        return []
    return [_finding(finding_id, "protocols", f"The server accepts {label}: "
                     f"{RULES[finding_id].summary}.", [f"{label}: accepted"], label)
            for label, finding_id in _PROTOCOL_IDS.items()
            if (entry := record.protocols.at(label)) is not None and entry.accepted]


_SuiteTest = Callable[[CipherSuite], bool]
_DES_MARKERS = ("_DES_CBC_", "_DES40_", "_DES_", "_RC2_")


def _static_key_exchange(suite: CipherSuite) -> bool:
    return suite.key_exchange in ("RSA", "DH_RSA", "DH_DSS", "ECDH_RSA", "ECDH_ECDSA")


_SUITE_RULES: tuple[tuple[str, _SuiteTest], ...] = (
    ("cipher_suites.null", lambda s: "_WITH_NULL_" in s.iana),
    ("cipher_suites.anonymous", lambda s: (s.key_exchange or "").endswith("_anon")),
    ("cipher_suites.export", lambda s: s.export),
    ("cipher_suites.rc4", lambda s: "_RC4_" in s.iana),
    ("cipher_suites.des", lambda s: not s.export and "_3DES_" not in s.iana and any(
        marker in s.iana for marker in _DES_MARKERS)),
    ("cipher_suites.sweet32", lambda s: "_3DES_" in s.iana or "_IDEA_" in s.iana),
    ("cipher_suites.no_forward_secrecy", _static_key_exchange),
)
# SSL 2.0 cipher kinds are all covered by protocols.sslv2 (DROWN): not repeated per suite.
_SUITE_VERSIONS: tuple[ProtocolLabel, ...] = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2")


def _suite_findings(record: Record) -> list[Finding]:
    facet = record.cipher_suites
    if facet is None:
        return []
    by_rule: dict[str, list[str]] = {}
    for label in _SUITE_VERSIONS:
        entry = facet.at(label)
        for info in entry.suites if entry is not None else ():
            suite = wire.CIPHER_SUITES.get(int(info.code, 16))
            if suite is None:
                continue
            for finding_id, test in _SUITE_RULES:
                if test(suite):
                    by_rule.setdefault(finding_id, []).append(f"{label}: {suite.iana}")
    findings = [_finding(finding_id, "cipher_suites",
                         f"The server accepts {len(evidence)} such suite"
                         f"{'s' if len(evidence) > 1 else ''}: {RULES[finding_id].summary}.",
                         evidence)
                for finding_id, evidence in by_rule.items()]
    tls12 = facet.at("TLSv1.2")
    if tls12 is not None and tls12.suites:
        known = [wire.CIPHER_SUITES.get(int(info.code, 16)) for info in tls12.suites]
        if all(suite is not None and suite.cbc for suite in known):
            findings.append(_finding(
                "cipher_suites.cbc_only", "cipher_suites", "Every TLS 1.2 suite the server "
                "accepts is CBC (MAC-then-encrypt): no AEAD suite to negotiate.",
                [f"TLSv1.2: {suite.iana}" for suite in known if suite is not None], "TLSv1.2"))
    return findings


# Named curves under 224 bits (RFC 4492 5.1.1 / RFC 8422 deprecations): binary 163/193-bit
# and prime 160/192-bit curves.
_WEAK_CURVES = frozenset({1, 2, 3, 4, 5, 15, 16, 17, 18, 19})


def _curve_findings(record: Record) -> list[Finding]:
    if record.groups is None:
        return []
    evidence = [f"{label}: {group.name}" for label, entry in record.groups.items()
                for group in entry.groups if int(group.code, 16) in _WEAK_CURVES]
    if not evidence:
        return []
    return [_finding("groups.weak_curve", "groups", "The server does ECDHE on curves under 224 "
                     "bits, below every current policy's minimum.", evidence)]


def _dh_findings(record: Record) -> list[Finding]:
    if record.dh_parameters is None:
        return []
    broken: list[str] = []
    weak: list[str] = []
    for label, entry in record.dh_parameters.items():
        for group in entry.groups:
            if group.prime_bits is None or group.prime_bits >= 2048:
                continue
            name = f", {group.well_known}" if group.well_known else ", custom prime"
            line = f"{label}: {group.name}: {group.prime_bits}-bit DH{name}"
            (broken if group.prime_bits < 1024 else weak).append(line)
    findings = []
    if broken:
        findings.append(_finding("dh_parameters.broken_group", "dh_parameters",
                                 "The server's DHE group is under 1024 bits: breakable today.",
                                 broken))
    if weak:
        shared = any("rfc" in line for line in weak)
        findings.append(_finding(
            "dh_parameters.weak_group", "dh_parameters",
            "The server's DHE group is under 2048 bits" + (
                ", and a widely shared prime (one precomputation breaks every server on it)"
                if shared else "") + ".", weak))
    return findings


def _extension_findings(record: Record) -> list[Finding]:
    facet = record.extensions
    if facet is None or facet.version is None:
        return []
    findings = []
    if facet.secure_renegotiation is False:
        findings.append(_finding("extensions.no_secure_renegotiation", "extensions",
                                 "The ServerHello carries no renegotiation_info: no RFC 5746 "
                                 "secure renegotiation.",
                                 [f"{facet.version}: renegotiation_info not echoed"],
                                 facet.version))
    if facet.extended_master_secret is False:
        findings.append(_finding("extensions.no_extended_master_secret", "extensions",
                                 "The ServerHello carries no extended_master_secret: sessions "
                                 "are open to the triple-handshake attack.",
                                 [f"{facet.version}: extended_master_secret not echoed"],
                                 facet.version))
    return findings


def _vulnerability_findings(record: Record) -> list[Finding]:
    facet = record.vulnerabilities
    if facet is None:
        return []
    findings = []
    for name in type(facet).model_fields:
        check = getattr(facet, name)
        if check is not None and check.result == "vulnerable":
            finding_id = f"vulnerabilities.{name}"
            findings.append(_finding(finding_id, "vulnerabilities",
                                     f"{RULES[finding_id].summary}: {check.detail}",
                                     [check.detail], check.version))
    return findings
