"""The little BER an LDAP client needs: definite-length TLVs, read and written."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.starttls.errors import NotTheProtocol

_MAX_LENGTH_OCTETS = 4


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes


def encode(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        header = bytes([length])
    else:
        octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + header + value


def encode_int(tag: int, number: int) -> bytes:
    return encode(tag, number.to_bytes(max(1, (number.bit_length() + 8) // 8), "big",
                                       signed=True))


def read(data: bytes, offset: int = 0) -> tuple[Tlv, int] | None:
    """One TLV at ``offset`` and the offset after it; None while incomplete.

    Single-byte tags only (LDAP uses no others); indefinite lengths are refused (LDAP
    forbids them).
    """
    if len(data) < offset + 2:
        return None
    tag, first = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F:
        raise NotTheProtocol(f"BER: multi-byte tag at offset {offset}")
    position = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > _MAX_LENGTH_OCTETS:
            raise NotTheProtocol(f"BER: unsupported length form 0x{first:02x}")
        if len(data) < position + count:
            return None
        length = int.from_bytes(data[position:position + count], "big")
        position += count
    if len(data) < position + length:
        return None
    return Tlv(tag, data[position:position + length]), position + length


def children(value: bytes) -> list[Tlv]:
    """The TLVs a constructed value holds; all must be complete."""
    items = []
    offset = 0
    while offset < len(value):
        found = read(value, offset)
        if found is None:
            raise NotTheProtocol("BER: truncated element inside a complete one")
        item, offset = found
        items.append(item)
    return items


def to_int(value: bytes) -> int:
    if not value or len(value) > 8:
        raise NotTheProtocol(f"BER: integer of {len(value)} bytes")
    return int.from_bytes(value, "big", signed=True)
