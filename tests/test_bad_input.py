"""Bad inventories through the real command line: one clear line, exit 2, and no connection.

Each inventory names a listener that counts connections; whatever is wrong with the file, the
scanner must refuse it before contacting anything (not even the valid targets in it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.config.inventory import MAX_INVENTORY_BYTES, TargetEntry
from tests.support.processes import TcpServer, tarpit_handler, tcp_server
from tests.test_inventory_credentials import write_key

MTLSWEEP = [sys.executable, "-m", "scanner"]


@pytest.fixture
def listener() -> Iterator[TcpServer]:
    with tcp_server(tarpit_handler, name="must-stay-untouched") as server:
        yield server


def refuse(inventory: Path, listener: TcpServer, *, in_subprocess: bool = False) -> str:
    """Run a scan of ``inventory``; assert the refusal contract and return the one line.

    In-process through the same typer app by default (fast); ``in_subprocess`` runs the real
    ``python -m scanner`` entry point.
    """
    started = time.monotonic()
    args = ["scan", str(inventory), "--timeout", "2"]
    if in_subprocess:
        done = subprocess.run([*MTLSWEEP, *args], capture_output=True, text=True, timeout=60,
                              check=False, env={**os.environ, "COLUMNS": "200"})
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:
        result = CliRunner().invoke(app, args)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    elapsed = time.monotonic() - started
    assert code == 2, stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"mtlsweep: error: {inventory}")
    assert "Traceback" not in stderr
    time.sleep(0.1)  # a connection attempt, had there been one, has been accepted by now
    assert listener.connections == 0, "a connection was made despite the bad inventory"
    assert elapsed < 30, "refusing a bad file must not take long"
    return lines[0]


def valid_target(listener: TcpServer) -> str:
    return f"  - host: 127.0.0.1\n    port: {listener.port}\n"


def test_malformed_yaml(tmp_path: Path, listener: TcpServer) -> None:
    inventory = tmp_path / "broken.yaml"
    inventory.write_text("targets:\n" + valid_target(listener) + "    tags: {env: prod\n")
    line = refuse(inventory, listener, in_subprocess=True)
    # libyaml says "did not find expected", the pure-Python parser "expected"
    assert f"{inventory}:5:1: invalid YAML: " in line and "expected ',' or '}'" in line
    assert "(while parsing a flow mapping at line 4)" in line
    assert "check the brackets, quotes and indentation there" in line


def test_tab_indentation(tmp_path: Path, listener: TcpServer) -> None:
    inventory = tmp_path / "tabs.yaml"
    inventory.write_text(f"targets:\n\t- host: 127.0.0.1\n\t  port: {listener.port}\n")
    line = refuse(inventory, listener)
    assert ":2:1: invalid YAML" in line and "indent with spaces" in line


def test_billion_laughs_alias_bomb(tmp_path: Path, listener: TcpServer) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for label in "bcdefghi":
        lines.append(f"{label}: &{label} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = label
    inventory = tmp_path / "laughs.yaml"
    inventory.write_text("\n".join(lines) + "\ntargets:\n" + valid_target(listener)
                         + "    tags: *i\n")
    line = refuse(inventory, listener)
    assert "expand to more than" in line and "alias bomb" in line


def test_hundred_megabyte_file(tmp_path: Path, listener: TcpServer) -> None:
    inventory = tmp_path / "huge.yaml"
    with inventory.open("wb") as handle:
        handle.write(("targets:\n" + valid_target(listener)).encode())
        handle.truncate(100 * 1024 * 1024)
    line = refuse(inventory, listener)
    assert "file is 104.9 MB, over the 64 MiB limit" in line and "split it" in line


def test_endless_file_is_read_only_up_to_the_limit(tmp_path: Path, listener: TcpServer) -> None:
    inventory = tmp_path / "zero.yaml"
    inventory.symlink_to("/dev/zero")
    line = refuse(inventory, listener)
    assert f"more than {MAX_INVENTORY_BYTES} bytes" in line


def test_duplicate_target(tmp_path: Path, listener: TcpServer) -> None:
    inventory = tmp_path / "twice.yaml"
    inventory.write_text("targets:\n" + valid_target(listener) + valid_target(listener))
    line = refuse(inventory, listener)
    assert f"{inventory}:4:5: duplicate target 127.0.0.1:{listener.port}" in line
    assert f"as targets[0] at {inventory}:2:5); remove one of them" in line


def test_unknown_policy_name(tmp_path: Path, listener: TcpServer) -> None:
    if "expect" not in TargetEntry.model_fields:
        pytest.skip("the inventory has no 'expect: {policy: ...}' key yet (the policy catalog "
                    "is issue 6); this test runs once it exists")
    inventory = tmp_path / "policy.yaml"
    inventory.write_text("targets:\n" + valid_target(listener)
                         + "    expect:\n      policy: NoSuchPolicy-2099-01\n")
    line = refuse(inventory, listener)
    assert f"{inventory}:" in line and "NoSuchPolicy-2099-01" in line


def test_not_utf8(tmp_path: Path, listener: TcpServer) -> None:
    inventory = tmp_path / "latin1.yaml"
    inventory.write_bytes(b"targets:\n  - host: caf\xe9.example\n")
    line = refuse(inventory, listener)
    assert "not UTF-8 text" in line and "save it as UTF-8" in line


def test_unknown_starttls_protocol_is_refused_before_any_connection(listener: TcpServer) -> None:
    result = CliRunner().invoke(app, ["scan", f"127.0.0.1:{listener.port}", "--starttls", "rdp"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "mtlsweep: error: --starttls: unknown protocol 'rdp'; known: tls, postgres, mysql, ldap, "
        "smtp, imap, pop3, ftp, xmpp, auto"]


# --- ad-hoc credential and request options (exit 2 before any connection) ------------------

_KEY_ENV = "MTLSWEEP_TEST_ADHOC_PASSPHRASE"


@pytest.mark.parametrize(("case", "message"), [
    ("missing_file", "--client-cert"),
    ("wrong_passphrase", "cannot decrypt --client-key"),
    ("mismatched_key", "does not belong to --client-cert"),
    ("cert_without_key", "--client-cert and --client-key go together"),
    ("bad_http_path", "--http-path"),
    ("bad_http_host", "--http-host"),
    ("options_without_endpoint", "apply to endpoints named on the command line"),
])
def test_adhoc_options_refused_before_any_connection(
        case: str, message: str, tmp_path: Path, listener: TcpServer, pki) -> None:
    key = write_key(tmp_path / "client.key", pki.client_one)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(pki.client_one.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right")))
    encrypted.chmod(0o600)
    other_key = write_key(tmp_path / "other.key", pki.client_two)
    cert = str(pki.client_one_files.cert)
    endpoint = [f"127.0.0.1:{listener.port}"]
    inventory = tmp_path / "targets.yaml"
    inventory.write_text("targets:\n" + valid_target(listener))
    args = {
        "missing_file": [*endpoint, "--client-cert", str(tmp_path / "nope.pem"),
                         "--client-key", str(key)],
        "wrong_passphrase": [*endpoint, "--client-cert", cert, "--client-key", str(encrypted),
                             "--client-key-pass-env", _KEY_ENV],
        "mismatched_key": [*endpoint, "--client-cert", cert, "--client-key", str(other_key)],
        "cert_without_key": [*endpoint, "--client-cert", cert],
        "bad_http_path": [*endpoint, "--http-path", "no-slash"],
        "bad_http_host": [*endpoint, "--http-host", "a b"],
        "options_without_endpoint": [str(inventory), "--sni", "api.example"],
    }[case]
    result = CliRunner().invoke(app, ["scan", *args, "--timeout", "2"],
                                env={_KEY_ENV: "wrong"})
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtlsweep: error: "), result.stderr
    assert message in lines[0]
    assert "wrong" not in lines[0].replace("wrong passphrase", "")  # never echo a passphrase
    time.sleep(0.1)
    assert listener.connections == 0


BAD_YAML = {
    "self-referential alias": ("targets: &t\n  - host: 127.0.0.1\n  - *t\n",
                               "targets[1] contains itself through an alias"),
    "nesting 500 levels deep": ("targets:\n  - host: 127.0.0.1\n    tags: " + "[" * 500
                                + "]" * 500 + "\n", "nested more than 64 levels deep"),
    "one large string reused by alias": (
        'x: &s "' + "x" * 2**20 + '"\ntargets:\n'
        + "".join(f"  - {{host: 127.0.0.{i}, name: *s}}\n" for i in range(1, 20)),
        "aliases expand to more than 200000 values or 16 MiB"),
}


@pytest.mark.parametrize(("text", "expected"), BAD_YAML.values(), ids=BAD_YAML)
def test_yaml_that_would_exhaust_the_loader(text: str, expected: str, tmp_path: Path,
                                            listener: TcpServer) -> None:
    inventory = tmp_path / "bad.yaml"
    inventory.write_text(text)
    assert expected in refuse(inventory, listener)


BAD_SNI = {
    "NUL": ('"a\\0b.example"', "contains '\\x00'"),
    "newline": ('"a\\nb.example"', "contains '\\n'"),
    "space": ('"a b.example"', "contains ' '"),
    "300 characters": ('"' + "a." * 150 + '"', "a DNS name is at most 253"),
    "a label of 64": ('"' + "a" * 64 + '.example"', "is not a DNS name"),
    "invalid IDNA": ('"' + "\u00e9" * 70 + '.example"', "is not a valid internationalised name"),
}


@pytest.mark.parametrize(("value", "expected"), BAD_SNI.values(), ids=BAD_SNI)
def test_an_sni_that_is_not_a_dns_name(value: str, expected: str, tmp_path: Path,
                                       listener: TcpServer) -> None:
    inventory = tmp_path / "sni.yaml"
    inventory.write_text("targets:\n" + valid_target(listener) + f"    sni: {value}\n")
    line = refuse(inventory, listener)
    assert f"{inventory}:4:5: targets[0].sni: " in line and expected in line


def test_non_ascii_sni_becomes_its_a_label() -> None:
    from scanner.config.targets import validate_sni

    assert validate_sni("b\u00fccher.example.") == "xn--bcher-kva.example"
    assert validate_sni("Mixed.Example") == "Mixed.Example"


@pytest.mark.parametrize(("first", "second"), [
    ("host: 127.0.0.1", "host: '::ffff:127.0.0.1'"),
    ("{host: 127.0.0.1, sni: API.example}", "{host: 127.0.0.1, sni: api.EXAMPLE}"),
])
def test_duplicates_by_address_and_case_insensitive_sni(first: str, second: str,
                                                        tmp_path: Path,
                                                        listener: TcpServer) -> None:
    inventory = tmp_path / "dup.yaml"
    port = f"port: {listener.port}"
    inventory.write_text(f"defaults:\n  {port}\ntargets:\n  - {first}\n  - {second}\n")
    assert "duplicate target" in refuse(inventory, listener)


@pytest.mark.parametrize("field", ["client_cert", "ca_bundle"])
def test_endless_certificate_files_are_read_with_a_bound(field: str, tmp_path: Path,
                                                         listener: TcpServer) -> None:
    inventory = tmp_path / "zero-files.yaml"
    extra = ("    client_cert: /dev/zero\n    client_key: /dev/zero\n" if field == "client_cert"
             else "    ca_bundle: /dev/zero\n")
    inventory.write_text("targets:\n" + valid_target(listener) + extra)
    line = refuse(inventory, listener)
    assert "/dev/zero" in line and "more than" in line


def test_an_endless_ca_bundle_option_is_refused(listener: TcpServer) -> None:
    result = CliRunner().invoke(app, ["scan", f"127.0.0.1:{listener.port}",
                                      "--ca-bundle", "/dev/zero"])
    assert result.exit_code == 2 and "--ca-bundle: /dev/zero: more than 16 MiB" in result.stderr
    assert listener.connections == 0


def test_json_lines_nested_beyond_the_parser_are_refused_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n")
    for args in (["merge", str(deep)], ["diff", str(deep), str(deep)],
                 ["scan", "127.0.0.1:1", "-o", str(deep), "--resume"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
