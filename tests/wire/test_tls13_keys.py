"""The TLS 1.3 handshake key schedule and record deprotection, against RFC 8448 section 3
(Simple 1-RTT Handshake): the published ClientHello, ServerHello, client private key and
the server's first encrypted record, and the intermediate values the RFC prints.
"""

from __future__ import annotations

import pytest

from scanner import wire
from scanner.wire.tls13_flight import HandshakeDecryption, handshake_payload
from scanner.wire.tls13_keys import (
    TLS13_SUITES,
    EphemeralKey,
    RecordDecrypter,
    TrafficKeys,
    derive_secret,
    hkdf_expand_label,
    hkdf_extract,
    server_handshake_traffic_secret,
    traffic_keys,
)

# RFC 8448 section 3, {client} and {server} lines (hex as printed there).
CLIENT_PRIVATE = bytes.fromhex(
    "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005"
)
CLIENT_HELLO_RECORD = bytes.fromhex(
    "16030100c4010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001"
)
SERVER_HELLO_RECORD = bytes.fromhex(
    "160303005a020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304"
)
ENCRYPTED_RECORD = bytes.fromhex(
    "17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35edf7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13bd9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2ed65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd610928d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead686945ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b3684596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b659622245317b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d461e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c85977b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b845e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e750edc53370d2b"
)
SHARED_SECRET = bytes.fromhex(
    "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d")
HANDSHAKE_SECRET = bytes.fromhex(
    "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac")
SERVER_HS_TRAFFIC = bytes.fromhex(
    "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
SERVER_HS_KEY = bytes.fromhex("3fce516009c21727d0f2e4e86ee403bc")
SERVER_HS_IV = bytes.fromhex("5d313eb2671276ee13000b30")
ENCRYPTED_EXTENSIONS = bytes.fromhex(
    "080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000")

SHA256 = "sha256"


def _hellos() -> bytes:
    return handshake_payload(CLIENT_HELLO_RECORD) + handshake_payload(SERVER_HELLO_RECORD)


def test_x25519_shared_secret() -> None:
    key = EphemeralKey.x25519_from(CLIENT_PRIVATE)
    assert key.public.hex() == (
        "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c")
    server_public = bytes.fromhex(
        "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f")
    assert key.shared_secret(server_public) == SHARED_SECRET


def test_key_schedule_to_server_handshake_keys() -> None:
    early = hkdf_extract(SHA256, b"", bytes(32))
    assert early.hex() == "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
    derived = derive_secret(SHA256, early, b"derived", b"")
    assert derived.hex() == "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
    assert hkdf_extract(SHA256, derived, SHARED_SECRET) == HANDSHAKE_SECRET
    secret = server_handshake_traffic_secret(SHA256, SHARED_SECRET, _hellos())
    assert secret == SERVER_HS_TRAFFIC
    keys = traffic_keys(TLS13_SUITES[0x1301], secret)
    assert (keys.key, keys.iv) == (SERVER_HS_KEY, SERVER_HS_IV)


def test_record_decryption_gives_encrypted_extensions() -> None:
    decrypter = RecordDecrypter(TrafficKeys(TLS13_SUITES[0x1301], SERVER_HS_KEY, SERVER_HS_IV))
    content_type, content = decrypter.decrypt(ENCRYPTED_RECORD[:5], ENCRYPTED_RECORD[5:])
    assert content_type == wire.ContentType.handshake
    assert content.startswith(ENCRYPTED_EXTENSIONS)
    assert decrypter.sequence == 1
    # the next record of the flight would use sequence 1: the same bytes no longer open
    with pytest.raises(wire.WireError, match="authentication"):
        decrypter.decrypt(ENCRYPTED_RECORD[:5], ENCRYPTED_RECORD[5:])


def test_handshake_decryption_reads_encrypted_extensions() -> None:
    key = EphemeralKey.x25519_from(CLIENT_PRIVATE)
    decryption = HandshakeDecryption(handshake_payload(CLIENT_HELLO_RECORD), {key.group: key})
    server_hello_message = handshake_payload(SERVER_HELLO_RECORD)
    decryption.start(server_hello_message, wire.parse_server_hello(server_hello_message[4:]))
    assert decryption.error is None and not decryption.done
    decryption.record(ENCRYPTED_RECORD[:5], ENCRYPTED_RECORD[5:])
    assert decryption.done and decryption.error is None
    extensions = decryption.encrypted_extensions
    assert extensions is not None
    assert [ext.type for ext in extensions.extensions] == [10, 28, 0]  # groups, record limit, SNI
    assert extensions.alpn_protocol is None


def test_handshake_decryption_without_the_key_says_why() -> None:
    other = EphemeralKey(23)  # a P-256 key: the server picked x25519
    decryption = HandshakeDecryption(handshake_payload(CLIENT_HELLO_RECORD), {23: other})
    message = handshake_payload(SERVER_HELLO_RECORD)
    decryption.start(message, wire.parse_server_hello(message[4:]))
    assert decryption.done and decryption.error is not None
    assert "no key" in decryption.error


def test_wrong_key_fails_authentication() -> None:
    key = EphemeralKey(29)  # a fresh x25519 key, not the RFC's
    decryption = HandshakeDecryption(handshake_payload(CLIENT_HELLO_RECORD), {29: key})
    message = handshake_payload(SERVER_HELLO_RECORD)
    decryption.start(message, wire.parse_server_hello(message[4:]))
    decryption.record(ENCRYPTED_RECORD[:5], ENCRYPTED_RECORD[5:])
    assert decryption.error is not None and "authentication" in decryption.error


@pytest.mark.parametrize("group", [23, 24])
def test_nist_ephemeral_keys_agree(group: int) -> None:
    ours, theirs = EphemeralKey(group), EphemeralKey(group)
    assert ours.shared_secret(theirs.public) == theirs.shared_secret(ours.public)
    assert ours.public[0] == 4  # uncompressed point (RFC 8446 4.2.8.2)


def test_sha384_and_chacha_suites_roundtrip() -> None:
    # no RFC 8448 trace uses them; check the sizes and that our own sealing opens
    for code, key_length in ((0x1302, 32), (0x1303, 32), (0x1304, 16), (0x1305, 16)):
        suite = TLS13_SUITES[code]
        keys = traffic_keys(suite, hkdf_expand_label(suite.hash_name, b"s" * 48, b"x", b"",
                                                     suite.hash_length))
        assert len(keys.key) == key_length and len(keys.iv) == 12
        inner = b"\x08\x00\x00\x02\x00\x00" + bytes([wire.ContentType.handshake]) + bytes(3)
        tag = 8 if code == 0x1305 else 16
        header = bytes([23, 3, 3]) + (len(inner) + tag).to_bytes(2, "big")
        sealed = suite.aead(keys.key).encrypt(keys.iv, inner, header)
        content_type, content = RecordDecrypter(keys).decrypt(header, sealed)
        assert (content_type, content) == (wire.ContentType.handshake, inner[:6])
