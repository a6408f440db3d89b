"""The TLS clients installed here, run for real: OpenSSL's s_client, Python's ssl, curl, Go's
crypto/tls, Java's SunJSSE and Chromium, each with its default settings.

``Clients(workdir)`` builds the Go and Java programs once; ``hello_argv(id)`` is the command
whose first ClientHello :func:`tests.support.hello_capture.capture` records, and
``connect(id, port)`` makes a real connection (certificate checks off, nothing else changed)
and returns the version and suite the client negotiated, or None when the handshake failed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .processes import LOOPBACK
from .servers import binary

_GO_CLIENT = """\
package main

import (
\t"crypto/tls"
\t"fmt"
\t"os"
)

func main() {
\tconfig := &tls.Config{ServerName: "localhost", InsecureSkipVerify: os.Args[2] == "insecure"}
\tconn, err := tls.Dial("tcp", "127.0.0.1:"+os.Args[1], config)
\tif err != nil {
\t\tfmt.Println("failed:", err)
\t\treturn
\t}
\tstate := conn.ConnectionState()
\tfmt.Printf("negotiated %x %s\\n", state.Version, tls.CipherSuiteName(state.CipherSuite))
\tconn.Close()
}
"""

_JAVA_CLIENT = """\
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

public class Client {
    public static void main(String[] args) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        TrustManager[] trustAll = {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {}
            public void checkServerTrusted(X509Certificate[] c, String a) {}
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }};
        context.init(null, "insecure".equals(args[1]) ? trustAll : null, null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                .createSocket("127.0.0.1", Integer.parseInt(args[0]))) {
            socket.startHandshake();
            System.out.println("negotiated " + socket.getSession().getProtocol() + " "
                + socket.getSession().getCipherSuite());
        } catch (java.io.IOException e) {
            System.out.println("failed: " + e);
        }
    }
}
"""

_PYTHON_CLIENT = (
    "import socket, ssl, sys\n"
    "context = ssl.create_default_context()\n"
    "context.check_hostname = False\n"
    "context.verify_mode = ssl.CERT_NONE if sys.argv[2] == 'insecure' else ssl.CERT_REQUIRED\n"
    "try:\n"
    "    with context.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))),\n"
    "                             server_hostname='localhost') as tls:\n"
    "        print('negotiated', tls.version(), tls.cipher()[0])\n"
    "except (OSError, ssl.SSLError) as exc:\n"
    "    print('failed:', exc)\n"
)

_GO_VERSIONS = {"304": "TLSv1.3", "303": "TLSv1.2", "302": "TLSv1.1", "301": "TLSv1.0"}


@dataclass(frozen=True)
class Negotiation:
    version: str
    suite: str  # as the client names it (IANA for Go, Java and TLS 1.3; OpenSSL otherwise)


class Clients:
    """The installed clients, ready to run (Go and Java built once into ``workdir``)."""

    def __init__(self, workdir: Path, python: str = "/usr/bin/python3") -> None:
        self.workdir = workdir
        self.python = python if Path(python).exists() else sys.executable
        workdir.mkdir(parents=True, exist_ok=True)
        self._go: str | None = None
        self._java: Path | None = None

    def go_binary(self) -> str:
        if self._go is None:
            source = self.workdir / "client.go"
            source.write_text(_GO_CLIENT)
            target = self.workdir / "go-client"
            env = {"HOME": str(self.workdir), "PATH": "/usr/bin:/bin",
                   "GOCACHE": str(Path.home() / ".cache" / "go-build"), "GO111MODULE": "off"}
            subprocess.run([binary("go"), "build", "-o", str(target), str(source)],
                           check=True, capture_output=True, env=env, timeout=300)
            self._go = str(target)
        return self._go

    def java_classes(self) -> Path:
        if self._java is None:
            (self.workdir / "Client.java").write_text(_JAVA_CLIENT)
            subprocess.run([binary("javac"), "-d", str(self.workdir),
                            str(self.workdir / "Client.java")], check=True,
                           capture_output=True, timeout=300)
            self._java = self.workdir
        return self._java

    def argv(self, client_id: str, port_text: str, *, insecure: bool) -> list[str]:
        mode = "insecure" if insecure else "verify"
        if client_id == "openssl-3.0":
            return [binary("openssl"), "s_client", "-brief", "-connect",
                    f"{LOOPBACK}:{port_text}", "-servername", "localhost"]
        if client_id == "python-3.11":
            return [self.python, "-c", _PYTHON_CLIENT, port_text, mode]
        if client_id == "curl-openssl":
            return [binary("curl"), "-sv", "-k" if insecure else "-f", "-m", "10", "-o",
                    "/dev/null", "--resolve", f"localhost:{port_text}:{LOOPBACK}",
                    f"https://localhost:{port_text}/"]
        if client_id == "go-1.19":
            return [self.go_binary(), port_text, mode]
        if client_id == "java-17":
            return [binary("java"), "-cp", str(self.java_classes()), "Client", port_text, mode]
        if client_id == "chromium":
            return [binary("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
                    "--timeout=5000", f"--user-data-dir={self.workdir / 'chromium'}",
                    f"https://localhost:{port_text}/"]
        raise KeyError(client_id)

    def hello_argv(self, client_id: str) -> list[str]:
        """The command that sends this client's default ClientHello to ``{port}``."""
        return self.argv(client_id, "{port}", insecure=False)

    def connect(self, client_id: str, port: int) -> Negotiation | None:
        done = subprocess.run(self.argv(client_id, str(port), insecure=True),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                              check=False)
        text = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        return _negotiation(client_id, text)


def _negotiation(client_id: str, text: str) -> Negotiation | None:
    if client_id == "openssl-3.0":
        protocol = re.search(r"^Protocol version: (\S+)", text, re.M)
        suite = re.search(r"^Ciphersuite: (\S+)", text, re.M)
        return Negotiation(protocol[1], suite[1]) if protocol and suite else None
    if client_id == "curl-openssl":
        found = re.search(r"SSL connection using (TLSv[\d.]+) / (\S+)", text)
        return Negotiation(found[1], found[2]) if found else None
    reported = re.search(r"^negotiated (\S+) (\S+)", text, re.M)
    if not reported:
        return None
    version = reported[1]
    if client_id == "go-1.19":
        version = _GO_VERSIONS.get(version, version)
    return Negotiation(version, reported[2])
