"""Probes, one module per question; ``PROBES`` is the registry the CLI and inventory use.

The registry (``registry.py``) imports every probe, and with them OpenSSL, trio and the record
models; it loads on first use (PEP 562 ``__getattr__``) so that the names alone stay cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from scanner.probes.names import DEFAULT_PROBES

if TYPE_CHECKING:
    from scanner.probes.registry import PROBES, Probe, ProbeContext, ProbeOptions, ProbeOutput

_FROM_REGISTRY = frozenset({"PROBES", "Probe", "ProbeContext", "ProbeOptions", "ProbeOutput"})


def __getattr__(name: str) -> object:
    """Load the registry when one of its names is first asked for."""
    if name not in _FROM_REGISTRY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("scanner.probes.registry"), name)
    globals()[name] = value
    return value


__all__ = ["DEFAULT_PROBES", "PROBES", "Probe", "ProbeContext", "ProbeOptions", "ProbeOutput"]
