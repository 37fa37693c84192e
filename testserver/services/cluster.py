"""The Cluster service of the reference server: a cluster of one member named ``default``.

MemberList answers like etcd 3.5.1 (a header with ids and term but no revision); adding,
removing, updating or promoting members answers ``UNIMPLEMENTED`` once etcd's admin check
(``checkMembershipOperationPermission``: token, then the root role) has passed. MemberList
checks nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb, _stubs
from testserver.services._base import ServerState, auth_info, serve_unary

__all__ = ["ClusterService", "MEMBER_NAME", "PEER_URL"]

#: the one member's name (etcd's default ``--name``).
MEMBER_NAME = "default"
#: the one member's peer URL (etcd's default; the reference server has no peer port).
PEER_URL = "http://localhost:2380"

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    _Ctx = grpc.aio.ServicerContext[object, object]


class ClusterService(_stubs.rpc_grpc.ClusterServicer):
    """etcd's Cluster service for the one member."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    async def MemberList(
        self, request: _pb.rpc.MemberListRequest, context: _Ctx
    ) -> _pb.rpc.MemberListResponse:
        """List the one member, with the server's own client URL."""

        def run() -> _pb.rpc.MemberListResponse:
            st = self._state
            member = _pb.rpc.Member(
                ID=st.header.member_id,
                name=MEMBER_NAME,
                peerURLs=[PEER_URL],
                clientURLs=[st.client_url],
                isLearner=False,
            )
            return _pb.rpc.MemberListResponse(header=st.header.without_revision(), members=[member])

        return await serve_unary(self._state, context, run)

    async def _unimplemented(self, context: _Ctx, name: str) -> None:
        st = self._state
        await serve_unary(st, context, lambda: st.auth.check_admin(auth_info(st, context)))
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"testserver: Cluster.{name} is not implemented"
        )

    async def MemberAdd(self, request: _pb.rpc.MemberAddRequest, context: _Ctx) -> None:
        """Unimplemented."""
        await self._unimplemented(context, "MemberAdd")

    async def MemberRemove(self, request: _pb.rpc.MemberRemoveRequest, context: _Ctx) -> None:
        """Unimplemented."""
        await self._unimplemented(context, "MemberRemove")

    async def MemberUpdate(self, request: _pb.rpc.MemberUpdateRequest, context: _Ctx) -> None:
        """Unimplemented."""
        await self._unimplemented(context, "MemberUpdate")

    async def MemberPromote(self, request: _pb.rpc.MemberPromoteRequest, context: _Ctx) -> None:
        """Unimplemented."""
        await self._unimplemented(context, "MemberPromote")
