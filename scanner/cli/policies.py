"""``mtlsweep policies``: list, show and diff the named security policies in the catalog."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scanner.cli.command import CommandApp

if TYPE_CHECKING:
    from rich.console import Console

    from scanner.policy.catalog import Catalog

# The catalog, the client profiles and their views load inside each command: `mtlsweep --help`
# builds these commands' options too.


class ViewFormat(StrEnum):
    table = "table"
    json = "json"


class KeyType(StrEnum):
    rsa = "rsa"
    ecdsa = "ecdsa"
    both = "both"


app = CommandApp(
    name="policies",
    help="Named TLS security policies (AWS ELB/CloudFront/API Gateway, Azure Application "
    "Gateway and Front Door, Google Cloud, Cloudflare, Mozilla, server software defaults, and "
    "your own): list them, show one, diff two (and who it breaks); the client profiles.",
    no_args_is_help=True,
    add_completion=False,
)

PolicyFiles = Annotated[list[Path] | None, typer.Option(
    "--policy-file", help="Add the policies in this YAML file to the catalog (repeatable).",
    dir_okay=False, show_default=False)]
FormatOption = Annotated[ViewFormat, typer.Option(
    "--format", "-f", help="table for people, json for scripts.")]


def catalog_or_exit(policy_files: list[Path] | None) -> Catalog:
    from scanner.cli.usage import fail_usage
    from scanner.policy.catalog import PolicyFileError, load_catalog

    try:
        return load_catalog(policy_files or ())
    except PolicyFileError as exc:
        raise fail_usage(str(exc)) from None


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2))


def _console() -> Console:
    from rich.console import Console

    return Console(width=None, soft_wrap=False)


@app.command("list")
def list_policies(
    provider: Annotated[str | None, typer.Option(
        help="Only this provider's policies (aws, azure, cloudflare, mozilla, or the provider "
        "of a --policy-file).")] = None,
    fmt: FormatOption = ViewFormat.table,
    policy_file: PolicyFiles = None,
) -> None:
    """List the catalog's policies (one row each)."""
    from scanner.cli.usage import fail_usage
    from scanner.report.policies import policy_list_table

    catalog = catalog_or_exit(policy_file)
    policies = list(catalog)
    if provider is not None:
        policies = [p for p in policies if p.provider.casefold() == provider.casefold()]
        if not policies:
            raise fail_usage(f"no policies from provider {provider!r}; providers: "
                       f"{', '.join(catalog.providers())}")
    if fmt is ViewFormat.json:
        _print_json([{**p.summary(), "protocols": list(p.protocols),
                      "tls1_3_suites": len(p.tls13), "tls1_2_and_below_suites": len(p.tls12),
                      "order": p.order, "status": p.status, "confidence": p.confidence,
                      "kind": p.kind}
                     for p in policies])
    else:
        _console().print(policy_list_table(policies))


@app.command("show")
def show_policy(
    name: Annotated[str, typer.Argument(help="Policy id, alias or name.", show_default=False)],
    fmt: FormatOption = ViewFormat.table,
    policy_file: PolicyFiles = None,
) -> None:
    """Show one policy: protocols, cipher suites (IANA and OpenSSL names), order, sources.

    A name shared by several policies (e.g. ELBSecurityPolicy-2016-08 on ALB/NLB and on
    Classic Load Balancers) shows each of them.
    """
    from scanner.cli.usage import fail_usage
    from scanner.report.policies import policy_as_json, policy_detail

    catalog = catalog_or_exit(policy_file)
    found = catalog.find(name)
    if not found:
        raise fail_usage(catalog.unknown_message(name))
    if fmt is ViewFormat.json:
        _print_json([policy_as_json(p, catalog) for p in found])
        return
    console = _console()
    for index, policy in enumerate(found):
        if index:
            console.rule()
        console.print(policy_detail(policy, catalog))


@app.command("diff")
def diff_command(
    a: Annotated[str, typer.Argument(help="First policy (A).", show_default=False)],
    b: Annotated[str, typer.Argument(help="Second policy (B).", show_default=False)],
    fmt: FormatOption = ViewFormat.table,
    policy_file: PolicyFiles = None,
    clients: Annotated[bool, typer.Option(
        "--clients", help="Also list the profiled clients that can negotiate with A but not "
        "with B (and the reverse), with the reason (`mtlsweep policies clients`).")] = False,
    key_type: Annotated[KeyType, typer.Option(
        help="The listener's certificate(s) for --clients: which suites it can negotiate.")
    ] = KeyType.rsa,
    exit_code: Annotated[bool, typer.Option(
        "--exit-code", help="Exit 1 when the policies differ (protocols, suites, a documented "
        "order or groups), 0 when they do not, as `git diff --exit-code` does.")] = False,
) -> None:
    """Compare two policies: protocols and suites only in A, only in B, in both; order
    differences where both providers document a server order; key-exchange differences."""
    from scanner.cli.usage import fail_usage
    from scanner.policy.catalog import PolicyLookupError
    from scanner.policy.clients import clients_diff_as_json, diff_clients
    from scanner.policy.compare import diff_as_json, diff_policies
    from scanner.report.policies import clients_diff_view, policy_diff_view

    catalog = catalog_or_exit(policy_file)
    try:
        first, second = catalog.one(a), catalog.one(b)
    except PolicyLookupError as exc:
        raise fail_usage(str(exc)) from None
    diff = diff_policies(first, second)
    types = ("rsa", "ecdsa") if key_type is KeyType.both else (key_type.value,)
    affected = diff_clients(first, second, types) if clients else None
    if fmt is ViewFormat.json:
        data = diff_as_json(diff)
        if affected is not None:
            data["clients"] = clients_diff_as_json(affected)
        _print_json(data)
    else:
        console = _console()
        console.print(policy_diff_view(diff))
        if affected is not None:
            console.print(clients_diff_view(affected))
    if exit_code and diff.differs:
        raise typer.Exit(1)


@app.command("clients")
def list_clients(fmt: FormatOption = ViewFormat.table) -> None:
    """List the client profiles `diff --clients` and a record's `clients` view use: what
    each client offers by default, and where that comes from."""
    from scanner.policy.clients import client_profiles
    from scanner.report.policies import client_profile_as_json, client_profiles_table

    profiles = client_profiles()
    if fmt is ViewFormat.json:
        _print_json([client_profile_as_json(p) for p in profiles])
    else:
        _console().print(client_profiles_table(profiles))
