"""The client ``Client.with_namespace`` returns: the parent's connection, namespaced concerns.

Owns :class:`NamespacedClient`. It is a :class:`~etcd3py.Client` that does not dial: it shares
its parent's transport (channel, retry policy, auth token) and its cluster and maintenance
concerns, and holds its own namespace wrappers of the parent's ``kv``, ``watcher`` and
``lease``. Ownership: the parent owns the connection and every thread; the namespaced client
owns only what was opened through it. Closing it ends its watches (and keep-alives) and
refuses further KV, watch and lease calls through it (cluster and maintenance calls, not
namespaced, still go through the parent's connection); the parent goes on. Closing the
parent ends everything.
"""

from __future__ import annotations

import threading

from etcd3py._keys import KeyLike, to_bytes
from etcd3py.client import Client
from etcd3py.errors import ClientClosedError
from etcd3py.namespace._kv import NamespaceKV
from etcd3py.namespace._lease import NamespaceLease
from etcd3py.namespace._watch import NamespaceWatcher


class NamespacedClient(Client):
    """A client whose ``kv``, ``watcher`` and ``lease`` live under a prefix, over its parent's
    connection.

    Made by :meth:`etcd3py.Client.with_namespace`; see :mod:`etcd3py.namespace`.
    """

    def __init__(self, parent: Client, prefix: KeyLike) -> None:
        """Share ``parent``'s connection and wrap its concerns (nothing is dialled).

        Args:
            parent: the client whose connection is shared (it stays the caller's).
            prefix: the namespace prefix (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``prefix`` is not ``str``/``bytes``.
        """
        # Not Client.__init__ (that dials): assembled from the parent's connection and
        # concerns, with namespace wrappers of the three that see keys.
        self.prefix = to_bytes(prefix, "prefix")
        self._parent = parent
        self.config = parent.config
        self._auto_sync = None  # the parent's, if any, keeps the shared connection current
        self._ns_lock = threading.Lock()
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

    def close(self) -> None:
        """End what was opened through this client and refuse further use. Idempotent.

        The parent client, its connection and its other watches go on.
        """
        with self._ns_lock:
            if self._ns_closed:
                return
            self._ns_closed = True
        self._ns_watcher.close()
        self._ns_lease.close()
        self._ns_kv.close()

    def with_namespace(self, prefix: KeyLike) -> Client:
        """Return a client nested in this namespace; see :meth:`etcd3py.Client.with_namespace`.

        Args:
            prefix: the inner prefix, appended to this client's.

        Returns:
            The nested namespaced client (its parent is this client).

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
