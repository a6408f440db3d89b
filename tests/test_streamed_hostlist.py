"""A plain host list swept without holding it (run/streamed.py): duplicates, shards and
resume work from sorted 64-bit digests, with the same results as the loaded list."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.cli.usage import collect_targets
from scanner.config.hostlist import HostListError, read_host_list
from scanner.config.options import VHOSTS_PROBE
from scanner.config.targets import Target
from scanner.report.sinks import OutputFormat
from scanner.run import streamed, workers
from scanner.run.shard import Shard, select_shard
from scanner.run.streamed import HostListIndex, digest64, sorted_digests, streamable
from scanner.run.sweep import SweepOptions, SweepSummary
from tests.support.processes import free_port, tarpit
from tests.support.shards import record_keys, resume_cut_short, sweep_in_three_shards


def _write_list(path: Path, count: int, port: int) -> Path:
    path.write_text("".join(f"127.0.{i // 250}.{1 + i % 250}:{port}\n" for i in range(count)))
    return path


def test_digests_sorted_in_chunks_equal_one_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "_CHUNK", 7)
    values = [digest64(("127.0.0.1", port, None)) for port in range(1, 200)]
    assert list(sorted_digests(values)) == sorted(values)


def test_only_one_jsonl_host_list_is_streamed() -> None:
    def decide(arguments: list[str], **changes: object) -> Path | None:
        settings: dict[str, object] = {"fmt": OutputFormat.jsonl, "all_addresses": False,
                                       "adhoc_given": False, **changes}
        return streamable(arguments, **settings)  # type: ignore[arg-type]

    assert decide(["estate.txt"]) == Path("estate.txt")
    assert decide(["estate.yaml"]) is None
    assert decide(["estate.txt", "other.txt"]) is None
    assert decide(["estate.txt"], fmt=OutputFormat.json) is None
    assert decide(["estate.txt"], all_addresses=True) is None


def test_a_duplicate_names_both_lines(tmp_path: Path) -> None:
    listing = tmp_path / "dup.txt"
    listing.write_text("127.0.0.1:1\nexample.org\n[::ffff:127.0.0.1]:1\n")
    with pytest.raises(HostListError, match=r"duplicate target .*dup.txt:3; first from "
                                            r".*dup.txt:1\)"):
        HostListIndex.read(listing)


def test_a_streamed_duplicate_stops_before_any_connection(tmp_path: Path) -> None:
    with tarpit() as listener:
        listing = tmp_path / "dup.txt"
        listing.write_text(f"127.0.0.1:{listener.port}\n127.0.0.2:{listener.port}\n"
                           f"[::ffff:127.0.0.1]:{listener.port}\n")
        result = CliRunner().invoke(app, ["scan", str(listing), "--workers", "1",
                                          "-o", str(tmp_path / "out.jsonl")])
        assert result.exit_code == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1 and "duplicate target" in result.stderr
        assert listener.connections == 0


@pytest.mark.parametrize("count", [5, 7])
def test_shards_by_digest_range_equal_the_loaded_lists_shards(tmp_path: Path,
                                                              count: int) -> None:
    listing = _write_list(tmp_path / "estate.txt", 1000, 9)
    targets, _ = collect_targets([str(listing)])
    index = HostListIndex.read(listing)
    seen: list[tuple[object, ...]] = []
    for number in range(1, count + 1):
        shard = Shard(number, count)
        start, end = index.shard_range(shard)
        low, high = streamed._selection(index, start, end)
        chosen = [t.key for t in targets if low <= digest64(t.key) < high]
        assert chosen == [t.key for t in select_shard(targets, shard, key=lambda t: t.key)]
        seen += chosen
    assert sorted(seen) == sorted(t.key for t in targets)  # every target exactly once


def test_streamed_shards_and_resume_cover_every_target_once(tmp_path: Path) -> None:
    port = free_port()  # closed: every target is refused, nothing leaves loopback
    listing = _write_list(tmp_path / "estate.txt", 60, port)
    base = ["scan", str(listing), "--probes", "client_auth", "--allow-unreachable",
            "--workers", "1", "--timeout", "5"]
    outputs = sweep_in_three_shards(tmp_path, base)
    everything = [key for output in outputs for key in record_keys(output)]
    assert len(everything) == len(set(everything)) == 60

    # Resume: keep a third of shard 1's records (and a torn tail), finish it.
    first = outputs[0]
    kept, stderr = resume_cut_short(first, base, torn=True)
    assert f"resumed: {kept} target(s)" in stderr
    resumed = record_keys(first)

    # Nothing left: the exit code still speaks for the earlier (unreachable) records.
    result = CliRunner().invoke(app, ["scan", str(listing), "--probes", "client_auth",
                                      "--workers", "1", "--quiet", "--shard", "1/3",
                                      "-o", str(first), "--resume"])
    assert result.exit_code == 3, result.stderr
    assert record_keys(first) == resumed


def test_names_that_the_vhosts_probe_compares_are_loaded_not_streamed(tmp_path: Path) -> None:
    """The vhosts probe needs every name on an address: with host names and that probe the
    list goes to the loaded path (``fallback``); IP literals alone have no such neighbours."""
    listing = tmp_path / "names.txt"
    listing.write_text("www.example.org:8443\napi.example.org:8443\n")
    handed: list[list[str]] = []

    def fallback(targets: list[Target]) -> SweepSummary:
        handed.append([t.host for t in targets])
        return SweepSummary()

    options = SweepOptions(probes=(VHOSTS_PROBE, "client_auth"))
    streamed.sweep_host_list(listing, options, output=None, fallback=fallback)
    assert handed == [["www.example.org", "api.example.org"]]


def _spy_on_jobs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of worker jobs of each multi-process sweep started from now on."""
    counts: list[int] = []
    real = workers.sweep_in_workers

    def spy(jobs: list[workers.WorkerJob], *args: Any, **kwargs: Any) -> Any:
        counts.append(len(jobs))
        return real(jobs, *args, **kwargs)

    monkeypatch.setattr(workers, "sweep_in_workers", spy)
    return counts


