"""The policy-entry consistency rules: one row per rule, each with its exact message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from scanner.policy.schema import PolicyEntry

TLS13_SUITE = "TLS_AES_128_GCM_SHA256"
TLS12_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"


def entry(**changes: Any) -> dict[str, Any]:
    """A valid entry (TLS 1.3 and 1.2, one suite each) with ``changes`` applied."""
    fields: dict[str, Any] = {"name": "edge", "protocols": ["TLSv1.3", "TLSv1.2"],
                              "tls13": [TLS13_SUITE], "tls12": [TLS12_SUITE]}
    fields.update(changes)
    return fields


def rejection(fields: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        PolicyEntry.model_validate(fields)
    (error,) = caught.value.errors()
    return str(error["msg"]).removeprefix("Value error, ")


BROKEN = {
    "a TLS 1.2 suite under tls13": (
        entry(tls13=[TLS13_SUITE, "AES128-SHA"]),
        "AES128-SHA is not a TLS 1.3 suite; list it under tls12"),
    "a TLS 1.3 suite under tls12": (
        entry(tls12=[TLS12_SUITE, "TLS_AES_256_GCM_SHA384"]),
        "TLS_AES_256_GCM_SHA384 is a TLS 1.3 suite; list it under tls13"),
    "a tls13 suite twice (two spellings)": (
        entry(tls13=[TLS13_SUITE, "tls_aes_128_gcm_sha256"]),
        "tls13 lists TLS_AES_128_GCM_SHA256 twice"),
    "a tls12 suite twice (two spellings)": (
        entry(tls12=[TLS12_SUITE, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]),
        "tls12 lists TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 twice"),
    "a version twice": (
        entry(protocols=["TLSv1.3", "TLSv1.2", "1.2"]),
        "protocols lists a version twice"),
    "TLSv1.3 without tls13 suites": (
        entry(tls13=[]),
        "TLSv1.3 in protocols needs tls13 suites, and tls13 suites need TLSv1.3 in protocols"),
    "tls13 suites without TLSv1.3": (
        entry(protocols=["TLSv1.2"]),
        "TLSv1.3 in protocols needs tls13 suites, and tls13 suites need TLSv1.3 in protocols"),
    "older versions without tls12 suites": (
        entry(protocols=["TLSv1.3", "TLSv1.2", "TLSv1.1"], tls12=[]),
        "TLSv1.2, TLSv1.1 in protocols needs tls12 suites, and tls12 suites need a version "
        "below TLSv1.3 in protocols"),
    "tls12 suites without an older version": (
        entry(protocols=["TLSv1.3"]),
        "TLS 1.2 and below in protocols needs tls12 suites, and tls12 suites need a version "
        "below TLSv1.3 in protocols"),
    "may_be_absent names an unlisted suite": (
        entry(may_be_absent=["AES128-SHA"]),
        "may_be_absent names AES128-SHA, which the policy does not list"),
    # When several rules fail, the first in this order is the one reported:
    "wrong list before duplicate": (
        entry(tls13=["AES128-SHA", "AES128-SHA"]),
        "AES128-SHA is not a TLS 1.3 suite; list it under tls12"),
    "tls13 list before tls12 list": (
        entry(tls13=["AES128-SHA"], tls12=["TLS_AES_256_GCM_SHA384"]),
        "AES128-SHA is not a TLS 1.3 suite; list it under tls12"),
    "duplicate suite before duplicate version": (
        entry(protocols=["TLSv1.2", "TLSv1.2"], tls12=[TLS12_SUITE, TLS12_SUITE]),
        "tls12 lists TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 twice"),
    "duplicate version before a missing list": (
        entry(protocols=["TLSv1.2", "TLSv1.2"], tls13=[]),
        "protocols lists a version twice"),
    "TLS 1.3 pairing before the older pairing": (
        entry(protocols=["TLSv1.3"], tls13=[]),
        "TLSv1.3 in protocols needs tls13 suites, and tls13 suites need TLSv1.3 in protocols"),
    "pairings before may_be_absent": (
        entry(protocols=["TLSv1.3"], may_be_absent=["AES128-SHA"]),
        "TLS 1.2 and below in protocols needs tls12 suites, and tls12 suites need a version "
        "below TLSv1.3 in protocols"),
}


@pytest.mark.parametrize(("fields", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_an_inconsistent_entry_is_refused_with_its_rule(fields: dict[str, Any],
                                                        message: str) -> None:
    assert rejection(fields) == message


ACCEPTED = {
    "TLS 1.3 only": entry(protocols=["TLSv1.3"], tls12=[]),
    "TLS 1.2 and below only": entry(protocols=["TLSv1.0", "TLSv1.2"], tls13=[]),
    "a listed suite may be absent (another spelling)": entry(
        may_be_absent=["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TLS13_SUITE]),
}


@pytest.mark.parametrize("fields", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_consistent_entry_is_accepted(fields: dict[str, Any]) -> None:
    assert PolicyEntry.model_validate(fields).name == "edge"


def test_protocols_come_out_newest_first_whatever_the_file_order() -> None:
    parsed = PolicyEntry.model_validate(entry(protocols=["1.0", "TLSv1.2", "SSLv3", "TLSv1.3"]))
    assert parsed.protocols == ["TLSv1.3", "TLSv1.2", "TLSv1.0", "SSLv3"]
