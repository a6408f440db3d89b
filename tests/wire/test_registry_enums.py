"""The code-point enums are the registry: every table entry is an enum member of that name,
protocol-version labels round-trip, and the tables that stay tables are looked up by name."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

import pytest

from scanner import wire
from scanner.wire import TLSVersion


@pytest.mark.parametrize(("table", "codes"), [
    (wire.CONTENT_TYPES, wire.ContentType),
    (wire.HANDSHAKE_TYPES, wire.HandshakeType),
    (wire.EXTENSION_TYPES, wire.ExtensionType),
    (wire.ALERT_DESCRIPTIONS, wire.AlertDescription),
    (wire.ALERT_LEVELS, wire.AlertLevel),
    (wire.CERTIFICATE_STATUS_TYPES, wire.CertificateStatusType),
])
def test_each_name_table_is_its_enum(table: Mapping[int, str], codes: type[IntEnum]) -> None:
    assert dict(table) == {member.value: member.name for member in codes}
    assert len(codes.__members__) == len(table)  # no aliases hiding a second name


def test_version_labels_are_the_record_spellings() -> None:
    assert [v.label for v in TLSVersion][:6] == [
        "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert dict(wire.PROTOCOL_VERSIONS) == {v.value: v.label for v in TLSVersion}
    for version in TLSVersion:
        assert TLSVersion.from_label(version.label) is version
    with pytest.raises(ValueError, match="TLSv1"):
        TLSVersion.from_label("TLSv1")


def test_code_for_finds_registered_names_only() -> None:
    assert wire.code_for(wire.NAMED_GROUPS, "x25519") == 0x001D
    assert wire.code_for(wire.SIGNATURE_SCHEMES, "rsa_pss_rsae_sha256") == 0x0804
    with pytest.raises(KeyError):
        wire.code_for(wire.NAMED_GROUPS, "P-256")
