"""``--workers``: a sweep split over processes by address (by listener when addresses are
fewer than workers, the per-address bound divided), every target recorded once, the same
facts as in one process, and a clean stop on SIGTERM that --resume finishes."""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path

import pytest

from scanner.config.targets import Target
from scanner.report.jsonl import read_records
from scanner.results import Record
from scanner.run.workers import plan
from tests.test_cli import run as run_cli
from tests.test_resume import recorded_keys, resume, start_sweep, wait_for_records

ADDRESSES = ("127.0.3.1", "127.0.3.2", "127.0.3.3")


def test_partition_keeps_each_address_in_one_balanced_share() -> None:
    names = {"a.test": "10.0.0.1", "b.test": "10.0.0.1", "c.test": "10.0.0.2",
             "d.test": "10.0.0.3", "10.0.0.4": "10.0.0.4"}
    targets = [Target(host=host, port=443 + i) for i in range(3) for host in names]
    shares = [share.members
              for share in plan(targets, 2, key=lambda host, _port: names[host])]
    assert sorted(i for share in shares for i, _ in share) == list(range(len(targets)))
    owners = {names[t.host]: n for n, share in enumerate(shares) for _, t in share}
    for n, share in enumerate(shares):
        assert all(owners[names[t.host]] == n for _, t in share), "an address in two shares"
    assert sorted(len(share) for share in shares) == [6, 9]  # 10.0.0.1 (6) + one more (3)
    assert plan([], 4) == [] and len(plan(targets, 1)) == 1


def test_plan_splits_one_address_by_listener_and_divides_its_bound() -> None:
    targets = [Target(host="10.0.0.1", port=port, sni=f"n{i}.test")
               for port in range(1000, 1010) for i in range(port % 3 + 1)]
    shares = plan(targets, 2, per_address=5, key=lambda host, _port: host)
    assert len(shares) == 2
    assert sorted(i for share in shares for i, _ in share.members) == list(range(len(targets)))
    owners = {t.port: n for n, share in enumerate(shares) for _, t in share.members}
    for n, share in enumerate(shares):  # a listener is never split: one server, one share
        assert all(owners[t.port] == n for _, t in share.members)
    assert sorted(share.budgets["10.0.0.1"] for share in shares) == [2, 3]
    sizes = sorted(len(share.members) for share in shares)
    assert sizes[1] - sizes[0] <= 3, sizes  # balanced to within one listener


def test_plan_deals_a_pattern_of_listeners_to_every_worker() -> None:
    """Every 4th listener of a load balancer differs (say, requires a client certificate and
    takes longer to scan): split by listener, those are not all one worker's."""
    targets = [Target(host="10.0.0.1", port=port) for port in range(18700, 18900)]
    for workers, period in ((2, 4), (2, 2), (4, 4), (3, 3)):
        shares = plan(targets, workers, per_address=workers, key=lambda h, _p: h)
        assert len(shares) == workers
        special = [sum(t.port % period == period - 1 for _, t in share.members)
                   for share in shares]
        fair = 200 / period / workers
        assert all(0.7 * fair <= count <= 1.3 * fair for count in special), (period, special)
        assert max(len(s.members) for s in shares) - min(len(s.members) for s in shares) <= 1


def test_plan_never_splits_an_address_below_one_slot_per_worker() -> None:
    targets = [Target(host="10.0.0.1", port=port) for port in range(1000, 1008)]
    assert [len(s.members) for s in plan(targets, 4, per_address=1, key=lambda h, _p: h)] == [8]
    shares = plan(targets, 4, per_address=3, key=lambda h, _p: h)
    assert sorted(s.budgets["10.0.0.1"] for s in shares) == [1, 1, 1]


def test_plan_keeps_addresses_whole_when_they_are_enough_and_names_by_address() -> None:
    names = {"a.test": "10.0.0.1", "b.test": "10.0.0.1", "10.0.0.2": "10.0.0.2"}
    targets = [Target(host=host, port=443 + i) for i in range(4) for host in names]
    whole = plan(targets, 2, per_address=8, key=lambda host, _port: names[host])
    assert all(not share.budgets for share in whole)
    # One address, two workers: names on one address and port stay together (vhosts compares
    # them), and a name's targets count against its address's share.
    one = [t for t in targets if names[t.host] == "10.0.0.1"]
    shares = plan(one, 2, per_address=8, key=lambda host, _port: names[host])
    assert len(shares) == 2
    for share in shares:
        ports = {t.port for _, t in share.members}
        assert all(t.port in ports for t in one if t.port in ports)
        assert len(share.members) == 2 * len(ports)
        assert share.budgets == {"10.0.0.1": 4, "a.test": 4, "b.test": 4}


def test_workers_share_one_address_within_its_per_address_bound(tmp_path: Path) -> None:
    """Two workers scan listeners of one address; together they keep to --per-address."""
    from tests.test_safety import ConcurrencyMeter, inventory_for, listener, records
    from tests.test_safety import run as run_scan

    meter = ConcurrencyMeter()
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(listener(meter, "127.0.0.1", 0.3)) for _ in range(4)]
        inventory = inventory_for(tmp_path, servers, per_server=4)
        result = run_scan("scan", str(inventory), "--probes", "client_auth",
                          "--per-address", "3", "--per-listener", "3", "--concurrency", "64",
                          "--workers", "2", "--timeout", "10", "--quiet")
    assert result.returncode == 3, result.stderr  # every listener refuses: all records error
    assert len(records(result.stdout)) == 16
    assert len(meter.accepted_at) == 32  # 16 targets, 2 handshakes each
    assert meter.total_peak <= 3, f"per-address bound exceeded: {meter.total_peak} at once"


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
    # The parent writes each worker's record as sent: exactly what a Record serialises to.
    for line in outputs["2"].read_text().splitlines():
        assert Record.model_validate_json(line).to_json() == line
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
