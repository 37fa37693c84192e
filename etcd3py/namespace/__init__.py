"""Namespaces: wrap a client's KV, watcher and lease so that every key lives under a prefix.

Mirrors clientv3's ``namespace`` package. Keys in requests get the prefix; keys in
responses, ``prev_kv``/``prev_kvs``, nested txn responses, watch events and a lease's
``time_to_live(keys=True)`` lose it; a ``prefix=True``, ``from_key=True`` or ``range_end``
range never reaches a key outside the namespace.

Example::

    from etcd3py import namespace

    client.kv = namespace.new_kv(client.kv, "/app/")
    client.watcher = namespace.new_watcher(client.watcher, "/app/")
    client.lease = namespace.new_lease(client.lease, "/app/")
    client.put("k", "v")              # writes "/app/k"

    app = client.with_namespace("/app/")   # or: a client whose kv, watcher and lease are wrapped

The wrappers hold the wrapped concern by composition, use it through its public methods
only, and never close it: closing a wrapper (or the client ``with_namespace`` returned) ends
what was opened through it only (for its watches, their owner's close: they end cleanly).
So namespaces nest: ``new_kv(new_kv(client.kv, "/a/"), "b/")`` and
``client.with_namespace("/a/").with_namespace("b/")`` live under ``"/a/b/"``, and keys come
back relative to the innermost namespace (KV and txn responses, watch events in every form,
``time_to_live`` keys).
"""

from __future__ import annotations

from etcd3py._keys import KeyLike
from etcd3py.kv import KV
from etcd3py.lease import Lease
from etcd3py.namespace._kv import NamespaceKV
from etcd3py.namespace._lease import NamespaceLease
from etcd3py.namespace._watch import NamespaceWatcher
from etcd3py.watch import Watcher

__all__ = [
    "NamespaceKV",
    "NamespaceLease",
    "NamespaceWatcher",
    "new_kv",
    "new_lease",
    "new_watcher",
]


def new_kv(kv: KV, prefix: KeyLike) -> NamespaceKV:
    """Wrap ``kv`` so that every key it reads or writes lives under ``prefix``.

    Args:
        kv: the KV to wrap, e.g. ``client.kv``.
        prefix: the namespace prefix (``str`` is encoded UTF-8); it is used as given, so
            ``"/app"`` also reaches ``"/apple"`` through ``get("le")``: end it with a
            separator such as ``"/app/"`` to keep namespaces apart.

    Returns:
        The namespaced KV (``put``/``get``/``delete``/``txn``/``do``/``compact``).

    Raises:
        ArgumentTypeError: ``kv`` is not a KV, or ``prefix`` is not ``str``/``bytes``.
    """
    return NamespaceKV(kv, prefix)


def new_watcher(watcher: Watcher, prefix: KeyLike) -> NamespaceWatcher:
    """Wrap ``watcher`` so that every watch sees only the keys under ``prefix``, stripped.

    Args:
        watcher: the watcher to wrap, e.g. ``client.watcher``.
        prefix: the namespace prefix (``str`` is encoded UTF-8).

    Returns:
        The namespaced watcher; its watches share the wrapped watcher's streams.

    Raises:
        ArgumentTypeError: ``watcher`` is not a Watcher, or ``prefix`` not ``str``/``bytes``.
    """
    return NamespaceWatcher(watcher, prefix)


def new_lease(lease: Lease, prefix: KeyLike) -> NamespaceLease:
    """Wrap ``lease`` so that ``time_to_live(keys=True)`` lists the keys under ``prefix`` only.

    Every other call passes through (leases are not keyed).

    Args:
        lease: the lease concern to wrap, e.g. ``client.lease``.
        prefix: the namespace prefix (``str`` is encoded UTF-8).

    Returns:
        The namespaced lease concern; its keep-alives run on the wrapped one's thread.

    Raises:
        ArgumentTypeError: ``lease`` is not a Lease, or ``prefix`` not ``str``/``bytes``.
    """
    return NamespaceLease(lease, prefix)
