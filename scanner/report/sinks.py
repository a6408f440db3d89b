"""Where records go as they are produced.

A sweep hands each finished record to a :class:`RecordSink`: anything with a ``write``
method (the tests and benchmarks collect records in a list). :class:`OutputSink` is the one
the command uses, writing records in an output format to a file or stdout.

JSON Lines is appended and flushed record by record, so a sweep killed at any moment keeps
every finished record (see ``jsonl.py``). The other formats are documents: records are parked
in an on-disk spool as they finish and written at the end, in input order so that two runs
diff cleanly. A document written to a file appears atomically (written beside it, then
renamed), so a killed sweep never leaves half a document behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Protocol

from scanner.report.formats import OutputFormat
from scanner.report.jsonl import JsonlAppender, JsonlError, TailRepair
from scanner.report.render import RenderContext, render
from scanner.report.spool import RecordSpool
from scanner.results import Record

__all__ = ["OutputError", "OutputFormat", "OutputSink", "RecordSink", "replacing",
           "write_document"]


class OutputError(Exception):
    """Results (or the key log) cannot be written: one line naming the file and what is kept."""


class RecordSink(Protocol):
    """Receives every record of a sweep once, in completion order."""

    def write(self, index: int, record: Record) -> None:
        """Take the record of the ``index``-th target of the input."""


class OutputSink:
    """Records in one output format, to ``output`` or stdout (see the module docstring)."""

    def __init__(self, fmt: OutputFormat, output: Path | None, *,
                 context: RenderContext | None = None) -> None:
        """Opens (JSON Lines) or probes (documents) ``output`` now, before any connection:
        an unwritable path raises OutputError instead of losing a finished sweep."""
        self.format = fmt
        self.output = output
        self.context = context or RenderContext()
        self.written = 0
        if fmt is OutputFormat.jsonl:
            try:
                self._appender: JsonlAppender | None = JsonlAppender(output)
            except JsonlError as exc:
                raise OutputError(str(exc)) from None
        else:
            self._appender = None
            probe_writable(output)
        self._spool = RecordSpool() if fmt is not OutputFormat.jsonl else None

    @property
    def repair(self) -> TailRepair:
        """What had to be fixed at the end of an existing JSON Lines file before appending."""
        return self._appender.repair if self._appender else TailRepair()

    def write(self, index: int, record: Record) -> None:
        self.write_json(index, record.to_json().encode("utf-8"))

    def write_json(self, index: int, data: bytes) -> None:
        """Take a record already serialised by ``Record.to_json`` (UTF-8): a worker
        process's record is written as the worker sent it, never parsed again."""
        try:
            if self._appender is not None:
                self._appender.append_bytes(data)
            elif self._spool is not None:
                self._spool.add_json(index, data)
        except OSError as exc:
            where = self.output or "standard output"
            if self._appender is None:
                where = "the temporary spool"
            raise OutputError(f"{where}: cannot write a record ({exc.strerror or exc}); the "
                              f"{self.written} record(s) written before it are kept") from None
        self.written += 1

    def close(self) -> None:
        """Write the document (formats other than JSON Lines); raises OutputError."""
        if self._spool is not None:
            try:
                write_document(self.format, self._spool, self.output, self.context)
            except OSError as exc:
                kept = f"{self.output} is left as it was" if self.output else "nothing written"
                raise OutputError(f"{self.output or 'standard output'}: cannot write the "
                                  f"{self.format.value} document ({exc.strerror or exc}); "
                                  f"{kept}") from None
            finally:
                self._spool.close()
                self._spool = None
        if self._appender is not None:
            self._appender.close()


def probe_writable(output: Path | None) -> None:
    """Raise OutputError now if a document could not be written to ``output`` at the end:
    its directory must take the hidden file that is renamed over it (or, for a device or
    pipe, the path must open for writing)."""
    if output is None:
        return
    try:
        if output.exists() and not output.is_file():
            if output.is_dir():
                raise IsADirectoryError(21, "is a directory")
            with output.open("a", encoding="utf-8"):
                return
        output.parent.mkdir(parents=True, exist_ok=True)
        trial = _partial_path(output)
        with trial.open("w", encoding="utf-8"):
            pass
        trial.unlink()
    except OSError as exc:
        raise OutputError(f"{output}: cannot write ({exc.strerror or exc})") from None


def _partial_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.{os.getpid()}.partial")


def write_document(fmt: OutputFormat, records: Iterable[Record], output: Path | None,
                   context: RenderContext) -> None:
    """Render ``records`` to stdout, or to ``output`` atomically when it is a regular file."""
    with replacing(output) as handle:
        render(fmt, records, handle, context=context,
               to_terminal=output is None and sys.stdout.isatty())


@contextlib.contextmanager
def replacing(output: Path | None) -> Iterator[IO[str]]:
    """A text stream that becomes ``output`` only once complete (stdout when None).

    The text goes to a hidden file beside ``output`` that is renamed over it at the end, so
    readers never see half a document and a failure leaves the old file as it was. Devices
    and pipes (``-o /dev/stdout``) are written directly.
    """
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    if output.exists() and not output.is_file():
        with output.open("w", encoding="utf-8") as handle:
            yield handle
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_path(output)
    try:
        with partial.open("w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # on disk before it replaces the old document
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
