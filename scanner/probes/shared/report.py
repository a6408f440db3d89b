"""Turn engine results into the record's handshake report (shared by every probe)."""

from __future__ import annotations

from scanner import wire
from scanner.engine.handshake import HandshakeResult
from scanner.results import HandshakeReport, Offer, TranscriptEntry
from scanner.wire import TranscriptMessage


def version_name(code: int | None) -> str | None:
    return None if code is None else wire.name_for(wire.PROTOCOL_VERSIONS, code)


def handshake_report(result: HandshakeResult) -> HandshakeReport:
    offer = result.offer
    received = result.alert_received
    sent = result.alert_sent
    return HandshakeReport(
        offer=Offer(
            min_version=offer.min_version.label,
            max_version=offer.max_version.label,
            cipher_list=offer.cipher_list,
            tls13_ciphersuites=offer.tls13_ciphersuites,
            alpn=list(offer.alpn),
            sni=offer.sni,
            client_certificate=offer.client_credential.subject
            if offer.client_credential else None,
        ),
        completed=result.completed,
        version=version_name(result.version),
        cipher=result.cipher,
        group=result.group,
        alpn=result.alpn,
        alert_received=received.alert.name if received and received.alert else None,
        alert_received_after_handshake=bool(received and received.after_handshake),
        alert_sent=sent.alert.name if sent and sent.alert else None,
        error=result.failure.info() if result.failure else None,
        transcript=[
            TranscriptEntry(direction=m.direction, type=m.name, length=m.length,
                            after_handshake=m.after_handshake, parse_error=m.parse_error)
            for m in result.transcript
        ],
        transcript_truncated=result.transcript_truncated,
        duration_ms=round(result.duration_s * 1000),
    )




def server_certificate_message(result: HandshakeResult) -> TranscriptMessage | None:
    """The server's Certificate message of the handshake (parsed or not), if it sent one."""
    for message in result.transcript:
        if (message.direction == "received" and not message.after_handshake
                and message.msg_type == wire.HandshakeType.certificate):
            return message
    return None


def server_chain_der(result: HandshakeResult) -> list[bytes]:
    """The certificates the server sent, in its order: from the Certificate message itself,
    else (should it not parse) as OpenSSL reports them."""
    message = server_certificate_message(result)
    if message is not None and message.handshake is not None and isinstance(
            message.handshake.parsed, wire.CertificateMessage):
        return list(message.handshake.parsed.certificates)
    return list(result.peer_chain_der)
