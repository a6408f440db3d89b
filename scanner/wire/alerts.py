"""TLS Alert messages (RFC 8446 section 6, RFC 5246 section 7.2)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .registry import ALERT_DESCRIPTIONS, ALERT_LEVELS, AlertLevel, name_for

__all__ = ["ALERT_LENGTH", "Alert", "parse_alert"]

ALERT_LENGTH = 2


@dataclass(frozen=True)
class Alert:
    """An alert record's payload: why a peer refused or closed a connection."""

    level: int
    description: int

    @property
    def level_name(self) -> str:
        return name_for(ALERT_LEVELS, self.level, 2)

    @property
    def name(self) -> str:
        return name_for(ALERT_DESCRIPTIONS, self.description, 2)

    @property
    def is_fatal(self) -> bool:
        return self.level == AlertLevel.fatal

    def __str__(self) -> str:
        return f"{self.level_name} {self.name}"


def parse_alert(data: bytes) -> Alert:
    """Parse one alert (exactly two bytes: level, description)."""
    if len(data) != ALERT_LENGTH:
        raise WireError(f"Alert: expected exactly {ALERT_LENGTH} bytes, got {len(data)}")
    return Alert(level=data[0], description=data[1])
