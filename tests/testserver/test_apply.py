"""Request-level rules over the store (testserver.mvcc.apply and testserver.mvcc.checks)."""

from __future__ import annotations

from typing import Any

import pytest

from etcd3py import _pb
from etcd3py.errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    RequestTooLargeError,
    TooManyOpsError,
    ValueProvidedError,
)
from testserver.mvcc import checks
from testserver.mvcc.apply import Applier
from testserver.mvcc.gosort import go_sort
from testserver.mvcc.store import Store

rpc = _pb.rpc
RR = rpc.RangeRequest
CMP = rpc.Compare


@pytest.fixture
def app() -> Applier:
    return Applier(Store())


def put(app: Applier, key: bytes, value: bytes = b"", **kw: Any) -> rpc.PutResponse:
    return app.put(rpc.PutRequest(key=key, value=value, **kw))


def get(app: Applier, key: bytes, **kw: Any) -> rpc.RangeResponse:
    return app.range(rpc.RangeRequest(key=key, **kw))


def keys(resp: rpc.RangeResponse) -> list[bytes]:
    return [kv.key for kv in resp.kvs]


def op(**kw: Any) -> rpc.RequestOp:
    return rpc.RequestOp(**kw)


def fill(app: Applier) -> None:
    # a=3 (rev 2), b=1 (rev 3), c=2 (rev 4), then a again (rev 5): a has version 2
    for key, value in ((b"a", b"3"), (b"b", b"1"), (b"c", b"2"), (b"a", b"3")):
        put(app, key, value)


def test_limit_more_and_count(app: Applier) -> None:
    fill(app)
    resp = get(app, b"a", range_end=b"\x00", limit=2)
    assert (keys(resp), resp.more, resp.count) == ([b"a", b"b"], True, 3)
    resp = get(app, b"a", range_end=b"\x00", limit=3)
    assert (resp.more, resp.count) == (False, 3)
    assert keys(get(app, b"\x00", range_end=b"\x00")) == [b"a", b"b", b"c"]


def test_sorting(app: Applier) -> None:
    fill(app)
    desc = get(app, b"a", range_end=b"z", sort_order=RR.DESCEND)
    assert keys(desc) == [b"c", b"b", b"a"]
    by_mod = get(app, b"a", range_end=b"z", sort_target=RR.MOD, sort_order=RR.DESCEND)
    assert keys(by_mod) == [b"a", b"c", b"b"]
    by_value = get(app, b"a", range_end=b"z", sort_target=RR.VALUE, sort_order=RR.ASCEND)
    assert keys(by_value) == [b"b", b"c", b"a"]


def test_order_none_with_another_target_sorts_only_what_the_limit_fetched(app: Applier) -> None:
    fill(app)
    # etcd fetches limit+1 keys in key order (a, b), sorts them by value, then cuts to 1.
    resp = get(app, b"a", range_end=b"z", sort_target=RR.VALUE, limit=1)
    assert (keys(resp), resp.more) == ([b"b"], True)
    # with an explicit order everything is fetched and sorted before the cut
    resp = get(app, b"a", range_end=b"z", sort_target=RR.VERSION, sort_order=RR.DESCEND, limit=1)
    assert keys(resp) == [b"a"]


def test_keys_only_and_count_only(app: Applier) -> None:
    fill(app)
    resp = get(app, b"a", range_end=b"z", keys_only=True)
    assert [kv.value for kv in resp.kvs] == [b"", b"", b""]
    resp = get(app, b"a", range_end=b"z", count_only=True, limit=1)
    assert (len(resp.kvs), resp.count, resp.more) == (0, 3, False)


def test_revision_filters_do_not_change_the_count(app: Applier) -> None:
    fill(app)
    resp = get(app, b"a", range_end=b"z", min_mod_revision=4)
    assert (keys(resp), resp.count) == ([b"a", b"c"], 3)
    resp = get(app, b"a", range_end=b"z", max_create_revision=3, min_create_revision=3)
    assert keys(resp) == [b"b"]


def test_range_revisions(app: Applier) -> None:
    fill(app)
    assert get(app, b"a", revision=2).kvs[0].version == 1
    assert get(app, b"a", revision=2).header.revision == 5
    with pytest.raises(FutureRevisionError):
        get(app, b"a", revision=6)
    app.compact(rpc.CompactionRequest(revision=4))
    with pytest.raises(CompactedError):
        get(app, b"a", revision=3)


