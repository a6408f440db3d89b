"""How well identification names a policy an operator reproduced on nginx.

For every AWS ELB (ALB/NLB and Classic) and Azure Application Gateway policy whose protocols
and suites the installed OpenSSL can serve, start nginx on 127.0.0.1 with that policy's
cipher list (its order, server preference, TLS 1.3 suites), nginx's own default curves, and
an RSA plus an ECDSA certificate; scan it with mtlsweep (protocols, cipher_suites, groups,
certificate) and report where the policy ranks. Policies the local OpenSSL cannot serve
(SSLv3, 3DES, ...) are listed as skipped with the reason. Post-quantum policies are run too:
OpenSSL 3.0 has no ML-KEM, so nginx can only serve their classical side and the scan should
name their classical twin (counted apart).

    python -m bench.policy_nginx [--only SUBSTRING]    # from the repository root
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import tempfile
from pathlib import Path

from scanner.config.targets import Target
from scanner.policy.catalog import Policy, builtin_catalog
from scanner.probes import ProbeOptions
from tests.conftest import scan_targets
from tests.support import servers
from tests.support.pki import build_test_pki, issue_server_cert

PROBES = ("protocols", "cipher_suites", "groups", "certificate")
FAMILIES = ("aws-elb:", "aws-elb-classic:", "azure-appgw:")


def local_openssl_suites() -> set[str]:
    """OpenSSL names the system OpenSSL (the one nginx links) can serve at security level 0."""
    listed = subprocess.run(
        [servers.binary("openssl"), "ciphers", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True, text=True, check=True).stdout
    return set(listed.strip().split(":"))


def unservable(policy: Policy, available: set[str]) -> str | None:
    if "SSLv3" in policy.protocols:
        return "SSLv3 (not built into Debian's OpenSSL)"
    missing = [s.openssl or s.hex for s in policy.tls12 if s.openssl not in available]
    return f"suites {', '.join(missing)}" if missing else None


def directives(policy: Policy, ecdsa_cert: Path, ecdsa_key: Path, dhparam: Path) -> str:
    old = any(v in policy.protocols for v in ("TLSv1.0", "TLSv1.1"))
    ciphers = ":".join(s.openssl or "" for s in policy.tls12) + (":@SECLEVEL=0" if old else "")
    lines = [f"ssl_certificate {ecdsa_cert};", f"ssl_certificate_key {ecdsa_key};",
             f"ssl_dhparam {dhparam};"]
    if policy.tls12:
        lines.append(f"ssl_ciphers {ciphers};")
    if policy.order == "server":
        lines.append("ssl_prefer_server_ciphers on;")
    if policy.tls13:
        lines.append("ssl_conf_command Ciphersuites "
                     f"{':'.join(s.iana or '' for s in policy.tls13)};")
    return "\n        ".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only policies whose id contains this")
    args = parser.parse_args()
    catalog = builtin_catalog()
    available = local_openssl_suites()
    work = Path(tempfile.mkdtemp(prefix="policy-nginx-"))
    pki = build_test_pki(work / "pki")
    rsa = issue_server_cert(pki.server_ca, key_type="rsa").write_pem(work / "rsa")
    dhparam = work / "ffdhe2048.pem"
    subprocess.run([servers.binary("openssl"), "genpkey", "-genparam", "-algorithm", "DH",
                    "-pkeyopt", "group:ffdhe2048", "-out", str(dhparam)], check=True,
                   capture_output=True)
    counts = {"FIRST": 0, "FIRST*": 0, "TIED": 0, "PQ-TWIN": 0, "MISS": 0, "SKIP": 0}
    for policy in catalog:
        if not policy.id.startswith(FAMILIES) or args.only not in policy.id:
            continue
        why_not = unservable(policy, available)
        if why_not:
            counts["SKIP"] += 1
            print(f"SKIP    {policy.id}: {why_not}")
            continue
        versions = tuple(v.removeprefix("TLSv") for v in reversed(policy.protocols))
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(servers.nginx(
                pki, work / policy.id.replace(":", "_").replace("/", "_"), mode="none",
                tls_versions=versions,  # type: ignore[arg-type]
                server_files=rsa,
                extra_directives=directives(policy, pki.server_files.cert,
                                            pki.server_files.key, dhparam)))
            record = scan_targets([Target(host="127.0.0.1", port=server.port, sni="localhost")],
                                  probes=PROBES,
                                  probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))[0]
        identified = record.policy
        matches = [m.id for m in identified.matches] if identified else []
        if matches[:1] == [policy.id]:
            verdict = "FIRST" if len(matches) == 1 else "FIRST*"
        elif policy.id in matches:
            verdict = "TIED"
        elif policy.pq_key_exchange and any(
                twin.id in matches for twin in catalog.lookalikes(policy)):
            verdict = "PQ-TWIN"
        else:
            verdict = "MISS"
        counts[verdict] += 1
        detail = ", ".join(f"{m.id} ({m.match})" for m in (identified.matches if identified
                                                           else [])[:4])
        if not matches and identified and identified.nearest:
            near = identified.nearest[0]
            detail = f"nearest {near.id}: {near.explanation}"
        print(f"{verdict:7} {policy.id}: {detail}")
    print("; ".join(f"{name}: {count}" for name, count in counts.items()))
    print("FIRST: the only match; FIRST*: first of several equally ranked look-alikes; TIED: "
          "among them, not first; PQ-TWIN: a post-quantum policy identified as its classical "
          "twin (OpenSSL 3.0 cannot serve ML-KEM); MISS: not among the matches")


if __name__ == "__main__":
    main()
