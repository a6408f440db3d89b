"""``openssl s_client`` as an independent oracle of what a TLS server does.

:func:`s_client` runs the CLI with ``-msg`` and parses both its human summary
("Acceptable client certificate CA names" ...) and the raw CertificateRequest
bytes from the ``-msg`` hex dump, decoded here without OpenSSL.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from .pki import PemPaths
from .processes import LOOPBACK
from .servers import binary

HTTP_GET = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
EXT_CERTIFICATE_AUTHORITIES = 47

_MSG_HEADER = re.compile(
    r"^(?P<dir><<<|>>>) (?P<ver>[^,]+), (?P<type>\w+) \[length (?P<len>[0-9a-f]+)\]"
    r"(?:, (?P<detail>.*))?$"
)
_HEX_LINE = re.compile(r"^    (?:[0-9a-f]{2} ?)+$")
_DN_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*=")  # -nameopt rfc2253: "CN=...,O=..."


@dataclass(frozen=True)
class TlsMessage:
    """One ``-msg`` record: direction ``"<<<"`` (from server) or ``">>>"``."""

    direction: str
    version: str
    content_type: str  # Handshake, Alert, ChangeCipherSpec, RecordHeader, ...
    detail: str  # e.g. "CertificateRequest", "fatal certificate_required"
    data: bytes


@dataclass(frozen=True)
class CertificateRequestInfo:
    """A decoded CertificateRequest (TLS 1.2 or 1.3)."""

    tls13: bool
    ca_names: list[str]  # RFC 4514 (cryptography formatting), wire order
    extensions: list[int] = field(default_factory=list)  # TLS 1.3 only

    @property
    def has_ca_extension(self) -> bool:
        """TLS 1.3: the certificate_authorities (47) extension is present."""
        return EXT_CERTIFICATE_AUTHORITIES in self.extensions


@dataclass(frozen=True)
class TicketInfo:
    """A decoded NewSessionTicket (RFC 5077 / RFC 8446 4.6.1)."""

    lifetime_s: int
    ticket_length: int
    max_early_data: int | None = None  # TLS 1.3 early_data extension


@dataclass
class SClientResult:
    argv: list[str]
    returncode: int | None  # None: timed out and killed
    stdout: str
    stderr: str
    messages: list[TlsMessage]

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def _handshake(self, direction: str, name: str) -> list[TlsMessage]:
        return [m for m in self.messages
                if m.direction == direction and m.content_type == "Handshake"
                and m.detail == name]

    @property
    def certificate_request(self) -> CertificateRequestInfo | None:
        """The server's CertificateRequest, decoded from the wire bytes."""
        reqs = self._handshake("<<<", "CertificateRequest")
        if not reqs:
            return None
        return parse_certificate_request(reqs[0].data, tls13=reqs[0].version == "TLS 1.3")

    @property
    def sent_client_certificate(self) -> bool | None:
        """Whether our Certificate message was non-empty (None: none was sent)."""
        certs = self._handshake(">>>", "Certificate")
        if not certs:
            return None
        data = certs[0].data
        # TLS 1.2: 3-byte list length at 4; TLS 1.3: context length byte first.
        body = data[4:]
        if certs[0].version == "TLS 1.3":
            body = body[1 + body[0]:]
        return int.from_bytes(body[:3], "big") > 0

    @property
    def handshake_completed(self) -> bool:
        """Client view: server Finished received and our Finished sent."""
        return bool(self._handshake("<<<", "Finished") and self._handshake(">>>", "Finished"))

    @property
    def alerts_received(self) -> list[str]:
        """Alerts from the server, e.g. ``["fatal certificate_required"]``."""
        return [m.detail for m in self.messages
                if m.direction == "<<<" and m.content_type == "Alert"]

    @property
    def fatal_alert(self) -> str | None:
        """Description of the first fatal alert from the server, e.g. ``"unknown_ca"``."""
        for a in self.alerts_received:
            level, _, name = a.partition(" ")
            if level == "fatal":
                return name
        return None

    @property
    def fatal_alert_after_handshake(self) -> bool:
        """A fatal server alert arrived after the handshake completed (TLS 1.3 style)."""
        if not self.handshake_completed:
            return False
        seen_finished = False
        for m in self.messages:
            if m.direction == ">>>" and m.content_type == "Handshake" and m.detail == "Finished":
                seen_finished = True
            elif (m.direction == "<<<" and m.content_type == "Alert" and seen_finished
                  and m.detail.startswith("fatal")):
                return True
        return False

    @property
    def printed_ca_names(self) -> list[str] | None:
        """Names under "Acceptable client certificate CA names"; None if none were sent."""
        lines = self.stdout.splitlines()
        if "No client certificate CA names sent" in lines:
            return None
        try:
            i = lines.index("Acceptable client certificate CA names")
        except ValueError:
            return None
        out = []
        for line in lines[i + 1:]:
            if not _DN_LINE.match(line):  # next section, e.g. "Client Certificate Types:"
                break
            out.append(line)
        return out

    @property
    def protocol(self) -> str | None:
        m = re.search(r"^\s*Protocol\s*: (\S+)", self.stdout, re.M) or re.search(
            r"^New, (TLSv[\d.]+), Cipher is (?!\(NONE\))", self.stdout, re.M)
        return m.group(1) if m else None

    @property
    def new_session_tickets(self) -> list[TicketInfo]:
        """The server's NewSessionTicket messages, decoded from the wire bytes."""
        return [parse_new_session_ticket(m.data, tls13=m.version == "TLS 1.3")
                for m in self._handshake("<<<", "NewSessionTicket")]

    @property
    def alpn_protocol(self) -> str | None:
        """The protocol s_client reports as negotiated ("No ALPN negotiated": None)."""
        m = re.search(r"^ALPN protocol: (\S+)$", self.stdout, re.M)
        return m.group(1) if m else None

    @property
    def secure_renegotiation(self) -> bool | None:
        """s_client's "Secure Renegotiation IS [NOT] supported" line."""
        m = re.search(r"^Secure Renegotiation IS( NOT)? supported$", self.stdout, re.M)
        return None if m is None else m.group(1) is None

    @property
    def http_status(self) -> int | None:
        m = re.search(r"^HTTP/1\.[01] (\d{3})", self.stdout, re.M)
        return int(m.group(1)) if m else None

    def summary(self) -> str:
        """Short human description, for assertion messages."""
        cr = self.certificate_request
        return (f"rc={self.returncode} completed={self.handshake_completed} "
                f"cr={'none' if cr is None else cr.ca_names} alerts={self.alerts_received} "
                f"fatal_after_hs={self.fatal_alert_after_handshake} "
                f"http={self.http_status}\n$ {' '.join(self.argv)}\n"
                f"--- stderr ---\n{self.stderr[-3000:]}")


