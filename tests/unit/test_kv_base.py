"""The KV base over a scripted do(), the Txn builder rules, and the response views."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Compare, Context, Op, _pb
from etcd3py._calls import Call
from etcd3py._forward.auth import AuthMethods
from etcd3py._forward.kv import KVMethods
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    TxnResponse,
    response_from_pb,
)
from etcd3py._transport import check_ctx, check_timeout
from etcd3py.auth import Auth
from etcd3py.errors import ArgumentTypeError, InternalError, InvalidArgumentError
from etcd3py.kv import KV, GrpcKV
from etcd3py.lease import LeaseGrantResponse
from etcd3py.models import KeyValue, ResponseHeader
from etcd3py.namespace import new_kv


def _kv(key: bytes, value: bytes, rev: int) -> _pb.kv.KeyValue:
    return _pb.kv.KeyValue(key=key, value=value, create_revision=rev, mod_revision=rev, version=1)


class RecordingKV(KV):
    """A KV whose do() records the op (with its timeout and ctx) and answers from the op type."""

    def __init__(self) -> None:
        self.ops: list[tuple[Op, float | None]] = []
        self.ctxs: list[Context | None] = []

    def do(self, op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> OpResponse:
        self.ops.append((op, timeout))
        self.ctxs.append(ctx)
        header = _pb.rpc.ResponseHeader(revision=5)
        if op.type.value == "get":
            return GetResponse(_pb.rpc.RangeResponse(header=header, kvs=[_kv(op.key, b"v", 5)]))
        if op.type.value == "put":
            return PutResponse(_pb.rpc.PutResponse(header=header))
        if op.type.value == "delete":
            return DeleteResponse(_pb.rpc.DeleteRangeResponse(header=header, deleted=1))
        return TxnResponse(_pb.rpc.TxnResponse(header=header, succeeded=True))

    def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        self.ctxs.append(ctx)
        return CompactResponse(_pb.rpc.CompactionResponse())


def test_put_get_delete_are_built_on_do() -> None:
    kv = RecordingKV()
    assert kv.get("/a", prefix=True, timeout=2.0).kvs[0].key == b"/a"
    kv.put("/a", "v", prev_kv=True)
    assert kv.delete("/a", from_key=True).deleted == 1
    assert [op for op, _ in kv.ops] == [
        Op.get("/a", prefix=True),
        Op.put("/a", "v", prev_kv=True),
        Op.delete("/a", from_key=True),
    ]
    assert kv.ops[0][1] == 2.0


def test_a_do_answering_the_wrong_type_is_an_internal_error() -> None:
    class WrongKV(RecordingKV):
        def do(
            self, op: Op, *, timeout: float | None = None, ctx: Context | None = None
        ) -> OpResponse:
            return PutResponse(_pb.rpc.PutResponse())

    with pytest.raises(InternalError):
        WrongKV().get("a")
    with pytest.raises(InternalError):
        WrongKV().txn().commit()


def test_txn_builder_sends_one_txn_op() -> None:
    kv = RecordingKV()
    cmp = Compare.version("/a") == 0
    resp = kv.txn().if_(cmp).then(Op.put("/a", "1")).else_(Op.get("/a")).commit(timeout=1.5)
    assert resp.succeeded
    op, timeout = kv.ops[0]
    assert op == Op.txn([cmp], [Op.put("/a", "1")], [Op.get("/a")])
    assert timeout == 1.5


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["if_", "if_"], "cannot call if_ twice"),
        (["then", "then"], "cannot call then twice"),
        (["else_", "else_"], "cannot call else_ twice"),
        (["then", "if_"], "cannot call if_ after then"),
        (["else_", "if_"], "cannot call if_ after else_"),
        (["else_", "then"], "cannot call then after else_"),
    ],
)
def test_txn_builder_order_rules(steps: list[str], message: str) -> None:
    txn = RecordingKV().txn()
    getattr(txn, steps[0])()
    with pytest.raises(InvalidArgumentError, match=message):
        getattr(txn, steps[1])()


def test_txn_builder_checks_argument_types() -> None:
    with pytest.raises(ArgumentTypeError):
        RecordingKV().txn().if_("version > 0")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        RecordingKV().txn().then(Op.get("a"), "put")  # type: ignore[arg-type]


def test_views_read_the_message_and_compare_by_value() -> None:
    msg = _pb.rpc.RangeResponse(
        header=_pb.rpc.ResponseHeader(cluster_id=1, member_id=2, revision=3, raft_term=4),
        kvs=[_kv(b"a", b"1", 2), _kv(b"b", b"2", 3)],
        count=5,
        more=True,
    )
    resp = GetResponse(msg)
    assert (resp.count, resp.more) == (5, True)
    h = resp.header
    assert (h.cluster_id, h.member_id, h.revision, h.raft_term) == (1, 2, 3, 4)
    assert h == ResponseHeader(
        _pb.rpc.ResponseHeader(cluster_id=1, member_id=2, revision=3, raft_term=4)
    )
    kv = resp.kvs[0]
    assert (kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease) == (
        b"a",
        b"1",
        2,
        2,
        1,
        0,
    )
    assert kv == KeyValue(_kv(b"a", b"1", 2))
    assert kv != resp.kvs[1]
    assert "key=b'a'" in repr(kv)
    assert GetResponse.from_pb(msg) == resp
    copy = resp.to_pb()
    copy.count = 9
    assert resp.count == 5
    assert KeyValue.from_pb(kv.to_pb()) == kv


def test_put_and_delete_views() -> None:
    assert PutResponse(_pb.rpc.PutResponse()).prev_kv is None
    prev = PutResponse(_pb.rpc.PutResponse(prev_kv=_kv(b"k", b"old", 1))).prev_kv
    assert prev is not None and prev.value == b"old"
    deleted = DeleteResponse(_pb.rpc.DeleteRangeResponse(deleted=2, prev_kvs=[_kv(b"k", b"v", 1)]))
    assert deleted.deleted == 2 and [kv.key for kv in deleted.prev_kvs] == [b"k"]


def test_txn_responses_are_typed_and_nested() -> None:
    inner = _pb.rpc.TxnResponse(
        succeeded=False,
        responses=[_pb.rpc.ResponseOp(response_range=_pb.rpc.RangeResponse(count=1))],
    )
    msg = _pb.rpc.TxnResponse(
        succeeded=True,
        responses=[
            _pb.rpc.ResponseOp(response_put=_pb.rpc.PutResponse()),
            _pb.rpc.ResponseOp(response_delete_range=_pb.rpc.DeleteRangeResponse(deleted=1)),
            _pb.rpc.ResponseOp(response_txn=inner),
        ],
    )
    resp = TxnResponse(msg)
    kinds = [type(r) for r in resp.responses]
    assert kinds == [PutResponse, DeleteResponse, TxnResponse]
    nested = resp.responses[2]
    assert isinstance(nested, TxnResponse) and not nested.succeeded
    assert isinstance(nested.responses[0], GetResponse)
    assert isinstance(response_from_pb(msg.responses[0]), PutResponse)


# ---- ctx: every KV call hands its Context down to do() and to the transport --------------


def test_every_kv_call_passes_its_ctx_to_do() -> None:
    kv, ctx = RecordingKV(), Context.background().with_cancel()
    kv.get("a", ctx=ctx, limit=1)
    kv.put("a", "v", ctx=ctx, prev_kv=True)
    kv.delete("a", ctx=ctx)
    kv.txn().then(Op.get("a")).commit(ctx=ctx)
    kv.compact(3, ctx=ctx)
    kv.get("a")
    assert kv.ctxs == [ctx] * 5 + [None]


class _Stub:
    """Stands in for a gRPC stub: each attribute is the method's name."""

    def __getattr__(self, name: str) -> str:
        return name


