"""The :class:`Client`: settings, the connection, the six concern attributes, and forwarding.

Owns the client's lifecycle (construction dials and waits up to ``dial_timeout``; ``close()``
is idempotent; use after close or after ``os.fork()`` raises) and the forwarding methods
``client.put`` -> ``client.kv.put`` and so on, looked up on each call so that replacing
``client.kv`` (e.g. with a namespace KV) changes what ``client.put`` does, as in clientv3.
Every RPC goes through :mod:`etcd3py._transport`.
"""

from __future__ import annotations

from types import TracebackType
from typing import BinaryIO, NoReturn

from typing_extensions import Self, Unpack

from etcd3py._keys import KeyLike
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
)
from etcd3py._transport import Transport
from etcd3py.cluster import (
    Cluster,
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)
from etcd3py.config import (
    DEFAULT_MAX_CALL_RECV_MSG_SIZE,
    DEFAULT_MAX_CALL_SEND_MSG_SIZE,
    Config,
    KeepaliveConfig,
    RetryPolicy,
    TLSConfig,
    parse_endpoints,
)
from etcd3py.context import Context
from etcd3py.kv import KV, GrpcKV
from etcd3py.lease import (
    GrpcLease,
    KeepAlive,
    Lease,
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py.maintenance import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    HashKVResponse,
    Maintenance,
    MoveLeaderResponse,
    StatusResponse,
)
from etcd3py.op import DeleteOptions, GetOptions, Op, PutOptions
from etcd3py.txn import Txn
from etcd3py.watch import GrpcWatcher, WatchCallback, WatchChan, Watcher, WatchHandle, WatchOptions

__all__ = ["Client"]


class _NotYetAvailable:
    """Stands in for a concern that a later issue brings: any use says so, loudly."""

    def __init__(self, concern: str, issue: str) -> None:
        self._concern = concern
        self._issue = issue

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotImplementedError(
            f"etcd3py: {self._concern}.{name} is not implemented yet "
            f"({self._concern} arrives with the {self._issue} issue)"
        )

    def __repr__(self) -> str:
        return f"<{self._concern}: arrives with the {self._issue} issue>"


