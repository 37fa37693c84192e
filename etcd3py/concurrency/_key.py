"""Waiting for keys to go away: the flows Mutex and Election block on (Go ``key.go``).

Owns :func:`wait_deletes`, which waits until no key under a prefix was created at or before a
revision, by watching the youngest such key (the caller's predecessor) for its deletion, then
looking again: never by polling; the reads by create order the recipes share; and how a
waiter writes and withdraws its own key (:func:`settled_write`, :func:`guarded_delete`). Flows
(see :mod:`etcd3py.concurrency._flow`) over ``client.kv.do`` and ``client.watch`` only.
"""

from __future__ import annotations

from etcd3py._responses import GetResponse, TxnResponse
from etcd3py.compare import Compare
from etcd3py.concurrency._flow import Do, Flow, Next, Settle, Unwatch, Watch
from etcd3py.concurrency._scope import check_context
from etcd3py.context import Context
from etcd3py.errors import EtcdError
from etcd3py.models import EventType, ResponseHeader, SortOrder, SortTarget
from etcd3py.op import Op


def guarded_delete(key: bytes, rev: int) -> Op:
    """Return the delete of a waiter's ``key`` if it still has its create revision ``rev``
    (so it never deletes a key written later by another)."""
    return Op.txn([Compare.create_revision(key) == rev], [Op.delete(key)])


def settled_write(op: Op, ttl: float, ctx: Context) -> Flow[TxnResponse]:
    """Run a waiter's write (its key's put, or its withdrawal) as a :class:`Settle` step.

    It runs to its answer whatever the caller does meanwhile, bounded by the session's
    ``ttl``: the flow must know whether a key of it exists. If it fails after ``ctx`` ended,
    the caller gets the context's error (its end came first), the write's as the cause.
    """
    try:
        resp = yield Settle(op, ttl)
    except Exception:
        check_context(ctx)
        raise
    assert isinstance(resp, TxnResponse)
    return resp


def by_create(pfx: bytes, order: SortOrder, max_create_rev: int = 0) -> Op:
    """Return the read of the first key under ``pfx`` in create order.

    Args:
        pfx: the key prefix.
        order: ``ASCEND`` for the oldest key (Go's ``WithFirstCreate``), ``DESCEND`` for
            the youngest.
        max_create_rev: only keys created at or before it (0: any).

    Returns:
        The op, reading at most one key.
    """
    return Op.get(
        pfx,
        prefix=True,
        sort_target=SortTarget.CREATE,
        sort_order=order,
        limit=1,
        max_create_revision=max_create_rev,
    )


def get(op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> Flow[GetResponse]:
    """Run the read ``op`` and return its typed response."""
    resp = yield Do(op, timeout, ctx)
    assert isinstance(resp, GetResponse)
    return resp


def wait_delete(key: bytes, rev: int, ctx: Context) -> Flow[None]:
    """Wait until ``key`` is deleted, watching it from revision ``rev``.

    Args:
        key: the key.
        rev: the revision to watch from (the revision the caller saw it at).
        ctx: ends the wait with its error.

    Raises:
        CanceledError: ``ctx`` was cancelled.
        DeadlineExceededError: ``ctx``'s deadline passed.
        EtcdError: the watch failed (e.g. ``CompactedError``), or ended with no reason.
    """
    chan = yield Watch(key, rev, ctx)
    while (wresp := (yield Next(chan))) is not None:
        err = wresp.err()
        if err is not None:
            check_context(ctx)
            raise err
        if any(ev.type == EventType.DELETE for ev in wresp.events):
            yield Unwatch(chan)
            return
    check_context(ctx)
    raise EtcdError("lost watcher waiting for delete")


def wait_deletes(pfx: bytes, max_create_rev: int, ctx: Context) -> Flow[ResponseHeader]:
    """Wait until every key under ``pfx`` created at or before ``max_create_rev`` is gone.

    Watches only the youngest such key (the direct predecessor) at a time, as Go's
    ``waitDeletes``: a waiter wakes when its predecessor leaves, not on every release.

    Args:
        pfx: the key prefix (ends with ``/``).
        max_create_rev: the largest create revision waited for.
        ctx: ends the wait with its error.

    Returns:
        The header of the read that found no such key.

    Raises:
        CanceledError: ``ctx`` was cancelled.
        DeadlineExceededError: ``ctx``'s deadline passed.
        EtcdError: a read or a watch failed.
    """
    while True:
        check_context(ctx)
        resp = yield from get(by_create(pfx, SortOrder.DESCEND, max_create_rev), ctx=ctx)
        if not resp.kvs:
            return resp.header
        yield from wait_delete(resp.kvs[0].key, resp.header.revision, ctx)
