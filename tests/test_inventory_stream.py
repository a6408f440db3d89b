"""A YAML inventory read entry by entry (config/inventory_stream.py): the same targets and the
same one-line errors as the whole-document load, in memory that does not grow with the file,
and swept through run/streamed.py (duplicates, shards, resume) like a plain host list."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.config import inventory_files
from scanner.config.inventory_files import InventoryError
from scanner.config.inventory_stream import load_inventory, stream_inventory
from scanner.probes import PROBES
from scanner.report.sinks import OutputFormat
from scanner.run import streamed
from scanner.run.streamed import streamable_inventory
from tests import test_inventory
from tests.support.processes import free_port, tarpit
from tests.support.shards import record_keys, resume_cut_short, sweep_in_three_shards

EXAMPLE = Path(__file__).resolve().parent.parent / "targets.example.yaml"
# The whole-document cases of test_inventory, each checked against the streamed reader.
CASES = test_inventory.test_errors_name_file_line_and_key.pytestmark[0].args[1]


def _streamed(path: Path) -> list[object]:
    return list(stream_inventory(path, known_probes=PROBES))


def _write(path: Path, count: int, *, port: int = 443, bad: int | None = None) -> Path:
    """``count`` small entries, one line each; entry ``bad`` (0-based) has an unknown key."""
    with path.open("w") as handle:
        handle.write(f"defaults:\n  port: {port}\n  tags: {{env: test}}\ntargets:\n")
        for i in range(count):
            extra = ", colour: red" if i == bad else ""
            handle.write(f"  - {{host: 127.{i // 62500}.{i // 250 % 250}.{1 + i % 250}{extra}}}\n")
    return path


def test_targets_equal_the_whole_document_load(tmp_path: Path) -> None:
    # The example without its policies: section, its policy names known from a catalog.
    catalog = load_inventory(EXAMPLE, known_probes=PROBES).catalog
    text = EXAMPLE.read_text()
    start = text.index("\n# Optional. Your own named policies")
    path = tmp_path / "targets.yaml"
    path.write_text(text[:start] + text[text.index("\ntargets:"):])
    whole = load_inventory(path, known_probes=PROBES, catalog=catalog).targets
    assert list(stream_inventory(path, known_probes=PROBES, catalog=catalog)) == whole
    assert len(whole) == 8


def test_the_test_inventory_cases_resolve_alike(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("defaults:\n  port: 8443\n  timeout: 3\ntargets:\n"
                    "  - host: Api.Example.com\n  - {host: '::ffff:192.0.2.1', sni: x.example}\n"
                    "  - host: api2.example.com\n    sni: null\n    tags: {team: payments}\n")
    assert _streamed(path) == load_inventory(path, known_probes=PROBES).targets


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_errors_are_the_whole_document_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as whole:
        load_inventory(path, known_probes=PROBES)
    if "duplicate target" in expected:  # found by the sweep's digests, not by the reader
        assert len(_streamed(path)) == 2
        return
    with pytest.raises(InventoryError) as streamed:
        _streamed(path)
    assert str(streamed.value) == str(whole.value)


def test_an_alias_bomb_in_defaults_is_refused(tmp_path: Path) -> None:
    lines = ["defaults:", "  tags:", "    a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"    a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    lines.append("targets:\n  - host: a.example\n")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines))
    with pytest.raises(InventoryError, match="alias bomb"):
        _streamed(path)


def test_an_error_in_entry_n_names_line_n(tmp_path: Path) -> None:
    path = _write(tmp_path / "estate.yaml", 100_000, bad=99_000)
    with pytest.raises(InventoryError) as caught:
        _streamed(path)
    # Four header lines, then entry i on line 5 + i.
    assert str(caught.value).startswith(f"{path}:{5 + 99_000}:")
    assert ": unknown key 'targets[99000].colour'" in str(caught.value)


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    bound = 16 * 2**20
    small = _write(tmp_path / "small.yaml", 10_000)
    tracemalloc.start()
    try:
        assert len(load_inventory(small, known_probes=PROBES).targets) == 10_000
        whole_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        big = _write(tmp_path / "big.yaml", 60_000)
        assert sum(1 for _ in stream_inventory(big, known_probes=PROBES)) == 60_000
        streamed_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert whole_peak > bound > streamed_peak, (whole_peak, streamed_peak)


def test_a_large_inventory_is_swept_in_shards_and_resumed(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory_files, "MAX_INVENTORY_BYTES", 1024)  # "large" from 1 KiB
    path = _write(tmp_path / "estate.yaml", 60, port=free_port())  # closed: all refused
    base = ["scan", str(path), "--probes", "client_auth", "--allow-unreachable", "--timeout", "5"]
    outputs = sweep_in_three_shards(tmp_path, [*base, "--workers", "2"])
    everything = [key for output in outputs for key in record_keys(output)]
    assert len(everything) == len(set(everything)) == 60
    resume_cut_short(outputs[0], base, torn=False)


def test_a_large_inventory_stops_at_a_bad_entry_before_any_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory_files, "MAX_INVENTORY_BYTES", 1024)
    with tarpit() as listener:
        for name, bad, expected in (("bad.yaml", 55, f":{5 + 55}:"),
                                    ("dup.yaml", None, "duplicate target")):
            path = _write(tmp_path / name, 60, port=listener.port, bad=bad)
            if bad is None:
                with path.open("a") as handle:
                    handle.write("  - {host: '::ffff:127.0.0.7'}\n")
            result = CliRunner().invoke(app, ["scan", str(path), "-o",
                                              str(tmp_path / "out.jsonl")])
            assert result.exit_code == 2, result.stderr
            assert len(result.stderr.splitlines()) == 1 and expected in result.stderr
        assert listener.connections == 0
    assert not (tmp_path / "out.jsonl").exists() or not (tmp_path / "out.jsonl").read_text()


def test_a_large_inventory_refuses_what_it_cannot_stream(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory_files, "MAX_INVENTORY_BYTES", 1024)
    path = _write(tmp_path / "estate.yaml", 60)
    result = CliRunner().invoke(app, ["scan", str(path), "--format", "json"])
    assert result.exit_code == 2 and "JSON Lines only" in result.stderr


def test_a_large_inventory_with_its_own_policies_is_streamed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The header pass reads policies: before any target; the sweep evaluates with them.
    monkeypatch.setattr(inventory_files, "MAX_INVENTORY_BYTES", 1024)
    path = _write(tmp_path / "estate.yaml", 60, port=free_port())
    own = ("policies:\n  - name: house-tls\n    protocols: [TLSv1.3]\n"
           "    tls13: [TLS_AES_128_GCM_SHA256]\n"
           "defaults:\n  expect: {policy: [house-tls]}\n")
    path.write_text(path.read_text().replace("defaults:\n", own))
    output = tmp_path / "o.jsonl"
    result = CliRunner().invoke(app, ["scan", str(path), "-o", str(output), "--probes",
                                      "client_auth", "--allow-unreachable", "--timeout", "5"])
    assert result.exit_code == 0, result.stderr
    assert len(record_keys(output)) == 60


def test_the_load_never_holds_more_than_a_few_entries_nodes(tmp_path: Path) -> None:
    # Each entry names a probe, so the check of entry 50,000's probes is a moment inside the
    # load at which to count the YAML nodes alive (a whole-document compose: 300,000).
    path = tmp_path / "estate.yaml"
    with path.open("w") as handle:
        handle.write("targets:\n")
        for i in range(100_000):
            handle.write(f"  - {{host: 127.{i // 62500}.{i // 250 % 250}.{1 + i % 250}, "
                         "probes: [client_auth]}\n")
    alive: list[int] = []

    class Probes:
        checks = 0

        def __contains__(self, name: object) -> bool:
            self.checks += 1
            if self.checks == 50_000:
                gc.collect()
                alive.append(sum(isinstance(o, yaml.Node) for o in gc.get_objects()))
            return name in PROBES

        def __iter__(self) -> Iterator[str]:
            return iter(PROBES)

        def __len__(self) -> int:
            return len(PROBES)

    inventory = load_inventory(path, known_probes=Probes())
    assert len(inventory.targets) == 100_000
    assert alive and alive[0] < 100, alive


def test_an_inventory_over_64_mib_is_refused_naming_that_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(65 * 2**20)  # sparse: only its reported size matters
    with pytest.raises(InventoryError, match="over the 64 MiB limit"):
        load_inventory(path, known_probes=PROBES)
    result = CliRunner().invoke(app, ["scan", str(path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "over the 64 MiB limit" in result.stderr


def test_a_small_inventory_streams_when_the_form_allows_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "estate.yaml", 3)
    args = [str(path)]
    jsonl: dict[str, Any] = {"fmt": OutputFormat.jsonl, "all_addresses": False,
                             "adhoc_given": False}
    assert streamable_inventory(args, **jsonl) == path
    for change in ({"fmt": OutputFormat.json}, {"all_addresses": True},
                   {"adhoc_given": True}):
        assert streamable_inventory(args, **{**jsonl, **change}) is None
    assert streamable_inventory([*args, *args], **jsonl) is None


def test_streamed_and_loaded_sweeps_of_one_inventory_record_the_same_targets(
        tmp_path: Path) -> None:
    path = _write(tmp_path / "estate.yaml", 40, port=free_port())  # closed: all refused
    base = ["scan", str(path), "--probes", "client_auth", "--allow-unreachable", "--timeout", "5"]
    streamed, loaded = tmp_path / "streamed.jsonl", tmp_path / "loaded.json"
    result = CliRunner().invoke(app, [*base, "--workers", "1", "-o", str(streamed)])
    assert result.exit_code == 0, result.stderr
    # A document format loads the inventory whole.
    result = CliRunner().invoke(app, [*base, "-f", "json", "-o", str(loaded)])
    assert result.exit_code == 0, result.stderr
    whole = [(r["target"]["host"], r["target"]["port"], r["target"].get("tags"))
             for r in json.loads(loaded.read_text())]
    lines = [json.loads(line) for line in streamed.read_text().splitlines()]
    assert sorted((r["target"]["host"], r["target"]["port"], r["target"].get("tags"))
                  for r in lines) == sorted(whole)
    assert len(whole) == 40


def test_a_large_inventory_says_that_names_of_other_targets_go_uncompared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Too large to load, the inventory is never grouped by address: the vhosts probe sees
    only each target's own names, and the sweep says so instead of leaving it silent."""
    monkeypatch.setattr(inventory_files, "MAX_INVENTORY_BYTES", 1024)
    monkeypatch.setattr(streamed, "_LOAD_TO_SPLIT", 50)  # "too many to load" from 50
    port = free_port()  # closed: every target refused
    path = tmp_path / "named.yaml"
    path.write_text("targets:\n" + "".join(
        f"  - {{host: 127.0.0.{1 + i % 3}, port: {port}, sni: n{i}.test}}\n" for i in range(60)))
    for probes, noted in (("client_auth,vhosts", True), ("client_auth", False)):
        output = tmp_path / f"{noted}.jsonl"
        result = CliRunner().invoke(app, ["scan", str(path), "-o", str(output), "--probes",
                                          probes, "--allow-unreachable", "--timeout", "5", "-q",
                                          "--workers", "1"])  # few addresses would load
        assert result.exit_code == 0, result.stderr
        assert len(record_keys(output)) == 60
        assert ("the vhosts probe compared each target's own sni_names only"
                in result.stderr) is noted, result.stderr