def test_put_options(app: Applier) -> None:
    assert put(app, b"k", b"1").header.revision == 2
    resp = put(app, b"k", b"2", prev_kv=True)
    assert (resp.prev_kv.value, resp.header.revision) == (b"1", 3)
    assert not put(app, b"new", prev_kv=True).HasField("prev_kv")
    put(app, b"k", ignore_value=True)
    assert get(app, b"k").kvs[0].value == b"2"
    with pytest.raises(KeyNotFoundError):
        put(app, b"missing", ignore_value=True)
    with pytest.raises(KeyNotFoundError):
        put(app, b"missing", ignore_lease=True)
    with pytest.raises(LeaseNotFoundError):
        put(app, b"k", b"v", lease=42)
    assert app.store.current_revision == 5  # refused puts wrote nothing


def test_put_request_checks() -> None:
    with pytest.raises(EmptyKeyError):
        checks.check_put_request(rpc.PutRequest(key=b""))
    with pytest.raises(ValueProvidedError):
        checks.check_put_request(rpc.PutRequest(key=b"k", value=b"v", ignore_value=True))
    with pytest.raises(LeaseProvidedError):
        checks.check_put_request(rpc.PutRequest(key=b"k", lease=1, ignore_lease=True))
    with pytest.raises(EmptyKeyError):
        checks.check_range_request(rpc.RangeRequest())
    with pytest.raises(EmptyKeyError):
        checks.check_delete_request(rpc.DeleteRangeRequest())


def test_delete_range(app: Applier) -> None:
    fill(app)
    resp = app.delete_range(rpc.DeleteRangeRequest(key=b"a", range_end=b"c", prev_kv=True))
    assert (resp.deleted, resp.header.revision) == (2, 6)
    assert [kv.key for kv in resp.prev_kvs] == [b"a", b"b"]
    resp = app.delete_range(rpc.DeleteRangeRequest(key=b"a"))
    assert (resp.deleted, resp.header.revision) == (0, 6)


def test_txn_compares_and_one_revision(app: Applier) -> None:
    fill(app)
    t = rpc.TxnRequest(
        compare=[
            CMP(key=b"a", target=CMP.VALUE, result=CMP.EQUAL, value=b"3"),
            CMP(key=b"a", target=CMP.VERSION, result=CMP.GREATER, version=1),
            CMP(key=b"a", range_end=b"z", target=CMP.MOD, result=CMP.LESS, mod_revision=6),
            CMP(key=b"zz", target=CMP.CREATE, result=CMP.EQUAL, create_revision=0),
        ],
        success=[
            op(request_put=rpc.PutRequest(key=b"x", value=b"1")),
            op(request_delete_range=rpc.DeleteRangeRequest(key=b"b")),
            op(request_range=rpc.RangeRequest(key=b"\x00", range_end=b"\x00")),
        ],
    )
    resp = app.txn(t)
    assert resp.succeeded
    assert resp.header.revision == 6
    assert [kv.key for kv in resp.responses[2].response_range.kvs] == [b"a", b"c", b"x"]
    assert resp.responses[1].response_delete_range.deleted == 1
    assert app.store.current_revision == 6


def test_txn_value_compare_on_a_missing_key_fails(app: Applier) -> None:
    t = rpc.TxnRequest(
        compare=[CMP(key=b"nope", target=CMP.VALUE, result=CMP.NOT_EQUAL, value=b"x")],
        failure=[op(request_range=rpc.RangeRequest(key=b"nope"))],
    )
    resp = app.txn(t)
    assert not resp.succeeded
    assert resp.header.revision == 1  # read-only: no new revision


def test_nested_txn(app: Applier) -> None:
    fill(app)
    inner = rpc.TxnRequest(
        compare=[CMP(key=b"a", target=CMP.VALUE, result=CMP.EQUAL, value=b"nope")],
        success=[op(request_put=rpc.PutRequest(key=b"then"))],
        failure=[op(request_put=rpc.PutRequest(key=b"else"))],
    )
    resp = app.txn(rpc.TxnRequest(success=[op(request_txn=inner)]))
    nested = resp.responses[0].response_txn
    assert not nested.succeeded
    assert nested.HasField("header") and nested.header.revision == 0
    assert keys(get(app, b"else")) == [b"else"]
    assert keys(get(app, b"then")) == []


