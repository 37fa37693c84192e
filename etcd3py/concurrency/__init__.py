"""The concurrency recipes of clientv3/concurrency: Session, Mutex, Election and STM.

Built on the public client API only (``client.grant``, ``keep_alive``, ``txn``, ``get``,
``watch``), with Go's key layout and revision order, so that an etcd3py :class:`Mutex` or
:class:`Election` shares locks and elections with Go programs and ``etcdctl lock`` /
``etcdctl elect``.

Example::

    from etcd3py.concurrency import Mutex, Session, stm

    with Session(client, ttl=10) as session, Mutex(session, "/locks/job"):
        ...
    stm.run(client, lambda s: s.put("/n", str(int(s.get("/n") or b"0") + 1)))
"""

from __future__ import annotations

from etcd3py.concurrency import stm
from etcd3py.concurrency.election import Election, Observer
from etcd3py.concurrency.mutex import Mutex
from etcd3py.concurrency.session import DEFAULT_SESSION_TTL, Session
from etcd3py.concurrency.stm import (
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
