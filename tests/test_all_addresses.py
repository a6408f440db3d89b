"""``--all-addresses``: one record per resolved address, the address part of the identity that
resume, merge and diff compare by.

No resolver on this machine returns several loopback addresses for one name, and the system's
hosts file is not ours to edit, so the multi-address name is served by trio's documented
hook for a custom resolver (``trio.socket.set_custom_hostname_resolver``) inside the sweep's
own trio run; every connection still goes to a real nginx on 127.0.0.1 and 127.0.0.3.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import trio
from typer.testing import CliRunner

from scanner.api import Record, scan_records
from scanner.cli.app import app
from tests.support.oracle import s_client

NAME = "multi.mtlsweep.test"
ADDRESSES = ("127.0.0.1", "127.0.0.3", "127.0.0.4")  # nothing listens on .4


class _Resolver(trio.abc.HostnameResolver):
    async def getaddrinfo(self, host: bytes | None, port: bytes | str | int | None,
                          family: int = 0, type: int = 0, proto: int = 0, flags: int = 0,
                          ) -> list[Any]:
        if host in (NAME, NAME.encode()):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))
                    for ip in ADDRESSES]
        return await trio.to_thread.run_sync(socket.getaddrinfo, host, port, family, type,
                                             proto, flags)

    async def getnameinfo(self, sockaddr: tuple[str, int] | tuple[str, int, int, int],
                          flags: int) -> tuple[str, str]:
        raise OSError("not needed")


def scan_name(port: int) -> list[Record]:
    async def main() -> list[Record]:
        trio.socket.set_custom_hostname_resolver(_Resolver())
        found = []
        async with scan_records([f"{NAME}:{port}"], probes=["client_auth"], timeout=5,
                                all_addresses=True) as records:
            async for record in records:
                found.append(record)
        return found

    return sorted(trio.run(main), key=lambda r: r.target.address or "")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_one_record_per_address_then_merge_and_diff_by_address(nginx_server,
                                                                tmp_path: Path) -> None:
    server = nginx_server(mode="ca_names", extra_addresses=["127.0.0.3"])
    records = scan_name(server.port)
    assert [r.target.address for r in records] == list(ADDRESSES)
    assert all(r.target.per_address and r.target.host == NAME for r in records)
    assert [r.status for r in records] == ["ok", "ok", "error"]
    oracle = s_client(server.port, host="127.0.0.3", tls_version="1.2").certificate_request
    assert oracle is not None
    second = records[1].client_auth
    assert second is not None and second.tls1_2 is not None
    assert second.tls1_2.certificate_request is not None
    assert [n.rfc4514 for n in second.tls1_2.certificate_request.ca_names] == oracle.ca_names
    assert len({r.target.key() for r in records}) == 3

    # merge: an inventory target with all_addresses is complete with its per-address records
    results = tmp_path / "results.jsonl"
    results.write_text("".join(r.to_json() + "\n" for r in records))
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - {{host: {NAME}, port: {server.port}, "
                         "all_addresses: true}\n")
    code, out, err = invoke("merge", str(results), "--inventory", str(inventory))
    assert code == 0, err
    assert [json.loads(line)["target"]["address"] for line in out.splitlines()] == list(
        ADDRESSES)
    assert "missing" not in err and "outside" not in err

    # diff: addresses are compared one by one
    newer = tmp_path / "newer.jsonl"
    changed = json.loads(records[1].to_json())
    changed["client_auth"]["classification"] = "none"
    newer.write_text(records[0].to_json() + "\n" + json.dumps(changed) + "\n")
    code, out, _ = invoke("diff", str(results), str(newer), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert [e["address"] for e in report["only_in_old"]] == ["127.0.0.4"]
    assert [e["target"]["address"] for e in report["changed"]] == ["127.0.0.3"]


def test_resume_knows_the_address(nginx_server, tmp_path: Path) -> None:
    server = nginx_server(mode="none")
    out = tmp_path / "out.jsonl"
    target = f"127.0.0.1:{server.port}"
    args = ["scan", target, "--probes", "client_auth", "--all-addresses", "-o", str(out)]
    assert invoke(*args)[0] == 0
    record = json.loads(out.read_text())
    assert record["target"]["per_address"] is True
    assert record["target"]["address"] == "127.0.0.1"
    code, _, err = invoke(*args, "--resume")
    assert code == 0 and "1 target(s) already recorded were skipped" in err
    # without --all-addresses the identity is the endpoint alone: not the same target
    code, _, err = invoke("scan", target, "--probes", "client_auth", "-o", str(out), "--resume")
    assert "already recorded" not in err
    assert len(out.read_text().splitlines()) == 2
