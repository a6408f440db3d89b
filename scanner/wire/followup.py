"""What a server sends after a message out of the handshake's order: its records, counted.

The active checks send something a correct server refuses (an early ChangeCipherSpec, a
heartbeat claiming more payload than it carries) and judge the server by what comes back:
an alert, a record of some type and length, a close. This reader keeps only record types,
lengths and the first alert, never the payloads (a vulnerable server's answer is its
memory), and stops taking bytes at ``cap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .alerts import Alert, parse_alert
from .errors import WireError
from .records import RECORD_HEADER_LENGTH, parse_record_header
from .registry import ContentType

__all__ = ["FollowUpRecords"]


@dataclass
class FollowUpRecords:
    """Records received after a follow-up message, fed as they arrive."""

    cap: int = 65536
    #: (content type, length) of every complete record, in order.
    records: list[tuple[int, int]] = field(default_factory=list)
    alert: Alert | None = None
    #: Body bytes received per content type, incomplete records included.
    body_bytes: dict[int, int] = field(default_factory=dict)
    bytes_received: int = 0
    error: str | None = None
    _pending: bytes = b""
    _type: int = 0  # content type of the record being read
    _left: int | None = None  # body bytes of that record still to come
    _length: int = 0  # its announced length

    @property
    def done(self) -> bool:
        """An alert, junk, or the cap: nothing more to learn from reading on."""
        return self.alert is not None or self.error is not None or self.bytes_received >= self.cap

    def feed(self, data: bytes) -> None:
        data = data[: max(0, self.cap - self.bytes_received)]
        self.bytes_received += len(data)
        self._pending += data
        while self.alert is None and self.error is None:
            if self._left is None:
                if len(self._pending) < RECORD_HEADER_LENGTH:
                    return
                try:
                    header = parse_record_header(self._pending[:RECORD_HEADER_LENGTH])
                except WireError as exc:
                    self.error = str(exc)
                    return
                self._type, self._left = header.content_type, header.length
                self._length = header.length
                self._pending = self._pending[RECORD_HEADER_LENGTH:]
            if self._type == ContentType.alert:
                if len(self._pending) < self._left:
                    return
                body, self._pending = self._pending[: self._left], self._pending[self._left:]
                if len(body) >= 2:
                    self.alert = parse_alert(body[:2])
            else:
                # Skip payloads as they stream in: a leak is evidence by its size only.
                taken = min(self._left, len(self._pending))
                self._pending, self._left = self._pending[taken:], self._left - taken
                self.body_bytes[self._type] = self.body_bytes.get(self._type, 0) + taken
                if self._left:
                    return
            self.records.append((self._type, self._length))
            self._left = None

    def announced(self, content_type: int) -> list[int]:
        """Announced lengths of the complete records of ``content_type``."""
        return [length for kind, length in self.records if kind == content_type]
