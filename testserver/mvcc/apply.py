"""Request-level semantics over the store, as etcd's ``server/etcdserver/apply.go``.

Range (limits, filters, sorting, keys-only, count-only), Put (prev_kv, ignore_value,
ignore_lease, lease checks), DeleteRange, Txn (compares, nested txns, reads that see earlier
writes of the same txn, one revision for the whole txn) and Compaction. Requests and
responses are the etcd protobuf messages; the response headers carry only the revision
(the service layer fills in the rest, as etcd's ``header.fill``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from etcd3py import _pb
from etcd3py.errors import (
    CompactedError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
)
from testserver.mvcc.gosort import go_sort
from testserver.mvcc.store import Record, Store, TxnRead, TxnWrite

__all__ = ["Applier", "is_read_only", "range_end"]

_RR = _pb.rpc.RangeRequest
_CMP = _pb.rpc.Compare

_SORT_KEYS: dict[int, Callable[[Record], object]] = {
    _RR.KEY: lambda r: r.key,
    _RR.VERSION: lambda r: r.version,
    _RR.CREATE: lambda r: r.create_revision,
    _RR.MOD: lambda r: r.mod_revision,
    _RR.VALUE: lambda r: r.value,
}


def range_end(end: bytes) -> bytes | None:
    """Turn a request's range end into the store's: ``b""`` → one key, ``b"\\0"`` → no bound."""
    if end == b"\x00":
        return b""
    return end or None


def _prune(records: list[Record], r: _pb.rpc.RangeRequest) -> list[Record]:
    if r.max_mod_revision:
        records = [x for x in records if x.mod_revision <= r.max_mod_revision]
    if r.min_mod_revision:
        records = [x for x in records if x.mod_revision >= r.min_mod_revision]
    if r.max_create_revision:
        records = [x for x in records if x.create_revision <= r.max_create_revision]
    if r.min_create_revision:
        records = [x for x in records if x.create_revision >= r.min_create_revision]
    return records


def _sort(records: list[Record], r: _pb.rpc.RangeRequest) -> None:
    order = r.sort_order
    if r.sort_target != _RR.KEY and order == _RR.NONE:
        order = _RR.ASCEND  # etcd sorts by a non-key target ascending by default
    get = _SORT_KEYS.get(r.sort_target)
    if get is None or order not in (_RR.ASCEND, _RR.DESCEND):
        return
    if order == _RR.ASCEND:
        go_sort(records, lambda a, b: get(a) < get(b))  # type: ignore[operator]
    else:
        go_sort(records, lambda a, b: get(b) < get(a))  # type: ignore[operator]


def _compare(c: _pb.rpc.Compare, kv: Record) -> bool:
    union = c.WhichOneof("target_union")
    result: int
    if c.target == _CMP.VALUE:
        want = c.value if union == "value" else b""
        result = (kv.value > want) - (kv.value < want)
    else:
        have, field = {
            _CMP.VERSION: (kv.version, "version"),
            _CMP.CREATE: (kv.create_revision, "create_revision"),
            _CMP.MOD: (kv.mod_revision, "mod_revision"),
            _CMP.LEASE: (kv.lease, "lease"),
        }.get(c.target, (0, ""))
        rev = getattr(c, field) if field and union == field else 0
        result = (have > rev) - (have < rev)
    return {
        _CMP.EQUAL: result == 0,
        _CMP.NOT_EQUAL: result != 0,
        _CMP.GREATER: result > 0,
        _CMP.LESS: result < 0,
    }.get(c.result, True)


def _apply_compare(rv: TxnRead, c: _pb.rpc.Compare) -> bool:
    records = rv.range(c.key, range_end(c.range_end)).records
    if not records:
        if c.target == _CMP.VALUE:
            return False  # a missing key has no value to compare
        return _compare(c, Record(b""))
    return all(_compare(c, kv) for kv in records)


def _compare_path(rv: TxnRead, t: _pb.rpc.TxnRequest, path: list[bool]) -> None:
    ok = all(_apply_compare(rv, c) for c in t.compare)
    path.append(ok)
    for op in t.success if ok else t.failure:
        if op.WhichOneof("request") == "request_txn":
            _compare_path(rv, op.request_txn, path)


def is_read_only(t: _pb.rpc.TxnRequest) -> bool:
    """Return whether every operation of the txn (both branches) is a range."""
    return all(op.WhichOneof("request") == "request_range" for op in (*t.success, *t.failure))


class Applier:
    """Applies KV requests to a :class:`Store` and builds etcd's responses."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def range(self, r: _pb.rpc.RangeRequest, txn: TxnRead | None = None) -> _pb.rpc.RangeResponse:
        """Serve a RangeRequest as etcd's ``applierV3backend.Range``.

        Raises:
            CompactedError, FutureRevisionError: the revision asked is out of range.
        """
        txn = txn if txn is not None else self.store.read()
        limit = r.limit
        if (
            r.sort_order != _RR.NONE
            or r.min_mod_revision
            or r.max_mod_revision
            or r.min_create_revision
            or r.max_create_revision
        ):
            limit = 0  # fetch everything, then sort and cut
        if limit > 0:
            limit += 1  # one more to know whether there is more
        rr = txn.range(
            r.key, range_end(r.range_end), rev=r.revision, limit=limit, count_only=r.count_only
        )
        records = _prune(rr.records, r)
        _sort(records, r)
        resp = _pb.rpc.RangeResponse(count=rr.count)
        if r.limit > 0 and len(records) > r.limit:
            records = records[: r.limit]
            resp.more = True
        resp.header.revision = rr.rev
        for rec in records:
            kv = rec.to_pb()
            if r.keys_only:
                kv.value = b""
            resp.kvs.append(kv)
        return resp

    def put(self, p: _pb.rpc.PutRequest, txn: TxnWrite | None = None) -> _pb.rpc.PutResponse:
        """Serve a PutRequest as etcd's ``applierV3backend.Put``.

        Raises:
            LeaseNotFoundError: the lease does not exist.
            KeyNotFoundError: ``ignore_value``/``ignore_lease`` on a key that does not exist.
        """
        own = txn is None
        if txn is None:
            if p.lease and not self.store.lessor.lookup(p.lease):
                raise LeaseNotFoundError()
            txn = self.store.write()
        try:
            resp = self._put(p, txn)
        except BaseException:
            if own:
                txn.abort()
            raise
        if own:
            txn.end()
        return resp

    def _put(self, p: _pb.rpc.PutRequest, txn: TxnWrite) -> _pb.rpc.PutResponse:
        resp = _pb.rpc.PutResponse()
        value, lease = p.value, p.lease
        prev: list[Record] = []
        if p.ignore_value or p.ignore_lease or p.prev_kv:
            prev = txn.range(p.key, None).records
        if (p.ignore_value or p.ignore_lease) and not prev:
            raise KeyNotFoundError()
        if p.ignore_value:
            value = prev[0].value
        if p.ignore_lease:
            lease = prev[0].lease
        if p.prev_kv and prev:
            resp.prev_kv.CopyFrom(prev[0].to_pb())
        resp.header.revision = txn.put(p.key, value, lease)
        return resp

    def delete_range(
        self, d: _pb.rpc.DeleteRangeRequest, txn: TxnWrite | None = None
    ) -> _pb.rpc.DeleteRangeResponse:
        """Serve a DeleteRangeRequest as etcd's ``applierV3backend.DeleteRange``."""
        own = txn is None
        if txn is None:
            txn = self.store.write()
        try:
            resp = _pb.rpc.DeleteRangeResponse()
            end = range_end(d.range_end)
            if d.prev_kv:
                resp.prev_kvs.extend(rec.to_pb() for rec in txn.range(d.key, end).records)
            resp.deleted, resp.header.revision = txn.delete_range(d.key, end)
            return resp
        finally:
            if own:
                txn.end()

    def txn(self, t: _pb.rpc.TxnRequest) -> _pb.rpc.TxnResponse:
        """Serve a TxnRequest as etcd's ``applierV3backend.Txn``: checks, then one revision.

        Raises:
            LeaseNotFoundError, KeyNotFoundError: a put of the chosen branches is refused.
            CompactedError, FutureRevisionError: a range of the chosen branches is out of range.
        """
        rv = self.store.read()
        path: list[bool] = []
        _compare_path(rv, t, path)
        is_write = not is_read_only(t)
        if is_write:
            self._check_ops(rv, t, iter(path), self._check_put)
        self._check_ops(rv, t, iter(path), self._check_range)
        if not is_write:
            resp = self._apply_txn(rv, t, iter(path))
            resp.header.revision = rv.rev
            return resp
        txn = self.store.write()
        try:
            resp = self._apply_txn(txn, t, iter(path))
        except BaseException:
            # etcd crashes here (e.g. an ignore_value put after a delete of its key in the
            # same txn); the reference server refuses the whole txn instead
            txn.abort()
            raise
        resp.header.revision = txn.begin_rev + 1 if txn.changes else txn.begin_rev
        txn.end()
        return resp

    def _check_ops(
        self,
        rv: TxnRead,
        t: _pb.rpc.TxnRequest,
        path: Iterator[bool],
        check: Callable[[TxnRead, _pb.rpc.RequestOp], None],
    ) -> None:
        for op in t.success if next(path) else t.failure:
            if op.WhichOneof("request") == "request_txn":
                self._check_ops(rv, op.request_txn, path, check)
            else:
                check(rv, op)

    def _check_put(self, rv: TxnRead, op: _pb.rpc.RequestOp) -> None:
        if op.WhichOneof("request") != "request_put":
            return
        p = op.request_put
        if (p.ignore_value or p.ignore_lease) and not rv.range(p.key, None).records:
            raise KeyNotFoundError()
        if p.lease and not self.store.lessor.lookup(p.lease):
            raise LeaseNotFoundError()

    def _check_range(self, rv: TxnRead, op: _pb.rpc.RequestOp) -> None:
        if op.WhichOneof("request") != "request_range":
            return
        rev = op.request_range.revision
        if rev == 0:
            return
        if rev > rv.rev:
            raise FutureRevisionError()
        if rev < rv.first_rev:
            raise CompactedError()

    def _apply_txn(
        self, txn: TxnRead, t: _pb.rpc.TxnRequest, path: Iterator[bool]
    ) -> _pb.rpc.TxnResponse:
        ok = next(path)
        resp = _pb.rpc.TxnResponse(succeeded=ok)
        resp.header.SetInParent()  # etcd sends nested txn headers empty but present
        for op in t.success if ok else t.failure:
            kind = op.WhichOneof("request")
            out = resp.responses.add()
            if kind == "request_range":
                out.response_range.CopyFrom(self.range(op.request_range, txn))
            elif kind == "request_put" and isinstance(txn, TxnWrite):
                out.response_put.CopyFrom(self.put(op.request_put, txn))
            elif kind == "request_delete_range" and isinstance(txn, TxnWrite):
                out.response_delete_range.CopyFrom(self.delete_range(op.request_delete_range, txn))
            elif kind == "request_txn":
                out.response_txn.CopyFrom(self._apply_txn(txn, op.request_txn, path))
        return resp

    def compact(self, c: _pb.rpc.CompactionRequest) -> _pb.rpc.CompactionResponse:
        """Serve a CompactionRequest; the header carries the current revision.

        Raises:
            CompactedError: the revision is at or below the last compaction.
            FutureRevisionError: the revision is above the current one.
        """
        self.store.compact(c.revision)
        resp = _pb.rpc.CompactionResponse()
        resp.header.revision = self.store.current_revision
        return resp
