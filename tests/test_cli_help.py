"""Command-line papercuts: -h, help text of defaults, flag placeholders, --probes precedence,
and ``policies diff --exit-code``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.probes import DEFAULT_PROBES, PROBES
from tests.support.processes import free_port

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "mtlsweep")
def test_every_command_takes_dash_h_and_shows_no_bool_placeholder(path: list[str]) -> None:
    code, out, _ = invoke(*path, "-h")
    assert code == 0
    assert "Usage:" in out
    assert "<bool>" not in out


def test_scan_help_names_the_real_default_probes() -> None:
    _, out, _ = invoke("scan", "--help")
    flat = " ".join(out.replace("│", " ").split())
    default_part = flat.split("(default: ", 1)[1].split(";", 1)[0]
    assert [name.strip() for name in default_part.split(",")] == list(DEFAULT_PROBES)
    opt_in = sorted(set(PROBES) - set(DEFAULT_PROBES))
    assert opt_in == ["alpn_support", "robot", "vhosts"]
    assert "also available: alpn_support, robot, vhosts" in flat


def test_command_line_probes_win_over_the_inventory_with_a_warning(tmp_path: Path) -> None:
    closed = free_port()
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - host: 127.0.0.1\n    port: {closed}\n"
                         "    probes: [client_auth, alpn]\n")
    code, out, err = invoke("scan", str(inventory), "--probes", "protocols", "--quiet",
                            "--allow-unreachable", "--timeout", "2")
    assert code == 0, err
    assert json.loads(out)["probes"] == ["protocols"]
    assert ("warning: --probes overrides the probes: setting of 1 inventory target(s) "
            f"({inventory})") in err

    code, out, err = invoke("scan", str(inventory), "--quiet", "--allow-unreachable",
                            "--timeout", "2")
    assert json.loads(out)["probes"] == ["client_auth", "alpn"]
    assert "warning" not in err


def test_policies_diff_exit_code() -> None:
    same = ("ELBSecurityPolicy-TLS13-1-2-2021-06",) * 2
    different = ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06")
    assert invoke("policies", "diff", *different)[0] == 0  # without the flag: a view, exit 0
    assert invoke("policies", "diff", *different, "--exit-code")[0] == 1
    assert invoke("policies", "diff", *same, "--exit-code")[0] == 0
    assert invoke("policies", "diff", *different, "--exit-code", "-f", "json")[0] == 1
