"""Real servers that speak a plaintext protocol before TLS, started on 127.0.0.1 in a temp
directory with the test PKI: PostgreSQL, MariaDB, OpenLDAP slapd, Exim (SMTP), Dovecot
(IMAP, POP3), vsftpd (FTP) and Prosody (XMPP). Each is a context manager yielding a
``RunningServer``; the process is ended by PID on exit. Binaries missing raise
``MissingBinaryError`` (the fixtures skip, or fail under ``MTLSWEEP_REQUIRE_SERVERS=1``)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from .pki import TestPKI
from .processes import LOOPBACK, ManagedProcess, ServerStartError, free_port, wait_for_listen
from .servers import REQUIRE_ENV, MissingBinaryError, RunningServer, binary

START_TIMEOUT = 30.0
_PORT_ATTEMPTS = 3


def _first(patterns: Sequence[str], name: str) -> str:
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    try:
        return binary(name)
    except MissingBinaryError:
        raise MissingBinaryError(f"{name} not found ({', '.join(patterns)} or PATH)") from None


def postgres_bin(name: str) -> str:
    return _first([f"/usr/lib/postgresql/*/bin/{name}", f"/usr/local/bin/{name}"], name)


def _owned_copy(source: Path, target: Path, user: str, mode: int = 0o600) -> Path:
    shutil.copyfile(source, target)
    entry = pwd.getpwnam(user)
    os.chown(target, entry.pw_uid, entry.pw_gid)
    os.chmod(target, mode)
    return target


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def _listening(kind: str, workdir: Path, argv_for: Callable[[int], Sequence[str]], *,
               env: dict[str, str] | None = None, prepare: Callable[[int], None] = lambda _p: None,
               extra_logs: Callable[[int], Sequence[Path]] = lambda _p: (),
               stop_signal: signal.Signals = signal.SIGTERM) -> Iterator[RunningServer]:
    """Start ``argv_for(port)`` on a free port and wait until it accepts TCP."""
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        prepare(port)
        process = ManagedProcess(argv_for(port), workdir, name=kind, env=env,
                                 stop_signal=stop_signal)
        process.extra_logs.extend(extra_logs(port))
        with process:
            try:
                wait_for_listen(LOOPBACK, port, START_TIMEOUT, process)
            except ServerStartError:
                if attempt < _PORT_ATTEMPTS and "in use" in process.log():
                    continue
                raise
            yield RunningServer(kind, LOOPBACK, port, process, workdir)
            return


# --- PostgreSQL -----------------------------------------------------------------------

@contextlib.contextmanager
def postgres(pki: TestPKI, workdir: Path) -> Iterator[RunningServer]:
    """initdb as the ``postgres`` user, ssl=on with the client CA bundle, and one rule:
    ``hostssl all all 127.0.0.1/32 trust clientcert=verify-full``."""
    initdb, server = postgres_bin("initdb"), postgres_bin("postgres")
    # PostgreSQL refuses to run as root: as root, run it as the ``postgres`` user.
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    runuser = [binary("runuser"), "-u", user, "--"] if os.geteuid() == 0 else []
    with _user_directory(user, "pg") as home:
        yield from _postgres(pki, workdir, home, initdb, server, runuser, user)


@contextlib.contextmanager
def _user_directory(user: str, tag: str) -> Iterator[Path]:
    """A fresh directory ``user`` owns, under /tmp: pytest's own temp tree is root-only."""
    home = Path(tempfile.mkdtemp(prefix=f"mtlsweep-{tag}-"))
    try:
        os.chmod(home, 0o711)
        _chown_tree(home, user)
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _postgres(pki: TestPKI, workdir: Path, home: Path, initdb: str, server: str,
              runuser: list[str], user: str) -> Iterator[RunningServer]:
    data = home / "data"
    subprocess.run([*runuser, initdb, "-D", str(data), "-A", "trust",
                    "--no-sync", "-U", "postgres"], check=True, capture_output=True,
                   timeout=120)
    cert = _owned_copy(pki.server_files.cert, data / "server.crt", user)
    key = _owned_copy(pki.server_files.key, data / "server.key", user)
    ca = _owned_copy(pki.client_ca_bundle, data / "client-ca.crt", user)
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 trust clientcert=verify-full\n")

    def argv(port: int) -> list[str]:
        return [*runuser, server, "-D", str(data), "-k", str(home),
                "-h", LOOPBACK, "-p", str(port), "-c", "ssl=on", "-c", f"ssl_cert_file={cert}",
                "-c", f"ssl_key_file={key}", "-c", f"ssl_ca_file={ca}",
                "-c", "fsync=off", "-c", "shared_buffers=8MB", "-c", "max_connections=40"]

    with _listening("postgres", workdir, argv) as running:
        yield running


