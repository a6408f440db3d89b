"""Start-up cost of a scan: ``mtlsweep scan host:port`` loads what every scan needs and not
the modules only some scans need (inventories, report formats, the lab, the exporter).

Structural, not timed: a fresh interpreter scans one real listener in-process and reports
which modules it pulled in, so that an import moved back to module level fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# Loaded only when the command line asks for them: a YAML inventory, --policy-file compare
# views, a non-jsonl --format, ``demo``, ``serve``, ``merge``/``diff``, a progress bar.
OPTIONAL_MODULES = (
    "scanner.config.inventory", "scanner.lab", "scanner.run.exporter",
    "scanner.run.http_server", "scanner.report.html_report", "scanner.report.prometheus",
    "scanner.report.sarif", "scanner.report.junit", "scanner.report.csvfile",
    "scanner.report.table", "scanner.report.merge", "scanner.report.sweep_diff",
    "scanner.policy.compare",
    "rich",  # tables, policy views and the progress bar (on a terminal only)
)

_SCAN_THEN_LIST = """
import json, sys
from typer.testing import CliRunner
from scanner.cli.app import app
result = CliRunner().invoke(app, sys.argv[1:])
print(json.dumps({"exit": result.exit_code, "output": result.output,
                  "modules": sorted(sys.modules)}))
"""


def _scan(*args: str) -> tuple[dict[str, Any], set[str]]:
    done = subprocess.run([sys.executable, "-c", _SCAN_THEN_LIST, "scan", *args],
                          capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["exit"] == 0, report["output"]
    return report, set(report["modules"])


def test_endpoint_scan_loads_no_optional_module(openssl_server) -> None:
    server = openssl_server(verify="require")
    report, loaded = _scan(f"127.0.0.1:{server.port}", "--probes", "client_auth,protocols",
                           "--quiet")
    record = json.loads(report["output"].splitlines()[0])
    assert record["status"] == "ok"  # the scan ran: the list below is what it needed
    assert {"scanner.probes.registry", "scanner.engine.handshake", "trio"} <= loaded
    assert [name for name in OPTIONAL_MODULES if name in loaded] == []


def test_an_inventory_scan_still_loads_the_inventory(openssl_server, tmp_path: Path) -> None:
    """The check above can fail: the same scan named in a YAML file loads the inventory."""
    server = openssl_server(verify="require")
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - host: 127.0.0.1\n    port: {server.port}\n"
                         "    probes: [client_auth]\n    http: false\n")
    _, loaded = _scan(str(inventory), "--quiet")
    assert "scanner.config.inventory" in loaded
