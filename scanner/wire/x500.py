"""X.500 distinguished names as sent in CertificateRequest ``certificate_authorities``.

The DER is walked with a tiny strict TLV reader (no OpenSSL) so that a malformed name
becomes a :class:`WireError` instead of an opaque library failure, and so that names
with odd string types can still be rendered. Attribute values are turned into
``cryptography`` ``NameAttribute`` objects and formatted with their RFC 4514 escaping;
values that cannot be represented that way (unknown ASN.1 types, undecodable text,
values ``cryptography`` rejects such as a 3-letter country) use the RFC 4514 section
2.4 ``OID=#<hex of the DER value>`` form rather than failing the whole name.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import WireError

__all__ = [
    "DistinguishedName",
    "NameAttributeDer",
    "decode_oid",
    "name_attributes",
    "parse_distinguished_name",
]

# Universal tags used in names (X.680).
_TAG_OID = 0x06
_TAG_SEQUENCE = 0x30
_TAG_SET = 0x31
_TAG_TELETEX = 0x14

# String types and how their contents decode to text.
_STRING_CODECS: dict[int, str] = {
    0x0C: "utf-8",  # UTF8String
    0x12: "ascii",  # NumericString
    0x13: "ascii",  # PrintableString
    0x14: "latin-1",  # TeletexString (T61): tried as UTF-8 first, see _decode_text
    0x16: "ascii",  # IA5String
    0x1A: "ascii",  # VisibleString
    0x1C: "utf-32-be",  # UniversalString
    0x1E: "utf-16-be",  # BMPString
}

# RFC 4514 section 3 short names; anything else is written as a dotted OID.
_SHORT_NAMES: dict[str, str] = {
    NameOID.COMMON_NAME.dotted_string: "CN",
    NameOID.LOCALITY_NAME.dotted_string: "L",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "ST",
    NameOID.ORGANIZATION_NAME.dotted_string: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "OU",
    NameOID.COUNTRY_NAME.dotted_string: "C",
    NameOID.STREET_ADDRESS.dotted_string: "STREET",
    NameOID.DOMAIN_COMPONENT.dotted_string: "DC",
    NameOID.USER_ID.dotted_string: "UID",
}


@dataclass(frozen=True)
class DistinguishedName:
    """One DN: its RFC 4514 string (most specific RDN first) and the DER it came from."""

    rfc4514: str
    der: bytes

    def __str__(self) -> str:
        return self.rfc4514


@dataclass(frozen=True)
class _Tlv:
    tag: int
    content: bytes
    encoded: bytes  # tag + length + content, for the #hex form


def _read_tlv(data: bytes, pos: int, what: str) -> tuple[_Tlv, int]:
    """Read one DER TLV at ``pos``; return it and the offset just past it."""
    start = pos
    if pos >= len(data):
        raise WireError(f"{what}: missing DER tag")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        raise WireError(f"{what}: high-tag-number form 0x{tag:02x} is not used in names")
    if pos >= len(data):
        raise WireError(f"{what}: missing DER length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise WireError(f"{what}: indefinite length is not allowed in DER")
    else:
        count = first & 0x7F
        if count > 3:
            raise WireError(f"{what}: DER length of {count} bytes is too large for TLS")
        if pos + count > len(data):
            raise WireError(
                f"{what}: DER length needs {count} bytes, only {len(data) - pos} available"
            )
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
        if length < 0x80 or data[pos - count] == 0:
            raise WireError(f"{what}: non-minimal DER length encoding")
    if length > len(data) - pos:
        raise WireError(f"{what}: DER length says {length} bytes, only {len(data) - pos} available")
    end = pos + length
    return _Tlv(tag, data[pos:end], data[start:end]), end


def _children(content: bytes, what: str) -> list[_Tlv]:
    items: list[_Tlv] = []
    pos = 0
    while pos < len(content):
        tlv, pos = _read_tlv(content, pos, what)
        items.append(tlv)
    return items


def decode_oid(content: bytes) -> str:
    """Dotted-decimal form of DER OBJECT IDENTIFIER *contents* (no tag/length)."""
    if not content:
        raise WireError("OID: empty encoding")
    if content[-1] & 0x80:
        raise WireError("OID: last subidentifier is truncated")
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in content:
        if fresh and byte == 0x80:
            raise WireError("OID: non-minimal subidentifier encoding")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


def _decode_text(tag: int, content: bytes) -> str | None:
    codec = _STRING_CODECS.get(tag)
    if codec is None:
        return None
    if tag == _TAG_TELETEX:
        # Real T61 strings are latin-1 or (like cryptography writes them) UTF-8; valid
        # UTF-8 with non-ASCII bytes is practically never intended as latin-1.
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return content.decode(codec)
    except UnicodeDecodeError:
        return None


def _attribute_string(attribute: NameAttributeDer) -> str:
    """RFC 4514 ``type=value`` for one attribute, falling back to ``type=#hex``."""
    oid = attribute.oid
    text = attribute.text
    if text is not None:
        try:
            return x509.NameAttribute(x509.ObjectIdentifier(oid), text).rfc4514_string()
        except ValueError:  # cryptography's validation, e.g. a 3-letter country name
            pass
    encoded = _encode_tlv(attribute.tag, attribute.value)
    return f"{_SHORT_NAMES.get(oid, oid)}=#{encoded.hex()}"


