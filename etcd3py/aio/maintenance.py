"""The asyncio face's Maintenance concern, awaited; see :mod:`etcd3py.maintenance`.

The same body as the sync face: each unary RPC is described once in
:mod:`etcd3py._calls.maintenance`; the calls of several steps (disarm every alarm, find the
leader then move it, the status then the ``Snapshot`` stream with one token refresh) are
the flows of :mod:`etcd3py._maintenance_flows`, awaited by :func:`etcd3py._aio_flow.drive`.
A snapshot's stream is a ``grpc.aio`` unary-stream call read with ``async for``, so the
network never blocks the event loop; each chunk is written to the file on the loop as it
arrives (a local write of one chunk), and a snapshot saved to a path is flushed, synced
(``fsync``) and renamed on the loop once checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py import _maintenance_flows as flows
from etcd3py import maintenance as _sync
from etcd3py._aio_flow import drive
from etcd3py._calls import maintenance as calls
from etcd3py._maintenance_flows import SnapshotDest as SnapshotDest
from etcd3py._maintenance_views import AlarmMember as AlarmMember
from etcd3py._maintenance_views import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    DowngradeAction,
    DowngradeResponse,
    HashKVResponse,
    MoveLeaderResponse,
    SnapshotResponse,
    StatusResponse,
)
from etcd3py._transport import check_timeout
from etcd3py.maintenance import verify_snapshot as verify_snapshot  # no I/O: the same function

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport
    from etcd3py.context import Context

__all__ = list(_sync.__all__)  # the same names: the class, and the views it answers with


class Maintenance:
    """Member maintenance, awaited; see :class:`etcd3py.maintenance.Maintenance`."""

    def __init__(self, transport: AioTransport) -> None:
        """Serve maintenance calls through ``transport``.

        Args:
            transport: the asyncio client's transport.
        """
        self._transport = transport

    async def status(
        self, endpoint: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> StatusResponse:
        """Ask the member at ``endpoint`` for its status.

        See :meth:`etcd3py.maintenance.Maintenance.status`.
        """
        check_timeout(timeout)
        return await self._transport.run_at(endpoint, calls.status(), timeout=timeout, ctx=ctx)

    async def alarm_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AlarmResponse:
        """List the alarms raised in the cluster (every member, every kind).

        See :meth:`etcd3py.maintenance.Maintenance.alarm_list`.
        """
        check_timeout(timeout)
        return await self._transport.run(calls.alarm_list(), timeout=timeout, ctx=ctx)

    async def alarm_disarm(
        self,
        member_id: int = 0,
        alarm: AlarmType = AlarmType.NONE,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AlarmResponse:
        """Clear one alarm, or every alarm raised.

        See :meth:`etcd3py.maintenance.Maintenance.alarm_disarm`.
        """
        plan = flows.alarm_disarm(member_id, alarm)
        return await drive(plan, self._transport, timeout=timeout, ctx=ctx)

    async def defragment(
        self, endpoint: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> DefragmentResponse:
        """Defragment the backend database of the member at ``endpoint``.

        See :meth:`etcd3py.maintenance.Maintenance.defragment`.
        """
        check_timeout(timeout)
        return await self._transport.run_at(endpoint, calls.defragment(), timeout=timeout, ctx=ctx)

    async def hash_kv(
        self,
        endpoint: str,
        rev: int = 0,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> HashKVResponse:
        """Hash the key space of the member at ``endpoint`` up to revision ``rev``.

        See :meth:`etcd3py.maintenance.Maintenance.hash_kv`.
        """
        check_timeout(timeout)
        return await self._transport.run_at(endpoint, calls.hash_kv(rev), timeout=timeout, ctx=ctx)

    async def snapshot(
        self,
        dest: SnapshotDest,
        *,
        endpoint: str | None = None,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> SnapshotResponse:
        """Save a snapshot of one member's backend database, checked, to a path or a file.

        See :meth:`etcd3py.maintenance.Maintenance.snapshot`. The stream is a ``grpc.aio``
        call read with ``async for``: the network never blocks the event loop. File writes
        are plain blocking writes done on the loop, one chunk as it arrives; to a path, the
        temporary file is created, and once checked flushed, ``fsync``-ed and renamed, on
        the loop too (local disk work, no thread of its own). Cancelling the awaiting task
        or the ``ctx`` cancels the stream; a path is then left as it was.
        """
        plan = flows.snapshot(dest, endpoint, self._transport.endpoints)
        return await drive(plan, self._transport, timeout=timeout, ctx=ctx)

    async def move_leader(
        self, transferee_id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to member ``transferee_id``.

        See :meth:`etcd3py.maintenance.Maintenance.move_leader`.
        """
        plan = flows.move_leader(transferee_id, self._transport.endpoints)
        return await drive(plan, self._transport, timeout=timeout, ctx=ctx)

    async def downgrade(
        self,
        action: DowngradeAction,
        version: str = "",
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> DowngradeResponse:
        """Validate, enable or cancel a cluster downgrade: clientv3's ``Downgrade``.

        See :meth:`etcd3py.maintenance.Maintenance.downgrade`.
        """
        check_timeout(timeout)
        return await self._transport.run(calls.downgrade(action, version), timeout=timeout, ctx=ctx)
