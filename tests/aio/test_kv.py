"""The asyncio KV (:class:`etcd3py.aio.kv.GrpcKV`) on every backend.

Each read is made by the asyncio face and the sync client with the same options and the
answers' messages must be equal, headers included; both faces are on the backend's first
endpoint only (``member_transport``, ``member_client``), so that one member answers both on
a cluster too. Only the header's revision may grow between the two reads, when another
client writes on a shared ``external`` cluster. Writes are checked by what they answer and
leave. Bad input raises the sync face's error before anything leaves; a ctx bounds, cancels
(from another thread, in flight) and carries metadata; cancelling the awaiting task cancels
the call (a hold proxy keeps it in flight). The compaction test is ``cluster_wide``.
"""

from __future__ import annotations

from typing import Any

import pytest

from etcd3py import Client, Context, Op, SortOrder, SortTarget
from etcd3py._aio_transport import AioTransport
from etcd3py.aio.kv import GrpcKV
from etcd3py.errors import (
    CanceledError,
    CompactedError,
    DeadlineExceededError,
    FutureRevisionError,
    KeyNotFoundError,
)
from etcd3py.kv import DeleteResponse, GetResponse, PutResponse
from tests.aio.unary_support import (
    REVISIONS,
    WAIT,
    Rejects,
    cancel_ctx_in_flight,
    cancel_in_flight,
    held_transport,
    proxy,
    recorded_metadata,
    rejects,
    same_error,
    same_view,
)
from tests.e2e.hold_proxy import HoldProxy

__all__ = ["held_transport", "proxy", "rejects"]  # fixtures


async def test_reads_answer_as_the_sync_client(
    member_transport: AioTransport, member_client: Client, prefix: str
) -> None:
    kv, client = GrpcKV(member_transport), member_client  # the same member answers both
    first = await kv.put(prefix + "a", "1")
    await kv.put(prefix + "b", "22")
    await kv.put(prefix + "c", "3")
    last = await kv.put(prefix + "a", "4")
    revs = {"min": first.header.revision + 1, "max": last.header.revision - 1}
    options: list[tuple[str, dict[str, Any]]] = [
        ("a", {}),
        ("missing", {}),
        ("", {"prefix": True}),
        ("a", {"range_end": prefix + "c"}),
        ("b", {"from_key": True, "limit": 2}),
        ("a", {"rev": first.header.revision}),
        ("", {"prefix": True, "limit": 1}),
        ("", {"prefix": True, "sort_target": SortTarget.VALUE, "sort_order": SortOrder.DESCEND}),
        ("", {"prefix": True, "sort_target": SortTarget.MOD, "sort_order": SortOrder.ASCEND}),
        ("", {"prefix": True, "keys_only": True}),
        ("", {"prefix": True, "count_only": True}),
        ("a", {"serializable": True}),
        ("", {"prefix": True, "min_mod_revision": revs["min"]}),
        ("", {"prefix": True, "max_mod_revision": revs["max"]}),
        ("", {"prefix": True, "min_create_revision": revs["min"]}),
        ("", {"prefix": True, "max_create_revision": revs["min"]}),
    ]
    for key, opts in options:
        got = await kv.get(prefix + key, **opts, timeout=WAIT)
        assert isinstance(got, GetResponse)
        # the header's revision is the store's: another test's write may move it on between
        same_view(got, client.get(prefix + key, **opts, timeout=WAIT), grown=REVISIONS)
    assert [kv.value for kv in (await kv.get(prefix, prefix=True)).kvs] == [b"4", b"22", b"3"]


async def test_put_options(aio_transport: AioTransport, client: Client, prefix: str) -> None:
    kv = GrpcKV(aio_transport)
    lease = client.grant(60)
    try:
        put = await kv.put(prefix + "k", "v1", lease=lease.id)
        assert isinstance(put, PutResponse) and put.prev_kv is None
        again = await kv.put(prefix + "k", "v2", prev_kv=True, ignore_lease=True)
        assert again.prev_kv is not None and again.prev_kv.value == b"v1"
        await kv.put(prefix + "k", "", ignore_value=True, lease=lease)  # a grant response
        (stored,) = client.get(prefix + "k").kvs
        assert (stored.value, stored.lease) == (b"v2", lease.id)
        with pytest.raises(KeyNotFoundError):
            await kv.put(prefix + "missing", "", ignore_value=True)
    finally:
        client.revoke(lease.id)
    assert client.get(prefix + "k").count == 0  # the lease took the key


async def test_delete_options(aio_transport: AioTransport, client: Client, prefix: str) -> None:
    kv = GrpcKV(aio_transport)
    for key in "abcde":
        await kv.put(prefix + key, key)
    one = await kv.delete(prefix + "a", prev_kv=True)
    assert isinstance(one, DeleteResponse)
    assert (one.deleted, [p.value for p in one.prev_kvs]) == (1, [b"a"])
    ranged = await kv.delete(prefix + "b", range_end=prefix + "d")
    assert (ranged.deleted, ranged.prev_kvs) == (2, [])
    assert [k.key for k in client.get(prefix, prefix=True).kvs] == [
        (prefix + "d").encode(),
        (prefix + "e").encode(),
    ]
    rest = await kv.delete(prefix, prefix=True, prev_kv=True)
    assert rest.deleted == 2 and client.get(prefix, prefix=True).count == 0
    tail = b"\xff" + prefix.encode()  # a from-key delete reaches the end of the key space
    for key in (b"a", b"b", b"c"):
        client.put(tail + key, "v")
    tail_deleted = await kv.delete(tail + b"b", from_key=True, prev_kv=True)
    assert [p.key for p in tail_deleted.prev_kvs] == [tail + b"b", tail + b"c"]
    await kv.delete(tail, prefix=True)


