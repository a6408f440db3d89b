"""Real TLS servers on 127.0.0.1 for behaviour tests: openssl s_server, nginx, gnutls-serv,
haproxy.

Each starter is a context manager taking the test PKI and a private work directory;
it picks a free port, waits until the server answers a ClientHello and yields a
:class:`RunningServer`.  On exit the process is ended by PID (see
:class:`~tests.support.processes.ManagedProcess`), even if the test failed.

These functions raise :class:`MissingBinaryError` when a binary is not installed;
:func:`require_binary` (used by ``tests.support.fixtures``) skips the test instead, or
fails it when ``MTLSWEEP_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from .pki import PemPaths, TestPKI
from .processes import (
    LOOPBACK,
    ManagedProcess,
    ServerStartError,
    find_binary,
    free_port,
    wait_for_listen,
)

TlsVersion = Literal["1.0", "1.1", "1.2", "1.3"]
DEFAULT_TLS_VERSIONS: tuple[TlsVersion, ...] = ("1.2", "1.3")
_ORDER: tuple[TlsVersion, ...] = ("1.0", "1.1", "1.2", "1.3")
START_TIMEOUT = 10.0
_PORT_ATTEMPTS = 4
REQUIRE_ENV = "MTLSWEEP_REQUIRE_SERVERS"


class MissingBinaryError(RuntimeError):
    """The server program is not installed."""


def binary(name: str) -> str:
    """Absolute path of ``name`` (PATH plus sbin dirs) or :class:`MissingBinaryError`."""
    path = find_binary(name)
    if path is None:
        raise MissingBinaryError(f"{name} not found on PATH or in sbin directories")
    return path


def require_binary(name: str) -> str:
    """Path of ``name``; otherwise skip the test (or fail under ``MTLSWEEP_REQUIRE_SERVERS=1``)."""
    try:
        return binary(name)
    except MissingBinaryError as e:
        msg = f"{e} (needed for a real-server test)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{msg}; {REQUIRE_ENV}=1 makes this a failure", pytrace=False)
    pytest.skip(msg)


@dataclass
class RunningServer:
    """A started server: connect to ``host:port``; ``log()`` for assertion messages."""

    kind: str
    host: str
    port: int
    process: ManagedProcess
    workdir: Path
    config: Path | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def alive(self) -> bool:
        return self.process.alive()

    def log(self) -> str:
        return self.process.log()


def _check_versions(versions: Sequence[TlsVersion]) -> tuple[TlsVersion, TlsVersion]:
    if not versions:
        raise ValueError("tls_versions must not be empty")
    idx = sorted(_ORDER.index(v) for v in versions)
    if idx != list(range(idx[0], idx[-1] + 1)):
        raise ValueError(f"tls_versions must be contiguous, got {versions!r}")
    return _ORDER[idx[0]], _ORDER[idx[-1]]


@contextlib.contextmanager
def _serve(
    kind: str,
    workdir: Path,
    make_argv: Callable[[int], Sequence[str]],
    *,
    stop_signal: signal.Signals = signal.SIGTERM,
    extra_logs: Callable[[int], Sequence[Path]] = lambda _port: (),
    config: Callable[[int], Path | None] = lambda _port: None,
    details: dict[str, object] | None = None,
    timeout: float = START_TIMEOUT,
) -> Iterator[RunningServer]:
    """Start ``make_argv(port)`` on a free port (retrying if the port was taken)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        argv = make_argv(port)
        proc = ManagedProcess(argv, workdir, name=kind, stop_signal=stop_signal)
        proc.extra_logs.extend(extra_logs(port))
        with proc:
            try:
                wait_for_listen(LOOPBACK, port, timeout, proc, tls=True)
            except ServerStartError:
                if attempt < _PORT_ATTEMPTS and "in use" in proc.log():
                    continue  # lost the free-port race; the with-block reaps proc
                raise
            yield RunningServer(
                kind, LOOPBACK, port, proc, workdir, config(port), dict(details or {})
            )
            return
    raise AssertionError("unreachable")


ServerFactory = Callable[..., RunningServer]
"""What the ``*_server`` fixtures yield: call with a starter's keyword arguments."""


