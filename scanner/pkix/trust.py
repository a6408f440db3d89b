"""Trust anchors: the system store or a user's CA bundle, loaded once per file and cached."""

from __future__ import annotations

import functools
import re
import ssl
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import Store

# A PEM bundle of a few thousand CAs is under a megabyte; refuse anything absurd.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
# Names of OpenSSL hashed-directory links (c_rehash): 8 hex digits, a dot, a counter.
_HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")


class TrustStoreError(Exception):
    """A CA bundle cannot be used; the message says which file and why."""


@dataclass(frozen=True, eq=False)
class TrustStore:
    """Trust anchors and where they came from (shown in every validation result)."""

    description: str
    anchors: tuple[x509.Certificate, ...]
    _by_subject: dict[bytes, list[x509.Certificate]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[bytes, list[x509.Certificate]] = {}
        for anchor in self.anchors:
            index.setdefault(anchor.subject.public_bytes(), []).append(anchor)
        object.__setattr__(self, "_by_subject", index)

    @functools.cached_property
    def store(self) -> Store | None:
        """cryptography's verification store; None when there are no anchors at all."""
        return Store(list(self.anchors)) if self.anchors else None

    @functools.cached_property
    def validity_dates(self) -> tuple[datetime, ...]:
        """Every anchor's not-before and not-after, sorted: the only moments at which a
        path validation against this store can change its answer (with the chain's own)."""
        return tuple(sorted(date for anchor in self.anchors for date in (
            anchor.not_valid_before_utc, anchor.not_valid_after_utc)))

    def named(self, name: x509.Name) -> list[x509.Certificate]:
        """Anchors whose subject is exactly ``name``."""
        return self._by_subject.get(name.public_bytes(), [])


def load_ca_bundle(path: Path) -> TrustStore:
    """Every certificate of a PEM file, as trust anchors (cached per resolved path)."""
    return _load_bundle(path.expanduser().resolve())


@functools.cache
def _load_bundle(path: Path) -> TrustStore:
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise TrustStoreError(f"{path}: {size / 1e6:.1f} MB is too large for a CA bundle")
        with path.open("rb") as handle:  # bounded: a device or FIFO reports no size
            data = handle.read(MAX_BUNDLE_BYTES + 1)
        if len(data) > MAX_BUNDLE_BYTES:
            raise TrustStoreError(f"{path}: more than {MAX_BUNDLE_BYTES // 2**20} MiB, too "
                                  "large for a CA bundle")
    except FileNotFoundError:
        raise TrustStoreError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TrustStoreError(f"{path}: is a directory, not a PEM file") from None
    except OSError as exc:
        raise TrustStoreError(f"{path}: cannot read ({exc.strerror})") from None
    certificates = _pem_certificates(data, str(path))
    if not certificates:
        raise TrustStoreError(f"{path}: no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    return TrustStore(description=str(path), anchors=tuple(certificates))


def _pem_certificates(data: bytes, where: str) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return []
    try:
        with warnings.catch_warnings():  # e.g. negative serials: the user's CA, not our finding
            warnings.simplefilter("ignore")
            return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TrustStoreError(f"{where}: not a valid PEM certificate bundle ({exc})") from None


@functools.cache
def system_trust_store() -> TrustStore:
    """The operating system's CA store, found as OpenSSL would (honours SSL_CERT_FILE/DIR).

    Certificates that do not parse are skipped: one odd system CA must not stop a sweep.
    """
    paths = ssl.get_default_verify_paths()
    anchors: list[x509.Certificate] = []
    sources: list[str] = []
    if paths.cafile:
        try:
            anchors.extend(_tolerant_pem(Path(paths.cafile).read_bytes()))
            sources.append(paths.cafile)
        except OSError:
            pass
    if not anchors and paths.capath and Path(paths.capath).is_dir():
        for entry in sorted(Path(paths.capath).iterdir()):
            if _HASHED_NAME.match(entry.name):
                try:
                    anchors.extend(_tolerant_pem(entry.read_bytes()))
                except OSError:
                    continue
        sources.append(paths.capath)
    described = ", ".join(sources) if anchors else "none found"
    return TrustStore(description=f"system ({described})", anchors=tuple(anchors))


def _tolerant_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate that parses; old system CAs with odd encodings are skipped quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            pass
        out = []
        for block in data.split(b"-----END CERTIFICATE-----"):
            start = block.find(b"-----BEGIN CERTIFICATE-----")
            if start < 0:
                continue
            try:
                out.append(x509.load_pem_x509_certificate(
                    block[start:] + b"-----END CERTIFICATE-----\n"))
            except ValueError:
                continue
        return out


def trust_store_for(ca_bundle: Path | None) -> TrustStore:
    """The user's bundle when given, else the system store."""
    return load_ca_bundle(ca_bundle) if ca_bundle is not None else system_trust_store()
