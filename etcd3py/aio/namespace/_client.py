"""The client ``etcd3py.aio.Client.with_namespace`` returns: the parent's connection,
namespaced concerns (the sync :mod:`etcd3py.namespace._client`'s rules, awaited).
"""

from __future__ import annotations

from etcd3py._keys import KeyLike, to_bytes
from etcd3py.aio.client import Client
from etcd3py.aio.namespace._kv import NamespaceKV
from etcd3py.aio.namespace._lease import NamespaceLease
from etcd3py.aio.namespace._watch import NamespaceWatcher
from etcd3py.errors import ClientClosedError

__all__ = ["NamespacedClient"]


class NamespacedClient(Client):
    """An asyncio client whose ``kv``, ``watcher`` and ``lease`` live under a prefix, over
    its parent's connection. Made by :meth:`etcd3py.aio.Client.with_namespace`.
    """

    def __init__(self, parent: Client, prefix: KeyLike) -> None:
        """Share ``parent``'s connection and wrap its concerns (no I/O).

        Args:
            parent: the client whose connection is shared (it stays the caller's).
            prefix: the namespace prefix (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``prefix`` is not ``str``/``bytes``.
        """
        # Not Client.__init__ (that makes a connection): assembled from the parent's
        # connection and concerns, with namespace wrappers of the three that see keys.
        self.prefix = to_bytes(prefix, "prefix")
        self._parent = parent
        self.config = parent.config
        self._auto_sync_interval = None  # the parent's task keeps the connection current
        self._auto_sync = None
        self._ns_closed = False
        self._ns_kv = NamespaceKV(parent.kv, self.prefix)
        self._ns_watcher = NamespaceWatcher(parent.watcher, self.prefix)
        self._ns_lease = NamespaceLease(parent.lease, self.prefix)
        self._assemble(
            parent._transport,
            kv=self._ns_kv,
            watcher=self._ns_watcher,
            lease=self._ns_lease,
            cluster=parent.cluster,
            maintenance=parent.maintenance,
            auth=parent.auth,
        )

    async def close(self) -> None:
        """End what was opened through this client and refuse further use. Idempotent.

        The parent client, its connection and its other watches go on.
        """
        if self._ns_closed:
            return
        self._ns_closed = True
        await self._ns_watcher.close()
        await self._ns_lease.close()
        self._ns_kv.close()

    def with_namespace(self, prefix: KeyLike) -> Client:
        """Return a client nested in this namespace; see :meth:`etcd3py.aio.Client.with_namespace`.

        Args:
            prefix: the inner prefix, appended to this client's.

        Returns:
            The nested namespaced client.

        Raises:
            ClientClosedError: this client or its parent is closed.
        """
        if self._ns_closed:
            raise ClientClosedError("etcd3py: the namespaced client is closed")
        return super().with_namespace(prefix)

    @property
    def closed(self) -> bool:
        """Whether this client or its parent was closed."""
        return self._ns_closed or self._parent.closed

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"NamespacedClient(prefix={self.prefix!r}, parent={self._parent!r}, {state})"
