"""``mtlsweep demo``: local listeners that imitate real mTLS configurations, scanned live."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import replace
from pathlib import Path

from OpenSSL import SSL
from rich.console import Console

from scanner.config.targets import Target
from scanner.lab.server import ClientAuth, LabServer, ListenerConfig, Verification
from scanner.offers.credential import ClientCredential
from scanner.pkix.issuing import Issued, cert_pem, issue, make_ca, name
from scanner.probes import DEFAULT_PROBES, ProbeOptions
from scanner.report.sinks import OutputFormat
from scanner.run.sweep import SweepOptions, run_sweep

# Cipher lists of the AWS policies the demo imitates (TLS 1.2 part; OpenSSL names), from the
# AWS ELB "describe-ssl-policies" documentation table, as collected in
# shared/reference/tls-policies/aws-elb.yaml.
TLS13_1_2_2021_06 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384"
)
TLS_1_2_EXT_2018_06 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:"
    "AES128-SHA256:AES128-SHA:AES256-GCM-SHA384:AES256-SHA256:AES256-SHA"
)


# Certificates live about as long as public ones, so the demo shows no expiry warnings.
_DEMO_DAYS = 90


def demo_client_certificate(config: ListenerConfig) -> ClientCredential | None:
    """The demo user's client certificate, for the listeners that require and verify one
    (the ALB verify mode): with it, their session facts (tickets, renegotiation) are measured
    as a credentialed scan of your own listeners would measure them."""
    if config.client_auth is not ClientAuth.require or \
            config.verification is not Verification.chain or not config.trusted_cas:
        return None
    return _client_certificate(config.trusted_cas[0])


_CLIENT_CERTIFICATES: dict[int, ClientCredential] = {}


def _client_certificate(ca: Issued) -> ClientCredential:
    """One client certificate per demo client CA (issued on first use)."""
    credential = _CLIENT_CERTIFICATES.get(id(ca))
    if credential is None:
        issued = issue(ca, name("demo client", "Example Corp", "US"), client=True,
                       days=_DEMO_DAYS)
        credential = _CLIENT_CERTIFICATES[id(ca)] = ClientCredential(issued.certificate,
                                                                     issued.key)
    return credential


def demo_listeners() -> dict[str, ListenerConfig]:
    """The imitated listeners, by the name they carry in the report."""
    server_ca = make_ca(name("mtlsweep demo server CA", "mtlsweep demo"), days=_DEMO_DAYS)
    client_ca = make_ca(name("Demo Client Root CA", "Example Corp", "US"), days=_DEMO_DAYS)
    leaf = issue(server_ca, name("localhost"), hosts=("localhost", "127.0.0.1"), days=_DEMO_DAYS)
    alb = ListenerConfig(certificate=leaf, chain=(server_ca,), trusted_cas=(client_ca,),
                         cipher_list=TLS13_1_2_2021_06)
    return {
        "alb-tls13-verify-ca-names": replace(
            alb, client_auth=ClientAuth.require, advertise_ca_names=True),
        "alb-tls13-verify-no-ca-names": replace(
            alb, client_auth=ClientAuth.require, advertise_ca_names=False),
        "alb-tls12-ext-2018-06-verify": replace(
            alb, cipher_list=TLS_1_2_EXT_2018_06, max_version=SSL.TLS1_2_VERSION,
            client_auth=ClientAuth.require, advertise_ca_names=False),
        "alb-passthrough": replace(
            alb, client_auth=ClientAuth.request, advertise_ca_names=False,
            verification=Verification.accept_any),
        "optional-client-cert": replace(
            alb, client_auth=ClientAuth.request, advertise_ca_names=True),
        "issuer-name-only-check": replace(
            alb, client_auth=ClientAuth.require, advertise_ca_names=True,
            verification=Verification.issuer_name_only),
        "no-mtls": replace(alb, client_auth=ClientAuth.none),
    }


def run_demo(fmt: OutputFormat) -> None:
    console = Console(stderr=True)
    console.print("[bold]mtlsweep demo[/]: starting local listeners on 127.0.0.1 that imitate "
                  "AWS ALB mTLS listeners and common ingress setups...")
    with contextlib.ExitStack() as stack:
        listeners = demo_listeners()
        # The scan trusts the demo's server CA, as you would pass your internal CA bundle.
        bundle = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "demo-ca.pem"
        first = next(iter(listeners.values()))
        bundle.write_bytes(cert_pem(*(c.certificate for c in first.chain)))
        targets = []
        for label, config in listeners.items():
            server = stack.enter_context(LabServer(config))
            targets.append(Target(host="127.0.0.1", port=server.port, sni="localhost",
                                  name=label,
                                  client_credential=demo_client_certificate(config)))
        options = SweepOptions(probes=DEFAULT_PROBES, timeout=5.0,
                               probe_options=ProbeOptions(ca_bundle=bundle))
        summary = run_sweep(targets, options, fmt=fmt, output=None)
    console.print(summary.describe())
    console.print("Scan your own endpoints with: mtlsweep scan host[:port] ... or "
                  "mtlsweep scan targets.yaml")
