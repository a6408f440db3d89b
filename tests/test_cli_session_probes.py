"""The renegotiation, resumption and alpn probes through the command line: --probes,
--alpn-extra, the inventory's alpn_extra, JSON and the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import records, run

pytestmark = pytest.mark.servers


def test_full_handshake_probes_of_nginx_with_http2_and_table(nginx_server, tmp_path: Path) -> None:
    server = nginx_server(mode="none", http2=True)
    result = run("scan", f"127.0.0.1:{server.port}", "--alpn-extra", "imap,h2c", "--probes",
                 "client_auth,enforcement,certificate,ocsp,renegotiation,resumption,alpn")
    assert result.returncode == 0, result.stderr
    (record,) = records(result.stdout)
    assert record["status"] == "ok"
    assert record["renegotiation"]["client_initiated"]["outcome"] == "refused_warning"
    assert record["resumption"]["tls1_3"]["tickets_issued"] == 2
    assert record["alpn"]["supported"] == ["h2", "http/1.1", "http/1.0", "http/0.9"]
    assert record["alpn"]["tls1_3"]["unsupported_protocols"] == [
        "spdy/3.1", "grpc-exp", "acme-tls/1", "imap", "h2c"]
    # The full-handshake probes of one listener: the plain handshake per version (shared by
    # client_auth, ocsp, certificate, alpn's no-ALPN offer and the first handshake of
    # resumption's ticket pairs) 2, enforcement 1 (no certificate requested: only the attempt
    # without one), certificate 1 (the other key type), renegotiation 1, resumption 4 (two
    # resumptions of the plain handshakes' tickets, the session-ID pair), alpn 12 (3 offers
    # with ALPN + 3 eliminations, per version), and the per-path request for http_paths'
    # default / 2 (one per version: the handshake asks for no certificate, so a request
    # might). Of alpn's 12, all but the first offer per version are raw hellos (10), built on
    # the version tests (2 raw more).
    assert record["stats"]["connections"] == 25
    assert record["stats"]["raw_connections"] == 12

    table = run("scan", f"127.0.0.1:{server.port}", "--format", "table", "--detail",
                "--probes", "alpn,resumption,renegotiation").stdout
    for text in ("h2, http/1.1, http/1.0,", "no_application_protocol", "2 ticket(s) 300s",
                 "resumes yes", "session ID resumes NO", "reneg secure",
                 "client-initiated refused (warning)", "resumption.session_id_not_honoured"):
        assert text in table, (text, table)


def test_inventory_alpn_extra_wins_over_the_option(openssl_server, tmp_path: Path) -> None:
    server = openssl_server(verify=None, extra_args=["-alpn", "h2,imap,pop3"])
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"""
defaults:
  probes: [alpn]
targets:
  - host: 127.0.0.1
    port: {server.port}
    sni: localhost
    alpn_extra: [pop3]
""")
    result = run("scan", str(inventory), "--alpn-extra", "imap", "--format", "json")
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)
    assert record["probes"] == ["alpn"]
    assert record["alpn"]["supported"] == ["h2", "pop3"]  # imap was not tested
    assert record["renegotiation"] is None and record["resumption"] is None


@pytest.mark.parametrize(("value", "message"), [
    ("h2,,imap", "--alpn-extra: an ALPN protocol ID cannot be empty"),
    ("h2 c", "--alpn-extra: ALPN protocol ID 'h2 c': only printable ASCII"),
])
def test_bad_alpn_extra_is_a_usage_error(value: str, message: str) -> None:
    result = run("scan", "127.0.0.1:1", "--alpn-extra", value)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""

