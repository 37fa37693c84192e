"""What every servicer of the reference server shares: its state, the unary-call wrapper, auth.

:func:`serve_unary` applies the injected delay, runs the handler and turns the domain errors
(:class:`etcd3py.errors.EtcdError`) into the gRPC status etcd answers with, as etcd's
``v3rpc/util.go`` ``togRPCError``. Only ``services/`` talks gRPC status.

:func:`auth_info` is etcd's ``AuthInfoFromCtx``: it reads the token from the call's metadata
(key ``token``, else ``authorization``) and resolves the user, or raises
``InvalidAuthTokenError``; handlers then ask ``state.auth`` for the permission they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import grpc

from etcd3py.errors import EtcdError, LeaseNotFoundError
from testserver.alarms import AlarmStore
from testserver.auth.store import AuthInfo, AuthStore
from testserver.downgrade import Downgrade
from testserver.faults import Faults
from testserver.lease import Lessor
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
        auth: users, roles, permissions and tokens (tokens are dropped on restart).
        alarms: the raised alarms (``Maintenance.Alarm``).
        downgrade: the cluster downgrade in progress, if any (``Maintenance.Downgrade``).
    """

    store: Store
    applier: Applier
    header: Header
    faults: Faults = field(default_factory=Faults)
    max_request_bytes: int = 1572864
    max_txn_ops: int = 128
    port: int = 0
    raft_index: int = 4
    auth: AuthStore = field(default_factory=AuthStore)
    alarms: AlarmStore = field(default_factory=AlarmStore)
    downgrade: Downgrade = field(default_factory=Downgrade)

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
        await context.abort(exc.code, exc.details)
        raise  # not reached: abort raises


#: the metadata keys etcd reads a token from, in order (``rpctypes.TokenFieldName*``).
TOKEN_KEYS = ("token", "authorization")


class _HasMetadata(Protocol):
    def invocation_metadata(self) -> Any: ...


def call_token(context: _HasMetadata) -> str | None:
    """Return the token a call carries (metadata ``token``, else ``authorization``), if any.

    Args:
        context: the call's servicer context.

    Returns:
        The token, or None when the call has none.
    """
    found: dict[str, str] = {}
    for item in context.invocation_metadata() or ():
        key, value = item[0], item[1]
        if key in TOKEN_KEYS and key not in found:
            found[key] = value.decode() if isinstance(value, bytes) else str(value)
    for key in TOKEN_KEYS:
        if key in found:
            return found[key]
    return None


def auth_info(state: ServerState, context: _HasMetadata) -> AuthInfo | None:
    """etcd's ``AuthInfoFromCtx``: who sent the call (None without a token).

    A token is checked (and its TTL reset) whether auth is enabled or not: while it is
    disabled no token is valid, as in etcd.

    Args:
        state: the server state.
        context: the call's servicer context.

    Returns:
        The caller, or None when the call carries no token.

    Raises:
        InvalidAuthTokenError: the token is unknown or expired.
    """
    token = call_token(context)
    if token is None:
        return None
    return state.auth.info_from_token(token)


def lease_keys(lessor: Lessor, lease_id: int) -> list[bytes]:
    """Return the keys attached to a lease (none if it does not exist), for auth checks.

    Args:
        lessor: the lease registry.
        lease_id: the lease.

    Returns:
        The keys, sorted.
    """
    try:
        return lessor.time_to_live(lease_id)[2]
    except LeaseNotFoundError:
        return []
