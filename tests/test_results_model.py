"""The record model's conventions: the package exports, per-version facets, Severity order."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import Any, get_args

import pytest
from pydantic import BaseModel, RootModel

import scanner.results
from scanner.policy.expectations import SeverityName
from scanner.results import (
    NEWEST_FIRST,
    PROTOCOL_LABELS,
    SCHEMA_VERSION,
    ClientAuthFacet,
    FieldPerVersion,
    KeyedByVersion,
    ProtocolLabel,
    ProtocolsAtVersion,
    ProtocolsFacet,
    Record,
    ResumptionFacet,
    Severity,
    version_field,
)
from scanner.wire.registry import PROTOCOL_VERSIONS


def _facet_types() -> dict[str, type[BaseModel]]:
    """Record field name -> the model class it holds (``X | None`` unwrapped)."""
    found = {}
    for name, field in Record.model_fields.items():
        candidates = [field.annotation, *get_args(field.annotation)]
        for candidate in candidates:
            if inspect.isclass(candidate) and issubclass(candidate, BaseModel):
                found[name] = candidate
    return found


def test_every_public_name_of_the_package_is_exported() -> None:
    """``from scanner.results import X`` works for everything the modules define."""
    for module_info in pkgutil.iter_modules(scanner.results.__path__):
        if module_info.name == "identity":  # the target key: imported as its own module
            continue
        module = importlib.import_module(f"scanner.results.{module_info.name}")
        defined = {name for name, value in vars(module).items()
                   if name.isidentifier() and not name.startswith("_")
                   and getattr(value, "__module__", None)
                   == module.__name__}
        missing = defined - set(scanner.results.__all__)
        assert not missing, f"add {sorted(missing)} to scanner/results/__init__.py"


def test_protocol_labels_are_the_wire_display_names() -> None:
    """The Literal makes the schema; the wire registry is where the names live."""
    wire_names = [name for _, name in sorted(PROTOCOL_VERSIONS.items())
                  if not name.startswith("DTLS")]
    assert list(get_args(ProtocolLabel)) == wire_names
    assert list(PROTOCOL_LABELS) == wire_names
    assert list(NEWEST_FIRST) == wire_names[::-1]


def test_per_version_facets_follow_one_convention() -> None:
    """A facet with version fields (tls1_3...) declares them through FieldPerVersion, and a
    facet keyed by version is a KeyedByVersion; a new per-version facet must do the same."""
    version_field_name = re.compile(r"^(tls|ssl)\d(_\d)?$")
    per_version: dict[str, type[BaseModel]] = {}
    for name, model in _facet_types().items():
        fields = [f for f in model.model_fields if version_field_name.match(f)]
        if issubclass(model, FieldPerVersion):
            assert fields == [f for f in fields if f in map(version_field, model.version_labels)]
            assert sorted(map(version_field, model.version_labels)) == sorted(fields), name
            assert list(model.version_labels) == [v for v in NEWEST_FIRST
                                                  if v in model.version_labels], name
            per_version[name] = model
        elif issubclass(model, RootModel):
            assert issubclass(model, KeyedByVersion), f"{name}: a RootModel facet keyed by " \
                "version must be a KeyedByVersion"
            per_version[name] = model
        else:
            assert not fields, f"{name} has version fields {fields}: make it a FieldPerVersion"
    assert set(per_version) == {"client_auth", "ocsp", "alpn", "resumption", "protocols",
                                "cipher_suites", "groups", "dh_parameters"}


def test_field_per_version_accessors_agree_newest_first() -> None:
    """``versions()`` on the model and ``versions_in()`` on its JSON give the same versions
    in the same order (TLS 1.3 first), whatever order the fields are declared in."""
    assert list(ResumptionFacet.model_fields)[:2] == ["tls1_2", "tls1_3"]
    tls12, tls13 = object(), object()
    facet = ResumptionFacet.model_construct(tls1_2=tls12, tls1_3=tls13)
    assert list(facet.versions().items()) == [("TLSv1.3", tls13), ("TLSv1.2", tls12)]
    assert facet.at("TLSv1.2") is tls12 and facet.at("TLSv1.1") is None
    data = {"tls1_2": {"supported": True}, "tls1_3": {"supported": False}, "other": {}}
    assert list(ResumptionFacet.versions_in(data)) == ["TLSv1.3", "TLSv1.2"]

    only_tls12: Any = object()
    auth = ClientAuthFacet.model_construct(tls1_3=None, tls1_2=only_tls12)
    assert list(auth.versions().items()) == [("TLSv1.2", only_tls12)]
    assert ClientAuthFacet.versions_in({"tls1_3": None, "tls1_2": "junk"}) == {}


def test_keyed_by_version_accessors_agree_newest_first() -> None:
    entries = {label: ProtocolsAtVersion(accepted=label != "SSLv2") for label in PROTOCOL_LABELS}
    facet = ProtocolsFacet(entries)
    assert list(facet) == list(PROTOCOL_LABELS)  # the JSON object as written: oldest first
    assert list(facet.versions()) == list(NEWEST_FIRST)
    assert list(ProtocolsFacet.versions_in(facet.model_dump(mode="json"))) == list(NEWEST_FIRST)
    assert facet.at("TLSv1.3") is entries["TLSv1.3"]
    assert ProtocolsFacet({}).at("TLSv1.3") is None
    assert ProtocolsFacet.versions_in({"TLSv1.2": {}, "TLS1.2": {}, "SSLv3": 1}) == {
        "TLSv1.2": {}}


def test_severity_is_ordered_by_rank_not_by_name() -> None:
    assert [s.rank for s in Severity] == [0, 1, 2, 3, 4]
    assert sorted([Severity.critical, Severity.info, Severity.high, Severity.low]) == [
        Severity.info, Severity.low, Severity.high, Severity.critical]
    assert max([Severity.high, Severity.critical, Severity.medium]) is Severity.critical
    assert Severity.critical > Severity.high > Severity.medium  # alphabetically: c < h < m
    assert Severity.low >= "low" and Severity.info < "critical"
    with pytest.raises(ValueError):
        _ = Severity.low < "severe"


def test_inventory_severity_names_are_the_model_s() -> None:
    assert list(get_args(SeverityName)) == [s.value for s in Severity]


def test_schema_version_literal_is_the_constant() -> None:
    annotation: Any = Record.model_fields["schema_"].annotation
    assert get_args(annotation) == (SCHEMA_VERSION,)