def s_client(
    port: int,
    *,
    tls_version: str,
    host: str = LOOPBACK,
    servername: str = "localhost",
    client: PemPaths | None = None,
    ca_file: Path | None = None,
    send: bytes = HTTP_GET,
    timeout: float = 10.0,
    extra_args: Sequence[str] = (),
) -> SClientResult:
    """Run ``openssl s_client -msg -ign_eof`` once against ``host:port``.

    ``tls_version`` is "1.2" or "1.3".  ``send`` is written after the handshake (an
    HTTP/1.0 GET, so HTTP servers answer and close); ``-ign_eof`` keeps reading until
    the server closes, so a TLS 1.3 post-handshake alert is always seen.
    """
    flag = {"1.0": "-tls1", "1.1": "-tls1_1", "1.2": "-tls1_2", "1.3": "-tls1_3"}[tls_version]
    argv = [binary("openssl"), "s_client", "-connect", f"{host}:{port}", flag,
            "-servername", servername, "-nameopt", "rfc2253", "-msg", "-ign_eof"]
    if client is not None:
        argv += ["-cert", str(client.cert), "-key", str(client.key)]
    if ca_file is not None:
        argv += ["-CAfile", str(ca_file)]
    argv += list(extra_args)
    try:
        cp = subprocess.run(argv, input=send, capture_output=True, timeout=timeout, check=False)
        rc: int | None = cp.returncode
        out, err = cp.stdout, cp.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, e.stdout or b"", e.stderr or b""
    stdout = out.decode(errors="replace")
    return SClientResult(argv, rc, stdout, err.decode(errors="replace"), parse_msg(stdout))


def parse_msg(stdout: str) -> list[TlsMessage]:
    """Parse the ``-msg`` blocks (header line + indented hex dump) out of s_client stdout."""
    msgs: list[TlsMessage] = []
    cur: dict[str, str] | None = None
    hexbuf: list[str] = []

    def flush() -> None:
        if cur is not None:
            msgs.append(TlsMessage(cur["dir"], cur["ver"], cur["type"], cur["detail"] or "",
                                   bytes.fromhex("".join(hexbuf))))

    for line in stdout.splitlines():
        if cur is not None and _HEX_LINE.match(line):
            hexbuf.append(line)
            continue
        m = _MSG_HEADER.match(line)
        flush()
        cur, hexbuf = (m.groupdict() if m else None), []
        if cur is not None and cur["detail"] is None:
            cur["detail"] = ""
    flush()
    return msgs


