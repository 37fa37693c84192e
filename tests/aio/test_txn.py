"""The asyncio Txn (:class:`etcd3py.aio.txn.Txn`) on every backend.

It builds with the sync builder's own rules (the same ops, the same errors for a step out of
order or a bad argument, raised as it is given), and ``await commit()`` answers as the sync
commit: both branches, nested txns, typed responses, server errors; a ctx and a task
cancel apply to the commit.
"""

from __future__ import annotations

import pytest

from etcd3py import Client, Compare, Context, Op
from etcd3py._aio_transport import AioTransport
from etcd3py.aio.kv import GrpcKV
from etcd3py.aio.txn import Txn
from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    DeadlineExceededError,
    DuplicateKeyError,
    EtcdError,
    InvalidArgumentError,
)
from etcd3py.kv import DeleteResponse, GetResponse, PutResponse
from etcd3py.txn import Txn as SyncTxn
from etcd3py.txn import TxnResponse
from tests.aio.unary_support import (
    REVISIONS,
    WAIT,
    cancel_ctx_in_flight,
    cancel_in_flight,
    forbid_sending,
    held_transport,
    proxy,
    same_view,
)
from tests.e2e.hold_proxy import HoldProxy

__all__ = ["held_transport", "proxy"]  # fixtures


def test_txn_is_built_at_once_with_the_sync_builders_op(aio_transport: AioTransport) -> None:
    kv = GrpcKV(aio_transport)
    txn = kv.txn()
    assert isinstance(txn, Txn) and not isinstance(txn, SyncTxn)
    parts = (Compare.value("/k") == "v",), (Op.put("/k", "w"),), (Op.get("/k"),)
    built = txn.if_(*parts[0]).then(*parts[1]).else_(*parts[2])
    assert built is txn
    assert txn.op() == Op.txn(*parts)
    assert kv.txn().op() == Op.txn((), ())


MISUSE = [
    ("then twice", lambda t: t.then().then(), InvalidArgumentError, "cannot call then twice"),
    ("if after then", lambda t: t.then().if_(), InvalidArgumentError, "cannot call if_ after then"),
    ("then after else", lambda t: t.else_().then(), InvalidArgumentError, "after else_"),
    ("else twice", lambda t: t.else_().else_(), InvalidArgumentError, "cannot call else_ twice"),
    ("not a compare", lambda t: t.if_("x"), ArgumentTypeError, None),
    ("not an op", lambda t: t.then(Op.get("k"), 3), ArgumentTypeError, None),
]


@pytest.mark.parametrize(("case", "build", "error", "text"), MISUSE, ids=[m[0] for m in MISUSE])
def test_builder_errors_are_the_sync_ones(
    aio_transport: AioTransport,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    build: object,
    error: type[EtcdError],
    text: str | None,
) -> None:
    forbid_sending(aio_transport, monkeypatch)
    with pytest.raises(error) as aio:
        build(GrpcKV(aio_transport).txn())  # type: ignore[operator]
    with pytest.raises(error) as sync:
        build(client.txn())  # type: ignore[operator]
    assert str(aio.value) == str(sync.value)
    if text is not None:
        assert text in str(aio.value)


async def test_commit_answers_as_the_sync_commit(
    member_transport: AioTransport, member_client: Client, prefix: str
) -> None:
    kv, client = GrpcKV(member_transport), member_client  # the same member answers both
    await kv.put(prefix + "a", "1")
    await kv.put(prefix + "b", "2")

    def read_only(txn: Txn | SyncTxn, holds: bool) -> Txn | SyncTxn:
        version = 1 if holds else 5
        nested = Op.txn((Compare.version(prefix + "b") > 0,), (Op.get(prefix + "b"),))
        return (
            txn.if_(Compare.version(prefix + "a") == version, Compare.value(prefix + "b") == "2")
            .then(Op.get(prefix, prefix=True), nested)
            .else_(Op.get(prefix + "a", keys_only=True))
        )

    for holds in (True, False):
        aio_txn = read_only(kv.txn(), holds)
        assert isinstance(aio_txn, Txn)
        got = await aio_txn.commit(timeout=WAIT)
        assert isinstance(got, TxnResponse) and got.succeeded is holds
        sync_txn = read_only(client.txn(), holds)
        assert isinstance(sync_txn, SyncTxn)
        same_view(got, sync_txn.commit(timeout=WAIT), grown=REVISIONS)

    writes = kv.txn().if_(Compare.create_revision(prefix + "c") == 0)
    resp = await writes.then(Op.put(prefix + "c", "3"), Op.delete(prefix + "a")).commit()
    assert resp.succeeded
    assert [type(r) for r in resp.responses] == [PutResponse, DeleteResponse]
    assert [kv.key for kv in client.get(prefix, prefix=True).kvs] == [
        (prefix + "b").encode(),
        (prefix + "c").encode(),
    ]
    nested = await kv.txn().then(Op.txn((), (Op.get(prefix + "c"),))).commit()
    (inner,) = nested.responses
    assert isinstance(inner, TxnResponse) and isinstance(inner.responses[0], GetResponse)
    with pytest.raises(DuplicateKeyError):
        await kv.txn().then(Op.put(prefix + "d", "1"), Op.put(prefix + "d", "2")).commit()


async def test_commit_takes_a_ctx(aio_transport: AioTransport, prefix: str) -> None:
    kv = GrpcKV(aio_transport)
    expired = Context.background().with_timeout(1e-9)
    with pytest.raises(DeadlineExceededError):
        await kv.txn().then(Op.put(prefix + "k", "v")).commit(ctx=expired)
    cancelled = Context.background().with_cancel()
    cancelled.cancel()
    with pytest.raises(CanceledError):
        await kv.txn().then(Op.put(prefix + "k", "v")).commit(ctx=cancelled)
    leader = Context.background().with_require_leader()
    assert (await kv.txn().then(Op.put(prefix + "k", "v")).commit(ctx=leader)).succeeded
    assert (await kv.get(prefix + "k")).kvs[0].value == b"v"


async def test_commit_cancelled_in_flight(
    held_transport: AioTransport, proxy: HoldProxy, prefix: str
) -> None:
    kv = GrpcKV(held_transport)
    txn = kv.txn().then(Op.put(prefix + "k", "v"))
    await cancel_ctx_in_flight(held_transport, proxy, lambda ctx: txn.commit(ctx=ctx, timeout=WAIT))
    await cancel_in_flight(
        held_transport, proxy, lambda: kv.txn().then(Op.put(prefix + "k", "v")).commit(timeout=WAIT)
    )
    assert (await kv.get(prefix + "k", timeout=WAIT)).count == 0
