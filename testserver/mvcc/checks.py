"""Request checks etcd makes before applying anything (``v3rpc/key.go``, ``v3_server.go``).

Empty keys, ``ignore_value``/``ignore_lease`` conflicts, the txn operation limit, keys
written twice in one txn branch (etcd's ``checkIntervals``) and the raft request size limit.
Each check raises the :mod:`etcd3py.errors` class etcd answers with.
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py.errors import (
    DuplicateKeyError,
    EmptyKeyError,
    KeyNotFoundError,
    LeaseProvidedError,
    RequestTooLargeError,
    TooManyOpsError,
    ValueProvidedError,
)

__all__ = [
    "check_delete_request",
    "check_intervals",
    "check_put_request",
    "check_raft_request_size",
    "check_range_request",
    "check_txn_request",
]

# The InternalRaftRequest etcd measures wraps the request (1-byte tag + length) beside a
# RequestHeader holding a 9-byte request ID: 2-byte tag, 1-byte length, 1-byte tag, 9 bytes.
_RAFT_HEADER_BYTES = 13


def check_range_request(r: _pb.rpc.RangeRequest) -> None:
    """Refuse a range with an empty key (``EmptyKeyError``)."""
    if not r.key:
        raise EmptyKeyError()


def check_put_request(r: _pb.rpc.PutRequest) -> None:
    """Refuse an empty key, or a value/lease given together with ``ignore_value``/``ignore_lease``.

    Raises:
        EmptyKeyError, ValueProvidedError, LeaseProvidedError: as etcd.
    """
    if not r.key:
        raise EmptyKeyError()
    if r.ignore_value and r.value:
        raise ValueProvidedError()
    if r.ignore_lease and r.lease != 0:
        raise LeaseProvidedError()


def check_delete_request(r: _pb.rpc.DeleteRangeRequest) -> None:
    """Refuse a delete with an empty key (``EmptyKeyError``)."""
    if not r.key:
        raise EmptyKeyError()


def check_txn_request(r: _pb.rpc.TxnRequest, max_txn_ops: int) -> None:
    """Check a txn's size and every operation in it, nested txns included.

    Args:
        r: the txn.
        max_txn_ops: the most operations one branch (or the compare list) may hold; a nested
            txn may hold only what its parent left (etcd passes ``max - parent's count``).

    Raises:
        TooManyOpsError: a branch or the compares exceed the limit.
        EmptyKeyError: a compare or an operation has an empty key.
        KeyNotFoundError: an operation is empty (etcd answers so).
    """
    opc = max(len(r.compare), len(r.success), len(r.failure))
    if opc > max_txn_ops:
        raise TooManyOpsError()
    for c in r.compare:
        if not c.key:
            raise EmptyKeyError()
    for op in (*r.success, *r.failure):
        _check_request_op(op, max_txn_ops - opc)


def _check_request_op(op: _pb.rpc.RequestOp, max_txn_ops: int) -> None:
    kind = op.WhichOneof("request")
    if kind == "request_range":
        check_range_request(op.request_range)
    elif kind == "request_put":
        check_put_request(op.request_put)
    elif kind == "request_delete_range":
        check_delete_request(op.request_delete_range)
    elif kind == "request_txn":
        check_txn_request(op.request_txn, max_txn_ops)
    else:
        raise KeyNotFoundError()


_Interval = tuple[bytes, bytes]


def _affine_less(a: bytes, b: bytes) -> bool:
    """``a < b`` where the empty string stands for +infinity (etcd's StringAffineComparable)."""
    if not a:
        return False
    if not b:
        return True
    return a < b


def _hits(point: bytes, dels: list[_Interval]) -> bool:
    """Whether the point ``[p, p+"\\0")`` overlaps a delete interval, as etcd's interval tree.

    A from-key delete (range end ``"\\0"``) is the literal interval ``[key, "\\0")``, which no
    point overlaps: etcd 3.5.1 does not see a put under a from-key delete as a duplicate.
    """
    end = point + b"\x00"
    for begin, stop in dels:
        left = _affine_less(point, begin) and not _affine_less(begin, end)
        right = not _affine_less(point, stop)
        if not left and not right:
            return True
    return False


def check_intervals(ops: list[_pb.rpc.RequestOp]) -> tuple[set[bytes], list[_Interval]]:
    """Refuse a branch that writes a key twice, as etcd's ``checkIntervals``.

    A put may not meet another put of the same key or a delete range covering it, in the
    branch or in any nested txn (a key put in both branches of one nested txn is fine).

    Args:
        ops: one branch of a txn.

    Returns:
        The keys the branch puts and the ranges it deletes (for the parent's check).

    Raises:
        DuplicateKeyError: a key is written twice.
    """
    dels: list[_Interval] = []
    for op in ops:
        if op.WhichOneof("request") == "request_delete_range":
            d = op.request_delete_range
            dels.append((d.key, d.range_end) if d.range_end else (d.key, d.key + b"\x00"))
    puts: set[bytes] = set()
    for op in ops:
        if op.WhichOneof("request") != "request_txn":
            continue
        puts_then, dels_then = check_intervals(list(op.request_txn.success))
        puts_else, dels_else = check_intervals(list(op.request_txn.failure))
        for k in puts_then:
            if k in puts or _hits(k, dels):
                raise DuplicateKeyError()
            puts.add(k)
        for k in puts_else:
            if (k in puts and k not in puts_then) or _hits(k, dels):
                raise DuplicateKeyError()
            puts.add(k)
        dels.extend(dels_then)
        dels.extend(dels_else)
    for op in ops:
        if op.WhichOneof("request") != "request_put":
            continue
        k = op.request_put.key
        if k in puts or _hits(k, dels):
            raise DuplicateKeyError()
        puts.add(k)
    return puts, dels


def _varint_len(n: int) -> int:
    length = 1
    while n >= 0x80:
        n >>= 7
        length += 1
    return length


def check_raft_request_size(body_size: int, max_request_bytes: int) -> None:
    """Refuse a write whose raft entry would exceed ``max_request_bytes``.

    etcd measures the marshalled InternalRaftRequest (the request plus a small header), so
    the limit bites a few bytes before the request alone reaches it.

    Args:
        body_size: the serialized size of the request.
        max_request_bytes: the server's limit.

    Raises:
        RequestTooLargeError: the entry is too large.
    """
    total = 1 + _varint_len(body_size) + body_size + _RAFT_HEADER_BYTES
    if total > max_request_bytes:
        raise RequestTooLargeError()