class FakeTransport:
    """Records what each call got; answers with an empty response of the right type."""

    _ANSWERS = {
        "Range": _pb.rpc.RangeResponse,
        "Put": _pb.rpc.PutResponse,
        "DeleteRange": _pb.rpc.DeleteRangeResponse,
        "Txn": _pb.rpc.TxnResponse,
        "Compact": _pb.rpc.CompactionResponse,
    }

    def __init__(self) -> None:
        self.kv = _Stub()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, method: str, request: Any, **kwargs: Any) -> Any:
        self.calls.append((method, kwargs))
        return self._ANSWERS[method]()

    def run(self, call: Call[Any], **kwargs: Any) -> Any:
        """As ``Transport.run``: check ctx and timeout, look the method up, call it, wrap."""
        check_ctx(kwargs.get("ctx"))
        check_timeout(kwargs.get("timeout"))
        method = getattr(getattr(self, call.service), call.method)
        return call.wrap(self.call(method, call.request, repeatable=call.repeatable, **kwargs))


CALLS: list[tuple[str, Callable[[KV, Context | None], object]]] = [
    ("Range", lambda kv, ctx: kv.get("a", ctx=ctx)),
    ("Put", lambda kv, ctx: kv.put("a", "v", ctx=ctx)),
    ("DeleteRange", lambda kv, ctx: kv.delete("a", ctx=ctx)),
    ("Txn", lambda kv, ctx: kv.txn().then(Op.put("a", "v")).commit(ctx=ctx)),
    ("Range", lambda kv, ctx: kv.do(Op.get("a"), ctx=ctx)),
    ("Compact", lambda kv, ctx: kv.compact(5, ctx=ctx)),
]


