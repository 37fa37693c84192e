"""The forwarding methods of :class:`etcd3py.Client`, one mixin per concern.

``client.put`` is ``client.kv.put``, ``client.watch`` is ``client.watcher.watch``, and so on:
each mixin declares the concern attribute it forwards to and looks it up on every call.
"""

from __future__ import annotations

from etcd3py._forward.auth import AuthMethods
from etcd3py._forward.cluster import ClusterMethods
from etcd3py._forward.kv import KVMethods
from etcd3py._forward.lease import LeaseMethods
from etcd3py._forward.maintenance import MaintenanceMethods
from etcd3py._forward.watch import WatchMethods

__all__ = [
    "AuthMethods",
    "ClusterMethods",
    "KVMethods",
    "LeaseMethods",
    "MaintenanceMethods",
    "WatchMethods",
]
