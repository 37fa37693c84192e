"""Namespaces for the asyncio face: :mod:`etcd3py.namespace`'s wrappers, awaited.

Example::

    from etcd3py.aio import namespace

    client.kv = namespace.new_kv(client.kv, "/app/")
    app = client.with_namespace("/app/")      # or: a client whose kv, watcher, lease are wrapped
    await app.put("k", "v")                   # writes "/app/k"

The rules (ranges kept inside, keys stripped from every answer, nesting, closing ends only
what was opened through the wrapper) are the sync face's, written once in
:mod:`etcd3py.namespace._prefix`.
"""

from __future__ import annotations

from etcd3py._keys import KeyLike
from etcd3py.aio.kv import KV
from etcd3py.aio.lease import Lease
from etcd3py.aio.namespace._kv import NamespaceKV
from etcd3py.aio.namespace._lease import NamespaceLease
from etcd3py.aio.namespace._watch import NamespaceWatcher
from etcd3py.aio.watch import Watcher

__all__ = [
    "NamespaceKV",
    "NamespaceLease",
    "NamespaceWatcher",
    "new_kv",
    "new_lease",
    "new_watcher",
]


def new_kv(kv: KV, prefix: KeyLike) -> NamespaceKV:
    """Wrap an asyncio ``kv`` so that every key it reads or writes lives under ``prefix``.

    Args:
        kv: the KV to wrap (it stays the caller's).
        prefix: the namespace prefix (``str`` is encoded UTF-8).

    Returns:
        The namespace KV.
    """
    return NamespaceKV(kv, prefix)


def new_watcher(watcher: Watcher, prefix: KeyLike) -> NamespaceWatcher:
    """Wrap an asyncio ``watcher`` so that its watches live under ``prefix``.

    Args:
        watcher: the watcher to wrap (it stays the caller's).
        prefix: the namespace prefix.

    Returns:
        The namespace watcher.
    """
    return NamespaceWatcher(watcher, prefix)


def new_lease(lease: Lease, prefix: KeyLike) -> NamespaceLease:
    """Wrap an asyncio ``lease`` so that ``time_to_live`` lists the namespace's keys only.

    Args:
        lease: the lease concern to wrap (it stays the caller's).
        prefix: the namespace prefix.

    Returns:
        The namespace lease.
    """
    return NamespaceLease(lease, prefix)