def _encode_tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


@dataclass(frozen=True)
class NameAttributeDer:
    """One attribute of a DN as encoded: its OID, ASN.1 string tag and raw value bytes."""

    oid: str
    tag: int
    value: bytes

    @property
    def text(self) -> str | None:
        """The value as text, or None when its type or bytes are not text we can decode."""
        return _decode_text(self.tag, self.value)


def name_attributes(der: bytes) -> tuple[tuple[NameAttributeDer, ...], ...]:
    """The RDNs of a DER ``Name`` in encoded order, each a tuple of its attributes.

    Structure errors (bad lengths, wrong tags, trailing bytes, empty RDN sets) raise
    :class:`WireError`; attribute values are returned as they are, whatever their type.
    """
    der = bytes(der)
    outer, end = _read_tlv(der, 0, "DistinguishedName")
    if outer.tag != _TAG_SEQUENCE:
        raise WireError(f"DistinguishedName: expected SEQUENCE tag 0x30, got 0x{outer.tag:02x}")
    if end != len(der):
        raise WireError(f"DistinguishedName: {len(der) - end} unexpected trailing bytes")
    rdns: list[tuple[NameAttributeDer, ...]] = []
    for index, rdn in enumerate(_children(outer.content, "DistinguishedName RDN")):
        where = f"DistinguishedName RDN {index}"
        if rdn.tag != _TAG_SET:
            raise WireError(f"{where}: expected SET tag 0x31, got 0x{rdn.tag:02x}")
        attributes = _children(rdn.content, f"{where} attribute")
        if not attributes:
            raise WireError(f"{where}: empty SET of attributes")
        parts: list[NameAttributeDer] = []
        for attribute in attributes:
            if attribute.tag != _TAG_SEQUENCE:
                raise WireError(
                    f"{where}: expected attribute SEQUENCE 0x30, got 0x{attribute.tag:02x}"
                )
            fields = _children(attribute.content, f"{where} attribute")
            if len(fields) != 2:
                raise WireError(f"{where}: attribute has {len(fields)} fields, expected 2")
            oid_tlv, value = fields
            if oid_tlv.tag != _TAG_OID:
                raise WireError(f"{where}: expected OID tag 0x06, got 0x{oid_tlv.tag:02x}")
            parts.append(NameAttributeDer(decode_oid(oid_tlv.content), value.tag,
                                          value.content))
        rdns.append(tuple(parts))
    return tuple(rdns)


def parse_distinguished_name(der: bytes) -> DistinguishedName:
    """Parse a DER ``Name`` (RDNSequence) into an RFC 4514 string.

    Structure errors (bad lengths, wrong tags, trailing bytes, empty RDN sets) raise
    :class:`WireError`; odd attribute *values* are rendered in ``#hex`` form instead.
    """
    der = bytes(der)
    rdn_strings = [
        "+".join(_attribute_string(attribute) for attribute in rdn)
        for rdn in name_attributes(der)
    ]
    # RFC 4514 section 2.1: the string lists RDNs in reverse order of the DER sequence.
    return DistinguishedName(rfc4514=",".join(reversed(rdn_strings)), der=der)
