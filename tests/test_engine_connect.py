"""open_tcp: a connect that finished at once takes no trip through the event loop; one that
does not finish still waits, up to its timeout; a refusal is a typed failure."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import trio

from scanner.engine.connect import Address, open_tcp
from scanner.engine.errors import ScanFailure
from scanner.results import ErrorKind


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()


def _address(sock: socket.socket) -> Address:
    return Address(socket.AF_INET, "127.0.0.1", sock.getsockname()[1])


def test_a_loopback_connect_does_not_wait_on_the_event_loop(
        listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_wait(_sock: object) -> None:
        raise AssertionError("waited for a connect that had finished")

    async def main() -> None:
        for _ in range(20):
            stream = await open_tcp(_address(listener), timeout=5)
            assert stream.socket.getpeername() == listener.getsockname()
            stream.socket.close()
            listener.accept()[0].close()  # keep its accept queue from filling

    monkeypatch.setattr(trio.lowlevel, "wait_writable", no_wait)
    trio.run(main)


def test_a_refused_connect_is_a_typed_failure() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = _address(closed)  # bound, never listening: refused

        async def main() -> None:
            with pytest.raises(ScanFailure) as failure:
                await open_tcp(address, timeout=5)
            assert failure.value.kind is ErrorKind.connection_refused

        trio.run(main)


def test_a_connect_that_does_not_finish_waits_until_its_timeout() -> None:
    """A listener whose accept queue is full drops further SYNs: the connect stays in
    progress, and open_tcp waits for it on the event loop, up to the timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    queued = []
    try:
        for _ in range(4):  # fill the accept queue (never accepted)
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(server.getsockname())
            queued.append(client)

        async def main() -> None:
            started = trio.current_time()
            with pytest.raises(ScanFailure) as failure:
                await open_tcp(_address(server), timeout=0.3)
            assert failure.value.kind is ErrorKind.connect_timeout
            assert trio.current_time() - started >= 0.3

        trio.run(main)
    finally:
        for client in queued:
            client.close()
        server.close()
