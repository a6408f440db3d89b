"""Well-known finite-field Diffie-Hellman groups, to name the group a DHE server uses.

A server on a widely shared 1024-bit prime is the one a precomputation breaks first
(LOGJAM, weakdh.org); a named RFC 7919 or RFC 3526 group says the operator chose a
reviewed group. The RFC 2409/3526 and RFC 7919 primes are built the way their RFCs
define them (2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * c) + k), with c = pi or e);
the RFC 5114 primes have no such form and are given as published. Tests check every
prime against OpenSSL's own copies (``openssl genpkey -genparam -pkeyopt group:...``).
"""

from __future__ import annotations

from functools import cache

__all__ = ["dh_group_name", "well_known_dh_primes"]

# (name, bits, constant, k): RFC 2409 section 6, RFC 3526 sections 2-7, RFC 7919 appendix A.
_FORMULA_GROUPS: tuple[tuple[str, int, str, int], ...] = (
    ("rfc2409_768", 768, "pi", 149686),
    ("rfc2409_1024", 1024, "pi", 129093),
    ("rfc3526_1536", 1536, "pi", 741804),
    ("rfc3526_2048", 2048, "pi", 124476),
    ("rfc3526_3072", 3072, "pi", 1690314),
    ("rfc3526_4096", 4096, "pi", 240904),
    ("rfc3526_6144", 6144, "pi", 929484),
    ("rfc3526_8192", 8192, "pi", 4743158),
    ("ffdhe2048", 2048, "e", 560316),
    ("ffdhe3072", 3072, "e", 2625351),
    ("ffdhe4096", 4096, "e", 5736041),
    ("ffdhe6144", 6144, "e", 15705020),
    ("ffdhe8192", 8192, "e", 10965728),
)

# RFC 5114 section 2.1-2.3 (1024-bit with a 160-bit subgroup, 2048-bit with 224/256-bit).
_RFC5114_PRIMES: tuple[tuple[str, str], ...] = (
    ("rfc5114_1024_160",
     "b10b8f96a080e01dde92de5eae5d54ec52c99fbcfb06a3c69a6a9dca52d23b616073e28675a23d189838ef1e"
     "2ee652c013ecb4aea906112324975c3cd49b83bfaccbdd7d90c4bd7098488e9c219a73724effd6fae564473"
     "8faa31a4ff55bccc0a151af5f0dc8b4bd45bf37df365c1a65e68cfda76d4da708df1fb2bc2e4a4371"),
    ("rfc5114_2048_224",
     "ad107e1e9123a9d0d660faa79559c51fa20d64e5683b9fd1b54b1597b61d0a75e6fa141df95a56dbaf9a3c40"
     "7ba1df15eb3d688a309c180e1de6b85a1274a0a66d3f8152ad6ac2129037c9edefda4df8d91e8fef55b7394"
     "b7ad5b7d0b6c12207c9f98d11ed34dbf6c6ba0b2c8bbc27be6a00e0a0b9c49708b3bf8a317091883681286"
     "130bc8985db1602e714415d9330278273c7de31efdc7310f7121fd5a07415987d9adc0a486dcdf93acc4432"
     "8387315d75e198c641a480cd86a1b9e587e8be60e69cc928b2b9c52172e413042e9b23f10b0e16e79763c9"
     "b53dcf4ba80a29e3fb73c16b8e75b97ef363e2ffa31f71cf9de5384e71b81c0ac4dffe0c10e64f"),
    ("rfc5114_2048_256",
     "87a8e61db4b6663cffbbd19c651959998ceef608660dd0f25d2ceed4435e3b00e00df8f1d61957d4faf7df45"
     "61b2aa3016c3d91134096faa3bf4296d830e9a7c209e0c6497517abd5a8a9d306bcf67ed91f9e6725b4758"
     "c022e0b1ef4275bf7b6c5bfc11d45f9088b941f54eb1e59bb8bc39a0bf12307f5c4fdb70c581b23f76b63a"
     "cae1caa6b7902d52526735488a0ef13c6d9a51bfa4ab3ad8347796524d8ef6a167b5a41825d967e144e514"
     "0564251ccacb83e6b486f6b3ca3f7971506026c0b857f689962856ded4010abd0be621c3a3960a54e710c3"
     "75f26375d7014103a4b54330c198af126116d2276e11715f693877fad7ef09cadb094ae91e1a1597"),
)

_GUARD_BITS = 64


def _scaled_pi(bits: int) -> int:
    """floor(pi * 2^bits), by Machin's formula in integers."""
    one = 1 << (bits + _GUARD_BITS)

    def arctan_inverse(x: int) -> int:
        total, term, n, sign = 0, one // x, 1, 1
        while term:
            total += sign * (term // n)
            term //= x * x
            n += 2
            sign = -sign
        return total

    return (16 * arctan_inverse(5) - 4 * arctan_inverse(239)) >> _GUARD_BITS


def _scaled_e(bits: int) -> int:
    """floor(e * 2^bits), by the series of 1/k!."""
    one = 1 << (bits + _GUARD_BITS)
    total, term, k = 0, one, 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> _GUARD_BITS


def _formula_prime(bits: int, constant: str, k: int) -> int:
    scaled = (_scaled_pi if constant == "pi" else _scaled_e)(bits - 130)
    prime: int = (1 << bits) - (1 << (bits - 64)) - 1 + ((scaled + k) << 64)
    return prime


@cache
def well_known_dh_primes() -> dict[int, str]:
    """Every well-known prime, mapped to its name (computed once, in a few milliseconds)."""
    primes = {_formula_prime(bits, constant, k): name
              for name, bits, constant, k in _FORMULA_GROUPS}
    primes.update({int(hex_prime, 16): name for name, hex_prime in _RFC5114_PRIMES})
    return primes


def dh_group_name(prime: int) -> str | None:
    """The name of a well-known group with this prime, or None for a custom one."""
    return well_known_dh_primes().get(prime)
