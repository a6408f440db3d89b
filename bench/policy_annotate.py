"""What policy identification and expectation checks cost per record.

Builds enumeration records (protocols, cipher suites, groups, certificate, as the enumeration
probes write them) for every catalog policy, then times, in the same invocation:

* reference: one JSON round trip of the record (what writing and re-reading it costs);
* identify: observation_from_record + identify against the whole catalog;
* expectations: evaluate a policy, min_version and certificate expectation set;
* catalog load: a cold `mtlsweep policies list` process vs a cold `mtlsweep --version`.

    python -m bench.policy_annotate [--rounds 20]    # from the repository root
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from scanner.policy.catalog import Policy, builtin_catalog
from scanner.policy.expectations import Expectations, evaluate
from scanner.policy.identify import identify, observation_from_record

VERSIONS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def record_for(policy: Policy) -> dict[str, Any]:
    """The record an RSA endpoint running ``policy`` exactly would produce."""
    return {
        "status": "ok",
        "protocols": {v: {"accepted": bool(policy.suites_at(v, {"rsa"}))} for v in VERSIONS},
        "cipher_suites": {v: {"suites": [s.as_json() for s in policy.suites_at(v, {"rsa"})],
                              "order": "server", "complete": True}
                          for v in policy.protocols if policy.suites_at(v, {"rsa"})},
        "groups": {"TLSv1.3": {"groups": [{"name": "x25519"}], "complete": True}},
        "certificate": {"days_left": 90, "chains": [{"certificates": [{"key_type": "RSA"}]}]},
    }


def per_call(function: Callable[[], object], rounds: int) -> float:
    """CPU seconds per call (process time: steadier than wall time on a shared machine)."""
    function()  # warm the caches, as a sweep does after its first target
    started = time.process_time()
    for _ in range(rounds):
        function()
    return (time.process_time() - started) / rounds


def cold(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "scanner", *args], check=True,
                   capture_output=True, env={**os.environ, "COLUMNS": "200"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    catalog = builtin_catalog()
    records = [record_for(p) for p in catalog]
    expect = Expectations.model_validate({"policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                                          "min_version": "TLSv1.2",
                                          "certificate": {"min_days_left": 30}})

    def reference() -> None:
        for record in records:
            json.loads(json.dumps(record))

    def identification() -> None:
        for record in records:
            observation = observation_from_record(record)
            assert observation is not None
            identify(observation, catalog)

    annotated = []
    for record in records:
        observation = observation_from_record(record)
        assert observation is not None
        found = identify(observation, catalog)
        annotated.append({**record, "policy": {
            "matches": [{"id": c.policy.id} for c in found.matches], "key_types": ["rsa"]}})

    def expectations() -> None:
        for record in annotated:
            evaluate(record, expect, catalog)

    count = len(records)
    rows = [
        ("reference: JSON round trip", per_call(reference, rounds) / count),
        ("identify (whole catalog)", per_call(identification, rounds) / count),
        ("expectations (3)", per_call(expectations, rounds) / count),
    ]
    print(f"{count} records (one per catalog policy), {rounds} rounds, "
          f"{len(catalog)} policies in the catalog")
    print(f"{'step':32} {'CPU/record':>12} {'vs reference':>13}")
    for name, seconds in rows:
        print(f"{name:32} {seconds * 1e6:10.0f}us {seconds / rows[0][1]:12.1f}x")
    version, listing = cold(["--version"]), cold(["policies", "list"])
    print(f"{'cold `mtlsweep --version`':32} {version * 1e3:10.0f}ms")
    print(f"{'cold `mtlsweep policies list`':32} {listing * 1e3:10.0f}ms "
          f"{listing / version:12.1f}x")


if __name__ == "__main__":
    main()
