"""The user's client certificate, private key and CA: read from files once, checked, never echoed.

Everything is loaded and cross-checked before the first connection, so a missing file, an
unprotected key or a wrong passphrase stops the run with one line that names the file and
what to do. Error messages never quote a key, a passphrase or any exception text that could
carry either.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from scanner.offers.credential import ClientCredential, ClientKey

MAX_FILE_BYTES = 1 << 20
_MISSING = "no such file (relative paths start at the inventory file's directory)"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
_Loader = Callable[[bytes, bytes | None], PrivateKeyTypes]
_SIGNING_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                 ed448.Ed448PrivateKey, dsa.DSAPrivateKey)


class KeyFileError(Exception):
    """A certificate or key file cannot be used; the message names the field and file."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def load_credential(cert_path: Path, key_path: Path, passphrase_env: str | None, *,
                    cert_field: str, key_field: str, env_field: str,
                    must_be_ca: bool = False) -> ClientCredential:
    """A certificate (plus any chain after it in the file) and its private key.

    The key file must not be readable or writable by group or others when it belongs to the
    user running the scan (the rule ssh applies to identity files): refused, not warned about,
    because a scanner is often run from shared CI machines.
    """
    certificates = _read_certificates(cert_path, cert_field)
    key = _read_key(key_path, passphrase_env, key_field=key_field, env_field=env_field)
    leaf = certificates[0]
    if _public_der(leaf.public_key()) != _public_der(key.public_key()):
        raise KeyFileError(key_field, f"{key_field} {key_path} does not belong to {cert_field} "
                           f"{cert_path} (their public keys differ); give the key the "
                           "certificate was issued for")
    if must_be_ca and not _is_ca(leaf):
        raise KeyFileError(cert_field, f"{cert_field} {cert_path} is not a CA certificate (no "
                           "basic constraints CA:TRUE); give the CA that issues your client "
                           "certificates")
    return ClientCredential(leaf, key, chain=tuple(certificates[1:]))


def _read(path: Path, field: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise KeyFileError(field, f"{field} {path} is {size} bytes; a certificate or key "
                               f"file is at most {MAX_FILE_BYTES} bytes")
        with path.open("rb") as handle:  # bounded: a device or FIFO reports no size
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise KeyFileError(field, f"{field} {path} holds more than {MAX_FILE_BYTES} bytes; "
                               "a certificate or key file is not that large")
        return data
    except FileNotFoundError:
        raise KeyFileError(field, f"{field} {path}: {_MISSING}") from None
    except IsADirectoryError:
        raise KeyFileError(field, f"{field} {path} is a directory; give a file") from None
    except OSError as exc:
        raise KeyFileError(field, f"{field} {path}: cannot read ({exc.strerror})") from None


def _read_certificates(path: Path, field: str) -> list[x509.Certificate]:
    data = _read(path, field)
    try:
        if _PEM_CERTIFICATE in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise KeyFileError(field, f"{field} {path} holds no PEM or DER X.509 certificate") \
            from None


def check_key_permissions(path: Path, field: str) -> None:
    """Refuse a key file of ours that others may read or write (mode & 0o077)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileError(field, f"{field} {path}: {_MISSING}") from None
    except OSError as exc:
        raise KeyFileError(field, f"{field} {path}: cannot read ({exc.strerror})") from None
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == os.getuid() and mode & 0o077:
        raise KeyFileError(field, f"{field} {path} is accessible by others (mode {mode:04o}); "
                           f"protect it with: chmod 600 {path}")


def _read_key(path: Path, passphrase_env: str | None, *, key_field: str,
              env_field: str) -> ClientKey:
    check_key_permissions(path, key_field)
    data = _read(path, key_field)
    load: _Loader = (serialization.load_pem_private_key if b"-----BEGIN" in data
                     else serialization.load_der_private_key)
    try:
        key = load(data, None)
    except TypeError:  # encrypted: it needs the passphrase
        key = _decrypt(load, data, path, passphrase_env, key_field=key_field,
                       env_field=env_field)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(key_field, f"{key_field} {path} holds no private key this scanner "
                           "can read (PEM or DER: PKCS#8, PKCS#1 or SEC1)") from None
    if not isinstance(key, _SIGNING_KEYS):
        kind = type(key).__name__.removeprefix("_")
        raise KeyFileError(key_field, f"{key_field} {path} holds a {kind} key, which cannot "
                           "sign a TLS handshake")
    return key


def _decrypt(load: _Loader, data: bytes, path: Path, passphrase_env: str | None, *,
             key_field: str, env_field: str) -> PrivateKeyTypes:
    if not passphrase_env:
        raise KeyFileError(key_field, f"{key_field} {path} is encrypted; set {env_field} to "
                           "the name of an environment variable that holds its passphrase")
    passphrase = os.environb.get(passphrase_env.encode())  # bytes: any encoding works
    if passphrase is None:
        raise KeyFileError(key_field, f"{key_field} {path} is encrypted and the environment "
                           f"variable {passphrase_env} named by {env_field} is not set; "
                           "export it")
    try:
        return load(data, passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError(key_field, f"cannot decrypt {key_field} {path} with the passphrase "
                           f"in ${passphrase_env}: wrong passphrase?") from None


def _public_der(public_key: object) -> bytes:
    encode = getattr(public_key, "public_bytes", None)
    if encode is None:
        return b""
    der: bytes = encode(serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints)
                    .value.ca)
    except x509.ExtensionNotFound:
        return certificate.version is x509.Version.v1  # old roots carry no extensions
