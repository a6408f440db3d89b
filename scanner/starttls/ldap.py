"""LDAP: the StartTLS extended operation (RFC 4511 4.14) before TLS, an anonymous simple
bind (RFC 4513 5.1.1) after it."""

from __future__ import annotations

from scanner.starttls import ber
from scanner.starttls.errors import NotTheProtocol, StartTlsRefused, quote
from scanner.starttls.machine import Answer, AnswerKind, Check, Preamble, mentions_certificate

START_TLS_OID = b"1.3.6.1.4.1.1466.20037"
_SEQUENCE = 0x30
_INTEGER = 0x02
_ENUMERATED = 0x0A
_OCTET_STRING = 0x04
_BIND_REQUEST = 0x60
_BIND_RESPONSE = 0x61
_EXTENDED_REQUEST = 0x77
_EXTENDED_RESPONSE = 0x78
_NOTICE_OF_DISCONNECTION_ID = 0
#: RFC 4511 Appendix A, the codes worth a name in a report.
RESULT_NAMES = {0: "success", 1: "operationsError", 2: "protocolError",
                7: "authMethodNotSupported", 8: "strongerAuthRequired",
                13: "confidentialityRequired", 48: "inappropriateAuthentication",
                49: "invalidCredentials", 50: "insufficientAccessRights", 51: "busy",
                52: "unavailable", 53: "unwillingToPerform", 80: "other"}


def _message(message_id: int, operation: bytes) -> bytes:
    return ber.encode(_SEQUENCE, ber.encode_int(_INTEGER, message_id) + operation)


START_TLS_REQUEST = _message(1, ber.encode(_EXTENDED_REQUEST, ber.encode(0x80, START_TLS_OID)))
ANONYMOUS_BIND = _message(2, ber.encode(_BIND_REQUEST, ber.encode_int(_INTEGER, 3)
                                        + ber.encode(_OCTET_STRING, b"")
                                        + ber.encode(0x80, b"")))


def _result(data: bytes, expected: int) -> tuple[int, str] | None:
    """(resultCode, diagnostic) of the first LDAPMessage once complete, else None."""
    found = ber.read(data)
    if found is None:
        return None
    message, _end = found
    if message.tag != _SEQUENCE:
        raise NotTheProtocol(f"ldap: not an LDAPMessage: {quote(data)}")
    parts = ber.children(message.value)
    if len(parts) < 2 or parts[0].tag != _INTEGER:
        raise NotTheProtocol(f"ldap: an LDAPMessage without id and operation: {quote(data)}")
    message_id = ber.to_int(parts[0].value)
    operation = parts[1]
    if operation.tag not in (expected, _EXTENDED_RESPONSE):
        raise NotTheProtocol(f"ldap: unexpected operation 0x{operation.tag:02x}: {quote(data)}")
    fields = ber.children(operation.value)
    if len(fields) < 3 or fields[0].tag != _ENUMERATED:
        raise NotTheProtocol(f"ldap: an LDAPResult without resultCode: {quote(data)}")
    code = ber.to_int(fields[0].value)
    diagnostic = fields[2].value.decode("utf-8", "replace")
    if message_id == _NOTICE_OF_DISCONNECTION_ID:
        raise StartTlsRefused(f"ldap: the server disconnected us ({describe(code, diagnostic)})")
    return code, diagnostic


def describe(code: int, diagnostic: str) -> str:
    name = RESULT_NAMES.get(code, "result")
    said = f"{name} ({code})"
    return f"{said}: {quote(diagnostic.encode())}" if diagnostic else said


class LdapPreamble(Preamble):
    protocol = "ldap"

    def start(self) -> bytes:
        return START_TLS_REQUEST

    def _advance(self) -> bytes:
        found = _result(bytes(self.received), _EXTENDED_RESPONSE)
        if found is None:
            return b""
        code, diagnostic = found
        if code != 0:
            raise StartTlsRefused(f"ldap: StartTLS refused: {describe(code, diagnostic)}")
        self.done = True
        return b""


class LdapCheck(Check):
    protocol = "ldap"
    description = "LDAP anonymous simple bind (empty name and password)"

    def request(self) -> bytes:
        return ANONYMOUS_BIND

    def _answer(self) -> Answer | None:
        found = _result(bytes(self.received), _BIND_RESPONSE)
        if found is None:
            return None
        code, diagnostic = found
        said = describe(code, diagnostic)
        if code == 0:
            return Answer(AnswerKind.proceeds, f"the anonymous bind succeeded ({said})")
        kind = AnswerKind.certificate_rejected if mentions_certificate(diagnostic) \
            else AnswerKind.refused
        return Answer(kind, said)
