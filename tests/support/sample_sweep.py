"""One real sweep that the report-view tests share (module-scoped in each test module): an
nginx that requires a certificate and names its CA (TLS 1.2 suites of an ELB policy,
X25519 only), an openssl s_server that requires one
without names, and a closed port; every default probe, expectations from an inventory (one met
and one failed on the nginx), the test CA as trust store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import trio

from scanner.config.inventory_stream import load_inventory
from scanner.probes import DEFAULT_PROBES, PROBES, ProbeOptions
from scanner.results import Record
from scanner.run.sweep import SweepOptions, sweep

from .pki import TestPKI, build_test_pki
from .processes import free_port
from .servers import nginx, openssl_s_server, require_binary
from .sinks import RecordList

#: The TLS 1.2 suites of ELBSecurityPolicy-TLS13-1-2-Res-2021-06 in its order, so the strict
#: nginx is identified as that policy, and X25519 as its only group, so the profiled clients
#: without X25519 (Windows 7, Java 8, ...) cannot connect.
RESTRICTED_TLS12 = ("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384; "
                    "ssl_prefer_server_ciphers on; ssl_ecdh_curve X25519;")


@contextlib.contextmanager
def sample_sweep(workdir: Path) -> Iterator[list[Record]]:
    """The records of the sample sweep, in inventory order (servers stopped afterwards)."""
    require_binary("nginx")
    require_binary("openssl")
    pki: TestPKI = build_test_pki(workdir / "pki")
    with nginx(pki, workdir / "nginx", mode="ca_names",
               extra_directives=RESTRICTED_TLS12) as strict, \
            openssl_s_server(pki, workdir / "openssl", verify="require",
                             no_ca_names=True) as nameless:
        inventory = workdir / "targets.yaml"
        inventory.write_text(
            "targets:\n"
            f"  - {{host: 127.0.0.1, port: {strict.port}, sni: localhost, name: strict-nginx,\n"
            "     expect: {ca_names_sent: true, min_version: TLSv1.3}}\n"
            f"  - {{host: 127.0.0.1, port: {nameless.port}, sni: localhost}}\n"
            f"  - {{host: 127.0.0.1, port: {free_port()}, sni: null}}\n")
        targets = load_inventory(inventory, known_probes=PROBES).targets
        sink = RecordList()
        options = SweepOptions(probes=DEFAULT_PROBES, timeout=5.0,
                               probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))
        trio.run(sweep, targets, options, sink)
        by_port = {record.target.port: record for record in sink.records}
        yield [by_port[target.port] for target in targets]