# --- openssl s_server ------------------------------------------------------------

OPENSSL_PROTO = {"1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}


def openssl_s_server(
    pki: TestPKI,
    workdir: Path,
    *,
    verify: Literal["require", "request"] | None = "require",
    ca_file: Path | None = None,
    no_ca_names: bool = False,
    tls_versions: Sequence[TlsVersion] = DEFAULT_TLS_VERSIONS,
    server_files: PemPaths | None = None,
    extra_args: Sequence[str] = (),
    www: bool = True,
) -> contextlib.AbstractContextManager[RunningServer]:
    """``openssl s_server -www`` on 127.0.0.1 (``www=False``: without ``-www``, which
    ``-early_data`` cannot be combined with; s_server then serves one client at a time).

    ``verify="require"`` is ``-Verify 1`` (no cert: TLS 1.2 handshake_failure alert,
    TLS 1.3 certificate_required alert after the client's Finished); ``"request"``
    is ``-verify 1``; None sends no CertificateRequest.  ``-verify_return_error`` is
    always given, so an untrusted client certificate is rejected.  ``ca_file``
    (default: the client CA bundle) is both the trust store and the CA-names list;
    ``no_ca_names`` adds ``-no_ca_names``: empty DN list in TLS 1.2, and an EMPTY
    certificate_authorities extension in TLS 1.3.
    """
    exe = binary("openssl")
    lo, hi = _check_versions(tls_versions)
    files = server_files or pki.server_files
    ca = ca_file or pki.client_ca_bundle

    def argv(port: int) -> list[str]:
        args = [
            exe, "s_server", "-accept", f"{LOOPBACK}:{port}", *(["-www"] if www else []),
            "-cert", str(files.cert), "-key", str(files.key),
            "-min_protocol", OPENSSL_PROTO[lo], "-max_protocol", OPENSSL_PROTO[hi],
        ]
        if lo in ("1.0", "1.1"):
            args += ["-cipher", "DEFAULT:@SECLEVEL=0"]
        if verify is not None:
            args += ["-Verify" if verify == "require" else "-verify", "1"]
            args += ["-verify_return_error", "-CAfile", str(ca)]
        if no_ca_names:
            args.append("-no_ca_names")
        return [*args, *extra_args]

    details: dict[str, object] = {"verify": verify, "no_ca_names": no_ca_names,
                                  "tls_versions": tuple(tls_versions)}
    return _serve("openssl-s_server", workdir, argv, details=details)


# --- nginx -----------------------------------------------------------------------

NginxMode = Literal["ca_names", "optional", "no_ca_names", "trusted_only", "optional_no_ca",
                    "none"]

# Client-auth directives per mode.  Findings with nginx 1.22.1 / OpenSSL 3.0.x:
# * "ssl_verify_client on|optional" without "ssl_client_certificate" is refused at
#   config time ("[emerg] no ssl_client_certificate for ssl_verify_client"), even
#   when "ssl_trusted_certificate" is set; only nginx >= 1.27.2 drops that
#   requirement.  ssl_client_certificate is also what fills the CA-names list.
# * "no_ca_names": on + ssl_client_certificate + "ssl_conf_command Options -CANames"
#   (SSL_OP_DISABLE_TLSEXT_CA_NAMES): same verification and HTTP results as
#   "ca_names", but no names: an empty DN list in TLS 1.2, and in TLS 1.3 an EMPTY
#   certificate_authorities extension (OpenSSL 3.0 still emits the extension,
#   with a zero-length list, whenever a CA list is configured).
# * "trusted_only": the CA only in ssl_trusted_certificate, with
#   "ssl_verify_client optional_no_ca" (the only verify mode 1.22 accepts without
#   ssl_client_certificate).  The CertificateRequest has no names (empty DN list
#   in TLS 1.2, no certificate_authorities extension at all in TLS 1.3).  The
#   client chain IS verified against the trusted store ($ssl_client_verify is
#   SUCCESS / FAILED:... / NONE) but nginx tolerates "unknown issuer" failures in
#   this mode, so the config enforces the result in HTTP: 403 unless SUCCESS.
#   (Other verify errors, e.g. an expired cert, still give nginx's HTTP 400.)
# * "optional_no_ca": "ssl_verify_client optional_no_ca" and no CA at all: a
#   CertificateRequest without names, and every request answered 200, with or without a
#   certificate, trusted or not (self-signed and unknown-issuer errors are tolerated).
# * nginx never fails the TLS handshake for a missing/bad client certificate (its
#   verify callback always continues): no alert; "on" answers HTTP 400 after a
#   completed handshake ("No required SSL certificate was sent" /
#   "The SSL certificate error").
_NGINX_AUTH: dict[str, str] = {
    "ca_names": "ssl_verify_client on;\n        ssl_client_certificate {ca};",
    "optional": "ssl_verify_client optional;\n        ssl_client_certificate {ca};",
    "no_ca_names": (
        "ssl_verify_client on;\n        ssl_client_certificate {ca};\n"
        "        ssl_conf_command Options -CANames;"
    ),
    "trusted_only": (
        "ssl_verify_client optional_no_ca;\n        ssl_trusted_certificate {ca};\n"
        '        if ($ssl_client_verify != SUCCESS) {{ return 403 "client cert: '
        '$ssl_client_verify\\n"; }}'
    ),
    "optional_no_ca": "ssl_verify_client optional_no_ca;",
    "none": "",
}

_NGINX_CONF = """\
{user}master_process {master};
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections {worker_connections}; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body_temp;
    proxy_temp_path {dir}/proxy_temp;
    fastcgi_temp_path {dir}/fastcgi_temp;
    uwsgi_temp_path {dir}/uwsgi_temp;
    scgi_temp_path {dir}/scgi_temp;
    server {{
        listen {host}:{port} ssl{http2};{more_listens}
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        {auth}
        {extra}
        location / {{
            default_type text/plain;
            return 200 "ok $ssl_protocol $ssl_client_verify $ssl_client_s_dn\\n";
        }}
    }}
}}
"""


def nginx(
    pki: TestPKI,
    workdir: Path,
    *,
    mode: NginxMode = "ca_names",
    ca_file: Path | None = None,
    tls_versions: Sequence[TlsVersion] = DEFAULT_TLS_VERSIONS,
    master_process: bool = False,
    server_files: PemPaths | None = None,
    extra_directives: str = "",
    http2: bool = False,
    extra_addresses: Sequence[str] = (),
    worker_connections: int = 128,
) -> contextlib.AbstractContextManager[RunningServer]:
    """nginx in the foreground (``daemon off``), everything under ``workdir``.

    See ``_NGINX_AUTH`` for the modes.  ``http2`` adds ``http2`` to the ``listen``
    directive (nginx 1.22 then offers ALPN h2, http/1.1, http/1.0, http/0.9 instead of
    http/1.1, http/1.0, http/0.9).  ``extra_directives`` go into the ``server`` block
    (e.g. ``ssl_session_tickets off;``).  ``extra_addresses`` (other 127.0.0.0/8 addresses)
    get the same port and configuration, for sweeps over many IP addresses without many
    servers.  ``master_process=False`` (default) runs one
    process; with True a master + 1 worker run (workers as ``root`` when euid is 0,
    so they never need to read the 0700 pytest tmp dirs as ``nobody``); cleanup
    SIGTERMs the master and then SIGKILLs any leftover member of its group.
    """
    exe = binary("nginx")
    _check_versions(tls_versions)
    files = server_files or pki.server_files
    ca = ca_file or pki.client_ca_bundle
    d = workdir.resolve()
    suffix = " http2" if http2 else ""

    def conf_path(port: int) -> Path:
        return d / f"nginx-{port}.conf"

    def argv(port: int) -> list[str]:
        conf = _NGINX_CONF.format(
            user="user root;\n" if master_process and os.geteuid() == 0 else "",
            master="on" if master_process else "off",
            dir=d, host=LOOPBACK, port=port, cert=files.cert, key=files.key,
            protocols=" ".join(OPENSSL_PROTO[v] for v in tls_versions),
            auth=_NGINX_AUTH[mode].format(ca=ca), extra=extra_directives,
            http2=suffix,
            more_listens="".join(f"\n        listen {address}:{port} ssl{suffix};"
                                 for address in extra_addresses),
            worker_connections=worker_connections,
        )
        conf_path(port).write_text(conf)
        return [exe, "-p", f"{d}/", "-c", str(conf_path(port)), "-e", f"{d}/error.log",
                "-g", "daemon off;"]

    details: dict[str, object] = {"mode": mode, "tls_versions": tuple(tls_versions),
                                  "master_process": master_process, "http2": http2}
    return _serve("nginx", workdir, argv, extra_logs=lambda _p: [d / "error.log"],
                  config=conf_path, details=details)


# --- gnutls-serv -----------------------------------------------------------------

GNUTLS_VERS = {"1.0": "VERS-TLS1.0", "1.1": "VERS-TLS1.1", "1.2": "VERS-TLS1.2",
               "1.3": "VERS-TLS1.3"}


def gnutls_priority(tls_versions: Sequence[TlsVersion]) -> str:
    """A GnuTLS priority string enabling exactly ``tls_versions``."""
    _check_versions(tls_versions)
    return "NORMAL:-VERS-ALL:" + ":".join(f"+{GNUTLS_VERS[v]}" for v in tls_versions)


def gnutls_serv(
    pki: TestPKI,
    workdir: Path,
    *,
    require_client_cert: bool = True,
    request_client_cert: bool = True,
    verify_client_cert: bool = True,
    ca_file: Path | None = None,
    tls_versions: Sequence[TlsVersion] = DEFAULT_TLS_VERSIONS,
    priority: str | None = None,
    server_files: PemPaths | None = None,
    extra_args: Sequence[str] = (),
) -> contextlib.AbstractContextManager[RunningServer]:
    """``gnutls-serv --http``.  It has no bind-address option: it listens on ALL
    interfaces (0.0.0.0 and ::) on the port; tests still only connect to 127.0.0.1.

    ``require_client_cert`` -> ``--require-client-cert``; otherwise gnutls-serv
    requests (but does not require) a certificate unless ``request_client_cert`` is
    False (``--disable-client-cert``).  ``verify_client_cert`` ->
    ``--verify-client-cert``.  ``ca_file`` (default: client CA bundle) is
    ``--x509cafile``.  ``priority`` overrides the one built from ``tls_versions``.
    """
    exe = binary("gnutls-serv")
    files = server_files or pki.server_files
    ca = ca_file or pki.client_ca_bundle
    prio = priority or gnutls_priority(tls_versions)

    def argv(port: int) -> list[str]:
        args = [
            exe, "--http", "--port", str(port),
            "--x509certfile", str(files.cert), "--x509keyfile", str(files.key),
            "--x509cafile", str(ca), "--priority", prio,
        ]
        if require_client_cert:
            args.append("--require-client-cert")
        elif not request_client_cert:
            args.append("--disable-client-cert")
        if verify_client_cert:
            args.append("--verify-client-cert")
        return [*args, *extra_args]

    details: dict[str, object] = {
        "require_client_cert": require_client_cert, "priority": prio,
        "request_client_cert": request_client_cert, "verify_client_cert": verify_client_cert,
    }
    return _serve("gnutls-serv", workdir, argv, details=details)


# --- haproxy ---------------------------------------------------------------------

HaproxyVerify = Literal["required", "optional", "none"]

# Findings with HAProxy 2.6 / OpenSSL 3.0:
# * "verify required" + "ca-verify-file" (and no "ca-file"): the CA verifies client
#   certificates but is not advertised: empty DN list in TLS 1.2, no
#   certificate_authorities extension in TLS 1.3.  "ca-file" advertises its names.
# * Without a certificate: TLS 1.3 certificate_required alert after the client's
#   Finished, TLS 1.2 handshake_failure alert in the handshake; an untrusted one:
#   unknown_ca (after the handshake in TLS 1.3).
# * "crt-ignore-err 10" (X509_V_ERR_CERT_HAS_EXPIRED) lets expired client certificates
#   through: the counterpart of ALB's IgnoreClientCertificateExpiry.
_HAPROXY_CONF = """\
global
    maxconn 64
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind {host}:{port} ssl crt {crt} {verify} ssl-min-ver {min_ver} ssl-max-ver {max_ver}
    http-request return status 200 content-type text/plain string "ok"
"""
_HAPROXY_VERS = {"1.0": "TLSv1.0", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}


def haproxy(
    pki: TestPKI,
    workdir: Path,
    *,
    verify: HaproxyVerify = "required",
    ca_file: Path | None = None,
    advertise_ca_names: bool = False,
    ignore_errors: Sequence[int] = (),
    tls_versions: Sequence[TlsVersion] = DEFAULT_TLS_VERSIONS,
    server_files: PemPaths | None = None,
) -> contextlib.AbstractContextManager[RunningServer]:
    """``haproxy -db`` (foreground) with one HTTP frontend answering 200 to everything.

    ``verify`` is the bind line's ``verify``; the client CA (default: the bundle) goes in
    ``ca-verify-file`` (verify only, names not sent), or in ``ca-file`` (names sent) with
    ``advertise_ca_names``.  ``ignore_errors`` becomes ``crt-ignore-err`` (X509 error codes
    tolerated on the client certificate, e.g. 10 for expired).
    """
    exe = binary("haproxy")
    lo, hi = _check_versions(tls_versions)
    files = server_files or pki.server_files
    ca = ca_file or pki.client_ca_bundle
    d = workdir.resolve()
    d.mkdir(parents=True, exist_ok=True)
    crt = d / "server-with-key.pem"
    crt.write_bytes(files.chain.read_bytes() + files.key.read_bytes())
    crt.chmod(0o600)
    verify_args = f"verify {verify}"
    if verify != "none":
        verify_args += f" {'ca-file' if advertise_ca_names else 'ca-verify-file'} {ca}"
    if ignore_errors:
        verify_args += " crt-ignore-err " + ",".join(str(code) for code in ignore_errors)

    def conf_path(port: int) -> Path:
        return d / f"haproxy-{port}.cfg"

    def argv(port: int) -> list[str]:
        conf_path(port).write_text(_HAPROXY_CONF.format(
            host=LOOPBACK, port=port, crt=crt, verify=verify_args,
            min_ver=_HAPROXY_VERS[lo], max_ver=_HAPROXY_VERS[hi]))
        return [exe, "-db", "-f", str(conf_path(port))]

    details: dict[str, object] = {"verify": verify, "advertise_ca_names": advertise_ca_names,
                                  "ignore_errors": tuple(ignore_errors)}
    return _serve("haproxy", workdir, argv, config=conf_path, details=details)


# --- caddy -----------------------------------------------------------------------

CaddyClientAuth = Literal["require_and_verify", "verify_if_given", "request", "require"]
_CADDY_VERS = {"1.2": "tls1.2", "1.3": "tls1.3"}


def caddy(
    pki: TestPKI | None,
    workdir: Path,
    *,
    client_auth: CaddyClientAuth | None = "require_and_verify",
    ca_file: Path | None = None,
    tls_versions: Sequence[TlsVersion] | None = DEFAULT_TLS_VERSIONS,
    server_files: PemPaths | None = None,
) -> contextlib.AbstractContextManager[RunningServer]:
    """``caddy run`` with a JSON config: one HTTPS server answering 200 "ok", the admin API and
    automatic HTTPS off, state under ``workdir``. ``client_auth`` is the connection policy's
    ``client_authentication.mode``, trusting ``ca_file`` (default: the client CA bundle); None
    asks for no client certificate. ``tls_versions`` None sets no protocol range (Caddy's
    default); with ``pki`` None, ``server_files`` (and ``ca_file`` for client auth) are needed.
    Caddy (Go crypto/tls) supports TLS 1.2 and 1.3 only.
    """
    exe = binary("caddy")
    versions = _check_versions(tls_versions) if tls_versions is not None else None
    files = server_files or (pki.server_files if pki is not None else None)
    ca = ca_file or (pki.client_ca_bundle if pki is not None else None)
    if files is None or (client_auth is not None and ca is None):
        raise ValueError("caddy without a test PKI needs server_files (and ca_file)")
    d = workdir.resolve()

    def conf_path(port: int) -> Path:
        return d / f"caddy-{port}.json"

    def argv(port: int) -> list[str]:
        policy: dict[str, object] = {"certificate_selection": {"any_tag": ["test"]}}
        if versions is not None:
            policy.update(protocol_min=_CADDY_VERS[versions[0]],
                          protocol_max=_CADDY_VERS[versions[1]])
        if client_auth is not None:  # None: no client authentication at all
            policy["client_authentication"] = {
                "trusted_ca_certs_pem_files": [str(ca)], "mode": client_auth}
        config = {
            "admin": {"disabled": True},
            "logging": {"logs": {"default": {"level": "ERROR"}}},
            "storage": {"module": "file_system", "root": str(d / "data")},
            "apps": {
                "tls": {"certificates": {"load_files": [
                    {"certificate": str(files.chain), "key": str(files.key), "tags": ["test"]}]}},
                "http": {"servers": {"test": {
                    "listen": [f"{LOOPBACK}:{port}"],
                    "automatic_https": {"disable": True},
                    "tls_connection_policies": [policy],
                    "routes": [{"handle": [{"handler": "static_response", "status_code": 200,
                                            "body": "ok"}]}],
                }}},
            },
        }
        conf_path(port).write_text(json.dumps(config))
        # env(1) execs caddy in place (same PID), with its state directories in workdir.
        return ["env", f"HOME={d}", f"XDG_DATA_HOME={d}/data", f"XDG_CONFIG_HOME={d}/config",
                exe, "run", "--config", str(conf_path(port))]

    details: dict[str, object] = {"client_auth": client_auth,
                                  "tls_versions": tuple(tls_versions or ("default",))}
    return _serve("caddy", workdir, argv, config=conf_path, details=details)


# --- Apache httpd ----------------------------------------------------------------

# Findings with Apache 2.4 (Debian apache2) / OpenSSL 3.0:
# * "SSLVerifyClient require" inside <Location /secure> asks for a certificate only once a
#   request names /secure: in TLS 1.2 with a HelloRequest and a renegotiation whose
#   CertificateRequest lists the CA names (without a certificate: handshake_failure alert);
#   in TLS 1.3 with a post-handshake CertificateRequest, only to clients that offered
#   post_handshake_auth (without a certificate: certificate_required alert). A TLS 1.3 client
#   that did not offer it gets "403 Forbidden" ("cannot perform post-handshake
#   authentication" in the error log).
# * Run as root, the process switches to "User"; responses come from mod_status's handler,
#   so the children read no file in the (0700) pytest directories.
_APACHE_CONF = """\
ServerRoot {dir}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LogLevel info ssl:info
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule socache_shmcb_module {modules}/mod_socache_shmcb.so
LoadModule ssl_module {modules}/mod_ssl.so
LoadModule status_module {modules}/mod_status.so
{user}
Listen {host}:{port}
ServerName localhost
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
SSLSessionCache shmcb:{dir}/scache(64000)
<Location />
    SetHandler server-status
</Location>
<VirtualHost {host}:{port}>
    SSLEngine on
    SSLProtocol -all {protocols}
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
    SSLCACertificateFile {ca}
    <Location {protected}>
        SSLVerifyClient require
        SSLVerifyDepth 3
    </Location>
</VirtualHost>
"""
APACHE_MODULES = Path("/usr/lib/apache2/modules")


def apache(
    pki: TestPKI,
    workdir: Path,
    *,
    protected_path: str = "/secure",
    ca_file: Path | None = None,
    tls_versions: Sequence[TlsVersion] = DEFAULT_TLS_VERSIONS,
    server_files: PemPaths | None = None,
) -> contextlib.AbstractContextManager[RunningServer]:
    """Apache httpd (``apache2 -X``: one process, foreground) answering every path with 200,
    and requiring a client certificate (``SSLVerifyClient require``) only under
    ``protected_path``: the per-path client authentication of renegotiation (TLS 1.2) and
    post-handshake authentication (TLS 1.3)."""
    exe = binary("apache2")
    _check_versions(tls_versions)
    files = server_files or pki.server_files
    ca = ca_file or pki.client_ca_bundle
    d = workdir.resolve()

    def conf_path(port: int) -> Path:
        return d / f"apache-{port}.conf"

    def argv(port: int) -> list[str]:
        conf_path(port).write_text(_APACHE_CONF.format(
            dir=d, modules=APACHE_MODULES, host=LOOPBACK, port=port,
            user="User nobody\nGroup nogroup" if os.geteuid() == 0 else "",
            protocols=" ".join(f"+{OPENSSL_PROTO[v]}" for v in tls_versions),
            cert=files.chain, key=files.key, ca=ca, protected=protected_path))
        return [exe, "-X", "-f", str(conf_path(port))]

    details: dict[str, object] = {"protected_path": protected_path,
                                  "tls_versions": tuple(tls_versions)}
    return _serve("apache2", workdir, argv, stop_signal=signal.SIGTERM,
                  extra_logs=lambda _p: [d / "error.log"], config=conf_path, details=details)


# --- virtual hosts: per-SNI client authentication --------------------------------

OPEN_NAME = "open.test"
MTLS_NAME = "mtls.test"

# Findings with nginx 1.22 / OpenSSL 3.0: client verification follows the SNI's server block
# (no SNI or an unknown name: the default_server's); "ssl_verify_client on" completes the
# handshake without a certificate and answers HTTP 400. A request whose Host names a server
# block other than the SNI's, when that block verifies client certificates, is answered
# 421 Misdirected Request.
_NGINX_VHOSTS_CONF = """\
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body_temp;
    proxy_temp_path {dir}/proxy_temp;
    fastcgi_temp_path {dir}/fastcgi_temp;
    uwsgi_temp_path {dir}/uwsgi_temp;
    scgi_temp_path {dir}/scgi_temp;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    server {{
        listen {host}:{port} ssl default_server;
        server_name {open};
        {open_auth}
        location / {{ return 200 "{open} $ssl_client_verify\\n"; }}
    }}
    server {{
        listen {host}:{port} ssl;
        server_name {mtls};
        {mtls_auth}
        location / {{ return 200 "{mtls} $ssl_client_verify\\n"; }}
    }}
}}
"""


def nginx_vhosts(
    pki: TestPKI,
    workdir: Path,
    *,
    default_requires: bool = False,
) -> contextlib.AbstractContextManager[RunningServer]:
    """nginx with two server blocks on one port: ``open.test`` (default_server, no client
    auth) and ``mtls.test`` (``ssl_verify_client on``); ``default_requires`` swaps them, so
    the default block requires a certificate and the named one does not."""
    exe = binary("nginx")
    d = workdir.resolve()
    files = pki.server_files
    auth = f"ssl_verify_client on; ssl_client_certificate {pki.client_ca_bundle};"
    details: dict[str, object] = {"default_requires": default_requires}

    def conf_path(port: int) -> Path:
        return d / f"nginx-{port}.conf"

    def argv(port: int) -> list[str]:
        conf_path(port).write_text(_NGINX_VHOSTS_CONF.format(
            dir=d, host=LOOPBACK, port=port, cert=files.chain, key=files.key,
            open=MTLS_NAME if default_requires else OPEN_NAME,
            mtls=OPEN_NAME if default_requires else MTLS_NAME,
            open_auth=auth if default_requires else "", mtls_auth="" if default_requires
            else auth))
        return [exe, "-p", f"{d}/", "-c", str(conf_path(port)), "-e", f"{d}/error.log",
                "-g", "daemon off;"]

    return _serve("nginx", workdir, argv, extra_logs=lambda _p: [d / "error.log"],
                  config=conf_path, details=details)


# Findings with HAProxy 2.6: a crt-list gives each SNI its own verify setting, but HTTP
# routing ("http-request ... if { hdr(host) ... }") reads the Host header after TLS is done,
# so a connection made for open.test without a certificate reaches mtls.test's answer when it
# names mtls.test in Host (the fronting hole Cloud Foundry's disable_domain_fronting closes).
_HAPROXY_FRONTING_CONF = """\
global
    maxconn 64
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind {host}:{port} ssl crt-list {crt_list} alpn h2,http/1.1
    acl host_is_mtls hdr_beg(host) -i {mtls}
    http-request return status 200 content-type text/plain string "{mtls} secret" if host_is_mtls
    http-request return status 200 content-type text/plain string "{open} public"
"""


def haproxy_fronting(pki: TestPKI, workdir: Path, *, two_cas: bool = False
                     ) -> contextlib.AbstractContextManager[RunningServer]:
    """haproxy terminating TLS with per-SNI client verification from a crt-list
    (``open.test``: none, ``mtls.test``: ``verify required``) and routing on Host.

    ``two_cas``: both names require a certificate, ``open.test`` from client CA one and
    ``mtls.test`` from client CA two: a client of the first reaches the second through Host."""
    exe = binary("haproxy")
    d = workdir.resolve()
    d.mkdir(parents=True, exist_ok=True)
    crt = d / "server-with-key.pem"
    crt.write_bytes(pki.server_files.chain.read_bytes() + pki.server_files.key.read_bytes())
    crt.chmod(0o600)
    crt_list = d / "crt-list.txt"
    open_verify = (f"verify required ca-file {pki.client_ca_one_file}" if two_cas
                   else "verify none")
    mtls_ca = pki.client_ca_two_file if two_cas else pki.client_ca_bundle
    crt_list.write_text(f"{crt} [{open_verify}] {OPEN_NAME}\n"
                        f"{crt} [verify required ca-file {mtls_ca}] {MTLS_NAME}\n")

    def conf_path(port: int) -> Path:
        return d / f"haproxy-{port}.cfg"

    def argv(port: int) -> list[str]:
        conf_path(port).write_text(_HAPROXY_FRONTING_CONF.format(
            host=LOOPBACK, port=port, crt_list=crt_list, open=OPEN_NAME, mtls=MTLS_NAME))
        return [exe, "-db", "-f", str(conf_path(port))]

    return _serve("haproxy", workdir, argv, config=conf_path, details={"two_cas": two_cas})


# An SNI router (HAProxy 2.6): a TCP frontend reads the SNI from the ClientHello
# (req.ssl_sni) and passes the TLS connection through to one TLS frontend per name, each
# answering one fixed text whatever the Host says. open.test requires nothing, mtls.test
# "verify required": a request with SNI open.test and Host mtls.test gets open.test's answer.
_HAPROXY_SNI_ROUTER_CONF = """\
global
    maxconn 64
defaults
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend router
    mode tcp
    bind {host}:{port}
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    use_backend to_mtls if {{ req.ssl_sni -i {mtls} }}
    default_backend to_open
backend to_open
    mode tcp
    server open abns@mtlsweep-{port}-open
backend to_mtls
    mode tcp
    server mtls abns@mtlsweep-{port}-mtls
frontend open_site
    mode http
    bind abns@mtlsweep-{port}-open ssl crt {crt} alpn h2,http/1.1
    http-request return status 200 content-type text/plain string "{open} public"
frontend mtls_site
    mode http
    bind abns@mtlsweep-{port}-mtls ssl crt {crt} verify required ca-file {ca} alpn h2,http/1.1
    http-request return status 200 content-type text/plain string "{mtls} secret"
"""


def haproxy_sni_router(pki: TestPKI, workdir: Path
                       ) -> contextlib.AbstractContextManager[RunningServer]:
    """haproxy in TCP mode routing by SNI alone to one TLS site per name (``open.test``: no
    client auth, ``mtls.test``: ``verify required``): Host never changes the site, so SNI
    ``open.test`` with Host ``mtls.test`` is open.test's own answer, not a bypass."""
    exe = binary("haproxy")
    d = workdir.resolve()
    d.mkdir(parents=True, exist_ok=True)
    crt = d / "server-with-key.pem"
    crt.write_bytes(pki.server_files.chain.read_bytes() + pki.server_files.key.read_bytes())
    crt.chmod(0o600)

    def conf_path(port: int) -> Path:
        return d / f"haproxy-sni-{port}.cfg"

    def argv(port: int) -> list[str]:
        conf_path(port).write_text(_HAPROXY_SNI_ROUTER_CONF.format(
            host=LOOPBACK, port=port, crt=crt, ca=pki.client_ca_bundle, open=OPEN_NAME,
            mtls=MTLS_NAME))
        return [exe, "-db", "-f", str(conf_path(port))]

    return _serve("haproxy", workdir, argv, config=conf_path)

