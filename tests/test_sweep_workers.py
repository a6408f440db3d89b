"""``--workers``: a sweep split over processes by address (by listener when addresses are
fewer than workers, the per-address bound divided), every target recorded once, the same
facts as in one process, and a clean stop on SIGTERM that --resume finishes."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.config.targets import Target
from scanner.report.jsonl import read_records
from scanner.results import Record
from scanner.run.workers import WorkPlan, plan
from tests.test_cli import run as run_cli
from tests.test_resume import recorded_keys, resume, start_sweep, wait_for_records

ADDRESSES = ("127.0.3.1", "127.0.3.2", "127.0.3.3")


def _covered(work: WorkPlan, count: int) -> None:
    """Every target in exactly one unit, the units in input order (of their first target)."""
    assert sorted(i for unit in work.units for i, _ in unit.members) == list(range(count))
    firsts = [unit.members[0][0] for unit in work.units]
    assert firsts == sorted(firsts)


def test_plan_keeps_each_address_whole_in_one_unit() -> None:
    names = {"a.test": "10.0.0.1", "b.test": "10.0.0.1", "c.test": "10.0.0.2",
             "d.test": "10.0.0.3", "10.0.0.4": "10.0.0.4"}
    targets = [Target(host=host, port=443 + i) for i in range(3) for host in names]
    work = plan(targets, 2, key=lambda host, _port: names[host])
    _covered(work, len(targets))
    assert work.workers == 2 and work.budgets == [{}, {}]
    assert [len(unit.members) for unit in work.units] == [6, 3, 3, 3]  # 10.0.0.1 first
    assert all(len({names[t.host] for _, t in unit.members}) == 1 for unit in work.units)
    assert all(unit.eligible is None for unit in work.units)
    assert plan([], 4).units == [] and plan(targets, 1).workers == 1


def test_plan_splits_one_address_by_listener_and_divides_its_bound() -> None:
    targets = [Target(host="10.0.0.1", port=port, sni=f"n{i}.test")
               for port in range(1000, 1010) for i in range(port % 3 + 1)]
    work = plan(targets, 2, per_address=5, key=lambda host, _port: host)
    _covered(work, len(targets))
    assert work.workers == 2
    # a listener is never split (one server, one unit), and either worker may take it
    assert sorted(len({t.port for _, t in unit.members}) for unit in work.units) == [1] * 10
    assert all(unit.eligible is None for unit in work.units)
    assert sorted(budget["10.0.0.1"] for budget in work.budgets) == [2, 3]


def test_plan_never_splits_an_address_below_one_slot_per_worker() -> None:
    targets = [Target(host="10.0.0.1", port=port) for port in range(1000, 1008)]
    work = plan(targets, 4, per_address=1, key=lambda h, _p: h)
    assert work.workers == 1 and [len(unit.members) for unit in work.units] == [8]
    work = plan(targets, 4, per_address=3, key=lambda h, _p: h)
    assert work.workers == 3
    assert sorted(budget["10.0.0.1"] for budget in work.budgets) == [1, 1, 1]


def test_plan_gives_an_address_only_to_the_workers_holding_its_slots() -> None:
    """Four workers, two addresses of many listeners, two slots each: each address is split
    between two workers, and only they may take its listeners."""
    targets = [Target(host=host, port=port) for host in ("10.0.0.1", "10.0.0.2")
               for port in range(1000, 1010)]
    work = plan(targets, 4, per_address=2, key=lambda h, _p: h)
    _covered(work, len(targets))
    assert work.workers == 4
    sharing = {}
    for unit in work.units:
        (host,) = {t.host for _, t in unit.members}
        assert unit.eligible is not None and len(unit.eligible) == 2
        sharing.setdefault(host, set()).update(unit.eligible)
    assert sorted(map(len, sharing.values())) == [2, 2]
    assert not set.intersection(*sharing.values())
    for host, workers in sharing.items():
        assert [work.budgets[n].get(host) for n in sorted(workers)] == [1, 1]
        assert all(host not in work.budgets[n] for n in range(4) if n not in workers)


def test_plan_keeps_addresses_whole_when_they_are_enough_and_names_by_address() -> None:
    names = {"a.test": "10.0.0.1", "b.test": "10.0.0.1", "10.0.0.2": "10.0.0.2"}
    targets = [Target(host=host, port=443 + i) for i in range(4) for host in names]
    whole = plan(targets, 2, per_address=8, key=lambda host, _port: names[host])
    assert whole.budgets == [{}, {}] and len(whole.units) == 2
    # One address, two workers: names on one address and port stay together (vhosts compares
    # them), and a name's targets count against its address's share.
    one = [t for t in targets if names[t.host] == "10.0.0.1"]
    work = plan(one, 2, per_address=8, key=lambda host, _port: names[host])
    assert work.workers == 2 and len(work.units) == 4
    for unit in work.units:
        assert len({t.port for _, t in unit.members}) == 1
        assert sorted(t.host for _, t in unit.members) == ["a.test", "b.test"]
    assert work.budgets == [{"10.0.0.1": 4, "a.test": 4, "b.test": 4}] * 2


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


def test_a_dead_worker_loses_only_the_units_it_took_the_other_takes_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker dies when it reaches 127.0.4.7's unit: the targets it had taken and not
    reported get an internal_error record each; the other worker scans every unit left."""
    import dataclasses
    import os

    from scanner.report.sinks import OutputFormat
    from scanner.run import workers
    from scanner.run.sweep import SweepOptions, run_sweep
    from tests.support.processes import free_port

    doomed = "127.0.4.7"
    real = workers._run_worker

    def run_worker(job: workers.WorkerJob, options: SweepOptions, fd: int) -> None:
        def targets() -> Iterator[Target]:
            for target in job.targets():
                if target.host == doomed:
                    os._exit(7)
                yield target
        real(dataclasses.replace(job, targets=targets), options, fd)

    monkeypatch.setattr(workers, "_run_worker", run_worker)
    port = free_port()  # nothing listens: each target is a quick connection_refused
    targets = [Target(host=f"127.0.4.{n}", port=port) for n in range(1, 31)]
    output = tmp_path / "out.jsonl"
    # One target at a time per worker: each takes a unit only when it has finished the last.
    options = SweepOptions(probes=("client_auth",), workers=2, timeout=5, concurrency=2)
    summary = run_sweep(targets, options, fmt=OutputFormat.jsonl, output=output,
                        stop_on_signals=False, parallel=workers.run_in_workers)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(r["target"]["host"] for r in records) == sorted(t.host for t in targets)
    died = [r for r in records if r["error"]["kind"] == "internal_error"]
    assert doomed in {r["target"]["host"] for r in died}
    assert all("exited with code 7" in r["error"]["detail"] for r in died)
    # Units it had not taken went to the survivor: only the one it was scanning is lost
    # (and the one its runner had read ahead), not the half of 30 a fixed share would be.
    assert len(died) <= 2, [r["target"]["host"] for r in died]
    assert summary.targets == 30
