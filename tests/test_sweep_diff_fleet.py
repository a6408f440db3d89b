"""Two back-to-back sweeps of an unchanged fleet diff to nothing; a real change does not.

The fleet is real servers with every default probe, enforcement included (whose throwaway
certificates differ on every run): nginx requiring a client certificate from named CAs, nginx
asking for one optionally, and nginx without client authentication.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import run

pytestmark = pytest.mark.servers

MODES = ("ca_names", "optional", "none")


def sweep(ports: dict[str, int], output: Path) -> None:
    targets = [f"127.0.0.1:{port}" for port in ports.values()]
    result = run("scan", *targets, "-o", str(output), "-q", "--timeout", "10", timeout=300)
    assert result.returncode in (0, 1), result.stderr


def test_an_unchanged_fleet_diffs_to_nothing_and_a_change_is_reported(
        nginx_server, tmp_path: Path) -> None:
    ports = {mode: nginx_server(mode=mode).port for mode in MODES}
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    sweep(ports, first)
    sweep(ports, second)
    same = run("diff", str(first), str(second), "--format", "json")
    report = json.loads(same.stdout)
    assert report["changed"] == [], json.dumps(report["changed"], indent=1)[:6000]
    assert same.returncode == 0 and report["unchanged"] == len(MODES)

    # The listener that required a certificate (at the HTTP layer) reconfigured: TLS 1.3
    # turned off, verification optional. Its new record takes the old port, as if the same
    # listener had changed.
    changed = nginx_server(mode="optional", tls_versions=("1.2",))
    third = tmp_path / "third.jsonl"
    sweep({"changed": changed.port}, third)
    (record,) = [json.loads(line) for line in third.read_text().splitlines()]
    record["target"]["port"] = ports["ca_names"]
    third.write_text(json.dumps(record) + "\n")
    result = run("diff", str(first), str(third), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert len(report["only_in_old"]) == 2
    (endpoint,) = report["changed"]
    paths = {(c["path"], c["kind"]) for c in endpoint["changes"]}
    assert ("enforcement.verdict", "changed") in paths, sorted(paths)
    assert ("protocols.TLSv1.3.accepted", "changed") in paths, sorted(paths)
    assert not any(path.endswith(("duration_ms", "sha256", "not_before", "connections"))
                   or "transcript" in path or path.startswith("stats") for path, _ in paths)
