"""Steps on a fresh TCP stream before the TLS ClientHello: the engine's one pre-TLS hook.

``EndpointSession`` runs its ``before_tls`` steps, in order, on every connection it opens
(full handshakes and raw hellos alike) once TCP is up. A proxy tunnel would be one such step
and a STARTTLS preamble the next; each gets the stream and the connection's deadline and
raises ``ScanFailure`` when the connection cannot go on to TLS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from scanner import starttls
from scanner.engine.errors import ScanFailure
from scanner.results import ErrorKind

#: One pre-TLS step: (stream, absolute trio deadline) -> None, or ScanFailure.
BeforeTls = Callable[[trio.SocketStream, float], Awaitable[None]]

_RECEIVE_BYTES = 4096


def starttls_step(protocol: str, domain: str) -> BeforeTls | None:
    """The step that runs ``protocol``'s preamble (a new state machine per connection);
    None for direct TLS."""
    if starttls.preamble_for(protocol, domain) is None:
        return None

    async def step(stream: trio.SocketStream, deadline: float) -> None:
        machine = starttls.preamble_for(protocol, domain)
        assert machine is not None
        await run_preamble(stream, machine, deadline)

    return step


async def run_preamble(stream: trio.abc.Stream, machine: starttls.Preamble,
                       deadline: float) -> None:
    """Drive ``machine`` to its end on ``stream``, or raise ScanFailure saying why not."""
    with trio.move_on_at(deadline):
        try:
            outgoing = machine.start()
            while True:
                if outgoing:
                    await stream.send_all(outgoing)
                if machine.done:
                    return
                data = await stream.receive_some(_RECEIVE_BYTES)
                if not data:
                    machine.closed()
                outgoing = machine.feed(bytes(data))
        except starttls.PreambleError as error:
            raise preamble_failure(error) from None
        except (trio.BrokenResourceError, OSError) as error:
            raise ScanFailure(ErrorKind.connection_reset,
                              f"{machine.protocol}: the connection broke during the preamble "
                              f"({error}); the server sent "
                              f"{starttls.quote(bytes(machine.received))}") from None
    raise ScanFailure(ErrorKind.timeout,
                      f"{machine.protocol}: the preamble did not finish before the deadline; "
                      f"the server sent {starttls.quote(bytes(machine.received))}")


def preamble_failure(error: starttls.PreambleError) -> ScanFailure:
    if isinstance(error, starttls.StartTlsRefused):
        return ScanFailure(ErrorKind.starttls_refused, error.detail)
    if isinstance(error, starttls.ClosedEarly):
        return ScanFailure(ErrorKind.connection_closed, error.detail)
    return ScanFailure(ErrorKind.starttls_unexpected, error.detail)


#: Preamble failures that hold for every later connection: the server will not start TLS
#: (or speaks another protocol), so repeating the preamble only repeats the refusal.
TARGET_FATAL = frozenset({ErrorKind.starttls_refused, ErrorKind.starttls_unexpected})
