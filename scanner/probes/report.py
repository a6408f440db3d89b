"""Turn engine results into the record's handshake report (shared by every probe)."""

from __future__ import annotations

from scanner import wire
from scanner.engine.handshake import HandshakeResult
from scanner.results import HandshakeReport, Offer, TranscriptEntry


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
