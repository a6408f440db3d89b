"""A TCP proxy that adds round-trip time, to imitate a network on loopback.

Listens on ``count`` consecutive ports from ``--listen`` and relays each to the same offset
from ``--upstream`` (both on 127.0.0.1), holding every chunk ``--delay`` seconds in each
direction (so the round trip grows by twice that). Order within a direction is kept; the
delay does not add up along a stream (each chunk leaves ``delay`` after it arrived).

    python -m bench.delay_proxy --listen 28700 --upstream 18700 --count 200 --delay 0.025
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

_CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivery = asyncio.create_task(deliver())
    try:
        # Stop reading once the far side can no longer be written to.
        while not delivery.done():
            try:
                data = await reader.read(_CHUNK)
            except OSError:
                data = b""
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivery
    except OSError:
        pass
    finally:
        # Also when this pump is cancelled (the relay ends): a delivery task left pending
        # would be garbage-collected mid-wait ("Task was destroyed but it is pending").
        delivery.cancel()


async def _relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                 upstream_port: int, delay: float) -> None:
    try:
        await asyncio.sleep(delay)  # the SYN's way there (the SYN-ACK's way back is below)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.sleep(delay)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(_pump(client_reader, up_writer, delay),
                             _pump(up_reader, client_writer, delay),
                             return_exceptions=True)
    finally:
        for writer in (client_writer, up_writer):
            with contextlib.suppress(OSError):
                writer.close()


async def serve(listen: int, upstream: int, count: int, delay: float) -> None:
    servers = []
    for offset in range(count):
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          port: int = upstream + offset) -> None:
            # a coroutine, so the server keeps its task referenced until the relay ends
            await _relay(reader, writer, port, delay)
        servers.append(await asyncio.start_server(handler, "127.0.0.1", listen + offset,
                                                  backlog=512))
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--delay", type=float, default=0.025, help="seconds each way")
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(options.listen, options.upstream, options.count, options.delay))


if __name__ == "__main__":
    main()
