"""Sharded sweeps end to end: N shard outputs merge into exactly the unsharded result."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scanner.cli.app import app
from scanner.config.inventory_stream import load_inventory
from scanner.lab.demo import demo_listeners
from scanner.lab.server import LabServer
from scanner.probes import PROBES
from tests.support.processes import free_port
from tests.test_cli import MTLSWEEP, records

# Every demo listener under three SNI names, plus one closed port.
TARGETS = 3 * len(demo_listeners()) + 1

Key = tuple[str, int, str | None]


@dataclass
class Sweeps:
    inventory: Path
    whole: Path
    shards: list[Path]
    inventory_order: list[Key]


def scans(*runs: tuple[list[str], dict[str, str]]) -> list[tuple[int, str]]:
    """Run several `mtlsweep scan` processes at once; (exit code, stderr) of each."""
    processes = [subprocess.Popen([*MTLSWEEP, "scan", "--probes", "client_auth",
                                   *args, "--per-address", "16",
                                   "--allow-unreachable"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
                 for args, env in runs]
    return [(process.wait(timeout=60), process.communicate()[1]) for process in processes]


def merge(*args: str) -> Result:
    """`mtlsweep merge` in-process: file work only, no need for a fresh interpreter."""
    return CliRunner().invoke(app, ["merge", *args])


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweeps]:
    """Demo listeners, each under three SNI names (distinct targets), and a closed port,
    scanned whole and as 3 shards (the third the way a Kubernetes Indexed Job pod runs it)."""
    directory = tmp_path_factory.mktemp("merge")
    with contextlib.ExitStack() as stack:
        lines = ["targets:"]
        for label, config in demo_listeners().items():
            server = stack.enter_context(LabServer(config))
            for sni in ("localhost", "a.test", "b.test"):
                lines += ["  - host: 127.0.0.1", f"    port: {server.port}",
                          f"    sni: {sni}", f"    name: {label}-{sni}"]
        lines += ["  - host: 127.0.0.1", f"    port: {free_port()}", "    name: closed"]
        inventory = directory / "targets.yaml"
        inventory.write_text("\n".join(lines) + "\n")
        whole = directory / "all.jsonl"
        template = str(directory / "shard-{shard}.jsonl")
        results = scans(
            ([str(inventory), "-o", str(whole)], {}),
            ([str(inventory), "--shard", "1/3", "-o", template], {}),
            ([str(inventory), "--shard", "2/3", "-o", template], {}),
            ([str(inventory), "--shards", "3", "-o", template], {"JOB_COMPLETION_INDEX": "2"}),
        )
        for index, (code, stderr) in enumerate(results):
            assert code == 0, stderr
            assert index == 0 or f"shard {index}/3 (" in stderr
        order = [t.key for t in load_inventory(inventory, known_probes=PROBES).targets]
        yield Sweeps(inventory, whole, [directory / f"shard-{i}.jsonl" for i in (1, 2, 3)],
                     order)


def keys(lines: list[dict]) -> list[Key]:
    return [(r["target"]["host"], r["target"]["port"], r["target"]["sni"]) for r in lines]


def test_shards_union_equals_the_unsharded_sweep(sweeps: Sweeps) -> None:
    unsharded = records(sweeps.whole.read_text())
    assert len(unsharded) == TARGETS
    shards = [records(path.read_text()) for path in sweeps.shards]
    base = TARGETS // 3
    assert sorted(len(s) for s in shards) == sorted(
        [base + (i < TARGETS % 3) for i in range(3)]), "balanced within one target"
    union = [key for shard in shards for key in keys(shard)]
    assert len(union) == len(set(union)), "no target in two shards"
    assert set(union) == set(keys(unsharded)), "no target missing"
    by_key = {key: r for shard in shards for key, r in zip(keys(shard), shard, strict=True)}
    for key, record in zip(keys(unsharded), unsharded, strict=True):
        assert record["status"] == by_key[key]["status"]
        assert (record.get("client_auth") or {}).get("classification") == \
            (by_key[key].get("client_auth") or {}).get("classification")


def test_merge_restores_the_whole_sweep_in_inventory_order(sweeps: Sweeps,
                                                           tmp_path: Path) -> None:
    merged = tmp_path / "merged.jsonl"
    files = [str(path) for path in reversed(sweeps.shards)]
    result = subprocess.run([*MTLSWEEP, "merge", *files, "--inventory", str(sweeps.inventory),
                             "-o", str(merged)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert f"{TARGETS} target(s) from {TARGETS} record(s) in 3 file(s)" in result.stderr
    assert keys(records(merged.read_text())) == sweeps.inventory_order
    shard_lines = {line for path in sweeps.shards for line in path.read_text().splitlines()}
    assert set(merged.read_text().splitlines()) == shard_lines, "records copied byte for byte"

    inventory = ["-i", str(sweeps.inventory)]
    as_csv = merge(*files, *inventory, "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(as_csv.stdout)))) == TARGETS
    as_junit = merge(*files, *inventory, "--format", "junit")
    assert len(ET.fromstring(as_junit.stdout).findall("testsuite")) == TARGETS
    as_sarif = json.loads(merge(*files, *inventory, "--format", "sarif").stdout)
    locations = [r["locations"][0] for r in as_sarif["runs"][0]["results"]]
    assert locations and all(
        loc["physicalLocation"]["artifactLocation"]["uri"] == str(sweeps.inventory)
        for loc in locations)


def test_merge_reports_missing_duplicate_torn_and_foreign_records(sweeps: Sweeps,
                                                                  tmp_path: Path) -> None:
    one, two, three = (str(path) for path in sweeps.shards)
    lost = sweeps.shards[2].read_text().splitlines()
    inventory = ["-i", str(sweeps.inventory)]

    # shard 3 lost: its targets are named, with where the inventory defines them
    missing = merge(one, two, *inventory)
    assert missing.exit_code == 4
    assert f"missing: {len(lost)} inventory target(s) have no record" in missing.stderr
    assert f"({sweeps.inventory}:" in missing.stderr
    assert len(records(missing.stdout)) == TARGETS - len(lost)

    # shard 3 killed mid-write: the torn line is reported and its target is missing
    torn = tmp_path / "torn.jsonl"
    torn.write_text("\n".join(lost[:-1]) + "\n" + lost[-1][:50])
    result = merge(one, two, str(torn), *inventory)
    assert result.exit_code == 4
    assert f"{torn}:{len(lost)}: torn last line" in result.stderr
    assert "missing: 1 inventory target(s)" in result.stderr
    assert len(records(result.stdout)) == TARGETS - 1

    # a shard merged twice: duplicates are reported, each target still comes out once
    twice = merge(one, two, three, three, *inventory)
    assert twice.exit_code == 0, twice.stderr
    assert f"duplicates: {len(lost)} target(s) recorded more than once" in twice.stderr
    assert keys(records(twice.stdout)) == sweeps.inventory_order

    # without an inventory nothing can be missing; with a smaller one, extras are kept
    assert merge(one, "-q").exit_code == 0
    small = tmp_path / "small.yaml"
    host, port, sni = sweeps.inventory_order[0]
    small.write_text(f"targets:\n  - host: {host}\n    port: {port}\n    sni: {sni}\n")
    extra = merge(one, two, three, "-i", str(small))
    assert extra.exit_code == 0, extra.stderr
    assert f"not in the inventory: {TARGETS - 1} record(s), kept" in extra.stderr
    assert keys(records(extra.stdout))[0] == (host, port, sni)


def test_merge_refuses_corrupt_input_and_overwriting_an_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "a record"}\n')
    result = merge(str(bad))
    assert result.exit_code == 2 and "not an mtlsweep record" in result.stderr
    bad.write_text('garbage\n{"target": {"host": "a", "port": 1, "sni": null}}\n')
    result = merge(str(bad))
    assert result.exit_code == 2 and f"{bad}:1: not a JSON object" in result.stderr
    result = merge(str(bad), "-o", str(bad))
    assert result.exit_code == 2 and "is one of the input files" in result.stderr
    assert merge(str(tmp_path / "absent.jsonl")).exit_code == 2
