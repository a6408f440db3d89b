"""Start-up cost of the command line: building ``mtlsweep --help`` (every command's options)
loads none of the heavy modules; they load with the command that uses them.

Structural, not timed: a fresh interpreter reports which modules the help pulled in.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What the commands do, not what their options are declared with. (pydantic itself is not on
# the list: typer coerces every sub-command's parameter values through pydantic TypeAdapters,
# so it loads for any sub-command; our record models, whose build is the expensive part, must
# not.)
HEAVY_MODULES = ("OpenSSL", "cryptography", "trio", "h2", "h11", "yaml",
                 "scanner.results.record", "scanner.probes.registry", "scanner.policy.catalog",
                 "scanner.engine.handshake", "scanner.run.sweep", "scanner.cli.usage")

_LOADED_AFTER = """
import json, sys
from typer.testing import CliRunner
from scanner.cli.app import app
result = CliRunner().invoke(app, sys.argv[1:])
assert result.exit_code == 0, result.output
print(json.dumps(sorted(sys.modules)))
"""


def _modules_loaded_by(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _LOADED_AFTER, *args], capture_output=True,
                          text=True, check=True, timeout=60)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["scan", "--help"], ["merge", "--help"],
                                  ["diff", "--help"], ["serve", "--help"],
                                  ["policies", "diff", "--help"]], ids=" ".join)
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    loaded = _modules_loaded_by(*args)
    assert [name for name in HEAVY_MODULES if name in loaded] == []


def test_top_level_help_imports_no_pydantic() -> None:
    assert "pydantic" not in _modules_loaded_by("--help")


def test_a_command_still_loads_what_it_runs() -> None:
    """The check above can fail: running ``probes`` does load the registry and the models."""
    loaded = _modules_loaded_by("probes")
    assert {"scanner.probes.registry", "pydantic", "OpenSSL", "trio"} <= loaded


def test_light_probe_names_match_the_registry() -> None:
    from scanner.probes import DEFAULT_PROBES, PROBES
    from scanner.probes.names import PROBE_NAMES

    assert tuple(PROBES) == PROBE_NAMES
    assert set(DEFAULT_PROBES) < set(PROBES)


_H2_AFTER = """
import json, sys
import scanner.cli.usage, scanner.probes.registry, scanner.run.sweep, scanner.engine.http
before = "h2" in sys.modules
from scanner import wire
exchange = wire.Http2Exchange
print(json.dumps([before, "h2" in sys.modules, exchange.__module__]))
"""


def test_h2_loads_only_for_http2() -> None:
    """A scan's modules leave out ``h2`` (about 10 ms of imports) until an exchange over
    HTTP/2 is asked for (a server that selected ``h2``)."""
    done = subprocess.run([sys.executable, "-c", _H2_AFTER], capture_output=True, text=True,
                          check=True, timeout=60)
    assert json.loads(done.stdout.splitlines()[-1]) == [False, True, "scanner.wire.http2"]
