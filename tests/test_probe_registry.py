"""Every registered probe fills the record field named after it, with the facet type it
declares (``Probe[FacetT]``)."""

from __future__ import annotations

import types
from typing import Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from scanner.probes import DEFAULT_PROBES, PROBES, Probe
from scanner.results import Record


def _field_types(annotation: object) -> tuple[object, ...]:
    """The types a record field holds, ``None`` left out (facets are optional)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(arg for arg in get_args(annotation) if arg is not type(None))
    return (annotation,)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_probe_name_and_facet_type_match_a_record_field(name: str) -> None:
    probe = PROBES[name]
    assert probe.name == name
    assert name in Record.model_fields, f"probe {name!r} fills no field of Record"
    assert issubclass(probe.facet_type, BaseModel)
    assert _field_types(Record.model_fields[name].annotation) == (probe.facet_type,)


def test_facet_type_comes_from_the_generic_parameter() -> None:
    class Facet(BaseModel):
        answer: int = 42

    class Example(Probe[Facet]):
        name = "example"
        description = "an example"

        async def run(self, session, context):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    assert Example.facet_type is Facet


def test_default_probes_are_registered() -> None:
    assert set(DEFAULT_PROBES) <= set(PROBES)
