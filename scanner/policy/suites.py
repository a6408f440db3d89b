"""Cipher suites and protocol versions as the policy catalog speaks of them.

Providers name suites differently (OpenSSL names for AWS, IANA names for Azure, ``AEAD-*`` for
Cloudflare's TLS 1.3 suites), so everything is compared by code point. Names, key exchange,
the certificate type a suite needs (``au``) and the oldest version it runs on are read off the
one cipher-suite registry in ``wire``; ``data/suite-spellings.yaml`` adds only the providers'
other spellings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import yaml

from scanner import wire
from scanner.policy.loading import load_once
from scanner.wire.registry import NAMED_GROUPS

# Newest first: the order versions are listed in everywhere. No policy allows SSLv2; it is
# here so that an endpoint accepting it differs from every policy.
VERSIONS: tuple[str, ...] = tuple(version.label for version in (
    wire.TLSVersion.TLSv1_3, wire.TLSVersion.TLSv1_2, wire.TLSVersion.TLSv1_1,
    wire.TLSVersion.TLSv1_0, wire.TLSVersion.SSLv3, wire.TLSVersion.SSLv2))
_RANK = {version: rank for rank, version in enumerate(reversed(VERSIONS))}

Authentication = Literal["RSA", "ECDSA", "DSS", "any"]
KeyType = Literal["rsa", "ecdsa", "dsa"]
KEY_TYPE_FOR_AU: Mapping[str, KeyType] = {"RSA": "rsa", "ECDSA": "ecdsa", "DSS": "dsa"}


class UnknownSuiteError(ValueError):
    """A suite name or code point the catalog cannot resolve."""


def version_rank(version: str) -> int:
    """Higher is newer; raises KeyError for names outside VERSIONS."""
    return _RANK[version]


def normalize_version(text: str) -> str:
    """``TLSv1.2`` from ``TLSv1.2``, ``TLS1.2``, ``1.2``, ``tlsv1`` or ``TLSv1`` (AWS's TLS 1.0)."""
    cleaned = text.strip().lower().replace(" ", "").replace("_", ".")
    for prefix in ("tlsv", "tls"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):]
            break
    else:
        if cleaned in ("sslv3", "ssl3", "ssl3.0", "sslv3.0"):
            return "SSLv3"
    if cleaned in ("1", "1.0"):
        return "TLSv1.0"
    if cleaned in ("1.1", "1.2", "1.3"):
        return f"TLSv{cleaned}"
    raise ValueError(f"unknown protocol version {text!r}; use one of "
                     f"{', '.join(VERSIONS[:-1])}")


@dataclass(frozen=True, order=True)
class CipherSuite:
    """One cipher suite; ``iana``/``openssl`` are None for code points the table lacks."""

    code: int
    iana: str | None = None
    openssl: str | None = None
    kx: str | None = None
    au: Authentication | None = None
    min_version: str | None = None

    @property
    def hex(self) -> str:
        return f"0x{self.code:04X}"

    @property
    def is_tls13(self) -> bool:
        return self.code >> 8 == 0x13

    @property
    def label(self) -> str:
        """The name people read: IANA, else OpenSSL, else the code point."""
        return self.iana or self.openssl or self.hex

    def usable_with(self, key_types: Iterable[str]) -> bool:
        """Whether a server holding certificates of ``key_types`` can negotiate this suite."""
        if self.au is None or self.au == "any":
            return True
        return KEY_TYPE_FOR_AU[self.au] in key_types

    def runs_on(self, version: str) -> bool:
        """Whether the suite can be negotiated at ``version`` (None = unknown: assume yes)."""
        if self.is_tls13:
            return version == "TLSv1.3"
        if version == "TLSv1.3":
            return False
        if self.min_version is None:
            return True
        return version_rank(version) >= version_rank(self.min_version)

    def as_json(self) -> dict[str, str | None]:
        return {"code": self.hex, "iana": self.iana, "openssl": self.openssl}


