"""Inventory fields for the enforcement probe: client certificates, keys, CA, HTTP check.

Every bad key input is one line naming the file, line and key, and what to do; no message
ever carries a passphrase or key material.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from scanner.config.inventory_files import InventoryError
from scanner.config.inventory_stream import load_inventory
from scanner.probes import PROBES
from tests.support.pki import Credential, TestPKI, key_pem

PASSPHRASE = "correct horse battery staple"
ENV = "MTLSWEEP_TEST_KEY_PASSPHRASE"


def write_key(path: Path, credential: Credential, *, passphrase: str | None = None,
              mode: int = 0o600) -> Path:
    if passphrase is None:
        data = key_pem(credential.key)
    else:
        data = credential.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()))
    path.write_bytes(data)
    path.chmod(mode)
    return path


def inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(body)
    return path


def load(path: Path) -> list:
    return load_inventory(path, known_probes=PROBES).targets


def error_of(path: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message
    return message


@pytest.fixture
def client_files(tmp_path: Path, pki: TestPKI) -> tuple[Path, Path]:
    return pki.client_one_files.cert, write_key(tmp_path / "client.key", pki.client_one)


def test_credentials_load_once_from_defaults_with_relative_paths(
        tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "client.pem").write_bytes(pki.client_one_files.chain.read_bytes())
    write_key(tmp_path / "certs" / "client.key", pki.client_one, passphrase=PASSPHRASE)
    (tmp_path / "certs" / "ca.pem").write_bytes(pki.client_ca_one_file.read_bytes())
    write_key(tmp_path / "certs" / "ca.key", pki.client_ca_one)
    monkeypatch.setenv(ENV, PASSPHRASE)
    targets = load(inventory(tmp_path, f"""
defaults:
  client_cert: certs/client.pem
  client_key: certs/client.key
  client_key_passphrase_env: {ENV}
  http_path: /health
targets:
  - host: a.example
  - host: b.example
    port: 8443
    http_host: api.example.com
    client_ca_cert: certs/ca.pem
    client_ca_key: certs/ca.key
  - host: 192.0.2.1
    http: false
"""))
    a, b, ip = targets
    assert a.client_credential is not None
    assert a.client_credential.subject == pki.client_one.rfc4514
    assert a.client_credential is b.client_credential is ip.client_credential  # read once
    assert b.client_ca is not None and b.client_ca.subject == pki.client_ca_one.rfc4514
    assert a.client_ca is None
    assert (a.http.enabled, a.http.path, a.http_host) == (True, "/health", "a.example")
    assert (b.http_host, b.http.path) == ("api.example.com", "/health")
    assert (ip.http.enabled, ip.http_host) == (False, "192.0.2.1")
    assert PASSPHRASE not in repr(targets) and "PRIVATE KEY" not in repr(targets)


def test_default_http_host_carries_a_non_default_port(tmp_path: Path) -> None:
    (v6, named) = load(inventory(tmp_path, """
targets:
  - host: "2001:db8::1"
    port: 8443
  - host: a.example
    sni: b.example
"""))
    assert v6.http_host == "[2001:db8::1]:8443"
    assert named.http_host == "b.example"


def test_key_readable_by_others_is_refused_like_ssh(tmp_path: Path,
                                                   client_files: tuple[Path, Path]) -> None:
    cert, key = client_files
    key.chmod(0o644)
    message = error_of(inventory(tmp_path, f"""
targets:
  - host: a.example
    client_cert: {cert}
    client_key: {key}