# --- wire decoding -----------------------------------------------------------------


def _u(data: bytes, off: int, n: int) -> tuple[int, int]:
    return int.from_bytes(data[off:off + n], "big"), off + n


def _dn_list(data: bytes) -> list[str]:
    names, off = [], 0
    while off < len(data):
        n, off = _u(data, off, 2)
        names.append(der_name_to_rfc4514(data[off:off + n]))
        off += n
    return names


def parse_certificate_request(msg: bytes, *, tls13: bool) -> CertificateRequestInfo:
    """Decode a CertificateRequest handshake message (with its 4-byte header)."""
    if msg[0] != 13:
        raise ValueError(f"not a CertificateRequest: type {msg[0]}")
    length, _ = _u(msg, 1, 3)
    body = msg[4:4 + length]
    if tls13:
        # certificate_request_context<0..255> extensions<2..2^16-1>
        ext_len, off = _u(body, 1 + body[0], 2)
        exts: list[int] = []
        names: list[str] = []
        end = off + ext_len
        while off < end:
            etype, off = _u(body, off, 2)
            elen, off = _u(body, off, 2)
            if etype == EXT_CERTIFICATE_AUTHORITIES:
                alen, aoff = _u(body, off, 2)
                names = _dn_list(body[aoff:aoff + alen])
            exts.append(etype)
            off += elen
        return CertificateRequestInfo(True, names, exts)
    # TLS 1.2: certificate_types<1..255> sigalgs<2..2^16-2> authorities<0..2^16-1>
    off = 1 + body[0]
    sig_len, off = _u(body, off, 2)
    off += sig_len
    dn_len, off = _u(body, off, 2)
    return CertificateRequestInfo(False, _dn_list(body[off:off + dn_len]))


EXT_EARLY_DATA = 42


def parse_new_session_ticket(msg: bytes, *, tls13: bool) -> TicketInfo:
    """Decode a NewSessionTicket handshake message (with its 4-byte header)."""
    if msg[0] != 4:
        raise ValueError(f"not a NewSessionTicket: type {msg[0]}")
    body = msg[4:4 + _u(msg, 1, 3)[0]]
    lifetime, off = _u(body, 0, 4)
    if not tls13:  # ticket_lifetime_hint, ticket<0..2^16-1>
        return TicketInfo(lifetime, _u(body, off, 2)[0])
    off += 4  # ticket_age_add
    off += 1 + body[off]  # ticket_nonce<0..255>
    ticket_length, off = _u(body, off, 2)
    off += ticket_length
    ext_len, off = _u(body, off, 2)
    end, early = off + ext_len, None
    while off < end:
        etype, off = _u(body, off, 2)
        elen, off = _u(body, off, 2)
        if etype == EXT_EARLY_DATA:
            early = _u(body, off, 4)[0]
        off += elen
    return TicketInfo(lifetime, ticket_length, early)


def _der_tlv(data: bytes, off: int) -> tuple[int, bytes, int]:
    tag = data[off]
    n = data[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[off:off + k], "big")
        off += k
    return tag, data[off:off + n], off + n


def _oid(data: bytes) -> str:
    parts = [data[0] // 40, data[0] % 40]
    val = 0
    for b in data[1:]:
        val = (val << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(val)
            val = 0
    return ".".join(map(str, parts))


_STRING_CODECS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1",
                  0x1E: "utf-16-be"}


def der_name_to_rfc4514(der: bytes) -> str:
    """Decode a DER X.501 Name (string attributes only) and format it like
    ``cryptography``'s ``Name.rfc4514_string()``."""
    tag, seq, _ = _der_tlv(der, 0)
    if tag != 0x30:
        raise ValueError("Name is not a SEQUENCE")
    rdns: list[x509.RelativeDistinguishedName] = []
    off = 0
    while off < len(seq):
        _, rdn_set, off = _der_tlv(seq, off)
        attrs = []
        soff = 0
        while soff < len(rdn_set):
            _, atv, soff = _der_tlv(rdn_set, soff)
            _, oid_bytes, aoff = _der_tlv(atv, 0)
            vtag, value, _ = _der_tlv(atv, aoff)
            oid = ObjectIdentifier(_oid(oid_bytes))
            attrs.append(x509.NameAttribute(oid, value.decode(_STRING_CODECS[vtag])))
        rdns.append(x509.RelativeDistinguishedName(attrs))
    return x509.Name(rdns).rfc4514_string()
