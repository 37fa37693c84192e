"""The namespace prefix math alone: ranges mapped inside, ops and compares rewritten, keys stripped;
then the namespace KV over a recording KV (no server).

The property tests model etcd's range semantics (a single key; ``[key, end)``; an end of
``b"\\0"`` meaning no end) and check, for random prefixes, keys and ranges, that a key is in
the rewritten range exactly when it is the prefix plus a key of the original range: never a
key outside the namespace.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcd3py import Compare, Context, Op, _pb
from etcd3py._keys import FROM_KEY_END
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    TxnResponse,
)
from etcd3py.errors import ArgumentTypeError, ClientClosedError, EmptyKeyError
from etcd3py.kv import KV
from etcd3py.namespace import new_kv
from etcd3py.namespace._prefix import (
    prefix_cmp,
    prefix_interval,
    prefix_op,
    unprefix_keys,
    unprefix_response,
    unprefix_watch_response,
)
from etcd3py.op import OpType
from etcd3py.watch import WatchResponse

# Few byte values so that ties, 0x00 and 0xff edges come up often.
_BYTE = st.sampled_from([0x00, 0x01, 0x2F, 0x61, 0x62, 0xFE, 0xFF])
KEYS = st.lists(_BYTE, max_size=4).map(bytes)
PREFIXES = st.lists(_BYTE, max_size=3).map(bytes)


def in_range(key: bytes, start: bytes, end: bytes) -> bool:
    """Whether etcd's range ``start``/``end`` holds ``key`` (end b"": one key; b"\\0": no end)."""
    if not end:
        return key == start
    if end == FROM_KEY_END:
        return key >= start
    return start <= key < end


def in_namespace_range(key: bytes, prefix: bytes, start: bytes, end: bytes) -> bool:
    """Whether the namespace's range ``start``/``end`` holds ``key`` (a full, prefixed key)."""
    if not key.startswith(prefix) or len(key) == len(prefix):
        return False
    inner = key[len(prefix) :]
    return in_range(inner, start or b"\0", end)


def user_range(key: bytes, kind: str, end: bytes) -> tuple[bytes, bytes]:
    """Build (key, range_end) as an Op holds them, from a user's key and range option."""
    if kind == "prefix":
        op = Op.get(key, prefix=True)
    elif kind == "from_key":
        op = Op.get(key, from_key=True)
    elif kind == "range_end":
        op = Op.get(key or b"k", range_end=end)
    else:
        op = Op.get(key or b"k")
    return op.key, op.range_end