class SuiteTable:
    """Code point <-> names (IANA, OpenSSL, providers' spellings) for every registry suite."""

    def __init__(self, suites: Iterable[CipherSuite],
                 spellings: Mapping[str, int] | None = None) -> None:
        self.by_code: dict[int, CipherSuite] = {}
        self._by_name: dict[str, int] = {}
        for suite in suites:
            self.by_code[suite.code] = suite
            for name in (suite.iana, suite.openssl):
                if name:
                    self._by_name[name.upper()] = suite.code
        for name, code in (spellings or {}).items():
            self._by_name[name.upper()] = code

    def resolve(self, text: str) -> CipherSuite:
        """A suite from its IANA name, OpenSSL name, a documented spelling, or ``0xC02B``."""
        cleaned = text.strip()
        code = self._by_name.get(cleaned.upper())
        if code is None and cleaned.lower().startswith("0x"):
            try:
                code = int(cleaned, 16)
            except ValueError:
                code = None
            if code is not None and not 0 <= code <= 0xFFFF:
                code = None
            if code is None:
                raise UnknownSuiteError(f"{text!r} is not a 16-bit code point such as 0xC02B")
        if code is None:
            raise UnknownSuiteError(
                f"unknown cipher suite {text!r}; use its IANA name "
                "(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), OpenSSL name "
                "(ECDHE-RSA-AES128-GCM-SHA256) or code point (0xC02F)"
            )
        return self.by_code.get(code) or CipherSuite(code=code)

    def by_code_point(self, code: int) -> CipherSuite:
        return self.by_code.get(code) or CipherSuite(code=code)


_AUTHENTICATION: Mapping[str, Authentication] = {"RSA": "RSA", "ECDSA": "ECDSA", "DSS": "DSS"}


def policy_view(suite: wire.CipherSuite) -> CipherSuite:
    """What policies need of a registry suite, read off its IANA name.

    ``kx`` is the key exchange without the authentication (``ECDHE`` of ``ECDHE_RSA``), ``au``
    the certificate a server needs (None for anonymous, PSK and other certificate-less
    suites), ``min_version`` the oldest protocol OpenSSL negotiates it on: TLS 1.2 for
    SHA-256/384 MACs and AEAD ciphers (RFC 5246), TLS 1.0 for (EC)DH over elliptic curves
    (RFC 4492 needs extensions SSLv3 cannot carry), SSLv3 for the rest.
    """
    if suite.tls13:
        return CipherSuite(code=suite.code, iana=suite.iana, openssl=suite.openssl, kx="any",
                           au="any", min_version="TLSv1.3")
    kx, _, au = (suite.key_exchange or "").partition("_")
    if kx == "RSA" and not au:
        au = "RSA"  # static RSA: the certificate's key does the key exchange
    modern = suite.aead or suite.cipher.endswith(("SHA256", "SHA384"))
    oldest = "TLSv1.2" if modern else "TLSv1.0" if kx.startswith("ECDH") else "SSLv3"
    return CipherSuite(code=suite.code, iana=suite.iana, openssl=suite.openssl, kx=kx or None,
                       au=_AUTHENTICATION.get(au), min_version=oldest)


@load_once
def suite_table() -> SuiteTable:
    """Every registry suite as policies see it, plus the providers' spellings (loaded once)."""
    text = resources.files("scanner.policy").joinpath("data/suite-spellings.yaml").read_text(
        "utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    spellings = {name: int(code, 16)
                 for code, names in data["spellings"].items() for name in names}
    return SuiteTable((policy_view(suite) for suite in wire.CIPHER_SUITES.values()), spellings)


_GROUP_ALIASES = {"prime256v1": "secp256r1", "p-256": "secp256r1", "p256": "secp256r1",
                  "p-384": "secp384r1", "p384": "secp384r1", "p-521": "secp521r1",
                  "p521": "secp521r1"}
_GROUPS_BY_LOWER = {name.lower(): name for name in NAMED_GROUPS.values()}

# Hybrid and pure ML-KEM groups (and the pre-standard Kyber hybrids): post-quantum key exchange.
POST_QUANTUM_GROUPS = frozenset({
    "MLKEM512", "MLKEM768", "MLKEM1024", "SecP256r1MLKEM768", "X25519MLKEM768",
    "SecP384r1MLKEM1024", "X25519Kyber768Draft00", "SecP256r1Kyber768Draft00",
})


def normalize_group(text: str) -> str:
    """The IANA registry spelling of a named group (``prime256v1`` -> ``secp256r1``)."""
    lowered = text.strip().lower()
    lowered = _GROUP_ALIASES.get(lowered, lowered)
    name = _GROUPS_BY_LOWER.get(lowered)
    if name is None:
        raise ValueError(f"unknown key-exchange group {text!r} (expected an IANA name such as "
                         "x25519, secp256r1 or X25519MLKEM768)")
    return name
