"""Benchmark: the enforcement probe against a real nginx on 127.0.0.1, next to a reference run.

    python -m bench.enforcement [--targets 200] [--per-address 32]    # from the repository root

The reference is the client_auth probe on the same targets in the same invocation (two
handshakes per target, no HTTP). The enforcement probe makes four handshakes per target
plus one HTTP HEAD each; its throwaway certificates are made once per sweep, so the number
of OpenSSL contexts it builds must not grow with the number of targets. Also times making
the throwaway certificates (EC and RSA) against fetching them from the cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import trio

from scanner.config.targets import Target
from scanner.engine.contexts import ContextFactory
from scanner.engine.session import ConnectionLimits
from scanner.probes.shared.throwaway import ThrowawayCertificates
from scanner.results import Record
from scanner.run.scan import Scanner, ScanSettings
from tests.support.pki import build_test_pki
from tests.support.servers import nginx


def sweep(targets: list[Target], probe: str, per_address: int) -> tuple[float, int, int, str]:
    contexts = ContextFactory()
    scanner = Scanner(ScanSettings(probes=(probe,), timeout=10.0),
                      limits=ConnectionLimits(64, per_address), contexts=contexts)
    records: list[Record] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for target in targets:
                async def one(target: Target = target) -> None:
                    records.append(await scanner.scan(target))
                nursery.start_soon(one)

    started = time.perf_counter()
    trio.run(main)
    elapsed = time.perf_counter() - started
    connections = sum(r.stats.connections for r in records)
    verdicts = {r.enforcement.verdict for r in records if r.enforcement}
    statuses = {r.status for r in records}
    summary = f"status {sorted(statuses)}" + (f", verdicts {sorted(map(str, verdicts))}"
                                              if verdicts else "")
    return elapsed, connections, len(contexts._cache), summary


def certificate_costs() -> list[tuple[str, float]]:
    cache = ThrowawayCertificates()
    out = []
    for key_type in ("ec", "rsa"):
        started = time.perf_counter()
        cache.self_signed(key_type)
        cache.untrusted_ca(key_type)
        out.append((f"make self-signed + untrusted-CA set ({key_type})",
                    time.perf_counter() - started))
    started = time.perf_counter()
    for _ in range(1000):
        cache.self_signed("ec")
        cache.untrusted_ca("ec")
    out.append(("fetch the same set from the cache (per target)",
                (time.perf_counter() - started) / 1000))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--per-address", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pki = build_test_pki(Path(tmp) / "pki")
        with nginx(pki, Path(tmp) / "nginx", mode="ca_names") as server:
            targets = [Target(host="127.0.0.1", port=server.port, sni=f"t{i}.localhost",
                              name=f"t{i}") for i in range(args.targets)]
            print(f"{args.targets} targets on one nginx (ssl_verify_client on), "
                  f"per-address limit {args.per_address}")
            print(f"{'probe':14} {'seconds':>8} {'targets/s':>10} {'conn/s':>8} "
                  f"{'contexts':>9}  result")
            for probe in ("client_auth", "enforcement"):
                elapsed, connections, contexts, summary = sweep(targets, probe,
                                                                args.per_address)
                print(f"{probe:14} {elapsed:8.2f} {args.targets / elapsed:10.1f} "
                      f"{connections / elapsed:8.1f} {contexts:9d}  {summary}")
    for label, seconds in certificate_costs():
        print(f"{label:52} {seconds * 1000:9.3f} ms")


if __name__ == "__main__":
    main()
