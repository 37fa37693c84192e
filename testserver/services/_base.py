"""What every servicer of the reference server shares: its state and the unary-call wrapper.

:func:`serve_unary` applies the injected delay, runs the handler and turns the domain errors
(:class:`etcd3py.errors.EtcdError`) into the gRPC status etcd answers with, as etcd's
``v3rpc/util.go`` ``togRPCError``. Only ``services/`` talks gRPC status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from etcd3py.errors import EtcdError
from testserver.faults import Faults
from testserver.mvcc.apply import Applier
from testserver.mvcc.store import Store
from testserver.services._header import Header

T = TypeVar("T")


@dataclass
class ServerState:
    """The state a server keeps across restarts (only the gRPC server is rebuilt).

    Attributes:
        store: the MVCC store.
        applier: the request-level layer over the store.
        header: the header filler (cluster and member ids, term).
        faults: injected delays and the open-stream registry.
        max_request_bytes: etcd's ``--max-request-bytes``.
        max_txn_ops: etcd's ``--max-txn-ops``.
        port: the port the server listens on (0 until bound).
        raft_index: a stand-in for etcd's raft index: one more per write request.
    """

    store: Store
    applier: Applier
    header: Header
    faults: Faults = field(default_factory=Faults)
    max_request_bytes: int = 1572864
    max_txn_ops: int = 128
    port: int = 0
    raft_index: int = 4

    @property
    def client_url(self) -> str:
        """The server's client URL, as etcd advertises it."""
        return f"http://127.0.0.1:{self.port}"


async def serve_unary(
    state: ServerState, context: grpc.aio.ServicerContext[object, object], fn: Callable[[], T]
) -> T:
    """Run a unary handler after the injected delay; abort with etcd's status on a domain error.

    Args:
        state: the server state (for the delay).
        context: the call's servicer context.
        fn: the handler body, run on the loop.

    Returns:
        The handler's response.
    """
    await state.faults.before_unary()
    try:
        return fn()
    except EtcdError as exc:
        code, message = type(exc).status()
        await context.abort(code, message)
        raise  # not reached: abort raises
