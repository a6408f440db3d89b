"""Per-target options: the one place that decides between a target's own settings and the
sweep's (config/options.py)."""

from __future__ import annotations

from pathlib import Path

from scanner.config.options import SweepDefaults, resolve_options
from scanner.config.targets import HttpCheck, Target
from scanner.probes import ProbeOptions

SWEEP = SweepDefaults(probes=("protocols", "alpn"), timeout=7.0, alpn_extra=("h3",),
                      probe_options=ProbeOptions(ca_bundle=Path("/sweep.pem"),
                                                 cert_expiry_warning_days=9))


def test_a_target_without_settings_takes_the_sweeps() -> None:
    options = resolve_options(Target(host="a.example", port=8443), SWEEP)
    assert options.probes == ("protocols", "alpn")
    assert options.timeout == 7.0
    assert options.alpn_extra == ("h3",)
    assert options.ca_bundle == Path("/sweep.pem")
    assert (options.http.enabled, options.http.path, options.http.host) == (
        True, "/", "a.example:8443")
    assert options.probe_options.cert_expiry_warning_days == 9


def test_a_targets_own_settings_win() -> None:
    target = Target(host="10.0.0.1", sni="b.example", probes=("npn",), timeout=3.0,
                    alpn_extra=(), ca_bundle=Path("/own.pem"),
                    http=HttpCheck(enabled=False, path="/health", host="h.example"))
    options = resolve_options(target, SWEEP)
    assert options.probes == ("npn",)
    assert options.timeout == 3.0
    assert options.alpn_extra == ()  # an empty list of its own replaces the sweep's
    assert options.ca_bundle == Path("/own.pem")
    assert (options.http.enabled, options.http.path, options.http.host) == (
        False, "/health", "h.example")


def test_the_probe_context_carries_every_resolved_option() -> None:
    target = Target(host="c.example", sni="c.example", alpn_extra=("imap",))
    options = resolve_options(target, SWEEP)
    shared = object()
    context = options.probe_context("c.example", shared)  # type: ignore[arg-type]
    assert context.shared is shared
    assert context.host == "c.example"
    assert context.alpn_extra == ("imap",)
    assert context.ca_bundle == Path("/sweep.pem")
    assert context.options is SWEEP.probe_options
    assert context.http == options.http
    assert context.client_credential is None and context.client_ca is None
