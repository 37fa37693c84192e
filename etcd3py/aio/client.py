"""The asyncio :class:`Client`: the sync client's constructor, concerns and names, awaited.

Owns the asyncio client's lifecycle: the constructor does no I/O (the settings and their
checks are :class:`~etcd3py._client_base.ClientBase`'s, shared with the sync client); the
client connects (waiting up to ``dial_timeout``, then logging in if asked) when entered with
``async with``, when awaited (``client = await Client(...)``), or at its first call;
``await close()`` ends every watch and keep-alive (``ClientClosedError``), their tasks, then
the channel. The forwarding methods (``client.put`` -> ``client.kv.put``) are generated into
:mod:`etcd3py.aio._forward` from the aio concerns. Every object must be used on the event
loop that first used the client; the client has no thread of its own, and one task per
watch stream and per keep-alive stream (never one per watch or lease).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import Any

from typing_extensions import Self

from etcd3py._aio_transport import AioTransport
from etcd3py._client_base import ClientBase, Settings
from etcd3py._endpoint_sync import SyncOutcomes
from etcd3py._keys import KeyLike
from etcd3py.aio._forward import (
    AuthMethods,
    ClusterMethods,
    KVMethods,
    LeaseMethods,
    MaintenanceMethods,
    WatchMethods,
)
from etcd3py.aio.auth import Auth
from etcd3py.aio.cluster import Cluster
from etcd3py.aio.kv import KV, GrpcKV
from etcd3py.aio.lease import GrpcLease, Lease
from etcd3py.aio.maintenance import Maintenance
from etcd3py.aio.watch import GrpcWatcher, Watcher
from etcd3py.config import Config
from etcd3py.context import Context

__all__ = ["Client"]


class Client(
    ClientBase[AioTransport],
    KVMethods,
    WatchMethods,
    LeaseMethods,
    ClusterMethods,
    MaintenanceMethods,
    AuthMethods,
):
    """A client of one etcd cluster for asyncio programs: :class:`etcd3py.Client`, awaited.

    Example::

        async with Client(endpoints=["127.0.0.1:2379"]) as client:
            await client.put("/greeting", "hello")
            print((await client.get("/greeting")).kvs[0].value)
            async for resp in client.watch("/jobs/", prefix=True):
                ...

    Attributes:
        kv: the KV concern (replaceable: ``client.put`` calls ``client.kv.put``).
        watcher: the Watch concern (``client.watch`` calls ``client.watcher.watch``).
        lease: the Lease concern (``client.grant`` calls ``client.lease.grant``).
        cluster: the Cluster concern.
        maintenance: the Maintenance concern.
        auth: the Auth concern.
        config: the settings the client was built with.

    Each call that talks to the server is a coroutine; ``txn()``, ``watch()``,
    ``keep_alive()`` and ``with_namespace()`` do no I/O and return at once. Cancelling the
    task awaiting a call cancels its RPC.
    """

    kv: KV
    watcher: Watcher
    lease: Lease
    cluster: Cluster
    maintenance: Maintenance
    auth: Auth

    def _open(self, config: Config, settings: Settings) -> None:
        """Make the transport and the six concerns; no I/O (see :meth:`connect`)."""
        transport = AioTransport(config)
        self._watcher = GrpcWatcher(
            transport,
            buffer_limit=settings.buffer_limit,
            create_window=settings.create_window,
        )
        self._lease = GrpcLease(transport)  # owned with the watcher: closed by close()
        self._assemble(
            transport,
            kv=GrpcKV(transport),
            watcher=self._watcher,
            lease=self._lease,
            cluster=Cluster(transport),
            maintenance=Maintenance(transport),
            auth=Auth(transport),
        )
        self._auto_sync_interval = settings.auto_sync_interval
        self._auto_sync: _AutoSyncTask | None = None
        if settings.auto_sync_interval is not None:
            transport.when_started(self._start_auto_sync)

    def _assemble(
        self,
        transport: AioTransport,
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

    async def connect(self) -> Self:
        """Connect now: wait up to ``dial_timeout`` for a first connection, log in if asked.

        ``async with`` and ``await client`` call it; a call made first connects too.
        Idempotent.

        Returns:
            The client.

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: wrong username or password.
            ClientClosedError: the client is closed.
        """
        await self._transport.start()
        return self

    def _start_auto_sync(self) -> None:
        """Start the auto-sync task: run by the transport once connected, however it is."""
        if self._auto_sync_interval is not None and not self.closed:
            self._auto_sync = _AutoSyncTask(self.sync_endpoints, self._auto_sync_interval)

    def __await__(self) -> Generator[Any, None, Self]:
        return self.connect().__await__()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client: every watch and keep-alive ends (with ``ClientClosedError``),
        their tasks are awaited, then the channel closes. Idempotent.
        """
        if self._auto_sync is not None:
            await self._auto_sync.stop()
            self._auto_sync = None
        if not self._transport.closed:
            await self._watcher.close()
            await self._lease.close()
        await self._transport.close()

    # ---- endpoints ---------------------------------------------------------------------

    async def sync_endpoints(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> list[str]:
        """Replace the endpoints by the client URLs of the cluster's members (clientv3 ``Sync``).

        See :meth:`etcd3py.Client.sync_endpoints`.

        Args:
            timeout: seconds for the member list call, retries included.
            ctx: a context whose deadline, cancellation and metadata apply.

        Returns:
            The endpoints now in use, as ``host:port``.
        """
        return list(await self._transport.sync_endpoints(timeout, ctx))

    def with_namespace(self, prefix: KeyLike) -> Client:
        """Return a client whose ``kv``, ``watcher`` and ``lease`` live under ``prefix``.

        No I/O. See :meth:`etcd3py.Client.with_namespace`: the same rules of ownership
        (closing the namespaced client ends only what was opened through it).

        Args:
            prefix: the namespace prefix, e.g. ``"/app/"`` (``str`` is encoded UTF-8).

        Returns:
            The namespaced client.

        Raises:
            ArgumentTypeError: ``prefix`` is not ``str`` or ``bytes``.
            ClientClosedError: this client is closed.
        """
        from etcd3py.aio.namespace._client import NamespacedClient  # builds on this client

        self._transport.check_usable()
        return NamespacedClient(self, prefix)


class _AutoSyncTask(SyncOutcomes):
    """Awaits ``sync()`` every ``interval`` seconds in a task of its own until stopped
    (the asyncio face of :class:`etcd3py._endpoint_sync.AutoSync`: same counts and log).

    Args:
        sync: the coroutine function to await (``client.sync_endpoints``).
        interval: seconds between two syncs (the first one ``interval`` after start).
    """

    def __init__(self, sync: Callable[[], Awaitable[object]], interval: float) -> None:
        super().__init__()
        self._sync = sync
        self._interval = interval
        self.task = asyncio.get_running_loop().create_task(self._run(), name="etcd3py-autosync")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            with self.recorded():
                await self._sync()

    async def stop(self) -> None:
        """Cancel the task and await its end."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
