"""Follow the record layer of what a server sends, as it arrives, without keeping any payload.

The TLS library does the real parsing; this runs alongside it so that a scanner can refuse a
record longer than any TLS version allows *before* buffering it, and can name the handshake
message a library error refers to (type and declared size) while the handshake is still in
plaintext. It keeps a few counters and at most a few partial header bytes, whatever it is fed,
and costs a handful of integer operations per record (a flood of tiny records must stay cheap).
"""

from __future__ import annotations

from .errors import WireError
from .handshake import HANDSHAKE_HEADER_LENGTH, HandshakeHeader
from .records import MAX_CIPHERTEXT_LENGTH, RECORD_HEADER_LENGTH, RecordHeader
from .registry import ContentType

__all__ = ["MAX_KEPT_HEADERS", "RecordTracker"]

# Headers kept for naming messages; a handshake has a dozen, a flood is cut off elsewhere.
MAX_KEPT_HEADERS = 64


class RecordTracker:
    """Incremental record-header follower for one direction of a TLS connection.

    ``feed`` raises :class:`WireError` on a record whose length exceeds
    ``MAX_CIPHERTEXT_LENGTH`` (RFC 5246 6.2.3; TLS 1.3 allows even less), after which the
    tracker stays stopped. A stream that starts like an SSLv2 record (high bit set) is not
    followed at all. Handshake message headers are read from handshake records until the
    first ChangeCipherSpec record, after which they are encrypted.
    """

    def __init__(self) -> None:
        self.records = 0
        #: Headers of the plaintext handshake messages, in order (the first MAX_KEPT_HEADERS).
        self.handshake_headers: list[HandshakeHeader] = []
        self._last: tuple[int, int, int] | None = None
        self._header = b""  # a record header split across feeds
        self._payload_left = 0
        self._follow_payload = False  # the current record is a plaintext handshake record
        self._plaintext = True
        self._message_header = b""  # a handshake header split across records or feeds
        self._body_left = 0
        self._following = True

    @property
    def last_record(self) -> RecordHeader | None:
        """The header of the last record that started."""
        if self._last is None:
            return None
        content_type, version, length = self._last
        return RecordHeader(content_type=content_type, version=version, length=length)

    def feed(self, data: bytes | bytearray) -> None:
        """Account for the next bytes received; raises WireError on an oversized record."""
        if not self._following or not data:
            return
        if self.records == 0 and not self._header and data[0] & 0x80:
            self._following = False  # SSLv2 framing: leave it to the TLS library
            return
        end = len(data)
        pos = 0
        while pos < end:
            if self._payload_left:
                take = min(self._payload_left, end - pos)
                if self._follow_payload:
                    self._follow_handshake(data, pos, pos + take)
                pos += take
                self._payload_left -= take
                continue
            if self._header or end - pos < RECORD_HEADER_LENGTH:
                need = RECORD_HEADER_LENGTH - len(self._header)
                self._header += bytes(data[pos:pos + need])
                pos += need
                if len(self._header) < RECORD_HEADER_LENGTH:
                    return
                header, self._header = self._header, b""
                self._start_record(header, 0)
            else:
                self._start_record(data, pos)
                pos += RECORD_HEADER_LENGTH

    def _start_record(self, data: bytes | bytearray, at: int) -> None:
        content_type = data[at]
        length = (data[at + 3] << 8) | data[at + 4]
        self._last = (content_type, (data[at + 1] << 8) | data[at + 2], length)
        if length > MAX_CIPHERTEXT_LENGTH:
            self._following = False
            name = RecordHeader(content_type, 0, length).content_type_name
            raise WireError(
                f"record {self.records + 1} ({name}) declares {length} bytes, over the "
                f"{MAX_CIPHERTEXT_LENGTH} any TLS version allows"
            )
        self.records += 1
        if content_type == ContentType.change_cipher_spec:
            self._plaintext = False
        # Past the kept headers there is nothing left to learn: skip the payload (floods).
        self._follow_payload = (content_type == ContentType.handshake and self._plaintext
                                and len(self.handshake_headers) < MAX_KEPT_HEADERS)
        self._payload_left = length

    def _follow_handshake(self, data: bytes | bytearray, pos: int, end: int) -> None:
        while pos < end:
            if self._body_left:
                take = min(self._body_left, end - pos)
                pos += take
                self._body_left -= take
                continue
            need = HANDSHAKE_HEADER_LENGTH - len(self._message_header)
            self._message_header += bytes(data[pos:min(end, pos + need)])
            pos = min(end, pos + need)
            if len(self._message_header) < HANDSHAKE_HEADER_LENGTH:
                return
            raw, self._message_header = self._message_header, b""
            self._body_left = int.from_bytes(raw[1:4], "big")
            if len(self.handshake_headers) < MAX_KEPT_HEADERS:
                self.handshake_headers.append(HandshakeHeader(raw[0], self._body_left))
