"""etcd3py: a Python client for etcd v3 that mirrors clientv3, the official Go client.

Example::

    from etcd3py import Client

    with Client(endpoints=["127.0.0.1:2379"]) as client:
        client.put("/k", "v")
        assert client.get("/k").kvs[0].value == b"v"

Errors live in :mod:`etcd3py.errors`; namespaces in :mod:`etcd3py.namespace`.
"""

from __future__ import annotations

from etcd3py import namespace
from etcd3py.auth import PermissionType
from etcd3py.client import Client
from etcd3py.compare import Compare
from etcd3py.config import KeepaliveConfig, RetryPolicy, TLSConfig
from etcd3py.context import Context
from etcd3py.lease import KeepAlive
from etcd3py.models import EventType, SortOrder, SortTarget
from etcd3py.op import Op
from etcd3py.watch import Event, WatchChan, WatchHandle, WatchResponse

#: The version of this etcd3py (also the package metadata's, which is read from here).
__version__ = "0.1.0"

__all__ = [
    "Client",
    "Compare",
    "Context",
    "Event",
    "EventType",
    "KeepAlive",
    "KeepaliveConfig",
    "Op",
    "PermissionType",
    "RetryPolicy",
    "SortOrder",
    "SortTarget",
    "TLSConfig",
    "WatchChan",
    "WatchHandle",
    "WatchResponse",
    "namespace",
]
