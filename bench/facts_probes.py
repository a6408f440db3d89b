"""What the ocsp and certificate probes cost per target, next to client_auth alone.

Starts one nginx on 127.0.0.1 (stapling an OCSP response, holding an ECDSA and an RSA
certificate: the probes' most expensive case), scans it as N targets with each probe set in
the same invocation, and prints wall time, time per target and connections per target.

    python -m bench.facts_probes [--targets 200] [--concurrency 32]    # from the repository root
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import trio

from scanner.config.targets import Target
from scanner.probes import ProbeOptions
from scanner.run.sweep import SweepOptions, sweep
from tests.support.ocsp import OcspTimes, ocsp_response, write_der
from tests.support.pki import build_test_pki, issue_server_cert
from tests.support.servers import nginx
from tests.support.sinks import RecordList

PROBE_SETS = (("client_auth",), ("ocsp",), ("certificate",),
              ("client_auth", "ocsp", "certificate"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        pki = build_test_pki(work / "pki")
        staple = write_der(work / "staple.der", ocsp_response(
            pki.server.cert, pki.server_ca, times=OcspTimes(dt.datetime.now(dt.UTC))))
        rsa_files = issue_server_cert(pki.server_ca, key_type="rsa").write_pem(work / "rsa")
        directives = (f"ssl_stapling on;\n ssl_stapling_file {staple};\n"
                      f"ssl_certificate {rsa_files.cert};\n ssl_certificate_key {rsa_files.key};")
        with nginx(pki, work / "nginx", mode="none", master_process=True,
                   extra_directives=directives) as server:
            targets = [Target(host="127.0.0.1", port=server.port, sni="localhost",
                              name=f"t{i}") for i in range(args.targets)]
            print(f"{args.targets} targets on one nginx, concurrency {args.concurrency}, "
                  f"per-address limit = concurrency")
            print(f"{'probes':38} {'wall s':>7} {'ms/target':>10} {'conn/target':>12}")
            for probes in PROBE_SETS:
                sink = RecordList()
                options = SweepOptions(
                    probes=probes, concurrency=args.concurrency, per_address=args.concurrency,
                    timeout=10.0, probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))
                started = time.perf_counter()
                trio.run(sweep, targets, options, sink)
                wall = time.perf_counter() - started
                bad = [r for r in sink.records if r.status != "ok"]
                connections = sum(r.stats.connections for r in sink.records)
                label = ",".join(probes) + ("  (reference)" if probes == PROBE_SETS[0] else "")
                print(f"{label:38} {wall:7.2f} {1000 * wall / args.targets:10.1f} "
                      f"{connections / args.targets:12.1f}" + (f"  {len(bad)} not ok" if bad
                                                              else ""))


if __name__ == "__main__":
    main()
