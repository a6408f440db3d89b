"""How bad a finding is: its own module, free of the record models, so that the command line
can offer ``--fail-on`` without importing pydantic."""

from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is, from info (lowest) to critical."""

    # Ordered by ``rank``, not alphabetically: comparisons between severities (or with their
    # names) follow the rank, so ``max(severities)`` is the worst one.
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: str) -> bool:
        return self.rank < Severity(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Severity(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Severity(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Severity(other).rank


_SEVERITY_RANK: dict[Severity, int] = {severity: rank for rank, severity in enumerate(Severity)}
