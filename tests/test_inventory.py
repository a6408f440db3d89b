"""The YAML inventory: defaults, overrides, SNI rules, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config.inventory_files import InventoryError
from scanner.config.inventory_stream import load_inventory
from scanner.probes import PROBES

EXAMPLE = Path(__file__).resolve().parent.parent / "targets.example.yaml"


def load(tmp_path: Path, text: str) -> list:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return load_inventory(path, known_probes=PROBES).targets


def error_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path, known_probes=PROBES)
    return str(caught.value)


def test_example_inventory_is_valid_and_documents_every_field() -> None:
    targets = load_inventory(EXAMPLE, known_probes=PROBES).targets
    assert [t.host for t in targets] == [
        "api.example.com", "mtls.example.com", "203.0.113.10", "alb.example.com",
        "grpc.example.com", "2001:db8::10", "db-proxy.example.com", "partners.example.com",
    ]
    text = EXAMPLE.read_text()
    from scanner.config.inventory import TargetEntry, _Settings

    for field in set(TargetEntry.model_fields) | set(_Settings.model_fields):
        assert f"{field}:" in text, f"targets.example.yaml does not document {field}"


def test_defaults_overrides_and_sni_rules(tmp_path: Path) -> None:
    targets = load(tmp_path, """
defaults:
  port: 8443
  timeout: 3
  tags: {env: prod, team: core}
targets:
  - host: Api.Example.com
  - host: 192.0.2.1
  - host: 192.0.2.2
    sni: internal.example.com
  - host: api2.example.com
    sni: null
    port: 443
    timeout: 1.5
    name: second
    tags: {team: payments}
  - host: "2001:db8::1"
""")
    first, ip, ip_with_sni, second, v6 = targets
    assert (first.host, first.port, first.sni, first.timeout) == (
        "api.example.com", 8443, "api.example.com", 3.0)
    assert first.tags == {"env": "prod", "team": "core"}
    assert ip.sni is None
    assert ip_with_sni.sni == "internal.example.com"
    assert (second.port, second.sni, second.timeout, second.name) == (443, None, 1.5, "second")
    assert second.tags == {"env": "prod", "team": "payments"}
    assert (v6.host, v6.sni) == ("2001:db8::1", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("targets:\n  - host: a.example\n    prot: 443\n",
         ":3:5: unknown key 'targets[0].prot'; allowed here: all_addresses, alpn_extra, "
         "ca_bundle, "
         "client_ca_cert, client_ca_key, client_ca_key_passphrase_env, client_cert, client_key, "
         "client_key_passphrase_env, expect, host, http, http_host, http_path, http_paths, "
         "https_proxy, max_sni_names, name, port, probes, protocol, sni, sni_names, "
         "tags, timeout"),
        ("targets:\n  - host: a.example\n  - host: b.example\n    port: 70000\n",
         ":4:5: targets[1].port: Input should be less than or equal to 65535 (got 70000)"),
        ("targets:\n  - host: a.example\n    port: '443'\n",
         ":3:5: targets[0].port: Input should be a valid integer (got '443')"),
        ("targets:\n  - port: 443\n", ":2:5: targets[0].host: required key is missing"),
        ("targets:\n  - host: https://a.example/\n",
         "looks like a URL; give a host name or IP address"),
        ("targets:\n  - host: bad_host!\n", "is not a valid host name or IP address"),
        ("defaults:\n  colour: red\ntargets:\n  - host: a.example\n",
         ":2:3: unknown key 'defaults.colour'"),
        ("targets: []\n", "targets: List should have at least 1 item"),
        ("targets:\n  - host: a.example\n    probes: [client_auth, nope]\n",
         ":3:5: unknown probe 'nope'; known probes: alpn, alpn_support, certificate, "
         "cipher_suites, client_auth, dh_parameters, enforcement, engine_agreement, "
         "extensions, groups, npn, ocsp, protocols, renegotiation, resumption, robot, vhosts, "
         "vulnerabilities"),
        ("targets:\n  - host: a.example\n  - host: A.example\n",
         ":3:5: duplicate target a.example:443"),
        ("targets:\n  - host: a.example\n    port: 1\n    port: 2\n",
         ":4: targets[0].port is given twice"),
        ("targets:\n  - host: [a\n", "invalid YAML"),
        ("", ":1: the file is empty"),
        ("- host: a.example\n", "the inventory must be a mapping with a 'targets:' list"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(str(tmp_path / "targets.yaml"))
    assert expected in message
    assert "\n" not in message


def test_ca_bundle_is_relative_to_the_inventory_and_checked(tmp_path: Path) -> None:
    from tests.support.pki import make_ca, write_bundle

    ca = make_ca("Inventory Test CA")
    write_bundle(tmp_path / "cas" / "default.pem", [ca])
    write_bundle(tmp_path / "own.pem", [ca])
    first, second = load(tmp_path, """
