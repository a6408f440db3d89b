"""TLS 1.3 group questions carried by the TLS 1.3 suite enumeration's hellos give the same
facts as hellos of their own, and the suite answers stay those of plain hellos: each server
is scanned with groups alone, cipher_suites alone, and both (when the questions ride)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scanner.results import Record

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]
GNUTLS_PRIORITY = ("NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+AES-128-GCM:+AES-256-CBC:"
                   "+CHACHA20-POLY1305:+AEAD:+SHA1:+SIGN-ALL:+GROUP-SECP384R1:+GROUP-X25519:"
                   "+GROUP-SECP256R1:+COMP-NULL")


def _server(request: pytest.FixtureRequest, name: str) -> Any:
    if name.startswith("nginx"):
        curves = {"nginx-default": "X25519:prime256v1:secp384r1",
                  "nginx-p384-first": "secp384r1:X25519"}[name]  # a HelloRetryRequest
        return request.getfixturevalue("nginx_server")(
            mode="none", tls_versions=("1.2", "1.3"),
            extra_directives=f"ssl_ecdh_curve {curves};")
    if name == "gnutls":
        return request.getfixturevalue("gnutls_server")(
            priority=GNUTLS_PRIORITY, require_client_cert=False, request_client_cert=False,
            verify_client_cert=False)
    assert name == "caddy"
    return request.getfixturevalue("caddy_server")(client_auth=None)


def _without_counts(facet: Any) -> Any:
    dumped = facet.model_dump()
    for entry in dumped.values():
        entry.pop("connections", None)
    return dumped


@pytest.mark.parametrize("name", ["nginx-default", "nginx-p384-first", "gnutls", "caddy"])
def test_carried_groups_are_the_same_facts(request: pytest.FixtureRequest, scan: Scan,
                                           name: str) -> None:
    server = _server(request, name)
    groups = scan(server.port, probes=("groups",))
    suites = scan(server.port, probes=("cipher_suites",))
    both = scan(server.port, probes=("groups", "cipher_suites"))
    for record in (groups, suites, both):
        assert record.status == "ok", (record.error, record.probe_errors)
    assert groups.groups is not None and both.groups is not None
    assert suites.cipher_suites is not None and both.cipher_suites is not None
    assert _without_counts(both.groups) == _without_counts(groups.groups)
    assert _without_counts(both.cipher_suites) == _without_counts(suites.cipher_suites)
    # both scans make the same four version tests (TLS 1.0-1.3); the rest is saved hellos
    shared = 4
    assert both.stats.connections < groups.stats.connections + suites.stats.connections - shared
