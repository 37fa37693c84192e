"""The Maintenance calls made of several steps, written once as flows (see :mod:`etcd3py._flow`).

- :func:`alarm_disarm`: one alarm, or (member 0 and ``AlarmType.NONE``) a list, then a clear
  of each alarm listed, as clientv3's ``AlarmDisarm`` of an empty ``AlarmMember``.
- :func:`move_leader`: the status of each of the client's endpoints until one is the
  leader, then the move asked of it.
- :func:`snapshot`: the status of the member, then its ``Snapshot`` stream saved and
  checked by :mod:`etcd3py._snapshot`; an invalid token refused before any data is
  refreshed once.

The sync :class:`~etcd3py.maintenance.Maintenance` and the asyncio one drive these; neither
holds any of these rules. No I/O here (writing a snapshot's chunks to its sink aside).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO

from etcd3py import _pb
from etcd3py._calls import maintenance as calls
from etcd3py._flow import Flow, Plan, Refresh, Stream, Unary
from etcd3py._maintenance_views import (
    AlarmResponse,
    AlarmType,
    MoveLeaderResponse,
    SnapshotResponse,
    StatusResponse,
)
from etcd3py._snapshot import check_dest, open_sink
from etcd3py.errors import (
    ArgumentTypeError,
    EtcdError,
    InvalidArgumentError,
    InvalidAuthTokenError,
    NoLeaderError,
    UnknownError,
)

__all__ = ["SnapshotDest", "alarm_disarm", "move_leader", "snapshot"]

#: Where a snapshot goes: a path (str or os.PathLike) or a binary file object.
SnapshotDest = str | os.PathLike[str] | BinaryIO


def alarm_disarm(member_id: int, alarm: AlarmType) -> Plan[AlarmResponse]:
    """Clear one alarm, or every alarm raised (see ``Maintenance.alarm_disarm``).

    Args:
        member_id: the member whose alarm to clear (0 with ``NONE``: every alarm).
        alarm: the kind of alarm.

    Returns:
        The plan; its result is the alarms cleared, headed by the last answer's header.
    """
    return Plan(_alarm_disarm(member_id, alarm))


def _alarm_disarm(member_id: int, alarm: AlarmType) -> Flow[AlarmResponse]:
    call = calls.alarm_deactivate(member_id, alarm)
    if call.request.memberID != 0 or call.request.alarm != _pb.rpc.NONE:
        response: AlarmResponse = yield Unary(call)
        return response
    raised: AlarmResponse = yield Unary(calls.alarm_list())
    cleared = _pb.rpc.AlarmResponse(header=raised._pb.header)
    for am in raised._pb.alarms:
        resp: AlarmResponse = yield Unary(calls.alarm_clear(am))
        cleared.header.CopyFrom(resp._pb.header)
        cleared.alarms.extend(resp._pb.alarms)
    return AlarmResponse(cleared)


def move_leader(transferee_id: int, endpoints: Sequence[str]) -> Plan[MoveLeaderResponse]:
    """Find the leader among ``endpoints`` with ``status``, then ask it to move.

    Args:
        transferee_id: the member ID of the new leader.
        endpoints: the client's endpoints, asked in order.

    Returns:
        The plan; it raises ``NoLeaderError`` when no endpoint is the leader.
    """
    return Plan(_move_leader(transferee_id, tuple(endpoints)))


def _move_leader(transferee_id: int, endpoints: tuple[str, ...]) -> Flow[MoveLeaderResponse]:
    call = calls.move_leader(transferee_id)
    for endpoint in endpoints:
        status: StatusResponse = yield Unary(calls.status(), endpoint)
        if status.leader != 0 and status.leader == status.header.member_id:
            moved: MoveLeaderResponse = yield Unary(call, endpoint)
            return moved
    raise NoLeaderError("etcd3py: no endpoint of the client is the leader")


def snapshot(
    dest: SnapshotDest, endpoint: str | None, endpoints: Sequence[str]
) -> Plan[SnapshotResponse]:
    """Save a snapshot of one member to ``dest``, checked (see ``Maintenance.snapshot``).

    Args:
        dest: a path or a binary file object.
        endpoint: the member to read, or ``None`` for the client's only endpoint.
        endpoints: the client's endpoints.

    Returns:
        The plan (not bounded by ``default_timeout``: a transfer).
    """
    return Plan(_snapshot(dest, endpoint, tuple(endpoints)), bounded=False)


def snapshot_member(endpoint: str | None, endpoints: Sequence[str]) -> str:
    """The member a snapshot is read from: ``endpoint``, else the client's only one.

    Args:
        endpoint: the member named by the caller, or ``None``.
        endpoints: the client's endpoints.

    Returns:
        The member's endpoint.

    Raises:
        ArgumentTypeError: ``endpoint`` is not a str.
        InvalidArgumentError: no ``endpoint`` and the client has several.
    """
    if endpoint is not None:
        if not isinstance(endpoint, str):
            raise ArgumentTypeError(f"endpoint must be a str, not {type(endpoint).__name__}")
        return endpoint
    if len(endpoints) != 1:
        raise InvalidArgumentError(
            f"etcd3py: a snapshot is read from one member; the client has "
            f"{len(endpoints)} endpoints: name one with endpoint="
        )
    return endpoints[0]


def _snapshot(
    dest: SnapshotDest, endpoint: str | None, endpoints: tuple[str, ...]
) -> Flow[SnapshotResponse]:
    check_dest(dest)
    member = snapshot_member(endpoint, endpoints)
    status: StatusResponse = yield Unary(calls.status(), member)
    header = _pb.rpc.ResponseHeader()
    header.CopyFrom(status._pb.header)
    sink = open_sink(dest)
    started = False

    def take(response: _pb.rpc.SnapshotResponse) -> None:
        nonlocal started
        if not started and response.header.member_id != 0:
            header.CopyFrom(response.header)  # etcd 3.6 heads the stream with it
        started = True
        sink.write(response.blob)

    try:
        for attempt in range(2):
            try:
                yield Stream(member, "maintenance", "Snapshot", _pb.rpc.SnapshotRequest(), take)
                break
            except EtcdError as err:
                if not _token_refused(err) or started or attempt:
                    raise
                refreshed: bool = yield Refresh("snapshot")
                if not refreshed:
                    raise
        size = sink.finish()
    except BaseException:
        sink.abort()
        raise
    return SnapshotResponse(header, status.version, size)


def _token_refused(err: EtcdError) -> bool:
    """Whether a stream was refused for its token.

    etcd's ``Snapshot`` returns its auth error unconverted: gRPC sends it as ``UNKNOWN``
    with etcd's message, which the error table cannot tell from another unknown failure.
    """
    return isinstance(err, InvalidAuthTokenError) or (
        isinstance(err, UnknownError) and str(err).endswith("auth: invalid auth token")
    )