class Client:
    """A client of one etcd cluster, mirroring clientv3's ``Client``.

    Example::

        with Client(endpoints=["127.0.0.1:2379"]) as client:
            client.put("/greeting", "hello")
            print(client.get("/greeting").kvs[0].value)

    Attributes:
        kv: the KV concern (replaceable: ``client.put`` calls ``client.kv.put``).
        watcher: the Watch concern (replaceable: ``client.watch`` calls ``client.watcher.watch``).
        lease: the Lease concern (replaceable: ``client.grant`` calls ``client.lease.grant``).
        cluster: the Cluster concern.
        maintenance: the Maintenance concern.
        auth: the Auth concern (arrives with the auth issue).
        config: the settings the client was built with.

    Threading: every method may be called from any thread. Create clients after
    ``os.fork()``: a client made before it raises ``ForkedClientError`` in the child.
    """

    def __init__(
        self,
        endpoints: str | list[str] | tuple[str, ...] = ("127.0.0.1:2379",),
        *,
        dial_timeout: float | None = 3.0,
        tls: TLSConfig | None = None,
        username: str | None = None,
        password: str | None = None,
        keepalive: KeepaliveConfig | None = None,
        retry: RetryPolicy | None = None,
        max_call_send_msg_size: int = DEFAULT_MAX_CALL_SEND_MSG_SIZE,
        max_call_recv_msg_size: int = DEFAULT_MAX_CALL_RECV_MSG_SIZE,
        lb_policy: str = "round_robin",
        watch_buffer_limit: int = 1000,
    ) -> None:
        """Connect to the cluster.

        Args:
            endpoints: ``"host:port"`` (or ``http://``/``https://`` URLs), one or a list.
            dial_timeout: seconds to wait for a first connection (``None`` or 0: don't wait).
            tls: TLS settings; ``https://`` endpoints use TLS with the system roots without it.
            username: authenticate as this user (with ``password``).
            password: the user's password.
            keepalive: keepalive ping settings (default: :class:`KeepaliveConfig`).
            retry: the retry policy (default: :class:`RetryPolicy`).
            max_call_send_msg_size: the largest request, in bytes (2 MiB as clientv3).
            max_call_recv_msg_size: the largest response, in bytes.
            lb_policy: ``"round_robin"`` or ``"pick_first"``.
            watch_buffer_limit: responses one watch may hold unconsumed; past it the watch
                is paused on the server and resumed, losslessly, once its consumer drained
                half of them (see :mod:`etcd3py.watch`).

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: wrong username or password.
            InvalidArgumentError: bad settings (an endpoint, TLS, lb_policy...).
        """
        config = Config(
            endpoints=parse_endpoints(endpoints),
            dial_timeout=dial_timeout,
            tls=tls,
            username=username,
            password=password,
            keepalive=keepalive or KeepaliveConfig(),
            retry=retry or RetryPolicy(),
            max_call_send_msg_size=max_call_send_msg_size,
            max_call_recv_msg_size=max_call_recv_msg_size,
            lb_policy=lb_policy,  # type: ignore[arg-type]
        )
        self.config = config
        self._transport = Transport(config)
        self.kv: KV = GrpcKV(self._transport)
        self.cluster = Cluster(self._transport)
        self.maintenance = Maintenance(self._transport)
        try:
            self._watcher = GrpcWatcher(self._transport, buffer_limit=watch_buffer_limit)
        except BaseException:
            self._transport.close()
            raise
        self.watcher: Watcher = self._watcher
        self._lease = GrpcLease(self._transport)
        self.lease: Lease = self._lease
        self.auth: object = _NotYetAvailable("auth", "auth")

    # ---- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the client: every watch and keep-alive ends (with ``ClientClosedError``),
        their threads are joined (with a time limit), then the channel closes. Idempotent.
        """
        if not self._transport.closed:
            self._watcher.close()
            self._lease.close()
        self._transport.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Client({[e.address for e in self.config.endpoints]!r}, {state})"

    def with_namespace(self, prefix: KeyLike) -> Client:
        """Return a client whose ``kv``, ``watcher`` and ``lease`` live under ``prefix``.

        Every key it sends gets the prefix and every key it returns loses it; ranges stay
        inside the namespace (see :mod:`etcd3py.namespace`). It shares this client's
        connection, threads, cluster and maintenance concerns; nothing is dialled.

        Ownership: this client owns the connection. Closing the namespaced client ends only
        what was opened through it (its watches and keep-alives) and refuses its further
        KV, watch and lease calls; this client goes on. Closing this client ends the
        namespaced one too.

        Args:
            prefix: the namespace prefix, e.g. ``"/app/"`` (``str`` is encoded UTF-8).

        Returns:
            The namespaced client (a :class:`Client`; a context manager like any other).

        Raises:
            ArgumentTypeError: ``prefix`` is not ``str`` or ``bytes``.
            ClientClosedError: this client is closed.
        """
        from etcd3py.namespace._client import NamespacedClient  # namespace builds on client

        self._transport.check_usable()
        return NamespacedClient(self, prefix)

    # ---- KV --------------------------------------------------------------------------------

    def get(
        self, key: KeyLike, *, timeout: float | None = None, **opts: Unpack[GetOptions]
    ) -> GetResponse:
        """Read a key or a range: ``client.kv.get``; see :meth:`etcd3py.kv.KV.get`.

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            **opts: see :class:`~etcd3py.op.GetOptions`.

        Returns:
            The key-values read.
        """
        return self.kv.get(key, timeout=timeout, **opts)

    def put(
        self,
        key: KeyLike,
        value: KeyLike,
        *,
        timeout: float | None = None,
        **opts: Unpack[PutOptions],
    ) -> PutResponse:
        """Write a key: ``client.kv.put``; see :meth:`etcd3py.kv.KV.put`.

        Args:
            key: the key.
            value: the value.
            timeout: seconds for the call.
            **opts: see :class:`~etcd3py.op.PutOptions`.

        Returns:
            The response.
        """
        return self.kv.put(key, value, timeout=timeout, **opts)

    def delete(
        self, key: KeyLike, *, timeout: float | None = None, **opts: Unpack[DeleteOptions]
    ) -> DeleteResponse:
        """Delete a key or a range: ``client.kv.delete``; see :meth:`etcd3py.kv.KV.delete`.

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            **opts: see :class:`~etcd3py.op.DeleteOptions`.

        Returns:
            The response.
        """
        return self.kv.delete(key, timeout=timeout, **opts)

    def compact(
        self, rev: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
        """Compact the history up to ``rev``: ``client.kv.compact``.

        Args:
            rev: the revision.
            physical: wait until the backend applied it.
            timeout: seconds for the call.

        Returns:
            The response.
        """
        return self.kv.compact(rev, physical=physical, timeout=timeout)

    def txn(self) -> Txn:
        """Start a transaction: ``client.kv.txn()``.

        Returns:
            A new transaction builder.
        """
        return self.kv.txn()

    def do(self, op: Op, *, timeout: float | None = None) -> OpResponse:
        """Run one op: ``client.kv.do``.

        Args:
            op: the op.
            timeout: seconds for the call.

        Returns:
            The op's typed response.
        """
        return self.kv.do(op, timeout=timeout)

    # ---- cluster and maintenance -----------------------------------------------------------

    def member_list(self, *, timeout: float | None = None) -> MemberListResponse:
        """List the cluster's members: ``client.cluster.member_list``.

        Args:
            timeout: seconds for the call.

        Returns:
            The members.
        """
        return self.cluster.member_list(timeout=timeout)

    def status(self, endpoint: str, *, timeout: float | None = None) -> StatusResponse:
        """Ask one member for its status: ``client.maintenance.status``.

        Args:
            endpoint: ``host:port`` of the member.
            timeout: seconds for the call.

        Returns:
            The member's status.
        """
        return self.maintenance.status(endpoint, timeout=timeout)

    def member_add(
        self, peer_urls: list[str], *, is_learner: bool = False, timeout: float | None = None
    ) -> MemberAddResponse:
        """Add a member: ``client.cluster.member_add``.

        Args:
            peer_urls: the new member's peer URLs.
            is_learner: add it as a non-voting learner.
            timeout: seconds for the call.

        Returns:
            The member added and the new member list.
        """
        return self.cluster.member_add(peer_urls, is_learner=is_learner, timeout=timeout)

    def member_remove(self, id: int, *, timeout: float | None = None) -> MemberRemoveResponse:
        """Remove a member: ``client.cluster.member_remove``.

        Args:
            id: the member ID.
            timeout: seconds for the call.

        Returns:
            The members left.
        """
        return self.cluster.member_remove(id, timeout=timeout)

    def member_update(
        self, id: int, peer_urls: list[str], *, timeout: float | None = None
    ) -> MemberUpdateResponse:
        """Replace a member's peer URLs: ``client.cluster.member_update``.

        Args:
            id: the member ID.
            peer_urls: its new peer URLs.
            timeout: seconds for the call.

        Returns:
            The member list after the update.
        """
        return self.cluster.member_update(id, peer_urls, timeout=timeout)

    def member_promote(self, id: int, *, timeout: float | None = None) -> MemberPromoteResponse:
        """Promote a learner: ``client.cluster.member_promote``.

        Args:
            id: the learner's member ID.
            timeout: seconds for the call.

        Returns:
            The member list after the promotion.
        """
        return self.cluster.member_promote(id, timeout=timeout)

    def alarm_list(self, *, timeout: float | None = None) -> AlarmResponse:
        """List the raised alarms: ``client.maintenance.alarm_list``.

        Args:
            timeout: seconds for the call.

        Returns:
            The alarms.
        """
        return self.maintenance.alarm_list(timeout=timeout)

    def alarm_disarm(
        self, member_id: int, alarm: AlarmType, *, timeout: float | None = None
    ) -> AlarmResponse:
        """Clear an alarm: ``client.maintenance.alarm_disarm``.

        Args:
            member_id: the member whose alarm to clear.
            alarm: the kind of alarm.
            timeout: seconds for the call.

        Returns:
            The alarms cleared.
        """
        return self.maintenance.alarm_disarm(member_id, alarm, timeout=timeout)

    def defragment(self, endpoint: str, *, timeout: float | None = None) -> DefragmentResponse:
        """Defragment one member's database: ``client.maintenance.defragment``.

        Args:
            endpoint: ``host:port`` of the member.
            timeout: seconds for the call.

        Returns:
            The (empty) answer.
        """
        return self.maintenance.defragment(endpoint, timeout=timeout)

    def hash_kv(
        self, endpoint: str, rev: int = 0, *, timeout: float | None = None
    ) -> HashKVResponse:
        """Hash one member's key space: ``client.maintenance.hash_kv``.

        Args:
            endpoint: ``host:port`` of the member.
            rev: the revision to hash up to (0: the current one).
            timeout: seconds for the call.

        Returns:
            The hash.
        """
        return self.maintenance.hash_kv(endpoint, rev, timeout=timeout)

    def snapshot(self, file_obj: BinaryIO, *, timeout: float | None = None) -> int:
        """Stream a database snapshot into a file: ``client.maintenance.snapshot``.

        Args:
            file_obj: a binary file object open for writing.
            timeout: seconds for the whole transfer.

        Returns:
            The number of bytes written.
        """
        return self.maintenance.snapshot(file_obj, timeout=timeout)

    def move_leader(
        self, transferee_id: int, *, timeout: float | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to another member: ``client.maintenance.move_leader``.

        Args:
            transferee_id: the member ID of the new leader.
            timeout: seconds for each call.

        Returns:
            The answer, once the transfer is done.
        """
        return self.maintenance.move_leader(transferee_id, timeout=timeout)

    # ---- watch -------------------------------------------------------------------------

    def watch(
        self, key: KeyLike, *, ctx: Context | None = None, **opts: Unpack[WatchOptions]
    ) -> WatchChan:
        """Watch a key or a range: ``client.watcher.watch``; see :meth:`Watcher.watch`.

        Args:
            key: the key, or the start of the range.
            ctx: the context (watches of one context share one stream).
            **opts: see :class:`~etcd3py.watch.WatchOptions`.

        Returns:
            A blocking iterator of :class:`~etcd3py.watch.WatchResponse`.
        """
        return self.watcher.watch(key, ctx=ctx, **opts)

    def add_watch_callback(
        self,
        key: KeyLike,
        callback: WatchCallback,
        *,
        ctx: Context | None = None,
        **opts: Unpack[WatchOptions],
    ) -> WatchHandle:
        """Watch with a callback: ``client.watcher.add_watch_callback``.

        Args:
            key: the key, or the start of the range.
            callback: called with each :class:`~etcd3py.watch.WatchResponse`, in order, on
                the stream's dispatcher thread.
            ctx: the context (watches of one context share one stream).
            **opts: see :class:`~etcd3py.watch.WatchOptions`.

        Returns:
            A handle whose ``close()`` cancels the watch.
        """
        return self.watcher.add_watch_callback(key, callback, ctx=ctx, **opts)

    # ---- lease ---------------------------------------------------------------------------

    def grant(self, ttl: int, *, id: int = 0, timeout: float | None = None) -> LeaseGrantResponse:
        """Create a lease: ``client.lease.grant``; see :meth:`etcd3py.lease.Lease.grant`.

        Args:
            ttl: the TTL in seconds.
            id: the ID to use; 0 lets the server choose.
            timeout: seconds for the call.

        Returns:
            The lease's ID and granted TTL.
        """
        return self.lease.grant(ttl, id=id, timeout=timeout)

    def revoke(self, id: int, *, timeout: float | None = None) -> LeaseRevokeResponse:
        """Revoke a lease, deleting its keys: ``client.lease.revoke``.

        Args:
            id: the lease ID.
            timeout: seconds for the call.

        Returns:
            The response.
        """
        return self.lease.revoke(id, timeout=timeout)

    def time_to_live(
        self, id: int, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLiveResponse:
        """Ask how long a lease has left: ``client.lease.time_to_live``.

        Args:
            id: the lease ID.
            keys: also list the keys attached to it.
            timeout: seconds for the call.

        Returns:
            The remaining and granted TTL (and keys).
        """
        return self.lease.time_to_live(id, keys=keys, timeout=timeout)

    def leases(self, *, timeout: float | None = None) -> LeaseLeasesResponse:
        """List every live lease: ``client.lease.leases``.

        Args:
            timeout: seconds for the call.

        Returns:
            The lease IDs.
        """
        return self.lease.leases(timeout=timeout)

    def keep_alive_once(self, id: int, *, timeout: float | None = None) -> LeaseKeepAliveResponse:
        """Renew a lease once: ``client.lease.keep_alive_once``.

        Args:
            id: the lease ID.
            timeout: seconds for the call.

        Returns:
            The renewal.
        """
        return self.lease.keep_alive_once(id, timeout=timeout)

    def keep_alive(self, id: int, *, ctx: Context | None = None) -> KeepAlive:
        """Keep a lease alive: ``client.lease.keep_alive``; see
        :meth:`etcd3py.lease.Lease.keep_alive` and :class:`etcd3py.lease.KeepAlive`.

        Args:
            id: the lease ID.
            ctx: a context whose end ends this keep-alive.

        Returns:
            The iterator of renewals (``close()`` stops renewing for this caller).
        """
        return self.lease.keep_alive(id, ctx=ctx)