@pytest.mark.cluster_wide  # a compaction ends every other test's reads of older revisions
async def test_do_txn_and_compact(
    member_transport: AioTransport, member_client: Client, prefix: str
) -> None:
    kv, client = GrpcKV(member_transport), member_client  # the same member answers both
    assert isinstance(await kv.do(Op.put(prefix + "k", "1")), PutResponse)
    old = client.get(prefix + "k").header.revision
    got = await kv.do(Op.get(prefix + "k"))
    same_view(got, client.do(Op.get(prefix + "k")), grown=REVISIONS)
    now = (await kv.put(prefix + "k", "2")).header.revision
    compacted = await kv.compact(now, physical=True)
    assert compacted.header.revision >= now
    await same_error(
        lambda: kv.get(prefix + "k", rev=old), lambda: client.get(prefix + "k", rev=old)
    )
    with pytest.raises(CompactedError):
        await kv.compact(old)
    with pytest.raises(FutureRevisionError):
        await kv.compact(now + 1000)
    txn = await kv.do(Op.txn((), (Op.get(prefix + "k"), Op.delete(prefix + "k"))))
    assert txn.succeeded and [type(r) for r in txn.responses] == [GetResponse, DeleteResponse]


BAD_INPUT: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("get", (1,), {}),
    ("get", ("k",), {"limit": -1}),
    ("get", ("k",), {"prefix": True, "range_end": "z"}),
    ("get", ("k",), {"sort_order": "up"}),
    ("get", ("k",), {"rev": -3}),
    ("get", ("k",), {"timeout": -1}),
    ("get", ("k",), {"timeout": "soon"}),
    ("get", ("k",), {"ctx": "a context"}),
    ("put", ("k", 5), {}),
    ("put", ("k", "v"), {"ignore_value": True}),
    ("put", ("k", "v"), {"lease": -1}),
    ("put", ("k", ""), {"lease": 7, "ignore_lease": True}),
    ("delete", ("k",), {"prefix": True, "from_key": True}),
    ("delete", ("k",), {"ctx": object()}),
    ("compact", (-1,), {}),
    ("compact", ("7",), {}),
    ("compact", (7,), {"physical": "yes"}),
    ("do", ("not an op",), {}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), BAD_INPUT)
async def test_bad_input_raises_the_sync_error_before_sending(
    aio_transport: AioTransport, rejects: Rejects, method: str, args: Any, kwargs: Any
) -> None:
    await rejects(GrpcKV(aio_transport), method, args, kwargs)


async def test_ctx_deadline_cancel_and_metadata(aio_transport: AioTransport, prefix: str) -> None:
    kv = GrpcKV(aio_transport)
    expired = Context.background().with_timeout(1e-9)
    with pytest.raises(DeadlineExceededError):
        await kv.get(prefix + "k", ctx=expired)
    cancelled = Context.background().with_cancel()
    cancelled.cancel()
    with pytest.raises(CanceledError):
        await kv.put(prefix + "k", "v", ctx=cancelled)
    leader = Context.background().with_require_leader()
    with recorded_metadata(aio_transport, "kv", "Range") as seen:
        assert (await kv.get(prefix + "k", ctx=leader)).count == 0  # nothing was written
        await kv.get(prefix + "k")
    assert ("hasleader", "true") in seen[0] and ("hasleader", "true") not in seen[1]
    await kv.put(prefix + "k", "v", ctx=leader, timeout=WAIT)
    assert (await kv.get(prefix + "k", ctx=leader)).kvs[0].value == b"v"


async def test_ctx_cancelled_from_another_thread_in_flight(
    held_transport: AioTransport, proxy: HoldProxy, prefix: str
) -> None:
    kv = GrpcKV(held_transport)
    await cancel_ctx_in_flight(
        held_transport, proxy, lambda ctx: kv.get(prefix + "k", ctx=ctx, timeout=WAIT)
    )
    await cancel_ctx_in_flight(
        held_transport, proxy, lambda ctx: kv.put(prefix + "k", "v", ctx=ctx)
    )
    assert (await kv.get(prefix + "k", timeout=WAIT)).count == 0  # the held put never landed


async def test_cancelling_the_task_cancels_the_call(
    held_transport: AioTransport, proxy: HoldProxy, prefix: str
) -> None:
    kv = GrpcKV(held_transport)
    await cancel_in_flight(held_transport, proxy, lambda: kv.get(prefix + "k", timeout=WAIT))
    await cancel_in_flight(
        held_transport, proxy, lambda: kv.delete(prefix, prefix=True, timeout=WAIT)
    )
    await cancel_in_flight(
        held_transport, proxy, lambda: kv.txn().then(Op.put(prefix + "k", "v")).commit(timeout=WAIT)
    )
    # the transport goes on; no task is left (the autouse fixture checks)
    assert (await kv.get(prefix + "k", timeout=WAIT)).count == 0
