"""The Maintenance service of the reference server, answering as a single-member etcd 3.5.1.

Status, Alarm (no alarm is ever raised), Defragment (nothing to do), Hash and HashKV (real
CRC-32C hashes of the store; HashKV follows etcd's ``HashByRev`` so it can match real etcd).
Snapshot, MoveLeader and Downgrade answer ``UNIMPLEMENTED``.

Auth, as etcd 3.5.1's ``authMaintenanceServer``: Hash, HashKV, Defragment and Snapshot need
the root role, and report a refusal (or a bad token) unconverted, as ``UNKNOWN`` with the auth
store's raw text (``auth: permission denied``...); Alarm checks the token (a raft request);
Status, MoveLeader and Downgrade check nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb
from testserver.auth.store import raw_errors
from testserver.services._base import ServerState, auth_info, serve_unary

__all__ = ["ETCD_VERSION", "MaintenanceService"]

#: the etcd version the reference server reports.
ETCD_VERSION = "3.5.1"

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    _Ctx = grpc.aio.ServicerContext[object, object]


async def _unimplemented(context: _Ctx, name: str) -> None:
    await context.abort(
        grpc.StatusCode.UNIMPLEMENTED, f"testserver: Maintenance.{name} is not implemented"
    )


class MaintenanceService(_pb.rpc_grpc.MaintenanceServicer):
    """etcd's Maintenance service for the one member."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    def _admin(self, context: _Ctx) -> None:
        """etcd's ``isAuthenticated``: token and root role, errors left unconverted."""
        st = self._state
        raw_errors(lambda: st.auth.check_admin(auth_info(st, context)))

    async def Status(self, request: _pb.rpc.StatusRequest, context: _Ctx) -> _pb.rpc.StatusResponse:
        """Report the member's status: version, sizes, leader (itself), raft indexes."""

        def run() -> _pb.rpc.StatusResponse:
            st = self._state
            size, in_use = st.store.size_estimate()
            resp = _pb.rpc.StatusResponse(
                version=ETCD_VERSION,
                dbSize=size,
                dbSizeInUse=in_use,
                leader=st.header.member_id,
                raftIndex=st.raft_index,
                raftTerm=st.header.raft_term,
                raftAppliedIndex=st.raft_index,
                isLearner=False,
            )
            st.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Alarm(self, request: _pb.rpc.AlarmRequest, context: _Ctx) -> _pb.rpc.AlarmResponse:
        """List alarms (there are none); deactivating is a no-op; activating is unimplemented."""
        if request.action == _pb.rpc.AlarmRequest.ACTIVATE:
            await _unimplemented(context, "Alarm(ACTIVATE)")

        def run() -> _pb.rpc.AlarmResponse:
            auth_info(self._state, context)  # a raft request: the token is checked
            resp = _pb.rpc.AlarmResponse()
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Defragment(
        self, request: _pb.rpc.DefragmentRequest, context: _Ctx
    ) -> _pb.rpc.DefragmentResponse:
        """Defragment: nothing to do; etcd 3.5.1 answers without a header, and so does this."""

        def run() -> _pb.rpc.DefragmentResponse:
            self._admin(context)
            return _pb.rpc.DefragmentResponse()

        return await serve_unary(self._state, context, run)

    async def Hash(self, request: _pb.rpc.HashRequest, context: _Ctx) -> _pb.rpc.HashResponse:
        """Hash the whole store (its values differ from etcd's, which hashes the bolt file)."""

        def run() -> _pb.rpc.HashResponse:
            self._admin(context)
            crc, rev, _ = self._state.store.hash_by_rev(0)
            resp = _pb.rpc.HashResponse(hash=crc)
            resp.header.revision = rev
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def HashKV(self, request: _pb.rpc.HashKVRequest, context: _Ctx) -> _pb.rpc.HashKVResponse:
        """Hash the key space up to a revision, as etcd's ``HashByRev``.

        Errors: CompactedError / FutureRevisionError for a revision out of range.
        """

        def run() -> _pb.rpc.HashKVResponse:
            self._admin(context)
            crc, rev, compact_rev = self._state.store.hash_by_rev(request.revision)
            resp = _pb.rpc.HashKVResponse(hash=crc, compact_revision=compact_rev)
            resp.header.revision = rev
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Snapshot(  # type: ignore[override]  # a stream handler may just abort
        self, request: _pb.rpc.SnapshotRequest, context: _Ctx
    ) -> None:
        """Unimplemented (after etcd's admin check)."""
        await serve_unary(self._state, context, lambda: self._admin(context))
        await _unimplemented(context, "Snapshot")

    async def MoveLeader(self, request: _pb.rpc.MoveLeaderRequest, context: _Ctx) -> None:
        """Unimplemented."""
        await _unimplemented(context, "MoveLeader")

    async def Downgrade(self, request: _pb.rpc.DowngradeRequest, context: _Ctx) -> None:
        """Unimplemented."""
        await _unimplemented(context, "Downgrade")
