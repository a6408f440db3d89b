"""The single exception type raised by every parser in :mod:`scanner.wire`."""

from __future__ import annotations

__all__ = ["WireError"]


class WireError(ValueError):
    """Malformed or truncated protocol data.

    A subclass of ``ValueError`` so callers that already treat bad input as a value
    problem keep working; parsers never let ``IndexError``/``struct.error``/... escape.
    """
