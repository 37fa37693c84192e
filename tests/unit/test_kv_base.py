"""The KV base over a scripted do(), the Txn builder rules, and the response views."""

from __future__ import annotations

import pytest

from etcd3py import Compare, Op, _pb
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    TxnResponse,
    response_from_pb,
)
from etcd3py.errors import ArgumentTypeError, InternalError, InvalidArgumentError
from etcd3py.kv import KV
from etcd3py.models import KeyValue, ResponseHeader


def _kv(key: bytes, value: bytes, rev: int) -> _pb.kv.KeyValue:
    return _pb.kv.KeyValue(key=key, value=value, create_revision=rev, mod_revision=rev, version=1)


class RecordingKV(KV):
    """A KV whose do() records the op and answers from the op type."""

    def __init__(self) -> None:
        self.ops: list[tuple[Op, float | None]] = []

    def do(self, op: Op, *, timeout: float | None = None) -> OpResponse:
        self.ops.append((op, timeout))
        header = _pb.rpc.ResponseHeader(revision=5)
        if op.type.value == "get":
            return GetResponse(_pb.rpc.RangeResponse(header=header, kvs=[_kv(op.key, b"v", 5)]))
        if op.type.value == "put":
            return PutResponse(_pb.rpc.PutResponse(header=header))
        if op.type.value == "delete":
            return DeleteResponse(_pb.rpc.DeleteRangeResponse(header=header, deleted=1))
        return TxnResponse(_pb.rpc.TxnResponse(header=header, succeeded=True))

    def compact(
        self, rev: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
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
        def do(self, op: Op, *, timeout: float | None = None) -> OpResponse:
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
