"""Server programs started with nothing but a certificate: their stock TLS settings.

Each starter writes the smallest configuration its program accepts (listen address,
certificate, key, somewhere to put logs) and no TLS setting at all, so what a scan sees is the
program's default on the versions installed from Debian. Used to measure the catalog's
software defaults (scanner/policy/data/policies/software-defaults.yaml).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from . import servers
from .pki import PemPaths
from .processes import LOOPBACK
from .servers import RunningServer, _serve, binary

Starter = Callable[[PemPaths, Path], contextlib.AbstractContextManager[RunningServer]]

_NGINX = """\
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {host}:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        return 200 "ok\\n";
    }}
}}
"""

_APACHE_MODULES = "/usr/lib/apache2/modules"
_APACHE = """\
ServerRoot {d}
ServerName localhost
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule ssl_module {modules}/mod_ssl.so
User nobody
Group nogroup
PidFile {d}/httpd.pid
DefaultRuntimeDir {d}
ErrorLog {d}/error.log
Listen {host}:{port}
<VirtualHost {host}:{port}>
    SSLEngine on
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
</VirtualHost>
"""

_HAPROXY = """\
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind {host}:{port} ssl crt {crt}
    http-request return status 200
"""

def nginx(files: PemPaths, workdir: Path) -> contextlib.AbstractContextManager[RunningServer]:
    exe = binary("nginx")
    d = workdir.resolve()

    def argv(port: int) -> list[str]:
        conf = d / f"nginx-{port}.conf"
        conf.write_text(_NGINX.format(d=d, host=LOOPBACK, port=port, cert=files.cert,
                                      key=files.key))
        return [exe, "-p", f"{d}/", "-c", str(conf), "-e", f"{d}/error.log",
                "-g", "daemon off;"]

    return _serve("nginx", workdir, argv, extra_logs=lambda _p: [d / "error.log"])


def apache(files: PemPaths, workdir: Path) -> contextlib.AbstractContextManager[RunningServer]:
    """``apache2 -X`` (one process, foreground) with mod_ssl and only SSLEngine + files."""
    exe = binary("apache2")
    d = workdir.resolve()

    def argv(port: int) -> list[str]:
        conf = d / f"httpd-{port}.conf"
        conf.write_text(_APACHE.format(d=d, modules=_APACHE_MODULES, host=LOOPBACK, port=port,
                                       cert=files.cert, key=files.key))
        return [exe, "-X", "-f", str(conf)]

    return _serve("apache2", workdir, argv, extra_logs=lambda _p: [d / "error.log"])


def haproxy(files: PemPaths, workdir: Path) -> contextlib.AbstractContextManager[RunningServer]:
    exe = binary("haproxy")
    d = workdir.resolve()
    d.mkdir(parents=True, exist_ok=True)
    crt = d / "server-with-key.pem"
    crt.write_bytes(files.chain.read_bytes() + files.key.read_bytes())
    crt.chmod(0o600)

    def argv(port: int) -> list[str]:
        conf = d / f"haproxy-{port}.cfg"
        conf.write_text(_HAPROXY.format(host=LOOPBACK, port=port, crt=crt))
        return [exe, "-db", "-f", str(conf)]

    return _serve("haproxy", workdir, argv)


def caddy(files: PemPaths, workdir: Path) -> contextlib.AbstractContextManager[RunningServer]:
    """Caddy (Go crypto/tls): the shared starter with no protocol range and no client auth."""
    return servers.caddy(None, workdir, client_auth=None, tls_versions=None, server_files=files)


def openssl_s_server(files: PemPaths,
                     workdir: Path) -> contextlib.AbstractContextManager[RunningServer]:
    exe = binary("openssl")

    def argv(port: int) -> list[str]:
        return [exe, "s_server", "-accept", f"{LOOPBACK}:{port}", "-cert", str(files.cert),
                "-key", str(files.key), "-www", "-quiet"]

    return _serve("openssl", workdir, argv)


def gnutls_serv(files: PemPaths, workdir: Path) -> contextlib.AbstractContextManager[RunningServer]:
    """``gnutls-serv --http`` with the certificate and key only (priority: NORMAL, its
    default). It listens on every interface; tests connect to 127.0.0.1 only."""
    exe = binary("gnutls-serv")

    def argv(port: int) -> list[str]:
        return [exe, "--http", "--port", str(port), "--x509certfile", str(files.cert),
                "--x509keyfile", str(files.key), "--disable-client-cert"]

    return _serve("gnutls-serv", workdir, argv)


#: catalog policy id -> (binary, starter)
STARTERS: dict[str, tuple[str, Starter]] = {
    "software:nginx": ("nginx", nginx),
    "software:apache-httpd": ("apache2", apache),
    "software:haproxy": ("haproxy", haproxy),
    "software:caddy": ("caddy", caddy),
    "software:openssl-s_server": ("openssl", openssl_s_server),
    "software:gnutls-serv": ("gnutls-serv", gnutls_serv),
}


def installed(names: Sequence[str]) -> bool:
    return all(shutil.which(name) or Path("/usr/sbin", name).exists() for name in names)