@pytest.mark.parametrize("namespaced", [False, True], ids=["grpc", "namespace"])
@pytest.mark.parametrize(
    ("method", "call"), CALLS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CALLS)]
)
def test_grpc_and_namespace_kv_send_the_ctx(
    method: str, call: Callable[[KV, Context | None], object], namespaced: bool
) -> None:
    transport = FakeTransport()
    kv: KV = GrpcKV(transport)  # type: ignore[arg-type]
    if namespaced:
        kv = new_kv(kv, "/n/")
    ctx = Context.background().with_require_leader()
    call(kv, ctx)
    call(kv, None)
    assert [(m, kw["ctx"]) for m, kw in transport.calls] == [(method, ctx), (method, None)]


@pytest.mark.parametrize(
    ("method", "call"), CALLS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CALLS)]
)
def test_a_ctx_that_is_not_a_context_is_refused_before_sending(
    method: str, call: Callable[[KV, Any], object]
) -> None:
    transport = FakeTransport()
    for bad in ("ctx", 5.0, Context):
        with pytest.raises(ArgumentTypeError, match=r"ctx must be an etcd3py\.Context"):
            call(GrpcKV(transport), bad)  # type: ignore[arg-type]
    assert transport.calls == []


@pytest.mark.parametrize("rev", [-1, 2**63, 2**64])
def test_compact_refuses_an_out_of_range_revision_before_sending(rev: int) -> None:
    transport = FakeTransport()
    with pytest.raises(InvalidArgumentError, match="rev") as info:
        GrpcKV(transport).compact(rev)  # type: ignore[arg-type]
    assert type(info.value) is InvalidArgumentError
    assert transport.calls == []
    GrpcKV(transport).compact(2**63 - 1)  # type: ignore[arg-type]
    assert transport.calls[0][0] == "Compact"


def test_put_sends_a_grant_responses_lease_id() -> None:
    transport = FakeTransport()
    sent: list[Any] = []
    transport.call = lambda method, request, **kw: sent.append(request) or _pb.rpc.PutResponse()  # type: ignore[method-assign]
    grant = LeaseGrantResponse(_pb.rpc.LeaseGrantResponse(ID=42, TTL=5))
    GrpcKV(transport).put("a", "v", lease=grant)  # type: ignore[arg-type]
    assert sent[0].lease == 42


# ---- the Client's forwarding methods have the concern's exact signatures ---------------


def _public_methods(cls: type) -> list[str]:
    return sorted(n for n in vars(cls) if not n.startswith("_") and callable(getattr(cls, n)))


@pytest.mark.parametrize(("forward", "concern"), [(KVMethods, KV), (AuthMethods, Auth)])
def test_forwarding_signatures_match_the_concern(forward: type, concern: type) -> None:
    names = _public_methods(forward)
    assert names and set(names) <= set(dir(concern))
    for name in names:
        assert inspect.signature(getattr(forward, name)) == inspect.signature(
            getattr(concern, name)
        ), name
        if name != "txn":
            assert "ctx" in inspect.signature(getattr(forward, name)).parameters, name
