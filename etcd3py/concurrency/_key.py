"""Waiting for keys to go away: the helpers Mutex and Election block on (Go ``key.go``).

Owns :func:`wait_deletes`, which waits until no key under a prefix was created at or before a
revision, by watching the youngest such key (the caller's predecessor) for its deletion, then
looking again: never by polling. Built on ``client.get`` and ``client.watch`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py.concurrency._scope import check_context
from etcd3py.context import Context
from etcd3py.errors import EtcdError
from etcd3py.models import EventType, ResponseHeader, SortOrder, SortTarget

if TYPE_CHECKING:
    from etcd3py._responses import GetResponse
    from etcd3py.client import Client


def wait_delete(client: Client, key: bytes, rev: int, ctx: Context) -> None:
    """Block until ``key`` is deleted, watching it from revision ``rev``.

    Args:
        client: the client.
        key: the key.
        rev: the revision to watch from (the revision the caller saw it at).
        ctx: ends the wait with its error.

    Raises:
        CanceledError: ``ctx`` was cancelled.
        DeadlineExceededError: ``ctx``'s deadline passed.
        EtcdError: the watch failed (e.g. ``CompactedError``), or ended with no reason.
    """
    with client.watch(key, rev=rev, ctx=ctx) as chan:
        for wresp in chan:
            err = wresp.err()
            if err is not None:
                check_context(ctx)
                raise err
            if any(ev.type == EventType.DELETE for ev in wresp.events):
                return
    check_context(ctx)
    raise EtcdError("lost watcher waiting for delete")


def wait_deletes(client: Client, pfx: bytes, max_create_rev: int, ctx: Context) -> ResponseHeader:
    """Block until every key under ``pfx`` created at or before ``max_create_rev`` is gone.

    Watches only the youngest such key (the direct predecessor) at a time, as Go's
    ``waitDeletes``: a waiter wakes when its predecessor leaves, not on every release.

    Args:
        client: the client.
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
        resp = client.get(
            pfx,
            prefix=True,
            sort_target=SortTarget.CREATE,
            sort_order=SortOrder.DESCEND,
            limit=1,
            max_create_revision=max_create_rev,
            ctx=ctx,
        )
        if not resp.kvs:
            return resp.header
        wait_delete(client, resp.kvs[0].key, resp.header.revision, ctx)


def first_created(
    client: Client, pfx: bytes, *, timeout: float | None = None, ctx: Context | None = None
) -> GetResponse:
    """Read the oldest key under ``pfx`` by create revision (Go's ``WithFirstCreate``).

    Args:
        client: the client.
        pfx: the key prefix.
        timeout: seconds for the call.
        ctx: a Context whose deadline, cancellation and metadata apply.

    Returns:
        The response, with at most one key.
    """
    return client.get(
        pfx,
        prefix=True,
        sort_target=SortTarget.CREATE,
        sort_order=SortOrder.ASCEND,
        limit=1,
        timeout=timeout,
        ctx=ctx,
    )
