"""One code-level convention for facets measured per protocol version.

Schema 1 writes such facets in two JSON shapes, and records must not change, so both stay:

- ``KeyedByVersion``: a JSON object keyed by version label (``{"TLSv1.3": {...}}``), for the
  enumeration facets (protocols, cipher_suites, groups);
- ``FieldPerVersion``: one fixed field per measured version (``tls1_3``, ``tls1_2``), for the
  full-handshake facets (client_auth, ocsp, alpn, resumption).

Code never pairs a field name with a label by hand: every per-version facet answers
``versions()`` (its entries by label, newest first), ``at(label)``, and, for records read as
JSON data, the class method ``versions_in(data)`` with the same keys in the same order.
"""

from collections.abc import ItemsView, Iterator, Mapping
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, RootModel

ProtocolLabel = Literal["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
#: Oldest first: the order the enumeration facets are written in.
PROTOCOL_LABELS: tuple[ProtocolLabel, ...] = (
    "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
#: The order of ``versions()``: the version a server prefers first.
NEWEST_FIRST: tuple[ProtocolLabel, ...] = tuple(reversed(PROTOCOL_LABELS))

_Entry = TypeVar("_Entry")
_Entry_co = TypeVar("_Entry_co", covariant=True)
_ModelEntry = TypeVar("_ModelEntry", bound=BaseModel)


class PerVersion(Protocol[_Entry_co]):
    """What every per-version facet offers, whichever JSON shape it has."""

    def versions(self) -> Mapping[ProtocolLabel, _Entry_co]:
        """The entries the facet holds, by version label, newest first."""
        ...

    def at(self, label: ProtocolLabel) -> _Entry_co | None:
        """The entry for one version, or None when the facet has none for it."""
        ...

    @classmethod
    def versions_in(cls, data: Mapping[str, Any]) -> dict[ProtocolLabel, Mapping[str, Any]]:
        """``versions()`` of the facet given as JSON data (entries that are not objects are
        left out), for code that reads records as data."""
        ...


def version_field(label: ProtocolLabel) -> str:
    """The field name a ``FieldPerVersion`` facet uses for a version: TLSv1.3 -> tls1_3."""
    return label.lower().replace("v", "").replace(".", "_")


class FieldPerVersion(Generic[_Entry]):
    """Mixin for a facet model with one field per version it measures (``tls1_3``, ...).

    The fields are declared on the model as usual; ``version_labels`` names them, newest
    first, through ``version_field``.
    """

    version_labels: ClassVar[tuple[ProtocolLabel, ...]] = ("TLSv1.3", "TLSv1.2")

    def versions(self) -> dict[ProtocolLabel, _Entry]:
        found: dict[ProtocolLabel, _Entry] = {}
        for label in self.version_labels:
            entry = getattr(self, version_field(label))
            if entry is not None:
                found[label] = entry
        return found

    def at(self, label: ProtocolLabel) -> _Entry | None:
        if label not in self.version_labels:
            return None
        entry: _Entry | None = getattr(self, version_field(label))
        return entry

    @classmethod
    def versions_in(cls, data: Mapping[str, Any]) -> dict[ProtocolLabel, Mapping[str, Any]]:
        found: dict[ProtocolLabel, Mapping[str, Any]] = {}
        for label in cls.version_labels:
            entry = data.get(version_field(label))
            if isinstance(entry, Mapping):
                found[label] = entry
        return found


class KeyedByVersion(RootModel[dict[ProtocolLabel, _ModelEntry]], Generic[_ModelEntry]):
    """A facet written as a JSON object keyed by version label ("SSLv2" ... "TLSv1.3").

    ``items()``, iteration and ``[label]`` follow the object as written (oldest first, as
    the probes write it); ``versions()`` is the per-version convention (newest first).
    """

    def versions(self) -> dict[ProtocolLabel, _ModelEntry]:
        return {label: self.root[label] for label in NEWEST_FIRST if label in self.root}

    def at(self, label: ProtocolLabel) -> _ModelEntry | None:
        return self.root.get(label)

    @classmethod
    def versions_in(cls, data: Mapping[str, Any]) -> dict[ProtocolLabel, Mapping[str, Any]]:
        found: dict[ProtocolLabel, Mapping[str, Any]] = {}
        for label in NEWEST_FIRST:
            entry = data.get(label)
            if isinstance(entry, Mapping):
                found[label] = entry
        return found

    def __getitem__(self, label: ProtocolLabel) -> _ModelEntry:
        return self.root[label]

    def __contains__(self, label: object) -> bool:
        return label in self.root

    def __iter__(self) -> Iterator[ProtocolLabel]:  # type: ignore[override]
        return iter(self.root)

    def items(self) -> ItemsView[ProtocolLabel, _ModelEntry]:
        return self.root.items()
