"""0-RTT: does the server act on early data, which an attacker can replay (RFC 8446 8)?

A TLS 1.3 ticket says how much early data it allows (max_early_data). When the tickets of the
shared baseline handshake allow none, the answer costs no connection. Otherwise we take a
ticket of our own (a full handshake ended with close_notify, so the server keeps it), resume
with it sending a small GET as early data, and read the server's EncryptedExtensions: the
early_data extension there means it accepted the data.
"""

from __future__ import annotations

from scanner import wire
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import HandshakeResult, max_early_data
from scanner.engine.session import EndpointSession
from scanner.probes.base import ProbeContext
from scanner.probes.vulns.common import not_applicable, verdict
from scanner.results import VulnerabilityCheck
from scanner.wire import TLSVersion


def _early_data_allowed(result: HandshakeResult) -> int:
    sizes = [m.parsed.max_early_data or 0 for m in result.received(
        wire.HandshakeType.new_session_ticket) if isinstance(m.parsed, wire.NewSessionTicket)]
    return max(sizes, default=0)


def accepted_early_data(result: HandshakeResult) -> bool:
    """The server's EncryptedExtensions carry early_data: it took the 0-RTT data."""
    return any(isinstance(m.parsed, wire.EncryptedExtensions) and wire.find_extension(
        m.parsed.extensions, wire.ExtensionType.early_data) is not None
        for m in result.received(wire.HandshakeType.encrypted_extensions))


async def check(session: EndpointSession, context: ProbeContext) -> VulnerabilityCheck:
    if not context.http.enabled:
        return not_applicable("not an HTTP service: no request that is safe to send as early "
                              "data")
    if not (await context.shared.enumeration.version(TLSVersion.TLSv1_3)).accepted:
        return not_applicable("no TLS 1.3")
    baseline = await context.shared.baseline(TLSVersion.TLSv1_3)
    if not baseline.completed:
        return not_applicable("no completed TLS 1.3 handshake to take a ticket from")
    if not _early_data_allowed(baseline):
        return verdict("not_vulnerable", "the server's TLS 1.3 tickets allow no early data",
                       version=TLSVersion.TLSv1_3, connections=0)
    offer = context.shared.baseline_offer(TLSVersion.TLSv1_3)
    async with session.connect(offer) as tls:
        first = await tls.handshake()
        if first.completed:
            await tls.read_after_handshake(session.wait_after_handshake())
        await tls.shutdown()
    ticket = first.session
    if not first.completed or ticket is None or not max_early_data(ticket):
        return verdict("error", "the baseline's tickets allow early data, but this handshake "
                       "got no such ticket", version=TLSVersion.TLSv1_3)
    request = (f"GET {context.http.path} HTTP/1.1\r\nHost: {context.http.host}\r\n"
               "Connection: close\r\n\r\n").encode()
    async with session.connect(offer, session=ticket) as tls:
        try:
            written = await tls.write_early_data(request)
        except ScanFailure as exc:
            return verdict("error", f"could not send early data: {exc.detail}",
                           version=TLSVersion.TLSv1_3, connections=2)
        second = await tls.handshake()
        await tls.shutdown()
    if not second.completed:
        return verdict("error", "the resumed handshake with early data did not complete: "
                       f"{second.failure.detail if second.failure else 'no reason'}",
                       version=TLSVersion.TLSv1_3, connections=2)
    if accepted_early_data(second):
        return verdict("vulnerable", f"the server accepted {written} bytes of early data (an "
                       "HTTP GET) on a resumed session: requests sent as 0-RTT can be replayed",
                       version=TLSVersion.TLSv1_3, connections=2)
    return verdict("not_vulnerable", "the server's tickets allow early data, but it rejected "
                   "ours (no early_data in EncryptedExtensions)", version=TLSVersion.TLSv1_3,
                   connections=2)
