"""etcd3py's asyncio face: :class:`Client`, the sync client's every call, awaited.

Example::

    from etcd3py.aio import Client

    async with Client(endpoints=["127.0.0.1:2379"]) as client:
        await client.put("/k", "v")
        assert (await client.get("/k")).kvs[0].value == b"v"
        async for resp in client.watch("/jobs/", prefix=True):
            ...

Views, ops, compares, errors and :class:`~etcd3py.Context` are the sync face's (import them
from :mod:`etcd3py`); the concurrency recipes are in :mod:`etcd3py.aio.concurrency`.
"""

from __future__ import annotations

from etcd3py.aio.client import Client
from etcd3py.aio.lease import KeepAlive
from etcd3py.aio.watch import WatchChan, WatchHandle

__all__ = ["Client", "KeepAlive", "WatchChan", "WatchHandle"]
