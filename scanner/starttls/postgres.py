"""PostgreSQL: SSLRequest before TLS, a StartupMessage after it (protocol 3.0).

The SSLRequest is the 8-byte packet (length 8, code 80877103) the server answers with one
byte: ``S`` (go ahead with TLS) or ``N`` (no TLS here); servers before 6.4 answer with an
ErrorResponse (``E``). See the PostgreSQL manual, "Message Flow" / "SSL Session Encryption".
"""

from __future__ import annotations

import struct

from scanner.starttls.errors import NotTheProtocol, StartTlsRefused, quote
from scanner.starttls.machine import Answer, AnswerKind, Check, Preamble, mentions_certificate

SSL_REQUEST = struct.pack("!II", 8, 80877103)
_PROTOCOL_3_0 = 196608
#: The fixed, harmless identity of the post-handshake check: no password is ever sent.
CHECK_USER = "mtlsweep"
CHECK_DATABASE = "mtlsweep"
_AUTH_NAMES = {0: "AuthenticationOk", 2: "KerberosV5", 3: "CleartextPassword",
               5: "MD5Password", 7: "GSS", 9: "SSPI", 10: "SASL"}


class PostgresPreamble(Preamble):
    protocol = "postgres"

    def start(self) -> bytes:
        return SSL_REQUEST

    def _advance(self) -> bytes:
        first = self.received[:1]
        if first == b"S":
            if len(self.received) > 1:
                raise NotTheProtocol(f"postgres: bytes after 'S' to the SSLRequest: "
                                     f"{quote(bytes(self.received))}")
            self.done = True
        elif first == b"N":
            raise StartTlsRefused("postgres: the server answered 'N' to the SSLRequest (TLS "
                                  "is not enabled there)")
        elif first == b"E":
            message = _error_message(bytes(self.received))
            if message is None:
                return b""  # the ErrorResponse is not complete yet
            raise StartTlsRefused(f"postgres: the server answered the SSLRequest with an "
                                  f"error: {message}")
        else:
            raise NotTheProtocol(f"postgres: the answer to the SSLRequest is not 'S' or 'N': "
                                 f"{quote(bytes(self.received))}")
        return b""


def startup_message(user: str = CHECK_USER, database: str = CHECK_DATABASE) -> bytes:
    params = b"".join(f"{key}\0{value}\0".encode() for key, value in (
        ("user", user), ("database", database), ("application_name", "mtlsweep")))
    body = struct.pack("!I", _PROTOCOL_3_0) + params + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def _message(data: bytes) -> tuple[bytes, bytes] | None:
    """The first backend message (type, body) once complete, else None."""
    if len(data) < 5:
        return None
    (length,) = struct.unpack_from("!I", data, 1)
    if length < 4 or length > 1 << 20:
        raise NotTheProtocol(f"postgres: message length {length} is impossible: "
                             f"{quote(data)}")
    if len(data) < 1 + length:
        return None
    return data[:1], data[5:1 + length]


def error_fields(body: bytes) -> dict[str, str]:
    """ErrorResponse fields by their one-letter code (S severity, C SQLSTATE, M message)."""
    fields: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def _error_message(data: bytes) -> str | None:
    message = _message(data)
    if message is None:
        return None
    fields = error_fields(message[1])
    return _describe(fields)


def _describe(fields: dict[str, str]) -> str:
    text = " ".join(part for part in (fields.get("S"), fields.get("C"), fields.get("M"))
                    if part)
    return quote(text.encode("utf-8", "replace"))


class PostgresCheck(Check):
    protocol = "postgres"
    description = (f"PostgreSQL StartupMessage (user {CHECK_USER}, database {CHECK_DATABASE}, "
                   "no password)")

    def request(self) -> bytes:
        return startup_message()

    def _answer(self) -> Answer | None:
        message = _message(bytes(self.received))
        if message is None:
            return None
        kind, body = message
        if kind == b"R" and len(body) >= 4:
            (code,) = struct.unpack_from("!I", body)
            name = _AUTH_NAMES.get(code, f"authentication request {code}")
            return Answer(AnswerKind.proceeds, f"the server asked for authentication ({name})")
        if kind == b"E":
            fields = error_fields(body)
            said = _describe(fields)
            if mentions_certificate(fields.get("M", "")):
                return Answer(AnswerKind.certificate_rejected, said)
            return Answer(AnswerKind.refused, said)
        raise NotTheProtocol(f"postgres: unexpected answer to the StartupMessage: "
                             f"{quote(bytes(self.received))}")
