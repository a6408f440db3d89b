"""The DHE ServerKeyExchange parser and the well-known DH group table."""

from __future__ import annotations

import subprocess
import warnings

import pytest
from cryptography.utils import CryptographyDeprecationWarning

from scanner import wire
from scanner.wire.dh_groups import dh_group_name, well_known_dh_primes
from tests.support import tlsbytes as tb
from tests.support.servers import binary


def dhe_body(prime: int, generator: bytes = b"\x02", public: bytes = b"y" * 8) -> bytes:
    size = (prime.bit_length() + 7) // 8
    return (tb.vec(2, prime.to_bytes(size, "big")) + tb.vec(2, generator) + tb.vec(2, public)
            + b"\x04\x01" + tb.vec(2, b"signature"))


def test_dhe_server_key_exchange_is_read_to_the_public_value() -> None:
    params = wire.parse_dhe_server_key_exchange(dhe_body(2**1023 + 1155, public=b"y" * 128))
    assert (params.prime_bits, params.generator, params.public_value_bytes) == (1024, 2, 128)
    # a zero byte in front of the prime does not make it bigger
    padded = tb.vec(2, b"\x00" + (2**511 + 1).to_bytes(64, "big")) + tb.vec(2, b"\x05") + tb.vec(
        2, b"y")
    assert wire.parse_dhe_server_key_exchange(padded).prime_bits == 512


@pytest.mark.parametrize("body", [
    b"", b"\x00\x00", tb.vec(2, b"\x0b"), tb.vec(2, b"\x0b") + tb.vec(2, b"\x02"),
    tb.vec(2, b"\x0c") + tb.vec(2, b"\x02") + tb.vec(2, b"y"),  # even "prime"
    tb.vec(2, b"\xff" * 2100) + tb.vec(2, b"\x02") + tb.vec(2, b"y"),  # over 16384 bits
    tb.vec(2, b"\x0b") + tb.vec(2, b"") + tb.vec(2, b"y"),  # empty generator
])
def test_malformed_dhe_server_key_exchange_is_a_wire_error(body: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_dhe_server_key_exchange(body)


OPENSSL_GROUPS = {"ffdhe2048": "ffdhe2048", "ffdhe3072": "ffdhe3072", "ffdhe4096": "ffdhe4096",
                  "ffdhe6144": "ffdhe6144", "ffdhe8192": "ffdhe8192",
                  "modp_1536": "rfc3526_1536", "modp_2048": "rfc3526_2048",
                  "modp_3072": "rfc3526_3072", "modp_4096": "rfc3526_4096",
                  "modp_6144": "rfc3526_6144", "modp_8192": "rfc3526_8192",
                  "dh_1024_160": "rfc5114_1024_160", "dh_2048_224": "rfc5114_2048_224",
                  "dh_2048_256": "rfc5114_2048_256"}


def openssl_prime(group: str) -> int:
    pem = subprocess.run([binary("openssl"), "genpkey", "-genparam", "-algorithm", "DH",
                          "-pkeyopt", f"group:{group}"], capture_output=True, check=True).stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        from cryptography.hazmat.primitives.serialization import load_pem_parameters
        return load_pem_parameters(pem).parameter_numbers().p  # type: ignore[union-attr]


def test_well_known_primes_are_openssls() -> None:
    """OpenSSL's built-in copies of the RFC 7919, RFC 3526 and RFC 5114 primes are the oracle
    for ours (computed from pi and e, or as published)."""
    for openssl_name, ours in OPENSSL_GROUPS.items():
        assert dh_group_name(openssl_prime(openssl_name)) == ours, openssl_name


def test_oakley_primes_end_as_published() -> None:
    """OpenSSL cannot emit the RFC 2409 groups; their published last words (RFC 2409 6.1,
    6.2) and sizes are checked instead."""
    by_name = {name: prime for prime, name in well_known_dh_primes().items()}
    assert by_name["rfc2409_768"].bit_length() == 768
    assert hex(by_name["rfc2409_768"]).endswith("f44c42e9a63a3620ffffffffffffffff")
    assert by_name["rfc2409_1024"].bit_length() == 1024
    assert hex(by_name["rfc2409_1024"]).endswith("49286651ece65381ffffffffffffffff")
    assert dh_group_name(by_name["rfc2409_1024"] + 2) is None
