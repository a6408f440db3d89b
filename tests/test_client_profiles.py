"""Client profiles: the catalog's data, negotiation on paper, `policies diff --clients`, and the
profiles of the clients installed here checked against the ClientHello they really send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import wire
from scanner.cli.app import app
from scanner.policy.catalog import Policy
from scanner.policy.clients import ServerTerms, client_profiles, negotiate
from scanner.policy.suites import suite_table
from tests.support.hello_capture import capture
from tests.support.real_clients import Clients
from tests.support.servers import require_binary

PROFILES = {p.id: p for p in client_profiles()}
_TABLE = suite_table()
#: client profile id -> the program its capture needs
CAPTURED = {"openssl-3.0": "openssl", "python-3.11": "python3", "curl-openssl": "curl",
            "go-1.19": "go", "java-17": "javac", "chromium": "chromium"}


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, list(args))
    return result.exit_code, result.stdout


# --- the data ------------------------------------------------------------------------------


def test_the_catalog_profiles_the_common_clients_each_with_dated_sources() -> None:
    assert len(PROFILES) >= 18
    for family in ("java-8", "java-11", "java-17", "java-21", "android-7", "android-10",
                   "android-14", "openssl-1.0.2", "openssl-1.1.1", "openssl-3.0", "go-1.19",
                   "python-3.11", "curl-openssl", "windows-7", "windows-10",
                   "windows-server-2022", "chromium", "firefox"):
        assert family in PROFILES
    known_schemes = set(wire.SIGNATURE_SCHEMES.values())
    for profile in PROFILES.values():
        assert profile.sources and all(s.url and s.date for s in profile.sources), profile.id
        assert set(profile.signature_algorithms) <= known_schemes, profile.id
        assert all(s.iana for s in (*profile.tls13, *profile.tls12)), profile.id
        assert all(s.is_tls13 for s in profile.tls13), profile.id
        assert ("TLSv1.3" in profile.versions) == bool(profile.tls13), profile.id
    assert {p.id for p in PROFILES.values() if p.captured_by} == set(CAPTURED)


# --- negotiation on paper ------------------------------------------------------------------


def policy(protocols: tuple[str, ...], tls12: tuple[str, ...] = (),
           tls13: tuple[str, ...] = ("TLS_AES_128_GCM_SHA256",), *, order: str = "server",
           groups: tuple[str, ...] | None = None) -> Policy:
    return Policy(id="test", name="test", provider="test", protocols=protocols,
                  tls13=tuple(map(_TABLE.resolve, tls13)) if "TLSv1.3" in protocols else (),
                  tls12=tuple(map(_TABLE.resolve, tls12)), order=order,  # type: ignore[arg-type]
                  origin="tests", groups=groups)


@dataclass(frozen=True)
class Case:
    client: str
    server: Policy
    key_types: tuple[str, ...] = ("rsa",)
    version: str | None = None
    suite: str | None = None
    reason: str | None = None


ECDHE_RSA_GCM = ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256")
CASES = {
    "TLS 1.3 only: a TLS 1.2 client has no common version": Case(
        "java-8", policy(("TLSv1.3",)), reason="no common version"),
    "TLS 1.3 only: a TLS 1.3 client connects": Case(
        "go-1.19", policy(("TLSv1.3",)), version="TLSv1.3", suite="TLS_AES_128_GCM_SHA256"),
    "Windows 7 has no ECDHE_RSA with AES-GCM": Case(
        "windows-7", policy(("TLSv1.2",), ECDHE_RSA_GCM), reason="no common cipher suite"),
    "the server's order decides when it imposes one": Case(
        "go-1.19", policy(("TLSv1.2",), ECDHE_RSA_GCM), version="TLSv1.2",
        suite="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    "the client's order decides otherwise": Case(
        "go-1.19", policy(("TLSv1.2",), ECDHE_RSA_GCM, order="client"), version="TLSv1.2",
        suite="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    "an ECDSA-only listener: ECDSA suites only": Case(
        "android-7", policy(("TLSv1.2",), ("ECDHE-RSA-AES128-GCM-SHA256",
                                           "ECDHE-ECDSA-AES256-GCM-SHA384")),
        key_types=("ecdsa",), version="TLSv1.2",
        suite="TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    "no suite for the certificate: the listener accepts no version at all": Case(
        "openssl-1.0.2", policy(("TLSv1.2",), ("ECDHE-ECDSA-AES128-GCM-SHA256",)),
        key_types=("rsa",), reason="no common version"),
    "documented groups the client lacks": Case(
        "windows-7", policy(("TLSv1.2",), ("ECDHE-ECDSA-AES128-GCM-SHA256",),
                            groups=("x25519",)), key_types=("ecdsa",),
        reason="no common group"),
    "the server picks the highest common version and never falls back": Case(
        "android-10", policy(("TLSv1.3", "TLSv1.2"), ECDHE_RSA_GCM,
                             tls13=("TLS_AES_128_CCM_SHA256",)),
        reason="no common cipher suite"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_negotiation(case: Case) -> None:
    result = negotiate(PROFILES[case.client], ServerTerms.of_policy(case.server, case.key_types))
    assert (result.version if result.connects else None) == case.version
    assert (result.suite.iana if result.suite else None) == case.suite
    assert result.reason == case.reason


def test_diff_clients_names_who_breaks_and_why() -> None:
    code, out = cli("policies", "diff", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
                    "ELBSecurityPolicy-TLS13-1-3-2021-06", "--clients", "--format", "json")
    assert code == 0
    clients = json.loads(out)["clients"]
    lost = {c["id"]: c["b"] for c in clients["lost"]}
    # every profiled client without TLS 1.3
    assert set(lost) == {p.id for p in PROFILES.values() if "TLSv1.3" not in p.versions}
    assert {b["reason"] for b in lost.values()} == {"no common version"}
    assert clients["gained"] == []
    code, out = cli("policies", "diff", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
                    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "--clients")
    assert code == 0
    assert "can connect to A but not to B (RSA certificate)" in out
    assert "Windows 7" in out and "no common cipher suite" in out
    code, out = cli("policies", "clients", "--format", "json")
    assert code == 0 and len(json.loads(out)) == len(PROFILES)
    assert all(entry["sources"] for entry in json.loads(out))


# --- the clients installed here ---------------------------------------------------------


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    yield Clients(Path(tmp_path_factory.mktemp("clients")))


@pytest.mark.servers
@pytest.mark.parametrize("client_id", sorted(CAPTURED))
def test_a_captured_profile_is_what_the_installed_client_sends(client_id: str,
                                                               clients: Clients) -> None:
    require_binary(CAPTURED[client_id])
    profile = PROFILES[client_id]
    hello = capture(clients.hello_argv(client_id))
    assert set(profile.versions) <= set(hello.versions)
    assert [s for s in hello.suites if s >> 8 == 0x13] == [s.code for s in profile.tls13]
    assert [s for s in hello.suites if s >> 8 != 0x13] == [s.code for s in profile.tls12]
    assert list(hello.groups) == list(profile.groups)
    expected_schemes = list(profile.signature_algorithms)
    if client_id == "chromium":  # also ML-DSA schemes, which no server here can use
        assert [s for s in hello.signature_algorithms if not s.startswith("mldsa")] == \
            expected_schemes
    else:
        assert list(hello.signature_algorithms) == expected_schemes
