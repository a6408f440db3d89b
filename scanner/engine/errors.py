"""Typed failures of the I/O layer, each mapped to an ``ErrorKind`` of the record."""

from __future__ import annotations

from scanner.results import ErrorInfo, ErrorKind


class ScanFailure(Exception):
    """A network or TLS failure with a kind the record can carry."""

    def __init__(self, kind: ErrorKind, detail: str, alert: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.alert = alert

    def info(self) -> ErrorInfo:
        return ErrorInfo(kind=self.kind, detail=self.detail, alert=self.alert)
