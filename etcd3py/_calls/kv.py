"""The KV service's RPCs, described once (see :mod:`etcd3py._calls`).

``do(op)`` describes the one RPC an :class:`~etcd3py.Op` becomes (Range, Put, DeleteRange or
Txn; a range, or a txn of ranges only, may be repeated); ``compact`` the Compaction RPC.
Arguments are checked here, before anything is sent.
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py._calls import Call
from etcd3py._ints import check_int
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    TxnResponse,
)
from etcd3py.errors import ArgumentTypeError
from etcd3py.op import _DELETE, _GET, _PUT, _TXN, Op, _describe

__all__ = ["compact", "do", "is_read_only"]


def is_read_only(op: Op) -> bool:
    """Whether ``op`` reads only: a get, or a txn whose every branch reads only."""
    if op.type is _GET:
        return True
    if op.type is _TXN:
        return all(is_read_only(child) for child in op.then + op.else_)
    return False


def do(op: Op) -> Call[OpResponse]:
    """Describe the RPC that runs ``op``.

    Args:
        op: the op (``Op.get``, ``Op.put``, ``Op.delete`` or ``Op.txn``).

    Returns:
        The call, whose answer is a ``GetResponse``, ``PutResponse``, ``DeleteResponse``
        or ``TxnResponse``.

    Raises:
        ArgumentTypeError: ``op`` is not an ``Op``.
    """
    if not isinstance(op, Op):
        raise ArgumentTypeError(f"do() takes an Op, not {_describe(op)}")
    if op.type is _GET:
        return Call("kv", "Range", op.to_range_request(), GetResponse, repeatable=True)
    if op.type is _PUT:
        return Call("kv", "Put", op.to_put_request(), PutResponse)
    if op.type is _DELETE:
        return Call("kv", "DeleteRange", op.to_delete_request(), DeleteResponse)
    return Call("kv", "Txn", op.to_txn_request(), TxnResponse, repeatable=is_read_only(op))


def get_key(key: bytes) -> Call[GetResponse]:
    """Describe the get of one key with no option: the call of ``do(Op.get(key))``.

    The gRPC KV of each face sends the common get this way, with no op built.

    Args:
        key: the key, checked (:func:`etcd3py.op._plain_get`).

    Returns:
        The call, whose answer is a ``GetResponse``.
    """
    return Call("kv", "Range", _pb.rpc.RangeRequest(key=key), GetResponse, repeatable=True)


def put_value(key: bytes, value: bytes) -> Call[PutResponse]:
    """Describe the put of one value with no option: the call of ``do(Op.put(key, value))``.

    Args:
        key: the key, checked (:func:`etcd3py.op._plain_put`).
        value: the value.

    Returns:
        The call, whose answer is a ``PutResponse``.
    """
    return Call("kv", "Put", _pb.rpc.PutRequest(key=key, value=value), PutResponse)


def compact(rev: int, physical: bool) -> Call[CompactResponse]:
    """Describe the Compaction RPC.

    Args:
        rev: compact the history up to this revision.
        physical: answer once the backend applied it.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``rev`` is not an int, ``physical`` not a bool.
        InvalidArgumentError: ``rev`` is negative or past ``2**63 - 1``.
    """
    check_int("rev", rev)
    if not isinstance(physical, bool):
        raise ArgumentTypeError(f"physical must be a bool, not {type(physical).__name__}")
    request = _pb.rpc.CompactionRequest(revision=rev, physical=physical)
    return Call("kv", "Compact", request, CompactResponse)
