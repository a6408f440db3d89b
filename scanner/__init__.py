"""mtlsweep: an active mTLS/TLS endpoint scanner."""

__version__ = "0.1.0"