@pytest.mark.parametrize("given", [None, "2"])
def test_a_streamed_list_of_addresses_is_split_between_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str | None) -> None:
    monkeypatch.setattr("scanner.run.workers.default_workers", lambda: 2)
    jobs = _spy_on_jobs(monkeypatch)
    listing = _write_list(tmp_path / "estate.txt", 40, free_port())  # closed: all refused
    output = tmp_path / "out.jsonl"
    options = ["--workers", given] if given else []
    result = CliRunner().invoke(app, ["scan", str(listing), "--probes", "client_auth",
                                      "--allow-unreachable", "--timeout", "5",
                                      "-o", str(output), *options])
    assert result.exit_code == 0, result.stderr
    assert jobs == [2]
    keys = record_keys(output)
    assert len(keys) == len(set(keys)) == 40
    assert "40 target(s)" in result.stderr and "40 error" in result.stderr


@pytest.mark.parametrize(("addresses", "workers", "jobs"), [(1, "4", [4]), (3, "2", [2])])
def test_listeners_on_fewer_addresses_than_workers_are_loaded_and_split(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, addresses: int, workers: str,
        jobs: list[int]) -> None:
    # Streamed, one address is one worker's and the other cores would idle (a worker without
    # an address idling on its share of --concurrency is worse): a list on fewer addresses
    # than workers is loaded, and the loaded path splits an address by listener.
    spied = _spy_on_jobs(monkeypatch)
    listing = tmp_path / "estate.txt"
    ports = [free_port() for _ in range(4)]
    listing.write_text("".join(f"127.0.0.{1 + n % addresses}:{port}\n"
                               for n, port in enumerate(ports)))
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(listing), "--probes", "client_auth",
                                      "--allow-unreachable", "--timeout", "5", "--workers", workers,
                                      "-o", str(output)])
    assert result.exit_code == 0, result.stderr
    assert spied == jobs
    assert len(record_keys(output)) == len(listing.read_text().splitlines())


