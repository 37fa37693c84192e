"""The Lease service of the reference server, as etcd's ``v3rpc/lease.go`` over ``v3_server.go``.

Grant (an id picked as etcd's request-id generator does when the client gives none), Revoke,
TimeToLive (TTL -1 for an unknown lease, not an error), Leases, and the LeaseKeepAlive stream:
each request renews its lease and is answered ``{id, ttl, header}`` with the granted TTL, or
TTL 0 when the lease is unknown or expired; the header is filled before the renewal, as etcd
does. Auth, as etcd 3.5.1: Grant and Revoke check the call's token (they are raft requests);
Revoke also needs write permission on every key attached to the lease; TimeToLive, Leases and
KeepAlive check nothing. The stream is tracked by the fault registry, so ``drop_streams()``
breaks it.
:func:`expiry_loop` is the background task that revokes expired leases on the server's loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from etcd3py import _pb, _stubs
from etcd3py.errors import LeaseNotFoundError
from testserver.lease import Lessor
from testserver.services._base import ServerState, auth_info, lease_keys, serve_unary

__all__ = ["EXPIRY_CHECK_INTERVAL", "IdGenerator", "LeaseService", "expiry_loop"]

log = logging.getLogger(__name__)

#: the longest the expiry task sleeps between two looks at the heap (etcd: 500 ms).
EXPIRY_CHECK_INTERVAL = 0.1

_rpc = _pb.rpc
_TS_BITS = 40  # etcd's idutil: 5 bytes of milliseconds
_CNT_BITS = 8  # and one byte of counter
_SUFFIX_BITS = _TS_BITS + _CNT_BITS

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    import grpc

    _Ctx = grpc.aio.ServicerContext[object, object]
    _StreamCtx = grpc.aio.ServicerContext[
        _pb.rpc.LeaseKeepAliveRequest, _pb.rpc.LeaseKeepAliveResponse
    ]


class IdGenerator:
    """etcd's ``idutil.Generator``: member id's low 2 bytes, then 5 bytes of ms, then a counter.

    Args:
        member_id: the member's id (its low 16 bits become the prefix).
        now_ms: the start time in Unix milliseconds (the current time by default).
    """

    def __init__(self, member_id: int, now_ms: int | None = None) -> None:
        if now_ms is None:
            now_ms = time.time_ns() // 1_000_000
        self._prefix = (member_id & 0xFFFF) << _SUFFIX_BITS
        self._suffix = (now_ms & ((1 << _TS_BITS) - 1)) << _CNT_BITS

    def next(self) -> int:
        """Return the next id."""
        self._suffix += 1
        return self._prefix | (self._suffix & ((1 << _SUFFIX_BITS) - 1))

    def next_lease_id(self) -> int:
        """Return the next non-zero id below 2**63, as etcd's ``LeaseGrant`` picks one."""
        while True:
            lease_id = self.next() & ((1 << 63) - 1)
            if lease_id:
                return lease_id


class LeaseService(_stubs.rpc_grpc.LeaseServicer):
    """etcd's Lease service over the server's lessor.

    Args:
        state: the server state (header, faults, raft index).
        lessor: the lease registry.
    """

    def __init__(self, state: ServerState, lessor: Lessor) -> None:
        self._state = state
        self._lessor = lessor
        self._ids = IdGenerator(state.header.member_id)

    async def LeaseGrant(
        self, request: _pb.rpc.LeaseGrantRequest, context: _Ctx
    ) -> _pb.rpc.LeaseGrantResponse:
        """Grant a lease."""

        def run() -> _pb.rpc.LeaseGrantResponse:
            auth_info(self._state, context)  # the token only: etcd checks no permission
            self._state.alarms.check_apply("lease_grant")
            lease_id = request.ID or self._ids.next_lease_id()
            lease = self._lessor.grant(lease_id, request.TTL)
            self._state.raft_index += 1
            resp = _rpc.LeaseGrantResponse(ID=lease.id, TTL=lease.ttl)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def LeaseRevoke(
        self, request: _pb.rpc.LeaseRevokeRequest, context: _Ctx
    ) -> _pb.rpc.LeaseRevokeResponse:
        """Revoke a lease, deleting its keys in one revision."""

        def run() -> _pb.rpc.LeaseRevokeResponse:
            info = auth_info(self._state, context)
            self._state.alarms.check_apply("lease_revoke")
            for key in lease_keys(self._lessor, request.ID):
                self._state.auth.check_put(info, key)
            self._lessor.revoke(request.ID)
            self._state.raft_index += 1
            resp = _rpc.LeaseRevokeResponse()
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def LeaseTimeToLive(
        self, request: _pb.rpc.LeaseTimeToLiveRequest, context: _Ctx
    ) -> _pb.rpc.LeaseTimeToLiveResponse:
        """Answer a lease's remaining and granted TTL (and keys); TTL -1 if it is unknown."""

        def run() -> _pb.rpc.LeaseTimeToLiveResponse:
            try:
                ttl, granted, keys = self._lessor.time_to_live(request.ID)
            except LeaseNotFoundError:
                resp = _rpc.LeaseTimeToLiveResponse(ID=request.ID, TTL=-1)
            else:
                resp = _rpc.LeaseTimeToLiveResponse(ID=request.ID, TTL=ttl, grantedTTL=granted)
                if request.keys:
                    resp.keys.extend(keys)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def LeaseLeases(
        self, request: _pb.rpc.LeaseLeasesRequest, context: _Ctx
    ) -> _pb.rpc.LeaseLeasesResponse:
        """List every lease."""

        def run() -> _pb.rpc.LeaseLeasesResponse:
            resp = _rpc.LeaseLeasesResponse()
            for lease_id in self._lessor.leases():
                resp.leases.add(ID=lease_id)
            self._state.header.fill(resp.header)
            return resp

        return await serve_unary(self._state, context, run)

    async def LeaseKeepAlive(  # type: ignore[override]  # a stream handler writing via context
        self,
        request_iterator: AsyncIterator[_pb.rpc.LeaseKeepAliveRequest],
        context: _StreamCtx,
    ) -> None:
        """Renew a lease per request and answer each with its TTL (0 when it is gone)."""
        async with self._state.faults.streams.track(context) as stream:
            async for req in request_iterator:
                await stream.write(self.renew(req.ID))

    def renew(self, lease_id: int) -> _pb.rpc.LeaseKeepAliveResponse:
        """Renew ``lease_id`` and build the keep-alive answer (header taken before renewing).

        Args:
            lease_id: the lease to renew.

        Returns:
            The answer: the granted TTL, or 0 when the lease is unknown or expired.
        """
        resp = _rpc.LeaseKeepAliveResponse(ID=lease_id)
        self._state.header.fill(resp.header)
        try:
            resp.TTL = self._lessor.renew(lease_id)
        except LeaseNotFoundError:
            resp.TTL = 0
        return resp


async def expiry_loop(state: ServerState, lessor: Lessor) -> None:
    """Revoke expired leases until cancelled: sleep until the next expiry (at most 0.1 s).

    Args:
        state: the server state (each expiry is one more raft entry, as etcd's revoke).
        lessor: the lease registry.
    """
    while True:
        try:
            done = lessor.expire_due()
        except Exception:  # never let one failure stop expiries for the server's life
            log.exception("testserver: revoking expired leases failed")
            done = []
        state.raft_index += len(done)
        nxt = lessor.next_expiry()
        wait = EXPIRY_CHECK_INTERVAL
        if nxt is not None:
            wait = min(wait, max(nxt - lessor.clock(), 0.005))
        await asyncio.sleep(wait)
