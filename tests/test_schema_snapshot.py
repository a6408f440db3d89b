"""The published record schema is a committed file, so every change to it is a reviewed diff."""

from __future__ import annotations

import difflib
from pathlib import Path

from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.results import SCHEMA_VERSION, schema_file_name

SNAPSHOT = Path(__file__).resolve().parents[1] / "docs" / "schema" / schema_file_name()


def test_generated_schema_matches_the_committed_snapshot() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    generated = result.stdout
    committed = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if generated == committed:
        return
    diff = "".join(list(difflib.unified_diff(
        committed.splitlines(keepends=True), generated.splitlines(keepends=True),
        fromfile=f"docs/schema/{SNAPSHOT.name} (committed)",
        tofile="mtlsweep schema (generated)"))[:80])
    raise AssertionError(
        f"The record schema generated from scanner/results no longer matches "
        f"docs/schema/{SNAPSHOT.name}.\n"
        f"If the change is intended, regenerate the snapshot and commit it with the change:\n"
        f"    mtlsweep schema > docs/schema/{SNAPSHOT.name}\n"
        f"If it breaks readers of existing records (a field removed, renamed or retyped, a value "
        f"they may hold no longer allowed), also bump SCHEMA_VERSION ({SCHEMA_VERSION!r}, "
        f"scanner/results/record.py, and the Record.schema_ literal): the snapshot is then "
        f"named after the new version.\n\n{diff}")
