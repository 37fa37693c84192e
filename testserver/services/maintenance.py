"""The Maintenance service of the reference server, answering as a single-member etcd 3.5.1.

Status (alarms listed in ``errors``), Alarm (raised and cleared only through the RPC: the
server never raises one by itself, and a raised alarm does not refuse writes),
Defragment (nothing to do), Hash and HashKV (real CRC-32C hashes of the store; HashKV follows
etcd's ``HashByRev`` so it can match real etcd), Snapshot (the server's own serialization
with etcd's SHA-256 trailer: :mod:`testserver.snapshot`) and Downgrade (as etcd 3.5.1:
:mod:`testserver.downgrade`). MoveLeader: the one member is the leader (a move to itself
succeeds, any other id is a bad transferee).

Auth, as etcd 3.5.1's ``authMaintenanceServer``: Hash, HashKV, Defragment and Snapshot need
the root role, and report a refusal (or a bad token) unconverted, as ``UNKNOWN`` with the auth
store's raw text (``auth: permission denied``...); Alarm checks the token (a raft request);
Status, MoveLeader and Downgrade check nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb, _stubs
from etcd3py.errors import BadLeaderTransfereeError
from testserver import snapshot
from testserver.auth.store import raw_errors
from testserver.services._base import ServerState, auth_info, serve_unary

__all__ = ["ETCD_VERSION", "MaintenanceService"]

#: the etcd version the reference server reports.
ETCD_VERSION = "3.5.1"

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    _Ctx = grpc.aio.ServicerContext[object, object]


class MaintenanceService(_stubs.rpc_grpc.MaintenanceServicer):
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
                errors=st.alarms.status_errors(),
                isLearner=False,
            )
            st.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def Alarm(self, request: _pb.rpc.AlarmRequest, context: _Ctx) -> _pb.rpc.AlarmResponse:
        """List (by kind; ``NONE``: all), raise or clear alarms, as etcd's ``applyAlarm``.

        Raising answers the alarm (raised now or before; nothing for ``NONE``); clearing
        answers the alarm cleared (nothing when it was not raised). An unknown action
        answers nothing, as etcd does.
        """

        def run() -> _pb.rpc.AlarmResponse:
            st = self._state
            auth_info(st, context)  # a raft request: the token is checked
            resp = _pb.rpc.AlarmResponse()
            if request.action == _pb.rpc.AlarmRequest.GET:
                found = st.alarms.get(request.alarm)
            else:
                st.raft_index += 1
                if request.action == _pb.rpc.AlarmRequest.ACTIVATE:
                    one = st.alarms.activate(request.memberID, request.alarm)
                elif request.action == _pb.rpc.AlarmRequest.DEACTIVATE:
                    one = st.alarms.deactivate(request.memberID, request.alarm)
                else:
                    one = None
                found = [] if one is None else [one]
            for member_id, kind in found:
                resp.alarms.add(memberID=member_id, alarm=kind)
            st.header.fill(resp.header)
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

    async def Snapshot(
        self, request: _pb.rpc.SnapshotRequest, context: _Ctx
    ) -> AsyncIterator[_pb.rpc.SnapshotResponse]:
        """Stream the store's snapshot (after etcd's admin check), 32 KiB per message.

        The blob is taken at once on the loop, so it is one consistent revision however
        slowly the client reads it.
        """

        def run() -> bytes:
            self._admin(context)
            return snapshot.serialize(self._state.store)

        blob = await serve_unary(self._state, context, run)
        for message in snapshot.chunks(blob):
            yield message

    async def MoveLeader(
        self, request: _pb.rpc.MoveLeaderRequest, context: _Ctx
    ) -> _pb.rpc.MoveLeaderResponse:
        """Hand leadership over, as a single etcd 3.5.1 member does.

        The one member is the leader already: moving to itself succeeds at once (an answer
        without a header, as etcd's), and any other id is not a member
        (``BadLeaderTransfereeError``).
        """

        def run() -> _pb.rpc.MoveLeaderResponse:
            if request.targetID != self._state.header.member_id:
                raise BadLeaderTransfereeError()
            return _pb.rpc.MoveLeaderResponse()

        return await serve_unary(self._state, context, run)

    async def Downgrade(
        self, request: _pb.rpc.DowngradeRequest, context: _Ctx
    ) -> _pb.rpc.DowngradeResponse:
        """Validate, enable or cancel a downgrade, answering as etcd 3.5.1 (no auth check).

        An action etcd does not know answers ``UNKNOWN`` "etcdserver: unknown method".
        """
        st = self._state
        actions = {
            _pb.rpc.DowngradeRequest.VALIDATE: lambda: st.downgrade.validate(request.version),
            _pb.rpc.DowngradeRequest.ENABLE: lambda: st.downgrade.enable(request.version),
            _pb.rpc.DowngradeRequest.CANCEL: st.downgrade.cancel,
        }
        action = actions.get(request.action)
        if action is None:
            await context.abort(grpc.StatusCode.UNKNOWN, "etcdserver: unknown method")
            raise AssertionError("not reached: abort raises")
        act = action

        def run() -> _pb.rpc.DowngradeResponse:
            if request.action != _pb.rpc.DowngradeRequest.VALIDATE:
                st.raft_index += 1
            resp = _pb.rpc.DowngradeResponse(version=act())
            st.header.fill(resp.header)
            return resp

        return await serve_unary(st, context, run)
