"""The :class:`Client`: settings, the connection, the six concern attributes, its lifecycle.

Owns the client's lifecycle (construction dials and waits up to ``dial_timeout``; ``close()``
is idempotent; use after close or after ``os.fork()`` raises). The forwarding methods
(``client.put`` -> ``client.kv.put`` and so on) come from one mixin per concern in
:mod:`etcd3py._forward`; each looks its concern up on every call, so that replacing
``client.kv`` (e.g. with a namespace KV) changes what ``client.put`` does, as in clientv3.
Every RPC goes through :mod:`etcd3py._transport`.
"""

from __future__ import annotations

from types import TracebackType

from typing_extensions import Self

from etcd3py._endpoint_sync import AutoSync
from etcd3py._forward import (
    AuthMethods,
    ClusterMethods,
    KVMethods,
    LeaseMethods,
    MaintenanceMethods,
    WatchMethods,
)
from etcd3py._keys import KeyLike
from etcd3py._transport import Transport
from etcd3py.auth import Auth
from etcd3py.cluster import Cluster
from etcd3py.config import (
    DEFAULT_MAX_CALL_RECV_MSG_SIZE,
    DEFAULT_MAX_CALL_SEND_MSG_SIZE,
    Config,
    KeepaliveConfig,
    RetryPolicy,
    TLSConfig,
    check_interval,
    parse_endpoints,
)
from etcd3py.context import Context
from etcd3py.kv import KV, GrpcKV
from etcd3py.lease import GrpcLease, Lease
from etcd3py.maintenance import Maintenance
from etcd3py.watch import GrpcWatcher, Watcher

__all__ = ["Client"]


class Client(
    KVMethods, WatchMethods, LeaseMethods, ClusterMethods, MaintenanceMethods, AuthMethods
):
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
        auth: the Auth concern (users, roles, permissions; see :mod:`etcd3py.auth`).
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
        watch_create_window: int = 1,
        auto_sync_interval: float | None = None,
        default_timeout: float | None = None,
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
            watch_create_window: create requests one watch stream may have in flight.
                1 (the default) registers one watch at a time, as clientv3 does; a program
                with thousands of watches may pipeline their creation with, say, 128 (etcd
                answers the creates of a stream in order; see :mod:`etcd3py.watch`).
            auto_sync_interval: if set, call :meth:`sync_endpoints` every this many
                seconds on a daemon thread (clientv3 ``AutoSyncInterval``); a failed sync
                is logged and tried again at the next interval.
            default_timeout: seconds that bound every unary call made without
                ``timeout=`` (and whose ``ctx`` has no nearer deadline), retries included;
                such a call that cannot complete in time raises ``DeadlineExceededError``.
                ``None`` (the default): only the retry policy bounds it (its
                ``max_elapsed``, 30 s, for the retries of a failing call).

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: wrong username or password.
            InvalidArgumentError: bad settings (an endpoint, TLS, lb_policy...).
        """
        check_interval("auto_sync_interval", auto_sync_interval)
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
            default_timeout=default_timeout,
        )
        self.config = config
        self._transport = Transport(config)
        self.kv: KV = GrpcKV(self._transport)
        self.cluster = Cluster(self._transport)
        self.maintenance = Maintenance(self._transport)
        try:
            self._watcher = GrpcWatcher(
                self._transport,
                buffer_limit=watch_buffer_limit,
                create_window=watch_create_window,
            )
        except BaseException:
            self._transport.close()
            raise
        self.watcher: Watcher = self._watcher
        self._lease = GrpcLease(self._transport)
        self.lease: Lease = self._lease
        self.auth: Auth = Auth(self._transport)
        self._auto_sync: AutoSync | None = None
        if auto_sync_interval is not None:
            self._auto_sync = AutoSync(self.sync_endpoints, auto_sync_interval)
            self._auto_sync.start()

    # ---- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the client: every watch and keep-alive ends (with ``ClientClosedError``),
        their threads are joined (with a time limit), then the channel closes. Idempotent.
        """
        if self._auto_sync is not None:
            self._auto_sync.stop()
        if not self._transport.closed:
            self._watcher.close()
            self._lease.close()
        self._transport.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    # ---- endpoints ---------------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        """The endpoints in use now, as ``host:port`` (changed by :meth:`sync_endpoints`)."""
        return list(self._transport.endpoints)

    def sync_endpoints(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> list[str]:
        """Replace the endpoints by the client URLs of the cluster's members (clientv3 ``Sync``).

        Learners and members not started yet are left out. When the list changes, new calls
        and reconnects go to a new channel at once; calls running on the old one end
        normally, and watch and keep-alive streams move over when they next reconnect.
        TLS and credentials are kept.

        Args:
            timeout: seconds for the member list call, retries included.
            ctx: a context whose deadline, cancellation and metadata apply.

        Returns:
            The endpoints now in use, as ``host:port``.

        Raises:
            EtcdError: the member list failed (the endpoints stay as they were).
            UnavailableError: no member has a usable client URL.
        """
        return list(self._transport.sync_endpoints(timeout, ctx))

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
        return f"Client({self.endpoints!r}, {state})"

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
