"""Sweep one target source as three shards, then resume a cut-short shard: the steps the
loaded, streamed-list and streamed-inventory paths must all pass the same way."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scanner.cli.app import app


def record_keys(output: Path) -> list[tuple[str, int]]:
    """(host, port) of every record in a JSON Lines output, in file order."""
    return [(r["target"]["host"], r["target"]["port"])
            for r in map(json.loads, output.read_text().splitlines())]


def sweep_in_three_shards(tmp_path: Path, base: list[str]) -> list[Path]:
    """Run ``base`` (a ``scan`` command line) as shards 1/3, 2/3 and 3/3; their outputs."""
    outputs = []
    for number in (1, 2, 3):
        output = tmp_path / f"shard-{number}.jsonl"
        result = CliRunner().invoke(app, [*base, "--shard", f"{number}/3", "-o", str(output)])
        assert result.exit_code == 0, result.stderr
        outputs.append(output)
    return outputs


def resume_cut_short(output: Path, base: list[str], *, torn: bool) -> tuple[int, str]:
    """Keep a third of shard 1's records in ``output`` (and a torn last line if ``torn``),
    resume it, and check shard 1 then holds each of its targets exactly once. Returns the
    number of records kept and the resumed run's stderr."""
    before = record_keys(output)
    kept = output.read_text().splitlines()[: len(before) // 3]
    output.write_text("".join(line + "\n" for line in kept) + ('{"schema": "torn' if torn else ""))
    result = CliRunner().invoke(app, [*base, "--shard", "1/3", "-o", str(output), "--resume"])
    assert result.exit_code == 0, result.stderr
    resumed = record_keys(output)
    assert len(resumed) == len(set(resumed)) and set(resumed) == set(before)
    return len(kept), result.stderr