"""))
    assert f":5:5: client_key {key} is accessible by others (mode 0644); protect it with: " \
        f"chmod 600 {key}" in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("client_cert: {cert}\n    client_key: {tmp}/absent.key",
         ":4:5: client_key {tmp}/absent.key: no such file"),
        ("client_cert: {tmp}/absent.pem\n    client_key: {key}",
         ":3:5: client_cert {tmp}/absent.pem: no such file"),
        ("client_cert: {cert}", ":3:5: client_cert needs client_key too"),
        ("client_key: {key}", ":3:5: client_key needs client_cert too"),
        ("client_key_passphrase_env: X", ":3:5: client_key_passphrase_env is set but "
         "client_key is not"),
        ("client_cert: {key}\n    client_key: {key}", "holds no PEM or DER X.509 certificate"),
        ("client_cert: {cert}\n    client_key: {cert}",
         "client_key {cert} is accessible by others"),
        ("client_cert: {other_cert}\n    client_key: {key}",
         ":4:5: client_key {key} does not belong to client_cert {other_cert} (their public "
         "keys differ)"),
        ("client_ca_cert: {cert}\n    client_ca_key: {key}",
         ":3:5: client_ca_cert {cert} is not a CA certificate"),
        ("http_path: health", ":3:5: targets[0].http_path: HTTP path 'health' "
         "must start with '/'"),
        ("http_host: 'a b'", ":3:5: targets[0].http_host: HTTP Host 'a b' is not"),
        ("http: maybe", ":3:5: targets[0].http: Input should be a valid boolean"),
    ],
)
def test_bad_credential_inputs(tmp_path: Path, pki: TestPKI, client_files: tuple[Path, Path],
                               fields: str, expected: str) -> None:
    cert, key = client_files
    values = {"cert": cert, "key": key, "tmp": tmp_path, "other_cert": pki.client_two_files.cert}
    message = error_of(inventory(tmp_path, "targets:\n  - host: a.example\n    "
                                 + fields.format(**values) + "\n"))
    assert expected.format(**values) in message


def test_encrypted_key_errors_never_show_the_passphrase(
        tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> None:
    key = write_key(tmp_path / "enc.key", pki.client_one, passphrase=PASSPHRASE)
    cert = pki.client_one_files.cert
    base = f"targets:\n  - host: a.example\n    client_cert: {cert}\n    client_key: {key}\n"

    no_env = error_of(inventory(tmp_path, base))
    assert f":4:5: client_key {key} is encrypted; set client_key_passphrase_env to the name " \
        "of an environment variable that holds its passphrase" in no_env

    monkeypatch.delenv(ENV, raising=False)
    unset = error_of(inventory(tmp_path, base + f"    client_key_passphrase_env: {ENV}\n"))
    assert f"the environment variable {ENV} named by client_key_passphrase_env is not set" \
        in unset

    monkeypatch.setenv(ENV, "not the passphrase")
    wrong = error_of(inventory(tmp_path, base + f"    client_key_passphrase_env: {ENV}\n"))
    assert f":4:5: cannot decrypt client_key {key} with the passphrase in ${ENV}: wrong " \
        "passphrase?" in wrong
    assert "not the passphrase" not in wrong

    # Someone writes the passphrase itself where the variable's name belongs.
    literal = error_of(inventory(tmp_path, base + f"    client_key_passphrase_env: {PASSPHRASE}\n"))
    assert ":5:5: targets[0].client_key_passphrase_env: must be the NAME of an " \
        "environment variable" in literal
    assert PASSPHRASE not in literal and "horse" not in literal

    monkeypatch.setenv(ENV, PASSPHRASE)
    (target,) = load(inventory(tmp_path, base + f"    client_key_passphrase_env: {ENV}\n"))
    assert target.client_credential is not None


def test_key_owned_by_someone_else_is_not_judged_by_its_mode(
        tmp_path: Path, client_files: tuple[Path, Path]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the key file another owner")
    cert, key = client_files
    key.chmod(0o644)
    os.chown(key, 65534, 65534)  # a mounted secret owned by another user: ssh accepts it too
    (target,) = load(inventory(tmp_path, f"""
targets:
  - host: a.example
    client_cert: {cert}
    client_key: {key}
"""))
    assert target.client_credential is not None