# --- MariaDB ----------------------------------------------------------------------------

#: The account the MariaDB server makes at start: it may log in only with a certificate.
MARIADB_X509_USER = "certuser"


@contextlib.contextmanager
def mariadb(pki: TestPKI, workdir: Path) -> Iterator[RunningServer]:
    """mariadb-install-db into ``workdir``, TLS with the client CA bundle, and one
    ``REQUIRE X509`` user (created by an init file)."""
    install, server = binary("mariadb-install-db"), _first(["/usr/sbin/mariadbd"], "mariadbd")
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    user = pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run([install, "--no-defaults", f"--datadir={data}", f"--user={user}",
                    "--auth-root-authentication-method=normal", "--skip-test-db",
                    "--skip-name-resolve"], check=True, capture_output=True, timeout=180,
                   cwd=workdir)
    init = workdir / "init.sql"
    init.write_text(f"CREATE USER IF NOT EXISTS '{MARIADB_X509_USER}'@'%' REQUIRE X509;\n")

    def argv(port: int) -> list[str]:
        return [server, "--no-defaults", f"--datadir={data}", f"--user={user}",
                f"--port={port}", f"--bind-address={LOOPBACK}", f"--socket={workdir}/sock",
                f"--pid-file={workdir}/pid", "--skip-name-resolve", "--skip-log-bin",
                "--innodb-buffer-pool-size=8M", "--performance-schema=OFF",
                f"--ssl-cert={pki.server_files.chain}", f"--ssl-key={pki.server_files.key}",
                f"--ssl-ca={pki.client_ca_bundle}", f"--init-file={init}",
                f"--log-error={workdir}/error.log"]

    # A throwaway data directory: SIGKILL spares InnoDB's seconds-long clean shutdown.
    with _listening("mariadb", workdir, argv, stop_signal=signal.SIGKILL,
                    extra_logs=lambda _p: [workdir / "error.log"]) as running:
        yield running


# --- OpenLDAP slapd ------------------------------------------------------------------------

_SLAPD_CONF = """\
include {schema}/core.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {workdir}/slapd.pid
argsfile {workdir}/slapd.args
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
TLSCACertificateFile {ca}
TLSVerifyClient {verify}
database mdb
maxsize 10485760
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
directory {workdir}/db
"""


@contextlib.contextmanager
def slapd(pki: TestPKI, workdir: Path, *, verify: str = "demand") -> Iterator[RunningServer]:
    """slapd on ``ldap://127.0.0.1:PORT`` (StartTLS), a temp slapd.conf with
    ``TLSVerifyClient <verify>`` (demand, allow, try, never) and the client CA bundle."""
    server = _first(["/usr/sbin/slapd"], "slapd")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "db").mkdir(exist_ok=True)
    conf = workdir / "slapd.conf"
    conf.write_text(_SLAPD_CONF.format(
        schema="/etc/ldap/schema", workdir=workdir, cert=pki.server_files.chain,
        key=pki.server_files.key, ca=pki.client_ca_bundle, verify=verify))

    def argv(port: int) -> list[str]:
        return [server, "-d", "0", "-f", str(conf), "-h", f"ldap://{LOOPBACK}:{port}/"]

    with _listening("slapd", workdir, argv) as running:
        yield running


# --- Exim (SMTP) ------------------------------------------------------------------------------

_EXIM_CONF = """\
primary_hostname = mtlsweep.test
spool_directory = {workdir}/spool
log_file_path = {workdir}/%slog
pid_file_path = {workdir}/exim.pid
local_interfaces = {host}
daemon_smtp_ports = {port}
tls_advertise_hosts = {advertise}
tls_certificate = {cert}
tls_privatekey = {key}
tls_verify_certificates = {ca}
{verify_option} = *
acl_smtp_rcpt = refuse_all
begin acl
refuse_all:
  deny message = this test server accepts no mail
"""