def first_key_after(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix`` (b"" when none)."""
    stem = prefix.rstrip(b"\xff")
    return stem[:-1] + bytes((stem[-1] + 1,)) if stem else b""


RANGE_KINDS = st.sampled_from(["single", "prefix", "from_key", "range_end"])


@settings(max_examples=400, deadline=None)
@given(PREFIXES, KEYS, RANGE_KINDS, KEYS, st.lists(KEYS, max_size=12))
def test_rewritten_range_is_exactly_the_namespaced_range(
    prefix: bytes, key: bytes, kind: str, end: bytes, probes: list[bytes]
) -> None:
    start, stop = user_range(key, kind, end)
    begin, pfx_end = prefix_interval(prefix, start, stop)
    candidates = set(probes) | {prefix + p for p in probes} | {prefix, begin, pfx_end}
    after = first_key_after(prefix)
    candidates |= {prefix[:-1], prefix + b"\xff" * 3, b"\xff" * 5, after, after + b"\0"}
    for candidate in candidates:
        got = in_range(candidate, begin, pfx_end)
        assert got == in_namespace_range(candidate, prefix, start, stop), (candidate, begin)
        if got and prefix:
            assert candidate.startswith(prefix) and candidate != prefix


@settings(max_examples=300, deadline=None)
@given(PREFIXES, KEYS, KEYS, KEYS)
def test_explicit_ranges_never_leave_the_namespace(
    prefix: bytes, key: bytes, end: bytes, probe: bytes
) -> None:
    # Any (key, end) a raw Op or Cmp may hold, the empty key and b"\0" included.
    begin, pfx_end = prefix_interval(prefix, key, end)
    for candidate in (probe, prefix + probe, prefix, first_key_after(prefix)):
        if prefix and in_range(candidate, begin, pfx_end):
            assert candidate.startswith(prefix) and len(candidate) > len(prefix)


@pytest.mark.parametrize(
    ("prefix", "op", "expected"),
    [
        (b"/a/", Op.get("k"), (b"/a/k", b"")),
        (b"/a/", Op.get("k", prefix=True), (b"/a/k", b"/a/l")),
        (b"/a/", Op.get("k", from_key=True), (b"/a/k", b"/a0")),
        (b"/a/", Op.get("k", range_end="m"), (b"/a/k", b"/a/m")),
        (b"/a/", Op.get("k", range_end=b"\0"), (b"/a/k", b"/a0")),
        (b"/a/", Op.get("", prefix=True), (b"/a/\0", b"/a0")),
        (b"/a/", Op.get("", from_key=True), (b"/a/\0", b"/a0")),
        (b"/a/", Op.get(b"\xff", prefix=True), (b"/a/\xff", b"/a0")),
        (b"/a\xff", Op.get("", prefix=True), (b"/a\xff\0", b"/b")),
        (b"\xff\xff", Op.delete("x", from_key=True), (b"\xff\xffx", b"\0")),
        (b"", Op.get("k", prefix=True), (b"k", b"l")),
    ],
)
def test_prefix_op_ranges(prefix: bytes, op: Op, expected: tuple[bytes, bytes]) -> None:
    rewritten = prefix_op(prefix, op)
    assert (rewritten.key, rewritten.range_end) == expected
    assert rewritten.options == op.options and rewritten.type is op.type


def test_prefix_op_keeps_the_options_and_the_value() -> None:
    op = Op.put("k", "v", lease=7, prev_kv=True)
    rewritten = prefix_op(b"/ns/", op)
    assert rewritten == Op.put("/ns/k", "v", lease=7, prev_kv=True)
    get = prefix_op(b"/ns/", Op.get("a", prefix=True, rev=3, limit=2, keys_only=True))
    assert get.option("rev") == 3 and get.option("limit") == 2 and get.option("keys_only")


def test_prefix_op_rewrites_nested_txns_and_compares() -> None:
    inner = Op.txn(
        [Compare.version("c", prefix=True) > 0],
        [Op.delete("d", from_key=True)],
        [Op.get("", prefix=True)],
    )
    op = Op.txn(
        [Compare.value("k") == "v", Compare.mod_revision("r", range_end="s") < 5],
        [Op.put("k", "w"), inner],
        [Op.get("g")],
    )
    out = prefix_op(b"/n/", op)
    assert out.type is OpType.TXN
    assert [(c.key, c.range_end) for c in out.compares] == [(b"/n/k", b""), (b"/n/r", b"/n/s")]
    assert out.compares[0].operand == b"v" and out.compares[1].operand == 5
    assert out.then[0] == Op.put("/n/k", "w")
    nested = out.then[1]
    assert [(c.key, c.range_end) for c in nested.compares] == [(b"/n/c", b"/n/d")]
    assert (nested.then[0].key, nested.then[0].range_end) == (b"/n/d", b"/n0")
    assert (nested.else_[0].key, nested.else_[0].range_end) == (b"/n/\0", b"/n0")
    assert out.else_[0] == Op.get("/n/g")


def test_prefix_cmp_on_every_key() -> None:
    cmp = Compare.lease("", prefix=True) == 0
    out = prefix_cmp(b"/n/", cmp)
    assert (out.key, out.range_end) == (b"/n/\0", b"/n0")


def _kv(key: bytes, value: bytes = b"v") -> _pb.kv.KeyValue:
    return _pb.kv.KeyValue(key=key, value=value, create_revision=2, mod_revision=3, version=1)


def test_unprefix_get_put_delete() -> None:
    rng = _pb.rpc.RangeResponse(kvs=[_kv(b"/n/a"), _kv(b"/n/b")], count=2)
    got = unprefix_response(b"/n/", GetResponse.from_pb(rng))
    assert isinstance(got, GetResponse)
    assert [kv.key for kv in got.kvs] == [b"a", b"b"] and got.count == 2
    assert rng.kvs[0].key == b"/n/a", "the original message is left as it was"
    put = unprefix_response(b"/n/", PutResponse.from_pb(_pb.rpc.PutResponse(prev_kv=_kv(b"/n/p"))))
    assert isinstance(put, PutResponse) and put.prev_kv is not None
    assert put.prev_kv.key == b"p"
    bare = unprefix_response(b"/n/", PutResponse.from_pb(_pb.rpc.PutResponse()))
    assert isinstance(bare, PutResponse) and bare.prev_kv is None
    dele = _pb.rpc.DeleteRangeResponse(deleted=2, prev_kvs=[_kv(b"/n/x"), _kv(b"/n/y")])
    deleted = unprefix_response(b"/n/", DeleteResponse.from_pb(dele))
    assert isinstance(deleted, DeleteResponse)
    assert [kv.key for kv in deleted.prev_kvs] == [b"x", b"y"] and deleted.deleted == 2


def test_unprefix_nested_txn_response() -> None:
    inner = _pb.rpc.TxnResponse(
        succeeded=False,
        responses=[_pb.rpc.ResponseOp(response_range=_pb.rpc.RangeResponse(kvs=[_kv(b"/n/i")]))],
    )
    outer = _pb.rpc.TxnResponse(
        succeeded=True,
        responses=[
            _pb.rpc.ResponseOp(response_put=_pb.rpc.PutResponse(prev_kv=_kv(b"/n/p"))),
            _pb.rpc.ResponseOp(
                response_delete_range=_pb.rpc.DeleteRangeResponse(prev_kvs=[_kv(b"/n/d")])
            ),
            _pb.rpc.ResponseOp(response_txn=inner),
        ],
    )
    out = unprefix_response(b"/n/", TxnResponse.from_pb(outer))
    assert isinstance(out, TxnResponse) and out.succeeded
    put, dele, txn = out.responses
    assert isinstance(put, PutResponse) and put.prev_kv is not None and put.prev_kv.key == b"p"
    assert isinstance(dele, DeleteResponse) and [kv.key for kv in dele.prev_kvs] == [b"d"]
    assert isinstance(txn, TxnResponse) and not txn.succeeded
    (get,) = txn.responses
    assert isinstance(get, GetResponse) and [kv.key for kv in get.kvs] == [b"i"]


def test_unprefix_watch_response() -> None:
    event = _pb.kv.Event(type=_pb.kv.Event.PUT, kv=_kv(b"/n/k"), prev_kv=_kv(b"/n/k", b"old"))
    plain = _pb.kv.Event(type=_pb.kv.Event.DELETE, kv=_kv(b"/n/z"))
    msg = _pb.rpc.WatchResponse(watch_id=1, events=[event, plain])
    out = unprefix_watch_response(b"/n/", WatchResponse.from_pb(msg))
    assert [ev.kv.key for ev in out.events] == [b"k", b"z"]
    first = out.events[0].prev_kv
    assert first is not None and first.key == b"k" and first.value == b"old"
    assert out.events[1].prev_kv is None and out.err() is None
    notice = WatchResponse.from_pb(_pb.rpc.WatchResponse(created=True))
    assert unprefix_watch_response(b"/n/", notice) is notice
    compacted = _pb.rpc.WatchResponse(compact_revision=5, events=[event])
    ended = unprefix_watch_response(b"/n/", WatchResponse.from_pb(compacted))
    assert ended.compact_revision == 5 and type(ended.err()).__name__ == "CompactedError"


def test_unprefix_keys_keeps_only_namespaced_keys() -> None:
    keys = [b"/n/a", b"/m/b", b"/n/", b"/n", b"/n/c/d"]
    assert unprefix_keys(b"/n/", keys) == [b"a", b"c/d"]
    assert unprefix_keys(b"", keys) == keys


def test_empty_key_is_refused_before_prefixing() -> None:
    with pytest.raises(EmptyKeyError):
        Op.get("")


class RecordingKV(KV):
    """A KV that answers each op with the key-values it was given, recording what it got."""

    def __init__(self, stored: list[bytes]) -> None:
        self.stored = stored
        self.ops: list[Op] = []

    def do(self, op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> OpResponse:
        self.ops.append(op)
        inside = [
            k for k in self.stored if k >= op.key and (op.range_end == b"\0" or k < op.range_end)
        ]
        return GetResponse.from_pb(
            _pb.rpc.RangeResponse(kvs=[_kv(k) for k in inside], count=len(inside))
        )

    def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        self.ops.append(Op(OpType.GET, b"compact", options=(("rev", rev),)))
        return CompactResponse.from_pb(_pb.rpc.CompactionResponse())


def test_namespace_kv_prefixes_the_op_and_strips_the_answer() -> None:
    inner = RecordingKV([b"/n", b"/n/", b"/n/a", b"/n/b", b"/n0", b"/o"])
    kv = new_kv(inner, "/n/")
    got = kv.get("", prefix=True, limit=5)
    assert (inner.ops[-1].key, inner.ops[-1].range_end) == (b"/n/\0", b"/n0")
    assert inner.ops[-1].option("limit") == 5
    assert [kv.key for kv in got.kvs] == [b"a", b"b"]
    kv.compact(7)
    assert inner.ops[-1].option("rev") == 7, "compact passes through (revisions are global)"
    with pytest.raises(ArgumentTypeError):
        kv.do("get a")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        new_kv(object(), "/n/")  # type: ignore[arg-type]
    kv.close()
    with pytest.raises(ClientClosedError):
        kv.get("a")
    assert len(inner.ops) == 2, "nothing reached the wrapped KV after close"
