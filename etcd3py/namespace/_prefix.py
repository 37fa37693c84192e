"""The prefix math of namespaces: keys and ranges into the namespace, responses out of it.

Owns, in one place, how a namespace rewrites what goes out (an :class:`~etcd3py.Op`, its
range, a txn's compares and ops, nested txns too) and what comes back (keys stripped from
``kvs``, ``prev_kv``, ``prev_kvs``, nested txn responses, watch events), as clientv3's
``namespace/util.go`` and ``kv.go``. No I/O.

The range rules (``key``/``range_end`` as an :class:`~etcd3py.Op` holds them):

* a single key (``range_end`` empty): ``prefix + key``;
* a range ``[key, end)``: ``[prefix + key, prefix + end)``;
* a range end of ``b"\\0"`` in any form (``from_key``, ``prefix=True`` on a key of ``0xff``
  bytes, ``range_end=b"\\0"``): the namespace's own prefix end, so it never reaches outside;
* the empty key with ``prefix=True``/``from_key`` (held as ``[b"\\0", b"\\0")``): the whole
  namespace, ``[prefix + b"\\0", prefix end)``. The key equal to the namespace prefix itself
  is not in the namespace (it would read back as the empty key, which cannot be written).

Unlike clientv3 (which adds one to the last byte with a carry and keeps the length, so the
namespace ``"/a\\xff"`` would reach the key ``"/b"``), the prefix end is computed like
``prefix=True`` does: the last byte below ``0xff`` is incremented and the rest dropped.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from etcd3py import _pb
from etcd3py._keys import ALL_KEYS_START, FROM_KEY_END, prefix_range_end
from etcd3py._lease_views import LeaseTimeToLiveResponse
from etcd3py._responses import (
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    TxnResponse,
)
from etcd3py._watch_views import WatchResponse
from etcd3py.compare import Cmp
from etcd3py.errors import ArgumentTypeError, EmptyKeyError
from etcd3py.op import Op, OpType, _check_options, _describe, _key_range
from etcd3py.watch import WatchOptions


def prefix_interval(prefix: bytes, key: bytes, range_end: bytes) -> tuple[bytes, bytes]:
    """Map the range ``[key, range_end)`` (or the single ``key``) into the namespace.

    Args:
        prefix: the namespace prefix.
        key: the key, or the start of the range, as the caller sees it.
        range_end: the exclusive end (``b""``: the single key; ``b"\\0"``: no end).

    Returns:
        ``(key, range_end)`` as sent to the server; the range holds only keys that start
        with ``prefix`` and are longer than it (an empty ``key``, which valid ops and
        compares never hold, is read as ``b"\0"``, the first key).
    """
    start = prefix + (key or ALL_KEYS_START)  # never the prefix itself: it is not inside
    if range_end == FROM_KEY_END:
        return start, prefix_range_end(prefix) if prefix else FROM_KEY_END
    if not range_end:
        return start, b""
    return start, prefix + range_end


def prefix_cmp(prefix: bytes, cmp: Cmp) -> Cmp:
    """Return ``cmp`` with its key (and range end, if any) inside the namespace.

    Args:
        prefix: the namespace prefix.
        cmp: the compare as the caller built it.

    Returns:
        A new compare.
    """
    key, end = prefix_interval(prefix, cmp.key, cmp.range_end)
    return dataclasses.replace(cmp, key=key, range_end=end)


def namespace_op(prefix: bytes, op: object) -> Op:
    """Check an op a namespace KV is asked to run, and return it inside the namespace.

    Args:
        prefix: the namespace prefix.
        op: what the caller passed to ``do``.

    Returns:
        The op with its keys, ranges, compares and nested ops prefixed.

    Raises:
        ArgumentTypeError: ``op`` is not an ``Op``.
        EmptyKeyError: a get, put or delete op with an empty key.
    """
    if not isinstance(op, Op):
        raise ArgumentTypeError(f"do() takes an Op, not {_describe(op)}")
    if not op.key and op.type is not OpType.TXN:
        raise EmptyKeyError(EmptyKeyError.etcd_message)
    return prefix_op(prefix, op)


def prefix_op(prefix: bytes, op: Op) -> Op:
    """Return ``op`` with every key and range inside the namespace (txns: recursively).

    Args:
        prefix: the namespace prefix.
        op: the op as the caller built it.

    Returns:
        A new op; ``op`` itself is frozen and left as it is.
    """
    if op.type is not OpType.TXN:
        key, end = prefix_interval(prefix, op.key, op.range_end)
        return dataclasses.replace(op, key=key, range_end=end)
    return dataclasses.replace(
        op,
        compares=tuple(prefix_cmp(prefix, c) for c in op.compares),
        then=tuple(prefix_op(prefix, o) for o in op.then),
        else_=tuple(prefix_op(prefix, o) for o in op.else_),
    )


def _strip_kv(n: int, kv: _pb.kv.KeyValue) -> None:
    kv.key = kv.key[n:]


def _strip_range(n: int, msg: _pb.rpc.RangeResponse) -> None:
    for kv in msg.kvs:
        _strip_kv(n, kv)


def _strip_put(n: int, msg: _pb.rpc.PutResponse) -> None:
    if msg.HasField("prev_kv"):
        _strip_kv(n, msg.prev_kv)


def _strip_delete(n: int, msg: _pb.rpc.DeleteRangeResponse) -> None:
    for kv in msg.prev_kvs:
        _strip_kv(n, kv)


def _strip_txn(n: int, msg: _pb.rpc.TxnResponse) -> None:
    for resp in msg.responses:
        which = resp.WhichOneof("response")
        if which == "response_range":
            _strip_range(n, resp.response_range)
        elif which == "response_put":
            _strip_put(n, resp.response_put)
        elif which == "response_delete_range":
            _strip_delete(n, resp.response_delete_range)
        elif which == "response_txn":
            _strip_txn(n, resp.response_txn)


def unprefix_response(prefix: bytes, response: OpResponse) -> OpResponse:
    """Return a view of ``response`` whose keys lose the namespace prefix.

    The response's message is copied and rewritten; ``response`` itself is left as it is.

    Args:
        prefix: the namespace prefix.
        response: the response of the prefixed op.

    Returns:
        A new response view of the same type.
    """
    n = len(prefix)
    if not n:
        return response
    if isinstance(response, GetResponse):
        get = response.to_pb()
        _strip_range(n, get)
        return GetResponse.from_pb(get)
    if isinstance(response, PutResponse):
        put = response.to_pb()
        _strip_put(n, put)
        return PutResponse.from_pb(put)
    if isinstance(response, DeleteResponse):
        delete = response.to_pb()
        _strip_delete(n, delete)
        return DeleteResponse.from_pb(delete)
    txn = response.to_pb()
    _strip_txn(n, txn)
    return TxnResponse.from_pb(txn)


def unprefix_watch_response(prefix: bytes, response: WatchResponse) -> WatchResponse:
    """Return a view of ``response`` whose events' ``kv`` and ``prev_kv`` lose the prefix.

    A response without events (created, progress, cancel) is returned as it is.

    Args:
        prefix: the namespace prefix.
        response: the response of the prefixed watch.

    Returns:
        The response with its keys stripped; ``err()`` answers as the original's does.
    """
    n = len(prefix)
    if not n or not response.events:
        return response
    msg = response.to_pb()
    for event in msg.events:
        _strip_kv(n, event.kv)
        if event.HasField("prev_kv"):
            _strip_kv(n, event.prev_kv)
    return WatchResponse.from_pb(msg, response.err())


def unprefix_keys(prefix: bytes, keys: list[bytes]) -> list[bytes]:
    """Keep the keys inside the namespace, without the prefix (lease ``time_to_live``).

    Args:
        prefix: the namespace prefix.
        keys: keys as the server reported them.

    Returns:
        The keys that start with ``prefix`` (and are longer), stripped, in order.
    """
    n = len(prefix)
    return [k[n:] for k in keys if len(k) > n and k.startswith(prefix)]


_RANGE_OPTIONS = ("prefix", "from_key", "range_end")


def namespace_watch(prefix: bytes, key: object, opts: WatchOptions) -> tuple[bytes, WatchOptions]:
    """Check a watch's range options and map its range into the namespace.

    Args:
        prefix: the namespace prefix.
        key: the watched key, as the namespace sees it.
        opts: the watch's options.

    Returns:
        The key to watch and the options to watch it with (``range_end`` mapped, the other
        range options dropped).

    Raises:
        InvalidArgumentError: conflicting range options (as ``Op.get``'s).
    """
    _check_options("watch", opts, frozenset(WatchOptions.__annotations__))
    raw, end = _key_range(key, opts)  # type: ignore[arg-type]
    begin, pfx_end = prefix_interval(prefix, raw, end)
    mapped = cast(WatchOptions, {k: v for k, v in opts.items() if k not in _RANGE_OPTIONS})
    if pfx_end:
        mapped["range_end"] = pfx_end
    return begin, mapped


def unprefix_time_to_live(
    prefix: bytes, response: LeaseTimeToLiveResponse
) -> LeaseTimeToLiveResponse:
    """Keep only the namespace's keys of a lease's ``time_to_live`` answer, stripped.

    Args:
        prefix: the namespace prefix.
        response: the answer, with whole keys.

    Returns:
        The answer with the keys inside the namespace only, as the namespace sees them.
    """
    if not response.keys:
        return response
    msg = response.to_pb()
    inside = unprefix_keys(prefix, list(msg.keys))
    del msg.keys[:]
    msg.keys.extend(inside)
    return LeaseTimeToLiveResponse.from_pb(msg)