def test_a_streamed_list_that_names_hosts_runs_in_one_process_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _spy_on_jobs(monkeypatch)
    port = free_port()
    listing = tmp_path / "names.txt"
    listing.write_text(f"localhost:{port}\n127.0.0.1:{port}\n")
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(listing), "--probes", "client_auth",
                                      "--allow-unreachable", "--timeout", "5", "--workers", "2",
                                      "-o", str(output)])
    assert result.exit_code == 0, result.stderr
    assert jobs == []
    assert len(record_keys(output)) == 2
    assert f"{listing} names hosts: it is swept through one process" in result.stderr


def test_a_dead_streamed_worker_leaves_an_error_record_for_each_target_it_had(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker scanning 127.0.0.3 dies before it reports anything; the other finishes.
    doomed = "127.0.0.3"
    real = workers._run_worker

    def run_worker(job: workers.WorkerJob, options: SweepOptions, fd: int) -> None:
        if any(target.host == doomed for target in job.targets()):
            os._exit(7)
        real(job, options, fd)

    monkeypatch.setattr(workers, "_run_worker", run_worker)
    listing = _write_list(tmp_path / "estate.txt", 30, free_port())
    output = tmp_path / "out.jsonl"
    summary = streamed.sweep_host_list(
        listing, SweepOptions(probes=("client_auth",), workers=2, timeout=5), output=output,
        stop_on_signals=False)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(record_keys(output)) == sorted(
        (f"127.0.0.{1 + i}", int(listing.read_text().split(":")[1].split()[0]))
        for i in range(30))
    died = [r for r in records if r["error"]["kind"] == "internal_error"]
    lost = {r["target"]["host"] for r in died}
    assert doomed in lost and len(lost) < 30  # only the dead worker's addresses
    partition = streamed.AddressPartition.plan(2, frozenset(f"127.0.0.{1 + i}" for i in range(30)))
    assert lost == {f"127.0.0.{1 + i}" for i in range(30)
                    if partition.worker_of(f"127.0.0.{1 + i}") == partition.worker_of(doomed)}
    assert all("exited with code 7" in r["error"]["detail"] for r in died)
    assert summary.targets == 30


@pytest.mark.parametrize(("keep", "reads"), [(10, 1), (4, 2)])
def test_a_list_that_is_loaded_anyway_is_parsed_once_while_few(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: int, reads: int) -> None:
    """The first pass keeps the targets of a short list, so the loaded path (names that the
    vhosts probe compares, here) does not parse the file a second time; a list longer than
    what is kept is read again, as before."""
    monkeypatch.setattr(streamed, "_LOAD_TO_BALANCE", keep)
    listing = tmp_path / "names.txt"
    listing.write_text("".join(f"host{n}.example.org:8443\n" for n in range(5)))
    passes: list[int] = []

    def source() -> Iterator[Target]:
        passes.append(1)
        return read_host_list(listing)

    handed: list[list[str]] = []

    def fallback(targets: list[Target]) -> SweepSummary:
        handed.append([t.label for t in targets])
        return SweepSummary()

    streamed.sweep_host_list(listing, SweepOptions(probes=(VHOSTS_PROBE, "client_auth")),
                             output=None, fallback=fallback, source=source)
    assert handed == [[t.label for t in read_host_list(listing)]]
    assert len(passes) == reads


@pytest.mark.parametrize(("cap", "reason"), [(100_000, "not loaded"), (1, "over 1 targets")])
def test_the_note_on_names_not_compared_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int, reason: str) -> None:
    """Names the vhosts probe would compare, swept entry by entry: the closing note gives the
    list's size as the reason only when it is over the loading limit (here without a
    ``fallback``, as an API caller may sweep)."""
    monkeypatch.setattr(streamed, "_LOAD_TO_SPLIT", cap)
    port = free_port()  # closed: every target is refused at once
    targets = [Target(host="127.0.0.1", port=port, sni=f"host{n}.example.org") for n in range(2)]
    summary = streamed.sweep_host_list(
        tmp_path / "names.yaml", SweepOptions(probes=(VHOSTS_PROBE,), workers=1),
        output=tmp_path / "out.jsonl", source=lambda: iter(targets))
    assert [n for n in summary.notes if "entry by entry" in n] == [
        f"{tmp_path / 'names.yaml'} is swept entry by entry ({reason}): the vhosts probe "
        "compared each target's own sni_names only, not the names other targets send to the "
        "same address (split the file to have those compared)"]
