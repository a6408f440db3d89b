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

    def detached(self) -> ScanFailure:
        """This failure without its traceback and chained exceptions, for keeping in a
        result. Kept with them, it holds the frames that raised it, those frames the
        connection and session that hold it: a reference cycle that only the cyclic
        collector frees, long after the target is done (tens of MB at a sweep's peak)."""
        self.__traceback__ = None
        self.__context__ = None
        self.__cause__ = None
        return self
