"""Policy identification against real nginx servers configured with AWS policies' lists.

The first tests read observations from ``tests.support.enumerate`` (one pyOpenSSL handshake per
candidate, an oracle independent of the scanner's raw enumeration); the ranking tests scan with
mtlsweep itself, groups included, as a user would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.policy.catalog import Policy, builtin_catalog
from scanner.policy.identify import identify
from scanner.results import Record
from tests.support.enumerate import observe
from tests.support.pki import PemPaths, TestPKI, issue_server_cert

pytestmark = pytest.mark.servers

TLS13_2021 = "ELBSecurityPolicy-TLS13-1-2-2021-06"
EXT_2018 = "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"
CHACHA_RSA = 0xCCA8  # TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256


def nginx_directives(policy: Policy, extra_suites: tuple[str, ...] = (), *,
                     groups: bool = True) -> str:
    """nginx settings reproducing ``policy``: its suites in its order, server preference, and
    its documented key-exchange groups when it documents them (unless ``groups`` is False:
    nginx's own default curves, as most operators leave them)."""
    lines = [
        f"ssl_ciphers {':'.join([*(s.openssl or '' for s in policy.tls12), *extra_suites])};",
        "ssl_prefer_server_ciphers on;",
    ]
    if policy.tls13:
        lines.append("ssl_conf_command Ciphersuites "
                     f"{':'.join(s.iana or '' for s in policy.tls13)};")
    if groups and policy.groups is not None:
        curves = ":".join("prime256v1" if g == "secp256r1" else g for g in policy.groups)
        lines.append(f"ssl_ecdh_curve {curves};")
    return "\n        ".join(lines)


def tls_versions(policy: Policy) -> tuple[str, ...]:
    return tuple(v.removeprefix("TLSv") for v in reversed(policy.protocols))


@pytest.fixture(scope="module")
def rsa_server_files(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> PemPaths:
    leaf = issue_server_cert(pki.server_ca, key_type="rsa")
    return leaf.write_pem(Path(tmp_path_factory.mktemp("rsa-server")))


@pytest.mark.parametrize("policy_name", [TLS13_2021, EXT_2018])
@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_nginx_with_a_policy_list_is_identified_as_that_policy(
        nginx_server, pki, rsa_server_files, policy_name: str, key_type: str) -> None:
    catalog = builtin_catalog()
    policy = catalog.one(policy_name)
    server = nginx_server(
        mode="none", tls_versions=tls_versions(policy), extra_directives=nginx_directives(policy),
        server_files=rsa_server_files if key_type == "rsa" else pki.server_files,
    )
    observation = observe(server.port)
    assert observation.key_types == {key_type}
    result = identify(observation, catalog)

    ids = [m.policy.id for m in result.matches]
    assert policy.id in ids, (ids, [(c.policy.id, c.differences) for c in result.nearest])
    # Every other match is a genuine look-alike: same versions and the same suites for this
    # certificate type, so nothing the scan measured can separate it.
    for match in result.matches:
        for version in ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0"):
            assert {s.code for s in match.policy.suites_at(version, {key_type})} == {
                s.code for s in policy.suites_at(version, {key_type})}
    assert result.ambiguous == (len(ids) > 1)
    if result.ambiguous:
        assert any("policies have these protocols and cipher suites for a "
                   f"{key_type.upper()} certificate" in note for note in result.notes)
    expected = next(m for m in result.matches if m.policy.id == policy.id)
    assert expected.order_differences == {}, "nginx uses the policy's own order"
    assert result.key_types_source == "certificate"
    if policy_name == TLS13_2021 and key_type == "rsa":
        # The AWS PQ twin has the same suites; nginx (OpenSSL 3.0) negotiated x25519 and its
        # groups are consistent with both, so both are reported.
        assert set(ids) == {policy.id, "aws-elb:ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"}


def test_nginx_with_one_extra_suite_is_nearest_to_its_policy(
        nginx_server, rsa_server_files) -> None:
    catalog = builtin_catalog()
    policy = catalog.one(EXT_2018)
    server = nginx_server(
        mode="none", tls_versions=("1.2",), server_files=rsa_server_files,
        extra_directives=nginx_directives(policy, extra_suites=("ECDHE-RSA-CHACHA20-POLY1305",)),
    )
    result = identify(observe(server.port), catalog)

    assert result.matches == ()
    nearest = result.nearest[0]
    assert nearest.policy.id == policy.id
    assert nearest.differences.count == 1
    assert {v: [s.code for s in suites] for v, suites in
            nearest.differences.suites_extra.items()} == {"TLSv1.2": [CHACHA_RSA]}
    assert nearest.differences.suites_missing == {}
    assert nearest.differences.versions_missing == nearest.differences.versions_extra == ()
    assert (nearest.differences.groups_unexpected, nearest.differences.groups_missing) == ((), ())
    assert all(other.differences.count > 1 for other in result.nearest[1:])


SCAN_PROBES = ("protocols", "cipher_suites", "groups", "certificate")


@pytest.mark.parametrize("policy_name", [TLS13_2021, EXT_2018])
@pytest.mark.parametrize("key_types", [("rsa",), ("ecdsa",), ("ecdsa", "rsa")],
                         ids=["rsa", "ecdsa", "rsa+ecdsa"])
def test_a_scanned_nginx_with_default_curves_ranks_its_policy_first(
        nginx_server, pki, rsa_server_files, scan, policy_name: str,
        key_types: tuple[str, ...]) -> None:
    """The user's case: nginx given a policy's cipher list and nothing else. Its groups are
    OpenSSL's (X25519, X448, ...), not the policy's; the policy must still rank first, with
    the groups explained rather than outweighing equal suites.

    With an ECDSA certificate alone only the policy's ECDHE-ECDSA suites can be seen, which
    several policies share (Ext-2018-06, FS-1-2-2019-08 and Azure AppGwSslPolicy20170401S):
    those are reported together as look-alikes, the policy among them."""
    catalog = builtin_catalog()
    policy = catalog.one(policy_name)
    directives = nginx_directives(policy, groups=False)
    if len(key_types) == 2:  # nginx serves the ECDSA certificate to clients offering ECDSA
        directives += (f"\n        ssl_certificate {pki.server_files.cert};"
                       f"\n        ssl_certificate_key {pki.server_files.key};")
    server = nginx_server(
        mode="none", tls_versions=tls_versions(policy), extra_directives=directives,
        server_files=pki.server_files if key_types == ("ecdsa",) else rsa_server_files,
    )
    record: Record = scan(server.port, probes=SCAN_PROBES)
    assert record.policy is not None, record.probe_errors
    identified = record.policy
    ranked = [(m.id, m.match, m.explanation) for m in identified.matches]
    assert identified.key_types == list(key_types)
    seen_types = frozenset(key_types)
    for match in identified.matches:  # every match is a look-alike for these certificates
        assert match.explanation["protocols"] == match.explanation["cipher_suites"] == "same"
        assert catalog.one(match.id).codes_by_version(seen_types) == \
            policy.codes_by_version(seen_types)
    assert identified.ambiguous == (len(identified.matches) > 1)
    if key_types == ("ecdsa",):
        assert policy.id in [m.id for m in identified.matches], ranked
        assert identified.ambiguous
    else:
        assert identified.matches[0].id == policy.id, ranked
        assert len(identified.matches) == 1, ranked
    first = next(m for m in identified.matches if m.id == policy.id)
    # The oracle: every suite nginx accepts is one OpenSSL's own handshakes accept, too.
    oracle = observe(server.port)
    assert {v: set(c) for v, c in oracle.suites.items() if c} == {
        v: {int(s.code, 16) for s in facts.suites}
        for v, facts in (record.cipher_suites or {}).items() if facts.suites}
    if policy.groups is not None:  # EXT_2018 documents P-256 and P-384 only
        assert first.match == "suites"
        assert any("server software's own defaults" in n for n in identified.notes) or (
            identified.ambiguous)
        assert "x25519" in first.explanation["groups"]
    else:  # TLS13_2021 documents no groups, only "no PQ": x25519 etc. are consistent
        assert first.match == "exact"
        pq_twin = next(c for c in identified.excluded_by_groups
                       if c.id == "aws-elb:ELBSecurityPolicy-TLS13-1-2-PQ-2025-09")
        assert "refuses X25519MLKEM768" in pq_twin.explanation["groups"]