@contextlib.contextmanager
def exim(pki: TestPKI, workdir: Path, *, require: bool = True,
         advertise: bool = True) -> Iterator[RunningServer]:
    """An Exim daemon offering STARTTLS with the client CA bundle: ``tls_verify_hosts``
    (a verified certificate required) or, with ``require=False``, ``tls_try_verify_hosts``;
    ``advertise=False`` offers no STARTTLS at all."""
    server = _first(["/usr/sbin/exim4", "/usr/sbin/exim"], "exim4")
    user = next((name for name in ("Debian-exim", "exim") if _user_exists(name)), "root")
    with _user_directory(user, "exim") as home:
        yield from _exim(pki, workdir, home, server, require, user, advertise)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _exim(pki: TestPKI, workdir: Path, home: Path, server: str, require: bool,
          user: str, advertise: bool) -> Iterator[RunningServer]:
    """Exim drops to its own user to write its spool and logs and to read its key: they
    live in ``home``."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "exim.conf"
    cert = _owned_copy(pki.server_files.chain, home / "cert.pem", user)
    key = _owned_copy(pki.server_files.key, home / "key.pem", user)
    ca = _owned_copy(pki.client_ca_bundle, home / "ca.pem", user)

    def prepare(port: int) -> None:
        conf.write_text(_EXIM_CONF.format(
            workdir=home, host=LOOPBACK, port=port, cert=cert, key=key, ca=ca,
            verify_option="tls_verify_hosts" if require else "tls_try_verify_hosts",
            advertise="*" if advertise else ""))

    def argv(port: int) -> list[str]:
        return [server, "-C", str(conf), "-bdf", "-oX", str(port)]

    with _listening("exim", workdir, argv, prepare=prepare,
                    extra_logs=lambda _p: [home / "mainlog", home / "paniclog"]) as running:
        yield running


# --- Dovecot (IMAP and POP3) ------------------------------------------------------------------

_DOVECOT_CONF = """\
base_dir = {workdir}/run
state_dir = {workdir}/state
log_path = {workdir}/dovecot.log
protocols = imap pop3
listen = {host}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_ca = <{ca}
ssl_verify_client_cert = yes
auth_ssl_require_client_cert = yes
auth_mechanisms = plain external
passdb {{
  driver = static
  args = nopassword
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={workdir}/home
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


@contextlib.contextmanager
def dovecot(pki: TestPKI, workdir: Path) -> Iterator[RunningServer]:
    """Dovecot with IMAP (``port``) and POP3 (``details["pop3_port"]``) offering STARTTLS,
    ``ssl_verify_client_cert`` with the client CA bundle, and SASL ``EXTERNAL`` (certificate
    login) among its mechanisms."""
    server = _first(["/usr/sbin/dovecot"], "dovecot")
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "dovecot.conf"
    pop3_port = 0

    def prepare(port: int) -> None:
        nonlocal pop3_port
        pop3_port = free_port()
        conf.write_text(_DOVECOT_CONF.format(
            workdir=workdir, host=LOOPBACK, cert=pki.server_files.chain,
            key=pki.server_files.key, ca=pki.client_ca_bundle, imap=port, pop3=pop3_port))

    def argv(_port: int) -> list[str]:
        return [server, "-F", "-c", str(conf)]

    with _listening("dovecot", workdir, argv, prepare=prepare,
                    extra_logs=lambda _p: [workdir / "dovecot.log"]) as running:
        wait_for_listen(LOOPBACK, pop3_port, START_TIMEOUT, running.process)
        running.details["pop3_port"] = pop3_port
        yield running


_BINARIES: dict[str, Callable[[], object]] = {
    "postgres": lambda: (postgres_bin("initdb"), postgres_bin("postgres"),
                         binary("runuser") if os.geteuid() == 0 else None),
    "mariadb": lambda: (binary("mariadb-install-db"), _first(["/usr/sbin/mariadbd"], "mariadbd")),
    "slapd": lambda: _first(["/usr/sbin/slapd"], "slapd"),
    "exim": lambda: _first(["/usr/sbin/exim4", "/usr/sbin/exim"], "exim4"),
    "dovecot": lambda: _first(["/usr/sbin/dovecot"], "dovecot"),
    "vsftpd": lambda: _first(["/usr/sbin/vsftpd"], "vsftpd"),
    "prosody": lambda: _first(["/usr/bin/prosody"], "prosody"),
}


def require_server(kind: str) -> None:
    """Skip the test when ``kind``'s programs are missing; fail under
    ``MTLSWEEP_REQUIRE_SERVERS=1`` (CI installs them)."""
    try:
        _BINARIES[kind]()
    except MissingBinaryError as error:
        message = f"{error} (needed for a real-server test)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_ENV}=1 makes this a failure", pytrace=False)
        pytest.skip(message)


# --- vsftpd (FTP, AUTH TLS) ----------------------------------------------------------------

_VSFTPD_CONF = """\
listen=YES
listen_ipv6=NO
listen_address={host}
listen_port={port}
background=NO
anonymous_enable=YES
allow_anon_ssl=YES
anon_root={empty}
ftp_username=nobody
nopriv_user=nobody
local_enable=NO
secure_chroot_dir={empty}
seccomp_sandbox=NO
xferlog_enable=NO
ssl_enable=YES
ssl_tlsv1=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_ciphers=HIGH
rsa_cert_file={cert}
rsa_private_key_file={key}
ca_certs_file={ca}
require_cert={require}
validate_cert={require}
"""


@contextlib.contextmanager
def vsftpd(pki: TestPKI, workdir: Path, *, require: bool = True) -> Iterator[RunningServer]:
    """vsftpd offering ``AUTH TLS`` with the client CA bundle (``ca_certs_file``) and, with
    ``require``, ``require_cert`` + ``validate_cert``. Anonymous access is on only because
    vsftpd will not start with every login kind disabled; the tests never log in."""
    server = _first(["/usr/sbin/vsftpd"], "vsftpd")
    workdir.mkdir(parents=True, exist_ok=True)
    empty = workdir / "empty"
    empty.mkdir(exist_ok=True)
    os.chmod(empty, 0o755)
    conf = workdir / "vsftpd.conf"

    def prepare(port: int) -> None:
        conf.write_text(_VSFTPD_CONF.format(
            host=LOOPBACK, port=port, empty=empty, cert=pki.server_files.chain,
            key=pki.server_files.key, ca=pki.client_ca_bundle,
            require="YES" if require else "NO"))

    def argv(_port: int) -> list[str]:
        return [server, str(conf)]

    with _listening("vsftpd", workdir, argv, prepare=prepare) as running:
        yield running


# --- Prosody (XMPP, c2s STARTTLS) -----------------------------------------------------------

#: The XMPP domain the test server hosts (the stream header's ``to``; s_client -xmpphost).
XMPP_DOMAIN = "localhost"

_PROSODY_CONF = """\
run_as_root = true
daemonize = false
pidfile = "{workdir}/prosody.pid"
data_path = "{workdir}/data"
certificates = "{workdir}/certs"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{workdir}/prosody.log" }} }}
modules_enabled = {{ "tls", "saslauth", "disco" }}
modules_disabled = {{ "s2s", "offline" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "{host}" }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = true
authentication = "internal_hashed"
ssl = {{ certificate = "{cert}", key = "{key}", cafile = "{ca}",
        verify = {{ "peer", "client_once" }} }}
VirtualHost "{domain}"
"""


@contextlib.contextmanager
def prosody(pki: TestPKI, workdir: Path) -> Iterator[RunningServer]:
    """Prosody with client-to-server STARTTLS required and a TLS context that asks every
    client for a certificate (``verify = { "peer", "client_once" }``, ``cafile`` = the
    client CA bundle); run as the current user (``run_as_root``) from a temp config."""
    server = _first(["/usr/bin/prosody"], "prosody")
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("data", "certs"):
        (workdir / name).mkdir(exist_ok=True)
    conf = workdir / "prosody.cfg.lua"

    def prepare(port: int) -> None:
        conf.write_text(_PROSODY_CONF.format(
            workdir=workdir, port=port, host=LOOPBACK, cert=pki.server_files.chain,
            key=pki.server_files.key, ca=pki.client_ca_bundle, domain=XMPP_DOMAIN))

    def argv(_port: int) -> list[str]:
        return [server, "--config", str(conf)]

    with _listening("prosody", workdir, argv, prepare=prepare,
                    extra_logs=lambda _p: [workdir / "prosody.log"]) as running:
        yield running
