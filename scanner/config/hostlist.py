"""A plain target list: one ``host``, ``host:port`` or ``[IPv6]:port`` per line.

The simplest form of a large estate (a million lines from a CMDB export): read line by line,
so memory holds the targets and not the text, with the same validation as the command line.
Blank lines and ``#`` comments are skipped; an error names the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from scanner.config.targets import Target, TargetSyntaxError, parse_endpoint
from scanner.results.identity import default_sni

#: File names read as plain lists rather than YAML inventories.
HOST_LIST_SUFFIXES = frozenset({".txt", ".list", ".lst", ".hosts"})
MAX_LINE_BYTES = 1024  # a host name is at most 253 characters; this is generous


class HostListError(Exception):
    """A line that is not a target; one line naming the file and line."""


def read_host_list(path: Path) -> Iterator[Target]:
    """Every target of the file, in order (raises HostListError at the first bad line)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise HostListError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise HostListError(f"{path}:{number}: line longer than {MAX_LINE_BYTES} "
                                    "bytes; one host[:port] per line")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HostListError(f"{path}:{number}: not UTF-8 text ({exc.reason})") from None
            entry = text.split("#", 1)[0].strip()
            if not entry:
                continue
            try:
                host, port = parse_endpoint(entry)
            except TargetSyntaxError as exc:
                raise HostListError(f"{path}:{number}: {exc}") from None
            yield Target(host=host, port=port, sni=default_sni(host),
                         origin=f"{path}:{number}")
