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

from etcd3py._client_base import ClientBase, Settings
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
from etcd3py.config import Config
from etcd3py.context import Context
from etcd3py.kv import KV, GrpcKV
from etcd3py.lease import GrpcLease, Lease
from etcd3py.maintenance import Maintenance
from etcd3py.watch import GrpcWatcher, Watcher

__all__ = ["Client"]


class Client(
    ClientBase[Transport],
    KVMethods,
    WatchMethods,
    LeaseMethods,
    ClusterMethods,
    MaintenanceMethods,
    AuthMethods,
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

    kv: KV
    watcher: Watcher
    lease: Lease
    cluster: Cluster
    maintenance: Maintenance
    auth: Auth

    def _open(self, config: Config, settings: Settings) -> None:
        """Dial (waiting up to ``dial_timeout``), then make the six concerns."""
        transport = Transport(config)
        try:
            watcher = GrpcWatcher(
                transport,
                buffer_limit=settings.buffer_limit,
                create_window=settings.create_window,
            )
        except BaseException:
            transport.close()
            raise
        self._watcher, self._lease = watcher, GrpcLease(transport)  # owned: closed by close()
        self._assemble(
            transport,
            kv=GrpcKV(transport),
            watcher=watcher,
            lease=self._lease,
            cluster=Cluster(transport),
            maintenance=Maintenance(transport),
            auth=Auth(transport),
        )
        self._auto_sync: AutoSync | None = None
        if settings.auto_sync_interval is not None:
            self._auto_sync = AutoSync(self.sync_endpoints, settings.auto_sync_interval)
            self._auto_sync.start()

    def _assemble(
        self,
        transport: Transport,
        *,
        kv: KV,
        watcher: Watcher,
        lease: Lease,
        cluster: Cluster,
        maintenance: Maintenance,
        auth: Auth,
    ) -> None:
        """Set the transport and the six concerns: the one place a client gets them."""
        self._transport = transport
        self.kv, self.watcher, self.lease = kv, watcher, lease
        self.cluster, self.maintenance, self.auth = cluster, maintenance, auth

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

    # ---- endpoints ---------------------------------------------------------------------

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
