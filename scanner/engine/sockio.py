"""Socket I/O with fewer trips through trio's scheduler, for the engine's hot loops.

A sweep makes tens of thousands of connections, and on loopback scheduling was the largest
share of its CPU. ``trio.SocketStream`` yields to the scheduler after every send and after
every receive, even one that has just waited for the socket to become readable. Here, on a
plain ``trio.SocketStream``:

- a send does not yield when the kernel took the bytes at once (every caller reads the
  answer next, and that read yields);
- a receive yields exactly once: in its wait for data, or, when data was already there,
  in one shielded checkpoint (as trio does), so a peer that floods us cannot keep a task
  from yielding;
- cancellation is checked before each operation, as trio does, so deadlines hold exactly.

Errors are the ones ``trio.SocketStream`` raises (``BrokenResourceError`` with the
``OSError`` as its cause, ``ClosedResourceError`` for a closed socket). Any other stream
goes through its own methods.
"""

from __future__ import annotations

import errno
import os
from typing import NoReturn

import trio

# What trio counts as "this socket was already closed" (trio._highlevel_socket).
_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})


def _raise_translated(exc: OSError) -> NoReturn:
    if exc.errno in _CLOSED_ERRNOS:
        raise trio.ClosedResourceError("this socket was already closed") from None
    raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc


def _descriptor(stream: trio.SocketStream) -> int:
    fd = stream.socket.fileno()
    if fd < 0:
        raise trio.ClosedResourceError("socket was already closed")
    return fd


async def send_all(stream: trio.abc.Stream, data: bytes) -> None:
    """``stream.send_all(data)``, without a yield when the kernel takes the bytes at once."""
    if type(stream) is not trio.SocketStream or not data:
        await stream.send_all(data)
        return
    await trio.lowlevel.checkpoint_if_cancelled()
    fd = _descriptor(stream)
    view = memoryview(data)
    sent = 0
    try:
        while sent < len(view):
            try:
                sent += os.write(fd, view[sent:])
            except BlockingIOError:
                await trio.lowlevel.wait_writable(fd)
    except OSError as exc:
        _raise_translated(exc)


async def receive_some(stream: trio.abc.Stream, max_bytes: int) -> bytes:
    """``stream.receive_some(max_bytes)`` with one yield, not two, when it has to wait."""
    if type(stream) is not trio.SocketStream:
        return bytes(await stream.receive_some(max_bytes))
    await trio.lowlevel.checkpoint_if_cancelled()
    fd = _descriptor(stream)
    try:
        try:
            data = os.read(fd, max_bytes)
        except BlockingIOError:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        while True:
            await trio.lowlevel.wait_readable(fd)
            try:
                return os.read(fd, max_bytes)
            except BlockingIOError:
                continue
    except OSError as exc:
        _raise_translated(exc)
