#!/usr/bin/env python3
"""The active checks and the baseline's findings, next to sslyze's verdicts on the same servers.

    python -m bench.vulns              # from the repository root
    python -m bench.vulns --no-sslyze

Starts its own servers on 127.0.0.1 (test PKI, tests.support starters): nginx with the
defaults (ECDSA), nginx with an RSA certificate, DHE on the 1024-bit RFC 2409 group and
static RSA, haproxy, gnutls-serv with a legacy priority string (TLS 1.0, RC4, 3DES), openssl
s_server -early_data (TLS 1.3), and caddy when it is installed. For each it prints the
findings of mtlsweep's default scan plus the opt-in ``robot`` probe, the connections that
scan made, and per active check mtlsweep's verdict next to sslyze 6's (``--heartbleed
--openssl_ccs --fallback --compression --robot --early_data``; sslyze is pip-installed into
the throwaway venv bench.enumeration uses).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from cryptography.hazmat.primitives.asymmetric import dh
from cryptography.hazmat.primitives.serialization import Encoding, ParameterFormat
from cryptography.utils import CryptographyDeprecationWarning

from bench.enumeration import install_sslyze, sslyze_version, table
from scanner.config.targets import Target
from scanner.probes import DEFAULT_PROBES, ProbeOptions
from scanner.results import Record
from scanner.run.sweep import SweepOptions, sweep
from scanner.wire.dh_groups import well_known_dh_primes
from tests.support import servers
from tests.support.pki import TestPKI, build_test_pki, issue_server_cert
from tests.support.sinks import RecordList

PROBES = (*DEFAULT_PROBES, "robot")
CHECKS = ("heartbleed", "ccs_injection", "fallback_scsv", "compression", "robot", "zero_rtt")


def scan(port: int, pki: TestPKI) -> Record:
    sink = RecordList()
    options = SweepOptions(probes=PROBES, timeout=5.0,
                           probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))
    trio.run(sweep, [Target(host="127.0.0.1", port=port, sni="localhost")], options, sink)
    (record,) = sink.records
    return record


def our_verdicts(record: Record) -> dict[str, str]:
    found: dict[str, str] = {}
    if record.vulnerabilities is not None:
        for name, check in record.vulnerabilities:
            if check is not None:
                found[name] = check.result
    if record.robot is not None:
        found["robot"] = record.robot.result
    return found


def sslyze_verdicts(exe: Path, port: int, workdir: Path) -> dict[str, str]:
    out = workdir / f"sslyze-{port}.json"
    subprocess.run([str(exe), "--quiet", "--json_out", str(out), "--heartbleed", "--openssl_ccs",
                    "--fallback", "--compression", "--robot", "--early_data",
                    f"localhost:{port}{{127.0.0.1}}"], capture_output=True, timeout=600,
                   check=False)
    try:
        result = json.loads(out.read_text())["server_scan_results"][0]["scan_result"]
    except (OSError, ValueError, KeyError, IndexError):
        return {}

    def get(command: str, field: str) -> Any:
        entry = result.get(command) or {}
        if entry.get("status") != "COMPLETED":
            return f"error ({entry.get('status')})"
        return (entry.get("result") or {}).get(field)

    def vulnerable(value: Any) -> str:
        return value if isinstance(value, str) else ("vulnerable" if value else
                                                     "not_vulnerable")

    robot = get("robot", "robot_result")
    return {
        "heartbleed": vulnerable(get("heartbleed", "is_vulnerable_to_heartbleed")),
        "ccs_injection": vulnerable(get("openssl_ccs_injection",
                                        "is_vulnerable_to_ccs_injection")),
        "fallback_scsv": vulnerable(_negate(get("tls_fallback_scsv", "supports_fallback_scsv"))),
        "compression": vulnerable(get("tls_compression", "supports_compression")),
        "robot": ("vulnerable" if str(robot).startswith("VULNERABLE") else
                  "not_applicable" if robot == "NOT_VULNERABLE_RSA_NOT_SUPPORTED" else
                  "not_vulnerable" if str(robot).startswith("NOT_VULNERABLE") else str(robot)),
        "zero_rtt": vulnerable(get("tls_1_3_early_data", "supports_early_data")),
    }


def _negate(value: Any) -> Any:
    return (not value) if isinstance(value, bool) else value


def dh1024(workdir: Path) -> Path:
    prime = next(p for p, name in well_known_dh_primes().items() if name == "rfc2409_1024")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        pem = dh.DHParameterNumbers(prime, 2).parameters().parameter_bytes(
            Encoding.PEM, ParameterFormat.PKCS3)
    path = workdir / "dh1024.pem"
    path.write_bytes(pem)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-sslyze", action="store_true", help="skip the sslyze runs")
    args = parser.parse_args()
    exe, note = (None, "skipped (--no-sslyze)") if args.no_sslyze else install_sslyze()
    with tempfile.TemporaryDirectory(prefix="mtlsweep-bench-vulns-") as tmp:
        workdir = Path(tmp)
        pki = build_test_pki(workdir / "pki")
        rsa = issue_server_cert(pki.server_ca, key_type="rsa").write_pem(workdir / "rsa")
        rsa_directives = (f"ssl_certificate {rsa.cert}; ssl_certificate_key {rsa.key};\n"
                          '        ssl_ciphers "ECDHE-RSA-AES128-GCM-SHA256:'
                          'DHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256:AES128-SHA:@SECLEVEL=1";'
                          f"\n        ssl_dhparam {dh1024(workdir)};")
        legacy = ("NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.0:+ARCFOUR-128:+3DES-CBC:+RSA:"
                  "+DHE-RSA")
        starters: list[tuple[str, Callable[[Path], contextlib.AbstractContextManager[Any]]]] = [
            ("nginx (defaults, ECDSA)", lambda d: servers.nginx(pki, d, mode="none")),
            ("nginx (RSA, DHE 1024, static RSA)", lambda d: servers.nginx(
                pki, d, mode="none", tls_versions=("1.2", "1.3"),
                extra_directives=rsa_directives)),
            ("haproxy", lambda d: servers.haproxy(pki, d, verify="none",
                                                  tls_versions=("1.2", "1.3"))),
            ("gnutls-serv (TLS 1.0, RC4, 3DES)", lambda d: servers.gnutls_serv(
                pki, d, priority=legacy, server_files=rsa, require_client_cert=False,
                request_client_cert=False, verify_client_cert=False)),
            ("s_server -early_data (TLS 1.3)", lambda d: servers.openssl_s_server(
                pki, d, verify=None, tls_versions=("1.3",), www=False,
                extra_args=("-early_data", "-quiet"))),
        ]
        if subprocess.run(["which", "caddy"], capture_output=True, check=False).returncode == 0:
            starters.append(("caddy", lambda d: servers.caddy(pki, d, client_auth=None,
                                                              tls_versions=None)))
        findings_rows, verdict_rows = [], []
        for index, (label, start) in enumerate(starters):
            with start(workdir / f"server-{index}") as server:
                port = server.port
                record = scan(port, pki)
                findings_rows.append([label, str(record.stats.connections), ", ".join(
                    f"{f.id} ({f.severity.value})" for f in record.findings) or "none"])
                ours = our_verdicts(record)
                theirs = sslyze_verdicts(exe, port, workdir) if exe is not None else {}
                for check in CHECKS:
                    mine, other = ours.get(check, "-"), theirs.get(check, "-")
                    agree = ("yes" if mine == other else
                             "n/a" if "-" in (mine, other) or "not_applicable" in (mine, other)
                             else "NO")
                    verdict_rows.append([label, check, mine, other, agree])
        print(table("Findings of a default scan plus robot (connections: record.stats)",
                    ["server", "connections", "findings"], findings_rows))
        print()
        reference = note if exe is None else f"sslyze {sslyze_version(exe)}"
        print(table(f"Active checks: mtlsweep next to {reference}",
                    ["server", "check", "mtlsweep", "sslyze", "agree"], verdict_rows))


if __name__ == "__main__":
    main()
