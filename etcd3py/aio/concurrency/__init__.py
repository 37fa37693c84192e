"""The concurrency recipes for asyncio: Session, Mutex, Election and STM.

The twins of :mod:`etcd3py.concurrency` over :class:`etcd3py.aio.Client`, driving the same
bodies (the flows of :mod:`etcd3py.concurrency._flow`) with awaits: the same key layout and
revision order, so that asyncio and sync holders, Go programs and ``etcdctl lock`` /
``etcdctl elect`` share the same locks and elections.

Example::

    from etcd3py.aio.concurrency import Mutex, Session, stm

    async with Session(client, ttl=10) as session, Mutex(session, "/locks/job"):
        ...

    async def bump(s: stm.STM) -> None:
        s.put("/n", str(int(await s.get("/n") or b"0") + 1))

    await stm.run(client, bump)
"""

from __future__ import annotations

from etcd3py.aio.concurrency import stm
from etcd3py.aio.concurrency.election import Election, Observer
from etcd3py.aio.concurrency.mutex import Mutex
from etcd3py.aio.concurrency.session import DEFAULT_SESSION_TTL, Session
from etcd3py.aio.concurrency.stm import (
    READ_COMMITTED,
    REPEATABLE_READS,
    SERIALIZABLE,
    SERIALIZABLE_SNAPSHOT,
    STM,
    Isolation,
)

__all__ = [
    "DEFAULT_SESSION_TTL",
    "Election",
    "Isolation",
    "Mutex",
    "Observer",
    "READ_COMMITTED",
    "REPEATABLE_READS",
    "SERIALIZABLE",
    "SERIALIZABLE_SNAPSHOT",
    "STM",
    "Session",
    "stm",
]