def test_txn_checks_refuse_before_any_write(app: Applier) -> None:
    bad_put = rpc.TxnRequest(success=[op(request_put=rpc.PutRequest(key=b"k", lease=9))])
    with pytest.raises(LeaseNotFoundError):
        app.txn(bad_put)
    bad_range = rpc.TxnRequest(success=[op(request_range=rpc.RangeRequest(key=b"k", revision=9))])
    with pytest.raises(FutureRevisionError):
        app.txn(bad_range)
    assert app.store.current_revision == 1


def test_txn_request_checks() -> None:
    many = rpc.TxnRequest(success=[op(request_range=rpc.RangeRequest(key=b"k"))] * 3)
    checks.check_txn_request(many, 3)
    with pytest.raises(TooManyOpsError):
        checks.check_txn_request(many, 2)
    with pytest.raises(KeyNotFoundError):
        checks.check_txn_request(rpc.TxnRequest(success=[rpc.RequestOp()]), 128)
    with pytest.raises(EmptyKeyError):
        checks.check_txn_request(rpc.TxnRequest(compare=[CMP(key=b"")]), 128)


def put_op(key: bytes) -> rpc.RequestOp:
    return op(request_put=rpc.PutRequest(key=key))


def del_op(key: bytes, end: bytes = b"") -> rpc.RequestOp:
    return op(request_delete_range=rpc.DeleteRangeRequest(key=key, range_end=end))


def txn_op(then: list[rpc.RequestOp], else_: list[rpc.RequestOp]) -> rpc.RequestOp:
    return op(request_txn=rpc.TxnRequest(success=then, failure=else_))


@pytest.mark.parametrize(
    ("ops", "duplicate"),
    [
        ([put_op(b"a"), put_op(b"a")], True),
        ([put_op(b"a"), del_op(b"a")], True),
        ([put_op(b"b"), del_op(b"a", b"c")], True),
        ([put_op(b"c"), del_op(b"a", b"c")], False),
        ([put_op(b"b"), del_op(b"a", b"\x00")], False),  # etcd 3.5.1 misses from-key overlaps
        ([put_op(b"a"), txn_op([put_op(b"a")], [])], True),
        ([txn_op([put_op(b"a")], [put_op(b"a")])], False),
        ([txn_op([del_op(b"a")], []), put_op(b"a")], True),
        ([del_op(b"a"), del_op(b"a")], False),
    ],
)
def test_duplicate_keys(ops: list[rpc.RequestOp], duplicate: bool) -> None:
    if duplicate:
        with pytest.raises(DuplicateKeyError):
            checks.check_intervals(ops)
    else:
        checks.check_intervals(ops)


def test_raft_request_size() -> None:
    checks.check_raft_request_size(1000, 2000)
    with pytest.raises(RequestTooLargeError):
        checks.check_raft_request_size(1990, 2000)


def test_go_sort_sorts() -> None:
    data = [(i * 7919) % 97 for i in range(300)]
    go_sort(data, lambda a, b: a < b)
    assert data == sorted(data)


def test_a_txn_failing_midway_leaves_no_trace(app: Applier) -> None:
    fill(app)
    before = app.store.hash_by_rev(0)
    # etcd 3.5.1 crashes on this txn (the put's key is gone by the time it applies)
    t = rpc.TxnRequest(
        success=[
            put_op(b"new"),
            del_op(b"a", b"\x00"),
            txn_op([op(request_put=rpc.PutRequest(key=b"c", ignore_value=True))], []),
        ]
    )
    with pytest.raises(KeyNotFoundError):
        app.txn(t)
    assert app.store.hash_by_rev(0) == before
    assert app.store.current_revision == 5
    assert keys(get(app, b"\x00", range_end=b"\x00")) == [b"a", b"b", b"c"]
    assert app.store.index.key_index(b"new") is None
    assert put(app, b"c", b"again").header.revision == 6
    assert get(app, b"c").kvs[0].version == 2
