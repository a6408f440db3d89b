"""sockio against real TCP peers on 127.0.0.1: the same data, errors and deadlines as
``trio.SocketStream``, with fewer scheduler trips."""

from __future__ import annotations

import socket
import struct
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing

from scanner.engine import sockio
from scanner.engine.connect import Address, open_tcp


async def _listener() -> tuple[socket.socket, int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    return listener, int(listener.getsockname()[1])


async def _accept(listener: socket.socket) -> socket.socket:
    await trio.lowlevel.wait_readable(listener)
    peer, _ = listener.accept()
    return peer


def _run_connected(body: Callable[[trio.SocketStream, socket.socket], Awaitable[None]]) -> None:
    """Run ``body`` with a stream from ``open_tcp`` and the accepted peer; close both after."""
    async def main() -> None:
        listener, port = await _listener()
        with listener:
            stream = await open_tcp(Address(socket.AF_INET, "127.0.0.1", port), timeout=5)
            peer = await _accept(listener)
            try:
                await body(stream, peer)
            finally:
                peer.close()
                stream.socket.close()

    trio.run(main)


def test_round_trip_and_end_of_stream() -> None:
    async def body(stream: trio.SocketStream, peer: socket.socket) -> None:
        await sockio.send_all(stream, b"x" * 100_000)  # more than one send may take
        received = b""
        peer.setblocking(True)
        while len(received) < 100_000:
            received += peer.recv(65536)
        assert received == b"x" * 100_000
        peer.sendall(b"answer")
        assert await sockio.receive_some(stream, 100) == b"answer"
        peer.close()
        assert await sockio.receive_some(stream, 100) == b""

    _run_connected(body)


def test_reset_is_a_broken_resource_caused_by_the_reset() -> None:
    async def body(stream: trio.SocketStream, peer: socket.socket) -> None:
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # RST
        with pytest.raises(trio.BrokenResourceError) as caught:
            await sockio.receive_some(stream, 100)
        assert isinstance(caught.value.__cause__, ConnectionResetError)

    _run_connected(body)


def test_closed_socket_is_a_closed_resource() -> None:
    async def body(stream: trio.SocketStream, _peer: socket.socket) -> None:
        stream.socket.close()
        with pytest.raises(trio.ClosedResourceError):
            await sockio.send_all(stream, b"data")
        with pytest.raises(trio.ClosedResourceError):
            await sockio.receive_some(stream, 100)

    _run_connected(body)


def test_a_silent_peer_is_cut_off_at_the_deadline() -> None:
    async def body(stream: trio.SocketStream, peer: socket.socket) -> None:
        with trio.move_on_after(0.2) as scope:
            await sockio.receive_some(stream, 100)
        assert scope.cancelled_caught
        with trio.CancelScope() as cancelled:
            cancelled.cancel()
            await sockio.send_all(stream, b"late")  # cancellation is checked first
        assert cancelled.cancelled_caught
        peer.setblocking(False)
        with pytest.raises(BlockingIOError):
            peer.recv(10)  # nothing was sent

    _run_connected(body)


def test_other_streams_use_their_own_methods() -> None:
    async def main() -> None:
        left, right = trio.testing.memory_stream_pair()
        await sockio.send_all(left, b"through memory")
        assert await sockio.receive_some(right, 100) == b"through memory"

    trio.run(main)
