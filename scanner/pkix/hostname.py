"""Does a server certificate cover a host name? RFC 6125 as browsers apply it.

Only subjectAltName counts (CA/Browser Forum baseline requirements; RFC 6125 6.4.4 lets
clients ignore the CN once a SAN is present, and every major client now ignores it always).
A wildcard is honoured only as the whole left-most label and covers exactly one label.
IP addresses match iPAddress entries only.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509


def hostname_matches(certificate: x509.Certificate, name: str) -> bool:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        return False
    sans = extension.value
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(entry == address for entry in sans.get_values_for_type(x509.IPAddress))
    wanted = _normalise(name)
    if not wanted:
        return False
    return any(dns_name_matches(pattern, wanted)
               for pattern in sans.get_values_for_type(x509.DNSName))


def dns_name_matches(pattern: str, name: str) -> bool:
    """One dNSName SAN entry against a normalised (lowercase, A-label, no final dot) name."""
    pattern = _normalise(pattern)
    if not pattern:
        return False
    if pattern == name:
        return True
    first, _, rest = pattern.partition(".")
    if first != "*" or not rest or "*" in rest or rest.count(".") < 1:
        return False  # no wildcard, a partial one (f*.example), or one over a TLD (*.com)
    label, _, name_rest = name.partition(".")
    return bool(label) and name_rest == rest


def _normalise(name: str) -> str:
    name = name.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return ""
