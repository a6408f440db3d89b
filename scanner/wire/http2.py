"""The same one-request exchange as :mod:`scanner.wire.http`, over HTTP/2 with ``h2``.

Used when ALPN selected ``h2`` (an HTTP/2-only listener such as a gRPC front refuses
``http/1.1``). One stream, ``:authority`` set from the request's Host; server pushes are
refused, settings and data acknowledged so a server never stalls on flow control while we
read up to the body cap.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from .errors import WireError
from .http import HttpRequest, ReadsResponse, ResponseReader

__all__ = ["Http2Exchange"]

_STREAM = 1
_FRAME_HEADER = 9
_SETTINGS = 0x04
# h2 waits for a whole frame before judging its length, so an HTTP/1.x answer would read as
# the start of a 4 MiB frame and leave us waiting: the server's preface is checked here.
_MAX_SETTINGS_LENGTH = 2**14


class Http2Exchange(ReadsResponse):
    """HTTP/2 over ``h2``: the client preface, one request on stream 1, its answer."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self._h2 = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=True, header_encoding=None))
        self._reader = ResponseReader()

    def start(self) -> bytes:
        request = self.request
        self._h2.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.ENABLE_PUSH: 0})
        self._h2.initiate_connection()
        self._h2.send_headers(_STREAM, [
            (b":method", request.method.encode()), (b":scheme", b"https"),
            (b":authority", request.host.encode()), (b":path", request.path.encode()),
            (b"user-agent", request.user_agent.encode()), (b"accept", b"*/*"),
        ], end_stream=True)
        return self._h2.data_to_send()

    def feed(self, data: bytes) -> bytes:
        reader = self._reader
        if reader.finished:
            return b""
        seen = len(reader.received)
        reader.keep(data)
        if not data:
            reader.closed = True
            return b""
        if seen < _FRAME_HEADER:
            _check_server_preface(bytes(reader.received[:_FRAME_HEADER]))
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            if reader.head_only is not None:
                reader.ended = True
                return b""
            raise WireError(f"not an HTTP/2 answer: {exc}") from None
        for event in events:
            self._take(event)
        return self._h2.data_to_send()

    def _take(self, event: h2.events.Event) -> None:
        reader = self._reader
        if isinstance(event, h2.events.ResponseReceived) and event.stream_id == _STREAM:
            headers = [(bytes(name), bytes(value)) for name, value in event.headers or ()]
            status = next((value for name, value in headers if name == b":status"), b"")
            if not status.isdigit():
                raise WireError(f"HTTP/2 response without a valid :status ({status!r})")
            reader.head("2", int(status), b"", headers)
        elif isinstance(event, h2.events.DataReceived) and event.stream_id == _STREAM:
            reader.body(event.data or b"")
            self._h2.acknowledge_received_data(event.flow_controlled_length, _STREAM)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id == _STREAM:
            reader.ended = True
        elif (isinstance(event, h2.events.StreamReset) and event.stream_id == _STREAM) \
                or isinstance(event, h2.events.ConnectionTerminated):
            reader.closed = True


def _check_server_preface(start: bytes) -> None:
    """RFC 9113 section 3.4: the server's first frame is a SETTINGS frame on stream 0."""
    length = int.from_bytes(start[:3].ljust(3, b"\x00"), "big") if len(start) >= 3 else None
    if start[:1] > b"\x00" or (length is not None and length > _MAX_SETTINGS_LENGTH) \
            or (len(start) > 3 and start[3] != _SETTINGS):
        raise WireError("not an HTTP/2 answer: the first frame is not SETTINGS")
