"""``--workers``: a sweep split over processes by address, every target recorded once, the
same facts as in one process, and a clean stop on SIGTERM that --resume finishes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from scanner.config.targets import Target
from scanner.report.jsonl import read_records
from scanner.run.workers import partition
from tests.test_cli import run as run_cli
from tests.test_resume import recorded_keys, resume, start_sweep, wait_for_records

ADDRESSES = ("127.0.3.1", "127.0.3.2", "127.0.3.3")


def test_partition_keeps_each_address_in_one_balanced_share() -> None:
    names = {"a.test": "10.0.0.1", "b.test": "10.0.0.1", "c.test": "10.0.0.2",
             "d.test": "10.0.0.3", "10.0.0.4": "10.0.0.4"}
    targets = [Target(host=host, port=443 + i) for i in range(3) for host in names]
    shares = partition(targets, 2, key=lambda host, _port: names[host])
    assert sorted(i for share in shares for i, _ in share) == list(range(len(targets)))
    owners = {names[t.host]: n for n, share in enumerate(shares) for _, t in share}
    for n, share in enumerate(shares):
        assert all(owners[names[t.host]] == n for _, t in share), "an address in two shares"
    assert sorted(len(share) for share in shares) == [6, 9]  # 10.0.0.1 (6) + one more (3)
    assert partition([], 4) == [] and len(partition(targets, 1)) == 1


@pytest.fixture(scope="module")
def many_addresses(pki, tmp_path_factory: pytest.TempPathFactory):
    from tests.support import servers

    workdir = tmp_path_factory.mktemp("workers")
    with servers.nginx(pki, workdir / "nginx", mode="optional",
                       extra_addresses=ADDRESSES) as server:
        inventory = workdir / "targets.yaml"
        inventory.write_text("targets:\n" + "".join(
            f"  - {{host: {address}, port: {server.port}, sni: s{i}.test}}\n"
            for address in ("127.0.0.1", *ADDRESSES) for i in range(2)))
        yield inventory


def facts(output: Path) -> dict[tuple[str, str | None], tuple[object, ...]]:
    records = [json.loads(line) for line in output.read_text().splitlines()]
    return {(r["target"]["host"], r["target"]["sni"]): (
        r["status"], r["client_auth"]["classification"],
        tuple(sorted(v for v, p in r["protocols"].items() if isinstance(p, dict)
                     and p.get("accepted")))) for r in records}


def test_workers_record_every_target_once_with_the_facts_of_one_process(
        many_addresses: Path, tmp_path: Path) -> None:
    outputs = {}
    for workers in ("1", "2"):
        outputs[workers] = tmp_path / f"workers-{workers}.jsonl"
        result = run_cli("scan", str(many_addresses), "--probes", "client_auth,protocols",
                         "-o", str(outputs[workers]), "--workers", workers)
        assert result.returncode == 0, result.stderr
        assert "8 target(s) in" in result.stderr
    one, two = facts(outputs["1"]), facts(outputs["2"])
    assert len(one) == 8 and one == two
    assert {fact[:2] for fact in one.values()} == {("ok", "optional")}
    assert all("TLSv1.2" in fact[2] and "TLSv1.3" in fact[2] for fact in one.values())


def test_sigterm_stops_every_worker_and_resume_finishes(
        many_addresses: Path, tarpit_server, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(many_addresses.read_text()
                         + f"  - {{host: 127.0.0.1, port: {tarpit_server.port}}}\n")
    output = tmp_path / "results.jsonl"
    process = start_sweep(inventory, output, "--workers", "2")
    wait_for_records(output, 4, process)
    process.send_signal(signal.SIGTERM)
    _stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    assert read_records(output).torn is None
    assert ("127.0.0.1", tarpit_server.port, None) not in recorded_keys(output)

    result = resume(inventory, output)
    assert result.returncode == 0, result.stderr
    counts = recorded_keys(output)
    assert len(counts) == 9 and set(counts.values()) == {1}
