"""Per-target options, resolved in one place: the target's own setting, else the sweep's.

Three sources meet here. Built-in defaults live on the dataclasses below (and on
``ProbeOptions``); the command line fills ``SweepDefaults`` for every target; the inventory
fills a ``Target``'s own settings (its ``defaults:`` section already merged into each
target by ``inventory.py``). ``resolve_options`` is the only place that decides which one
wins, and ``TargetOptions.probe_context`` the only place a probe's per-target inputs are
assembled: probes get everything per target through their ``ProbeContext``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scanner.config.targets import DEFAULT_MAX_SNI_NAMES, Target
from scanner.offers.credential import ClientCredential
from scanner.probes import DEFAULT_PROBES
from scanner.probes.base import HttpRequestTarget, ProbeContext, ProbeOptions
from scanner.probes.shared.work import SharedWork
from scanner.wire.http_connect import HttpProxy

__all__ = ["SweepDefaults", "TargetOptions", "resolve_options"]

DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SweepDefaults:
    """What the command line gives every target (``--probes``, ``--timeout``, ...)."""

    probes: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT_S
    alpn_extra: tuple[str, ...] = ()
    probe_options: ProbeOptions = field(default_factory=ProbeOptions)
    https_proxy: HttpProxy | None = None
    #: Server names every target's address also serves (--sni-names).
    sni_names: tuple[str, ...] = ()
    max_sni_names: int = DEFAULT_MAX_SNI_NAMES


@dataclass(frozen=True)
class TargetOptions:
    """Everything one target is scanned with, after every source is applied."""

    probes: tuple[str, ...]
    timeout: float
    alpn_extra: tuple[str, ...]
    #: Trust anchors for certificate checks; None: the system store.
    ca_bundle: Path | None
    http: HttpRequestTarget
    client_credential: ClientCredential | None
    client_ca: ClientCredential | None
    probe_options: ProbeOptions
    #: Plaintext protocol before TLS ("tls": none), resolved from ``auto`` already.
    protocol: str = "tls"
    https_proxy: HttpProxy | None = None
    #: The other server names on this address: sni_names, then the inventory's neighbours.
    sni_names: tuple[str, ...] = ()
    #: The user listed names (sni_names / --sni-names): compare even a single one.
    sni_names_given: bool = False
    max_sni_names: int = DEFAULT_MAX_SNI_NAMES

    def probe_context(self, host: str, shared: SharedWork) -> ProbeContext:
        return ProbeContext(
            host=host, shared=shared, options=self.probe_options, ca_bundle=self.ca_bundle,
            alpn_extra=self.alpn_extra, http=self.http,
            client_credential=self.client_credential, client_ca=self.client_ca,
            protocol=self.protocol,
            sni_names=self.sni_names, sni_names_given=self.sni_names_given,
            max_sni_names=self.max_sni_names,
        )


VHOSTS_PROBE = "vhosts"


def resolve_options(target: Target, sweep: SweepDefaults,
                    neighbours: tuple[str, ...] = ()) -> TargetOptions:
    """The target's own settings where it has them, else the sweep's. ``neighbours``: the
    server names other targets send to the same host and port."""
    given = target.sni_names if target.sni_names is not None else sweep.sni_names
    names = tuple(dict.fromkeys(n for n in (*given, *neighbours) if n != target.sni))
    probes = target.probes or sweep.probes
    if (names and target.probes is None and sweep.probes == DEFAULT_PROBES
            and VHOSTS_PROBE not in probes):
        # The SNI map costs connections per name: run it by default only when this address
        # serves more than one name to compare.
        probes = (*probes, VHOSTS_PROBE)
    return TargetOptions(
        probes=probes,
        timeout=target.timeout or sweep.timeout,
        alpn_extra=target.alpn_extra if target.alpn_extra is not None else sweep.alpn_extra,
        ca_bundle=target.ca_bundle or sweep.probe_options.ca_bundle,
        http=HttpRequestTarget(enabled=target.http.enabled, path=target.http.path,
                               host=target.http_host, paths=target.http.paths),
        client_credential=target.client_credential,
        client_ca=target.client_ca,
        probe_options=sweep.probe_options,
        protocol=target.protocol,
        https_proxy=target.https_proxy or sweep.https_proxy,
        sni_names=names,
        sni_names_given=bool(given),
        max_sni_names=target.max_sni_names or sweep.max_sni_names,
    )
