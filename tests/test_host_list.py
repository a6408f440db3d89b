"""Plain target lists (``.txt``: one host[:port] per line), the simplest form of a large
estate: read line by line, validated like the command line, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.cli.usage import collect_targets
from tests.support.processes import tarpit


def test_a_host_list_gives_targets_in_order(tmp_path: Path) -> None:
    listing = tmp_path / "estate.txt"
    listing.write_text("# exported from the CMDB\n127.0.0.1:8443\n\nExample.ORG  # web\n"
                       "[2001:db8::1]:993\n")
    targets, _ = collect_targets([str(listing)])
    assert [(t.host, t.port, t.sni) for t in targets] == [
        ("127.0.0.1", 8443, None), ("example.org", 443, "example.org"),
        ("2001:db8::1", 993, None)]
    assert targets[1].origin == f"{listing}:4"


def test_a_bad_line_or_duplicate_stops_before_any_connection(tmp_path: Path) -> None:
    with tarpit() as listener:
        for name, text, expected in (
            ("bad.txt", f"127.0.0.1:{listener.port}\nhttps://x.example/\n",
             ":2: 'https://x.example/' looks like a URL"),
            ("dup.txt", f"127.0.0.1:{listener.port}\n[::ffff:127.0.0.1]:{listener.port}\n",
             "duplicate target"),
            ("long.txt", f"127.0.0.1:{listener.port}\n" + "a" * 5000 + "\n",
             ":2: line longer than 1024 bytes"),
        ):
            listing = tmp_path / name
            listing.write_text(text)
            result = CliRunner().invoke(app, ["scan", str(listing)])
            assert result.exit_code == 2, result.stderr
            assert len(result.stderr.splitlines()) == 1 and expected in result.stderr, name
        assert listener.connections == 0
