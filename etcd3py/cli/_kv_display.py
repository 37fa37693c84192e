"""The key-value displays of every writer: Get, Put, Del and Txn responses as etcdctl prints them.

``get``, ``put``, ``del`` and ``txn`` print their responses here, and so do ``watch``,
``lock`` and ``elect`` where etcdctl calls its Get display. Each ``show_*`` function takes
the writer (:class:`~etcd3py.cli._display.Out`) and the etcdserverpb response message:

* simple: key and value lines (``printKV``), ``OK``, the deleted count, ``SUCCESS``/``FAILURE``;
* fields: ``"Name" : value`` lines, a header block first;
* json and protobuf: the whole message;
* table: refused after the call (``Error: table not supported as output format``, exit 4).
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py.cli._display import Out

__all__ = ["show_del", "show_get", "show_put", "show_txn"]

Header = _pb.rpc.ResponseHeader


def _header(
    msg: _pb.rpc.RangeResponse
    | _pb.rpc.PutResponse
    | _pb.rpc.DeleteRangeResponse
    | _pb.rpc.TxnResponse,
) -> Header | None:
    """The message's header, or None where Go's pointer would be nil."""
    return msg.header if msg.HasField("header") else None


def _whole(
    out: Out,
    msg: _pb.rpc.RangeResponse
    | _pb.rpc.PutResponse
    | _pb.rpc.DeleteRangeResponse
    | _pb.rpc.TxnResponse,
) -> None:
    """The json and protobuf writers print the message itself; table has no such display."""
    out.whole(msg)


def show_get(out: Out, resp: _pb.rpc.RangeResponse, *, value_only: bool = False) -> None:
    """etcdctl's Get display: each key-value (simple), or the fields, json or protobuf form.

    Args:
        out: the writer.
        resp: the range response.
        value_only: ``--print-value-only`` (the simple writer leaves the key lines out).

    Raises:
        Exit: the table writer (exit 4).
        GoNilPanic: the fields writer and a response without header.
    """
    if out.kind == "simple":
        for kv in resp.kvs:
            out.kv(kv.key, kv.value, value_only=value_only)
    elif out.kind == "fields":
        out.header(_header(resp))
        for kv in resp.kvs:
            out.fields_kv(kv)
        out.line('"More" :', resp.more)
        out.line('"Count" :', resp.count)
    else:
        _whole(out, resp)


def show_put(out: Out, resp: _pb.rpc.PutResponse) -> None:
    """etcdctl's Put display: ``OK`` and the previous key-value if any (simple), or the rest.

    Raises:
        Exit: the table writer (exit 4).
        GoNilPanic: the fields writer and a response without header.
    """
    if out.kind == "simple":
        out.line("OK")
        if resp.HasField("prev_kv"):
            out.kv(resp.prev_kv.key, resp.prev_kv.value)
    elif out.kind == "fields":
        out.header(_header(resp))
        if resp.HasField("prev_kv"):
            out.fields_kv(resp.prev_kv, "Prev")
    else:
        _whole(out, resp)


def show_del(out: Out, resp: _pb.rpc.DeleteRangeResponse) -> None:
    """etcdctl's Del display: the count deleted, then each previous key-value (simple), or the rest.

    Raises:
        Exit: the table writer (exit 4).
        GoNilPanic: the fields writer and a response without header.
    """
    if out.kind == "simple":
        out.line(resp.deleted)
        for kv in resp.prev_kvs:
            out.kv(kv.key, kv.value)
    elif out.kind == "fields":
        out.header(_header(resp))
        out.line('"Deleted" :', resp.deleted)
        for kv in resp.prev_kvs:
            out.fields_kv(kv, "Prev")
    else:
        _whole(out, resp)


def show_txn(out: Out, resp: _pb.rpc.TxnResponse) -> None:
    """etcdctl's Txn display: ``SUCCESS``/``FAILURE``, then each response's own display.

    The simple writer puts an empty line before each response; the fields writer follows the
    ``"Succeeded"`` line with each response's fields, its inner header first. Only get, put
    and delete responses can come back (etcdctl's op lines build nothing else).

    Raises:
        Exit: the table writer (exit 4).
        GoNilPanic: the fields writer and a response (or inner response) without header.
    """
    if out.kind not in ("simple", "fields"):
        _whole(out, resp)
        return
    if out.kind == "simple":
        out.line("SUCCESS" if resp.succeeded else "FAILURE")
    else:
        out.header(_header(resp))
        out.line('"Succeeded" :', resp.succeeded)
    for op in resp.responses:
        if out.kind == "simple":
            out.line("")
        kind = op.WhichOneof("response")
        if kind == "response_delete_range":
            show_del(out, op.response_delete_range)
        elif kind == "response_put":
            show_put(out, op.response_put)
        elif kind == "response_range":
            show_get(out, op.response_range)