defaults:
  ca_bundle: cas/default.pem
targets:
  - host: a.example
  - host: b.example
    ca_bundle: own.pem
""")
    assert first.ca_bundle == tmp_path / "cas" / "default.pem"
    assert second.ca_bundle == tmp_path / "own.pem"
    message = error_of(tmp_path, "targets:\n  - host: a.example\n    ca_bundle: nope.pem\n")
    assert message == (f"{tmp_path / 'targets.yaml'}:3:5: targets[0].ca_bundle: "
                       f"{(tmp_path / 'nope.pem').resolve()}: no such file")
    (tmp_path / "notpem.txt").write_text("not a certificate\n")
    message = error_of(tmp_path, "defaults:\n  ca_bundle: notpem.txt\ntargets:\n"
                                 "  - host: a.example\n")
    assert message.startswith(f"{tmp_path / 'targets.yaml'}:2:3: defaults.ca_bundle: ")
    assert message.endswith("no PEM certificate (-----BEGIN CERTIFICATE-----) found")


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("targets:\n  - host: a.example\n    tags: *a8")
    assert "alias bomb" in error_of(tmp_path, "\n".join(lines) + "\n")


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no such file"):
        load_inventory(tmp_path / "absent.yaml", known_probes=PROBES)
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    with pytest.raises(InventoryError, match="over the 64 MiB limit"):
        load_inventory(big, known_probes=PROBES)
    with big.open("wb") as handle:  # within what a sweep streams, over what a load holds
        handle.truncate(20 * 1024 * 1024)
    with pytest.raises(InventoryError, match="over the 16 MiB limit for an inventory loaded "
                       "whole; sweep it alone with JSON Lines output"):
        load_inventory(big, known_probes=PROBES)


def test_alpn_extra_defaults_override_and_validation(tmp_path: Path) -> None:
    first, second, third = load(tmp_path, """
defaults:
  alpn_extra: [imap, imap, h2c]
targets:
  - host: a.example
  - host: b.example
    alpn_extra: []
  - host: c.example
    alpn_extra: [grpc-exp]
""")
    assert first.alpn_extra == ("imap", "h2c")  # duplicates dropped, order kept
    assert second.alpn_extra == ()  # a target's list replaces the default, even when empty
    assert third.alpn_extra == ("grpc-exp",)
    (plain,) = load(tmp_path, "targets:\n  - host: d.example\n")
    assert plain.alpn_extra is None  # the sweep's --alpn-extra applies


@pytest.mark.parametrize(("value", "expected"), [
    ("[h2 c]", "ALPN protocol ID 'h2 c': only printable ASCII without spaces or commas"),
    ("['']", "an ALPN protocol ID cannot be empty"),
    (f"[{'x' * 256}]", "is 256 characters, over 255"),
    ("imap", "Input should be a valid list"),
    (f"[{', '.join(f'p{i}' for i in range(33))}]", "33 extra ALPN protocol IDs; at most 32"),
])
def test_bad_alpn_extra_names_file_line_and_key(tmp_path: Path, value: str,
                                                expected: str) -> None:
    message = error_of(tmp_path, f"targets:\n  - host: a.example\n    alpn_extra: {value}\n")
    assert message.startswith(f"{tmp_path / 'targets.yaml'}:3:5: targets[0].alpn_extra")
    assert expected in message


def test_protocol_default_explicit_auto_and_unknown(tmp_path: Path) -> None:
    targets = load(tmp_path, "defaults:\n  protocol: auto\ntargets:\n  - host: a.example\n"
                   "    port: 5432\n  - host: b.example\n    port: 389\n  - host: c.example\n"
                   "  - host: d.example\n    port: 2525\n    protocol: smtp\n")
    assert [t.protocol for t in targets] == ["postgres", "ldap", "tls", "smtp"]
    assert load(tmp_path, "targets:\n  - host: a.example\n    port: 5432\n")[0].protocol == "tls"
    message = error_of(tmp_path, "targets:\n  - host: a.example\n    protocol: telnet\n")
    assert ":3:5:" in message and "unknown protocol 'telnet'" in message and "postgres" in message
