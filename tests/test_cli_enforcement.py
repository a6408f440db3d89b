"""The enforcement probe from the command line: bad key input stops the run before any
connection, and no secret ever reaches stdout, stderr, the output file or a log line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.pki import TestPKI
from tests.test_cli import records, run
from tests.test_inventory_credentials import write_key

PASSPHRASE = "s3cret-passphrase-for-the-test"
ENV = "MTLSWEEP_CLI_KEY_PASSPHRASE"

pytestmark = pytest.mark.servers


def secrets_of(pki: TestPKI) -> list[str]:
    """Strings that must never appear anywhere: the passphrase and forms of the key."""
    key = pki.client_one.key
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    body = "".join(pem.splitlines()[1:-1])
    private_value = key.private_numbers().private_value  # type: ignore[union-attr]
    return [PASSPHRASE, "PRIVATE KEY", body[:40], body[-40:], f"{private_value:x}",
            str(private_value)]


def write_inventory(tmp_path: Path, pki: TestPKI, port: int, *, key: Path) -> Path:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"""
defaults:
  probes: [enforcement]
targets:
  - host: 127.0.0.1
    port: {port}
    sni: localhost
    name: nginx-on
    client_cert: {pki.client_one_files.cert}
    client_key: {key}
    client_key_passphrase_env: {ENV}
""")
    return inventory


@pytest.mark.parametrize("problem", ["wrong_passphrase", "unprotected", "missing"])
def test_bad_key_exits_2_with_one_line_and_connects_nowhere(
        tmp_path: Path, pki: TestPKI, tarpit_server, monkeypatch: pytest.MonkeyPatch,
        problem: str) -> None:
    key = write_key(tmp_path / "client.key", pki.client_one, passphrase=PASSPHRASE,
                    mode=0o644 if problem == "unprotected" else 0o600)
    if problem == "missing":
        key.unlink()
    monkeypatch.setenv(ENV, "wrong" if problem == "wrong_passphrase" else PASSPHRASE)
    inventory = write_inventory(tmp_path, pki, tarpit_server.port, key=key)
    result = run("scan", str(inventory))
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    expected = {
        "wrong_passphrase": f"{inventory}:10:5: cannot decrypt client_key {key} with the "
        f"passphrase in ${ENV}: wrong passphrase?",
        "unprotected": f"{inventory}:10:5: client_key {key} is accessible by others (mode "
        f"0644); protect it with: chmod 600 {key}",
        "missing": f"{inventory}:10:5: client_key {key}: no such file (relative paths start "
        "at the inventory file's directory)",
    }[problem]
    assert line == f"mtlsweep: error: {expected}"
    assert tarpit_server.connections == 0, "no connection may be made"
    for secret in secrets_of(pki):
        assert secret not in result.stderr


def test_secrets_never_reach_output_or_logs(tmp_path: Path, pki: TestPKI, nginx_server,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    server = nginx_server(mode="ca_names")
    key = write_key(tmp_path / "client.key", pki.client_one, passphrase=PASSPHRASE)
    monkeypatch.setenv(ENV, PASSPHRASE)
    inventory = write_inventory(tmp_path, pki, server.port, key=key)
    out = tmp_path / "out.jsonl"
    result = run("scan", str(inventory), "-o", str(out))
    assert result.returncode == 0, result.stderr
    (record,) = records(out.read_text())
    enforcement = record["enforcement"]
    assert enforcement["verdict"] == "required_at_http"
    # The summary names the verdict: nginx's TLS level alone would say "optional".
    assert "enforcement: required_at_http 1" in result.stderr
    user = next(a for a in enforcement["attempts"] if a["certificate"] == "user_certificate")
    assert user["result"] == "accepted" and user["http"]["status"] == 200
    assert user["presented"]["subject"] == pki.client_one.rfc4514
    assert len(user["presented"]["sha256"]) == 64
    table = run("scan", str(inventory), "--format", "table", "--detail")
    document = run("scan", str(inventory), "--format", "json")
    assert json.loads(document.stdout)[0]["enforcement"]["verdict"] == "required_at_http"
    seen = "\n".join([result.stdout, result.stderr, out.read_text(), table.stdout, table.stderr,
                      document.stdout, document.stderr, server.log()])
    for secret in secrets_of(pki):
        assert secret not in seen
    assert "required_at_http" in table.stdout
