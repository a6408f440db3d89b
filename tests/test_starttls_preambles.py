"""The STARTTLS preambles and post-handshake checks as pure state machines: what each sends,
how each ends, and that every failure is a typed error quoting (bounded) what came back."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import targets
from scanner import starttls
from scanner.starttls import AnswerKind, ber, ldap, mysql, postgres


def converse(protocol: str, *server_chunks: bytes) -> tuple[starttls.Preamble, list[bytes]]:
    machine = starttls.preamble_for(protocol, "example.com")
    assert machine is not None
    sent = [machine.start()]
    for chunk in server_chunks:
        sent.append(machine.feed(chunk))
    return machine, [s for s in sent if s]


def test_direct_tls_has_no_preamble_and_auto_follows_the_port() -> None:
    assert starttls.preamble_for("tls", "x") is None
    assert starttls.protocol_for_port(5432) == "postgres"
    assert starttls.protocol_for_port(389) == "ldap"
    assert starttls.protocol_for_port(443) == "tls"


def test_postgres_sends_the_ssl_request_and_takes_s() -> None:
    machine, sent = converse("postgres", b"S")
    assert sent == [struct.pack("!II", 8, 80877103)] and machine.done


def test_postgres_n_is_a_refusal() -> None:
    with pytest.raises(starttls.StartTlsRefused, match="answered 'N'"):
        converse("postgres", b"N")


def test_postgres_error_response_is_quoted_once_complete() -> None:
    body = b"SFATAL\x00C08P01\x00Munsupported frontend protocol\x00\x00"
    message = b"E" + struct.pack("!I", len(body) + 4) + body
    machine, _ = converse("postgres", message[:7])  # incomplete: waits
    with pytest.raises(starttls.StartTlsRefused, match="unsupported frontend protocol"):
        machine.feed(message[7:])


def test_postgres_other_answer_is_not_the_protocol_and_quoted() -> None:
    with pytest.raises(starttls.NotTheProtocol, match="SSH-2"):
        converse("postgres", b"SSH-2.0-OpenSSH_9.6\r\n")


def test_a_close_before_tls_quotes_what_was_received() -> None:
    machine, _ = converse("smtp", b"220-first line\r\n")
    with pytest.raises(starttls.ClosedEarly, match="220-first line"):
        machine.closed()


def test_smtp_walks_greeting_ehlo_starttls() -> None:
    machine, sent = converse("smtp", b"220 mx ESMTP\r\n", b"250-mx\r\n250-PIPELINING\r\n",
                             b"250 STARTTLS\r\n", b"220 2.0.0 Ready\r\n")
    assert sent == [b"EHLO mtlsweep.invalid\r\n", b"STARTTLS\r\n"] and machine.done


def test_smtp_without_starttls_is_refused_quoting_the_ehlo_answer() -> None:
    with pytest.raises(starttls.StartTlsRefused, match=r"does not offer STARTTLS.*SIZE"):
        converse("smtp", b"220 mx\r\n", b"250-mx\r\n250 SIZE 1000\r\n")


def test_smtp_greeting_of_another_protocol_is_not_the_protocol() -> None:
    with pytest.raises(starttls.NotTheProtocol, match="OK Dovecot"):
        converse("smtp", b"* OK Dovecot ready.\r\n")


def test_imap_pop3_ftp_and_their_refusals() -> None:
    assert converse("imap", b"* OK ready\r\n", b"* note\r\nA1 OK go\r\n")[0].done
    with pytest.raises(starttls.StartTlsRefused, match="A1 BAD"):
        converse("imap", b"* OK ready\r\n", b"A1 BAD no TLS\r\n")
    assert converse("pop3", b"+OK hi\r\n", b"+OK go\r\n")[0].done
    with pytest.raises(starttls.StartTlsRefused, match="-ERR"):
        converse("pop3", b"+OK hi\r\n", b"-ERR no\r\n")
    assert converse("ftp", b"220-a\r\nb\r\n220 c\r\n", b"234 ok\r\n")[0].done
    with pytest.raises(starttls.StartTlsRefused, match="530"):
        converse("ftp", b"220 c\r\n", b"530 no\r\n")


def test_xmpp_needs_starttls_among_the_features() -> None:
    head = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' from='example.com' "
            b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    machine, sent = converse("xmpp", head, b"<stream:features><starttls xmlns='urn:ietf:params"
                             b":xml:ns:xmpp-tls'/></stream:features>",
                             b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    assert b"to='example.com'" in sent[0] and sent[1].startswith(b"<starttls") and machine.done
    with pytest.raises(starttls.StartTlsRefused, match="do not offer STARTTLS"):
        converse("xmpp", head + b"<stream:features><bind/></stream:features>")


def test_mysql_answers_the_handshake_with_an_ssl_request() -> None:
    seed = targets.STARTTLS_SEEDS["mysql"][0]
    machine, sent = converse("mysql", seed)
    assert sent == [mysql.SSL_REQUEST] and machine.done
    (capabilities,) = struct.unpack_from("<I", mysql.SSL_REQUEST, 4)
    assert capabilities & mysql.CLIENT_SSL and len(mysql.SSL_REQUEST) == 4 + 32


def test_mysql_without_ssl_capability_or_with_an_error_is_refused() -> None:
    payload = bytearray(targets.STARTTLS_SEEDS["mysql"][0][4:])
    end = payload.index(0, 1)
    payload[end + 15] &= ~0x08  # CLIENT_SSL (0x800): the second capability byte
    with pytest.raises(starttls.StartTlsRefused, match="no CLIENT_SSL"):
        converse("mysql", mysql.packet(0, bytes(payload)))
    with pytest.raises(starttls.StartTlsRefused, match=r"1130.*not allowed"):
        converse("mysql", mysql.packet(0, b"\xff\x6a\x04Host 'x' is not allowed to connect"))


def test_ldap_start_tls_request_and_refusal() -> None:
    assert ldap.START_TLS_REQUEST.hex() == (
        "301d02010177188016" + b"1.3.6.1.4.1.1466.20037".hex())
    result = ber.encode(0x0A, b"\x02") + ber.encode(0x04, b"") + ber.encode(0x04, b"not here")
    refusal = ber.encode(0x30, ber.encode(0x02, b"\x01") + ber.encode(0x78, result))
    with pytest.raises(starttls.StartTlsRefused, match=r"protocolError \(2\).*not here"):
        converse("ldap", refusal)


def test_checks_classify_the_answers() -> None:
    check = starttls.check_for("postgres")
    assert check is not None and b"user\x00mtlsweep\x00" in check.request()
    assert b"password" not in check.request()
    for protocol, answers in targets.CHECK_SEEDS.items():
        for answer in answers:
            found = targets.TARGETS[f"starttls_check_{protocol}"].run(b"\x00" + answer)
            assert isinstance(found, starttls.Answer), (protocol, answer)
    cert = targets.CHECK_SEEDS["postgres"][1]
    check = postgres.PostgresCheck()
    found = check.feed(cert)
    assert found is not None and found.kind is AnswerKind.certificate_rejected


@pytest.mark.parametrize(("protocol", "answer", "kind", "summary"), [
    ("imap", b"* OK [ALERT] hi\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=EXTERNAL LOGINDISABLED"
     b"\r\nA2 OK listed\r\n", AnswerKind.proceeds,
     "SASL PLAIN EXTERNAL; certificate login (SASL EXTERNAL) offered; LOGINDISABLED: "
     "'A2 OK listed'"),
    ("imap", b"A2 NO client certificate required\r\n", AnswerKind.certificate_rejected,
     "'A2 NO client certificate required'"),
    ("imap", b"* BYE go away\r\n", AnswerKind.refused, "'* BYE go away'"),
    ("pop3", b"+OK Capability list follows\r\nTOP\r\nSASL PLAIN\r\n.\r\n",
     AnswerKind.proceeds, "SASL PLAIN: '+OK Capability list follows'"),
    ("pop3", b"-ERR not now\r\n", AnswerKind.refused, "'-ERR not now'"),
    # Found by atheris: what the server lists is shown printable (and bounded).
    ("pop3", b"+OK\r\nSASL EXTERN\x01AL\r\n.\r\n", AnswerKind.proceeds, "SASL EXTERN?AL: '+OK'"),
    ("ftp", b"211-Features:\r\n AUTH TLS\r\n PROT\r\n211 End\r\n", AnswerKind.proceeds,
     "features AUTH TLS PROT"),
    ("ftp", b"530 certificate needed\r\n", AnswerKind.certificate_rejected,
     "530: '530 certificate needed'"),
    ("xmpp", b"<stream:stream><stream:features><mechanisms><mechanism>SCRAM-SHA-1</mechanism>"
     b"<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>", AnswerKind.proceeds,
     "SASL SCRAM-SHA-1 EXTERNAL; certificate login (SASL EXTERNAL) offered"),
    ("xmpp", b"<stream:stream><stream:features/>", AnswerKind.proceeds, "SASL none listed"),
    ("xmpp", b"<stream:stream><stream:error><policy-violation/></stream:error>",
     AnswerKind.refused, "stream error: '<stream:error><policy-violation/></stream:error>'"),
])
def test_capability_checks_read_the_answer(protocol: str, answer: bytes, kind: AnswerKind,
                                           summary: str) -> None:
    check = starttls.check_for(protocol, "chat.example")
    assert check is not None
    request = check.request()
    assert b"LOGIN" not in request.upper() and b"PASS" not in request.upper()
    found = None
    for byte in answer:  # one byte at a time: nothing may depend on chunking
        found = found or check.feed(bytes([byte]))
    assert found is not None and (found.kind, found.summary) == (kind, summary)


def test_xmpp_check_restarts_the_stream_to_the_domain() -> None:
    check = starttls.check_for("xmpp", "chat.example")
    assert check is not None and b"to='chat.example'" in check.request()


def test_quotes_are_bounded_and_printable() -> None:
    assert len(starttls.quote(b"x" * 10_000)) < 140
    assert starttls.quote(b"\x00\x01binary").startswith("hex:")


def test_a_preamble_that_never_ends_is_bounded() -> None:
    machine = starttls.preamble_for("smtp", "x")
    assert machine is not None
    machine.feed(b"220-")
    with pytest.raises(starttls.TooLong):
        for _ in range(100):
            machine.feed(b"a" * 1000)


@pytest.mark.parametrize("name", sorted(n for n in targets.TARGETS if n.startswith("starttls")))
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_input_is_a_result_or_a_preamble_error(name: str, data: bytes) -> None:
    targets.run_one(name, data)
