"""The KV service of the reference server (Range, Put, DeleteRange, Txn, Compact).

As etcd's ``v3rpc/key.go`` over ``v3_server.go``: request checks first, then the raft size
limit for writes (a read-only txn is served without raft, as etcd does), then the applier,
then the header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb
from testserver.mvcc import checks
from testserver.mvcc.apply import is_read_only
from testserver.services._base import ServerState, serve_unary

__all__ = ["KVService"]

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    _Ctx = grpc.aio.ServicerContext[object, object]


class KVService(_pb.rpc_grpc.KVServicer):
    """etcd's KV service over the server's store."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    def _raft(self, request_size: int) -> None:
        checks.check_raft_request_size(request_size, self._state.max_request_bytes)
        self._state.raft_index += 1

    async def Range(self, request: _pb.rpc.RangeRequest, context: _Ctx) -> _pb.rpc.RangeResponse:
        """Serve a range read."""

        def run() -> _pb.rpc.RangeResponse:
            checks.check_range_request(request)
            resp = self._state.applier.range(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Put(self, request: _pb.rpc.PutRequest, context: _Ctx) -> _pb.rpc.PutResponse:
        """Serve a put."""

        def run() -> _pb.rpc.PutResponse:
            checks.check_put_request(request)
            self._raft(request.ByteSize())
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
            self._raft(request.ByteSize())
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
            if not is_read_only(request):
                self._raft(request.ByteSize())
            resp = self._state.applier.txn(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Compact(
        self, request: _pb.rpc.CompactionRequest, context: _Ctx
    ) -> _pb.rpc.CompactionResponse:
        """Serve a compaction (``physical`` is accepted; compaction is always immediate)."""

        def run() -> _pb.rpc.CompactionResponse:
            self._raft(request.ByteSize())
            resp = self._state.applier.compact(request)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)
