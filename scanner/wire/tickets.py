"""NewSessionTicket in the RFC 5077 (TLS 1.2 and older) and RFC 8446 4.6.1 layouts."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import WireError
from .extensions import Extension, find_extension, read_extension_list
from .layout import uses_tls13_layout
from .reader import ByteReader
from .registry import ExtensionType

__all__ = ["NewSessionTicket", "parse_new_session_ticket"]


@dataclass(frozen=True)
class NewSessionTicket:
    """A session ticket in either the RFC 5077 or the RFC 8446 4.6.1 layout.

    The ticket itself is opaque server state: kept (out of the repr) only so that a check
    can present it again (Ticketbleed), never written to a record.
    """

    tls13: bool
    lifetime_s: int
    age_add: int | None
    nonce: bytes
    ticket_length: int
    max_early_data: int | None
    extensions: tuple[Extension, ...]
    ticket: bytes = field(default=b"", repr=False)


def parse_new_session_ticket(body: bytes, *, version: int) -> NewSessionTicket:
    """Parse NewSessionTicket for the negotiated ``version``."""
    reader = ByteReader(body)
    if not uses_tls13_layout(version, "NewSessionTicket"):
        lifetime = reader.u32("NewSessionTicket ticket_lifetime_hint")
        ticket = reader.vector(2, "NewSessionTicket ticket")
        reader.expect_end("NewSessionTicket")
        return NewSessionTicket(
            tls13=False,
            lifetime_s=lifetime,
            age_add=None,
            nonce=b"",
            ticket_length=len(ticket),
            max_early_data=None,
            extensions=(),
            ticket=ticket,
        )
    lifetime = reader.u32("NewSessionTicket ticket_lifetime")
    age_add = reader.u32("NewSessionTicket ticket_age_add")
    nonce = reader.vector(1, "NewSessionTicket ticket_nonce")
    ticket = reader.vector(2, "NewSessionTicket ticket", min_length=1)
    extensions = read_extension_list(reader, "NewSessionTicket", max_length=2**16 - 2)
    reader.expect_end("NewSessionTicket")
    max_early_data = None
    if (early := find_extension(extensions, ExtensionType.early_data)) is not None:
        if len(early.data) != 4:
            raise WireError(
                f"NewSessionTicket early_data: expected 4 bytes (max_early_data_size), "
                f"got {len(early.data)}"
            )
        max_early_data = int.from_bytes(early.data, "big")
    return NewSessionTicket(
        tls13=True,
        lifetime_s=lifetime,
        age_add=age_add,
        nonce=nonce,
        ticket_length=len(ticket),
        max_early_data=max_early_data,
        extensions=extensions,
        ticket=ticket,
    )
