"""pytest fixtures for real-server behaviour tests.

Load with ``pytest_plugins = ["tests.support.fixtures"]`` (the repository root on ``sys.path``).

* ``pki`` (session): :class:`tests.support.pki.TestPKI`.
* ``openssl_server``, ``nginx_server``, ``gnutls_server``, ``haproxy_server``,
  ``caddy_server`` (function
  scope): factories; call with the keyword arguments of
  :func:`tests.support.servers.openssl_s_server`, :func:`~tests.support.servers.nginx`,
  :func:`~tests.support.servers.gnutls_serv` or :func:`~tests.support.servers.haproxy` (minus
  ``pki``/``workdir``) to get a started :class:`~tests.support.servers.RunningServer`.
  Every server started is stopped (by PID) at teardown, pass or fail.
* ``tarpit_server``, ``http_server`` (function scope): started in-process
  :class:`~tests.support.processes.TcpServer` (accept-and-never-answer / HTTP 400).
* ``renegotiation_peer`` (function scope): factory; call with a behaviour of
  :func:`tests.support.renegotiation_peers.renegotiation_peer` to get a started TLS 1.2
  server (in a child process) answering renegotiation that way.

A missing server binary skips the test, or fails it when the environment has
``MTLSWEEP_REQUIRE_SERVERS=1`` (set that in CI).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import servers
from .pki import TestPKI, build_test_pki
from .processes import ChildServer, TcpServer, http_400, tarpit
from .renegotiation_peers import Behaviour
from .renegotiation_peers import renegotiation_peer as start_renegotiation_peer
from .servers import REQUIRE_ENV, ServerFactory, require_binary

__all__ = ["REQUIRE_ENV", "ServerFactory", "require_binary"]  # re-exported for tests

@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """Server CA + server cert, two client CAs + bundle, clients, and a rogue client."""
    return build_test_pki(tmp_path_factory.mktemp("pki"))


def _factory(
    binary_name: str,
    starter: Callable[..., contextlib.AbstractContextManager[servers.RunningServer]],
    pki: TestPKI,
    tmp_path: Path,
) -> Iterator[ServerFactory]:
    require_binary(binary_name)
    counter = itertools.count(1)
    with contextlib.ExitStack() as stack:

        def start(**kwargs: Any) -> servers.RunningServer:
            workdir = tmp_path / f"{binary_name}-{next(counter)}"
            return stack.enter_context(starter(pki, workdir, **kwargs))

        yield start


@pytest.fixture
def openssl_server(pki: TestPKI, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory for ``openssl s_server -www`` (see ``servers.openssl_s_server``)."""
    yield from _factory("openssl", servers.openssl_s_server, pki, tmp_path)


@pytest.fixture
def nginx_server(pki: TestPKI, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory for nginx (see ``servers.nginx``; ``mode=`` picks the client-auth setup)."""
    yield from _factory("nginx", servers.nginx, pki, tmp_path)


@pytest.fixture
def gnutls_server(pki: TestPKI, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory for ``gnutls-serv --http`` (see ``servers.gnutls_serv``)."""
    yield from _factory("gnutls-serv", servers.gnutls_serv, pki, tmp_path)


@pytest.fixture
def haproxy_server(pki: TestPKI, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory for ``haproxy -db`` (see ``servers.haproxy``)."""
    yield from _factory("haproxy", servers.haproxy, pki, tmp_path)


@pytest.fixture
def caddy_server(pki: TestPKI, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory for ``caddy run`` (see ``servers.caddy``)."""
    yield from _factory("caddy", servers.caddy, pki, tmp_path)


@pytest.fixture
def tarpit_server() -> Iterator[TcpServer]:
    """A 127.0.0.1 listener that accepts connections and never sends a byte."""
    with tarpit() as srv:
        yield srv


@pytest.fixture
def http_server() -> Iterator[TcpServer]:
    """A 127.0.0.1 plain-HTTP listener: any bytes in, ``HTTP/1.1 400`` out, then close."""
    with http_400() as srv:
        yield srv


@pytest.fixture
def renegotiation_peer(pki: TestPKI) -> Iterator[Callable[[Behaviour], ChildServer]]:
    """Factory for servers (in child processes) with an unusual answer to renegotiation."""
    with contextlib.ExitStack() as stack:

        def start(behaviour: Behaviour) -> ChildServer:
            return stack.enter_context(start_renegotiation_peer(pki, behaviour))

        yield start
