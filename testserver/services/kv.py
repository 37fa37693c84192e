"""The KV service of the reference server (Range, Put, DeleteRange, Txn, Compact).

As etcd's ``v3rpc/key.go`` over ``v3_server.go``: request checks first, then the call's token
(``InvalidAuthTokenError``), then the raft size limit for writes (a read-only txn is served
without raft, as etcd does), then the auth checks of ``apply_auth.go`` (Range: read; Put:
write, plus write on every key of the lease it attaches, plus read when ``prev_kv``;
DeleteRange: write, plus read when ``prev_kv``; Txn: read on every compare and each op as
itself; Compact: none), then the applier, then the header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb, _stubs
from testserver.alarms import txn_write_kind
from testserver.auth.store import AuthInfo
from testserver.lease import Lessor
from testserver.mvcc import checks
from testserver.mvcc.apply import is_read_only
from testserver.services._base import ServerState, auth_info, lease_keys, serve_unary

__all__ = ["KVService"]

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    _Ctx = grpc.aio.ServicerContext[object, object]


class KVService(_stubs.rpc_grpc.KVServicer):
    """etcd's KV service over the server's store.

    Args:
        state: the server state.
        lessor: the lease registry (for the auth check of a put's lease keys).
    """

    def __init__(self, state: ServerState, lessor: Lessor | None = None) -> None:
        self._state = state
        self._lessor = lessor

    def _raft(self, request_size: int) -> None:
        checks.check_raft_request_size(request_size, self._state.max_request_bytes)
        self._state.raft_index += 1

    def _check_put(self, info: AuthInfo | None, p: _pb.rpc.PutRequest) -> None:
        auth = self._state.auth
        auth.check_put(info, p.key)
        if p.lease and self._lessor is not None:
            for key in lease_keys(self._lessor, p.lease):
                auth.check_put(info, key)
        if p.prev_kv:
            auth.check_range(info, p.key, b"")

    def _check_delete(self, info: AuthInfo | None, d: _pb.rpc.DeleteRangeRequest) -> None:
        self._state.auth.check_delete(info, d.key, d.range_end)
        if d.prev_kv:
            self._state.auth.check_range(info, d.key, d.range_end)

    def _check_txn(self, info: AuthInfo | None, t: _pb.rpc.TxnRequest) -> None:
        """etcd's ``checkTxnAuth``: compares read, then each op (nested txns are not looked at)."""
        auth = self._state.auth
        for cmp in t.compare:
            auth.check_range(info, cmp.key, cmp.range_end)
        for op in list(t.success) + list(t.failure):
            kind = op.WhichOneof("request")
            if kind == "request_range":
                auth.check_range(info, op.request_range.key, op.request_range.range_end)
            elif kind == "request_put":
                auth.check_put(info, op.request_put.key)
            elif kind == "request_delete_range":
                d = op.request_delete_range
                if d.prev_kv:
                    auth.check_range(info, d.key, d.range_end)
                auth.check_delete(info, d.key, d.range_end)

    async def Range(self, request: _pb.rpc.RangeRequest, context: _Ctx) -> _pb.rpc.RangeResponse:
        """Serve a range read."""

        def run() -> _pb.rpc.RangeResponse:
            checks.check_range_request(request)
            info = auth_info(self._state, context)
            self._state.auth.check_range(info, request.key, request.range_end)
            resp = self._state.applier.range(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Put(self, request: _pb.rpc.PutRequest, context: _Ctx) -> _pb.rpc.PutResponse:
        """Serve a put."""

        def run() -> _pb.rpc.PutResponse:
            checks.check_put_request(request)
            info = auth_info(self._state, context)
            self._raft(request.ByteSize())
            self._state.alarms.check_apply("put")
            self._check_put(info, request)
            resp = self._state.applier.put(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def DeleteRange(
        self, request: _pb.rpc.DeleteRangeRequest, context: _Ctx
    ) -> _pb.rpc.DeleteRangeResponse:
        """Serve a delete range."""

        def run() -> _pb.rpc.DeleteRangeResponse:
            checks.check_delete_request(request)
            info = auth_info(self._state, context)
            self._raft(request.ByteSize())
            self._state.alarms.check_apply("delete")
            self._check_delete(info, request)
            resp = self._state.applier.delete_range(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Txn(self, request: _pb.rpc.TxnRequest, context: _Ctx) -> _pb.rpc.TxnResponse:
        """Serve a txn."""

        def run() -> _pb.rpc.TxnResponse:
            checks.check_txn_request(request, self._state.max_txn_ops)
            checks.check_intervals(list(request.success))
            checks.check_intervals(list(request.failure))
            info = auth_info(self._state, context)
            if not is_read_only(request):
                self._raft(request.ByteSize())
                self._state.alarms.check_apply(txn_write_kind(request))
            self._check_txn(info, request)
            resp = self._state.applier.txn(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Compact(
        self, request: _pb.rpc.CompactionRequest, context: _Ctx
    ) -> _pb.rpc.CompactionResponse:
        """Serve a compaction (``physical`` is accepted; compaction is always immediate)."""

        def run() -> _pb.rpc.CompactionResponse:
            auth_info(self._state, context)  # etcd checks the token only
            self._raft(request.ByteSize())
            self._state.alarms.check_apply("compact")
            resp = self._state.applier.compact(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)
