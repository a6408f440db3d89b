"""Where does each connection of a default scan go? A per-probe breakdown, measured.

    python -m bench.connections                 # from the repository root
    python -m bench.connections --detail        # every connection, in order
    python -m bench.connections --listener peers  # one listener of bench.peers' nginx

Starts one nginx on 127.0.0.1 imitating an AWS ALB listener with
``ELBSecurityPolicy-TLS13-1-2-2021-06`` (TLS 1.2+1.3, its cipher list and curves, an RSA
certificate, http2, ``ssl_verify_client on``), scans it once with every default probe and the
test client certificate, and prints the connections per probe (raw hellos and full
handshakes) next to the record's own ``stats``. ``--listener peers`` scans instead what most of
``bench.peers``' 200 listeners are (nginx's default protocols and ciphers, no client
certificate asked) the way that bench does (no client certificate). A connection made by
shared work counts for the probe that asked first. The breakdown wraps ``EndpointSession``
for this run only.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import traceback
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from scanner.config.targets import Target
from scanner.engine import session as engine_session
from scanner.offers.credential import ClientCredential
from scanner.offers.offer import ClientOffer
from scanner.policy.catalog import builtin_catalog
from scanner.probes import DEFAULT_PROBES
from scanner.results import Record
from tests.conftest import scan_targets
from tests.support.pki import build_test_pki, issue_server_cert
from tests.support.servers import nginx

POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CURVES = "X25519:prime256v1:secp384r1"

#: (probe, kind, what was offered), in the order the connections started.
Log = list[tuple[str, str, str]]


def _describe_offer(offer: ClientOffer) -> str:
    versions = f"{offer.min_version}-{offer.max_version}"
    parts = [versions, f"alpn={','.join(offer.alpn) if offer.alpn else '-'}"]
    if offer.client_credential is not None:
        parts.append("cert")
    return " ".join(parts)


def _caller() -> str:
    """The innermost probe-layer functions on the stack: which code asked."""
    frames = [f"{Path(frame.filename).stem}.{frame.name}"
              for frame in traceback.extract_stack()
              if "scanner/probes" in frame.filename and frame.name != "<lambda>"]
    return " < ".join(reversed(frames[-3:]))


def instrument(log: Log) -> Callable[[], None]:
    """Wrap the session's two ways to connect so that each connection is logged."""
    cls: Any = engine_session.EndpointSession
    connect, raw_exchange = cls.connect, cls.raw_exchange

    def counted_connect(self: Any, offer: ClientOffer, **kwargs: Any
                        ) -> AsyncIterator[Any]:
        log.append((engine_session.current_probe.get() or "?", "handshake",
                    _describe_offer(offer) + "  " + _caller()))
        return connect(self, offer, **kwargs)  # type: ignore[no-any-return]

    async def counted_raw(self: Any, payload: bytes, **kwargs: Any) -> Any:
        log.append((engine_session.current_probe.get() or "?", "raw",
                    f"{len(payload)} bytes  {_caller()}"))
        return await raw_exchange(self, payload, **kwargs)

    cls.connect, cls.raw_exchange = counted_connect, counted_raw

    def undo() -> None:
        cls.connect, cls.raw_exchange = connect, raw_exchange
    return undo


def alb_directives(cert: Path, key: Path) -> str:
    (policy,) = [p for p in builtin_catalog().find(POLICY) if p.id.startswith("aws-elb:")]
    ciphers = ":".join(suite.openssl for suite in policy.tls12 if suite.openssl)
    return (f"ssl_certificate {cert}; ssl_certificate_key {key};\n"
            f'        ssl_ciphers "{ciphers}"; ssl_prefer_server_ciphers on;\n'
            f"        ssl_ecdh_curve {CURVES};")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detail", action="store_true", help="list every connection")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the scan's record as JSON (to diff facts before/after)")
    parser.add_argument("--listener", choices=("alb", "peers"), default="alb",
                        help="alb: the ALB-like mTLS listener (default); peers: nginx's "
                        "defaults without client authentication, scanned without a certificate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        pki = build_test_pki(work / "pki")
        rsa = issue_server_cert(pki.server_ca, key_type="rsa").write_pem(work / "rsa")
        credential = ClientCredential(pki.client_one.cert, pki.client_one.key)
        log: Log = []
        alb = args.listener == "alb"
        with nginx(pki, work / "nginx", mode="ca_names" if alb else "none",
                   tls_versions=("1.2", "1.3"), http2=alb,
                   extra_directives=alb_directives(rsa.cert, rsa.key) if alb else "") as server:
            undo = instrument(log)
            try:
                (record,) = scan_targets(
                    [Target(host="127.0.0.1", port=server.port, sni="localhost",
                            client_credential=credential if alb else None)],
                    probes=DEFAULT_PROBES)
            finally:
                undo()
        report(record, log, detail=args.detail)
        if args.json is not None:
            args.json.write_text(record.model_dump_json(by_alias=True, indent=2) + "\n")


def report(record: Record, log: Log, *, detail: bool) -> None:
    per_probe: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    for probe, kind, _what in log:
        per_probe[probe][kind] += 1
    print(f"{'probe':18} {'raw':>4} {'full':>5} {'total':>6}")
    for probe, counts in sorted(per_probe.items(), key=lambda item: -sum(item[1].values())):
        print(f"{probe:18} {counts['raw']:4} {counts['handshake']:5} "
              f"{sum(counts.values()):6}")
    stats = record.stats
    print(f"{'all':18} {sum(k == 'raw' for _, k, _ in log):4} "
          f"{sum(k == 'handshake' for _, k, _ in log):5} {len(log):6}   record.stats: "
          f"{stats.connections} connections, {stats.raw_connections} raw, "
          f"{stats.handshakes_completed} completed; status {record.status}")
    if detail:
        for probe, kind, what in log:
            print(f"  {probe:18} {kind:9} {what}")


if __name__ == "__main__":
    main()
