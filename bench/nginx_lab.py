"""The nginx the benchmarks scan: one process, many TLS listeners on loopback, a throwaway PKI.

Several benchmarks need the same lab (one nginx, so its CPU is one number; C, so the scanner is
what is measured): this module writes its PKI and configuration and waits until it listens.
Each benchmark says only which listeners it wants and how each asks for client certificates.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from scanner.pkix.issuing import cert_pem, issue, key_pem, make_ca, name

ClientAuth = Literal["required", "optional", "none"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_pki(directory: Path) -> dict[str, Path]:
    """A server certificate for ``localhost`` and the CA client certificates must chain to."""
    server_ca = make_ca(name("bench server CA"))
    client_ca = make_ca(name("bench client CA", "mtlsweep bench"))
    leaf = issue(server_ca, name("localhost"), hosts=("localhost",))
    paths = {"cert": directory / "server.pem", "key": directory / "server.key",
             "client_ca": directory / "client-ca.pem"}
    paths["cert"].write_bytes(cert_pem(leaf.certificate, server_ca.certificate))
    paths["key"].write_bytes(key_pem(leaf.key))
    paths["client_ca"].write_bytes(cert_pem(client_ca.certificate))
    return paths


def tls_server(listens: Iterable[str], pki: dict[str, Path], client_auth: ClientAuth = "none",
               *, protocols: str | None = None) -> str:
    """One ``server`` block answering "ok" over TLS on every ``address:port`` of ``listens``;
    ``protocols`` None keeps nginx's default ``ssl_protocols``."""
    auth = {
        "required": f"ssl_verify_client on; ssl_client_certificate {pki['client_ca']};",
        "optional": f"ssl_verify_client optional; ssl_client_certificate {pki['client_ca']};",
        "none": "",
    }[client_auth]
    lines = [f"    listen {listen} ssl;" for listen in listens]
    lines.append(f"    ssl_certificate {pki['cert']}; ssl_certificate_key {pki['key']};")
    if protocols is not None:
        lines.append(f"    ssl_protocols {protocols};")
    if auth:
        lines.append(f"    {auth}")
    lines.append('    location / { return 200 "ok\\n"; }')
    return "  server {\n" + "\n".join(lines) + "\n  }"


def write_config(directory: Path, servers: Iterable[str]) -> Path:
    """nginx.conf for one process without a master (its CPU is one number), quiet logs, and
    enough descriptors for thousands of connections at once."""
    config = directory / "nginx.conf"
    blocks = "\n".join(servers)
    config.write_text(f"""master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {directory}/nginx.pid;
error_log {directory}/error.log crit;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {directory}/body; proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi; uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
{blocks}
}}
""")
    return config


def status_server(port: int) -> str:
    """A plain-HTTP ``/status`` (nginx ``stub_status``): the server's own connection count."""
    return f"  server {{ listen 127.0.0.1:{port}; location /status {{ stub_status; }} }}"


def wait_listening(address: str, port: int, process: subprocess.Popen[bytes],
                   timeout: float = 30.0) -> None:
    """Return once ``address:port`` accepts; exit the benchmark if ``process`` died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a lab process exited with {process.returncode}")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {address}:{port} after {timeout:.0f} s")
