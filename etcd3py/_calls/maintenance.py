"""The Maintenance service's unary RPCs, described once (see :mod:`etcd3py._calls`).

``status``, ``hash_kv`` and ``alarm_list`` read (may be repeated); ``alarm_activate``,
``alarm_deactivate``, ``alarm_clear`` (an alarm as the server listed it), ``defragment``
and ``move_leader`` may not; ``downgrade`` may be repeated only to validate. Each is
answered by its view of :mod:`etcd3py._maintenance_views`. Arguments are checked here,
before anything is sent.

Only the RPC is described: the Maintenance concern keeps what a description cannot say, the
member it is sent to (``status``, ``defragment``, ``hash_kv`` and ``move_leader`` go to a
named member over a channel of its own), the disarm of every alarm (a list, then a clear
of each), the leader search of ``move_leader`` and the ``Snapshot`` stream.
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py._calls import Call
from etcd3py._calls.cluster import check_member_id
from etcd3py._ints import check_int
from etcd3py._maintenance_views import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    DowngradeAction,
    DowngradeResponse,
    HashKVResponse,
    MoveLeaderResponse,
    StatusResponse,
)
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "alarm_activate",
    "alarm_clear",
    "alarm_deactivate",
    "alarm_list",
    "defragment",
    "downgrade",
    "hash_kv",
    "move_leader",
    "status",
]


def status() -> Call[StatusResponse]:
    """Describe the Status RPC (a read: repeatable).

    Returns:
        The call.
    """
    return Call("maintenance", "Status", _pb.rpc.StatusRequest(), StatusResponse, repeatable=True)


def _alarm_type(alarm: object) -> _pb.rpc.AlarmType.ValueType:
    """The proto value of an alarm kind (an :class:`AlarmType` or its int)."""
    if isinstance(alarm, bool) or not isinstance(alarm, int):
        raise ArgumentTypeError(f"alarm must be an AlarmType, not {type(alarm).__name__}")
    try:
        return _pb.rpc.AlarmType.Value(AlarmType(alarm).name)
    except ValueError:
        raise InvalidArgumentError(f"alarm must be an AlarmType, got {alarm!r}") from None


def alarm_list() -> Call[AlarmResponse]:
    """Describe the Alarm RPC that lists every alarm raised (a read: repeatable).

    Returns:
        The call.
    """
    request = _pb.rpc.AlarmRequest(action=_pb.rpc.AlarmRequest.GET, alarm=_pb.rpc.NONE)
    return Call("maintenance", "Alarm", request, AlarmResponse, repeatable=True)


def _alarm_change(
    action: _pb.rpc.AlarmRequest.AlarmAction.ValueType,
    member: int,
    kind: _pb.rpc.AlarmType.ValueType,
) -> Call[AlarmResponse]:
    request = _pb.rpc.AlarmRequest(action=action, memberID=member, alarm=kind)
    return Call("maintenance", "Alarm", request, AlarmResponse)


def alarm_activate(member_id: int, alarm: AlarmType) -> Call[AlarmResponse]:
    """Describe the Alarm RPC that raises ``alarm`` on member ``member_id``.

    Args:
        member_id: the member the alarm is on.
        alarm: the kind of alarm.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``member_id`` is not an int or ``alarm`` not an AlarmType.
        InvalidArgumentError: ``member_id`` does not fit a member ID (uint64), or
            ``alarm`` is no AlarmType.
    """
    member = check_member_id(member_id, "member_id")
    return _alarm_change(_pb.rpc.AlarmRequest.ACTIVATE, member, _alarm_type(alarm))


def alarm_deactivate(member_id: int, alarm: AlarmType) -> Call[AlarmResponse]:
    """Describe the Alarm RPC that clears ``alarm`` on member ``member_id``.

    Etcd clears nothing for member 0 and ``AlarmType.NONE``: clearing every alarm is a list
    followed by :func:`alarm_clear` of each (the concern's ``alarm_disarm`` does it).

    Args:
        member_id: the member whose alarm to clear.
        alarm: the kind of alarm to clear.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``member_id`` is not an int or ``alarm`` not an AlarmType.
        InvalidArgumentError: ``member_id`` does not fit a member ID (uint64), or
            ``alarm`` is no AlarmType.
    """
    member = check_member_id(member_id, "member_id")
    return _alarm_change(_pb.rpc.AlarmRequest.DEACTIVATE, member, _alarm_type(alarm))


def alarm_clear(raised: _pb.rpc.AlarmMember) -> Call[AlarmResponse]:
    """Describe the Alarm RPC that clears an alarm as the server listed it.

    Its member and kind are sent back unchanged (a kind this client does not know too).

    Args:
        raised: one alarm of an alarm list's answer.

    Returns:
        The call.
    """
    return _alarm_change(_pb.rpc.AlarmRequest.DEACTIVATE, raised.memberID, raised.alarm)


def defragment() -> Call[DefragmentResponse]:
    """Describe the Defragment RPC (not repeated after it was sent).

    Returns:
        The call.
    """
    return Call("maintenance", "Defragment", _pb.rpc.DefragmentRequest(), DefragmentResponse)


def hash_kv(rev: int) -> Call[HashKVResponse]:
    """Describe the HashKV RPC (a read: repeatable).

    Args:
        rev: the revision to hash up to (0: the member's current revision).

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``rev`` is not an int.
        InvalidArgumentError: ``rev`` is negative or past int64.
    """
    request = _pb.rpc.HashKVRequest(revision=check_int("rev", rev))
    return Call("maintenance", "HashKV", request, HashKVResponse, repeatable=True)


def move_leader(transferee_id: int) -> Call[MoveLeaderResponse]:
    """Describe the MoveLeader RPC (to be sent to the leader).

    Args:
        transferee_id: the member ID of the new leader.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``transferee_id`` is not an int.
        InvalidArgumentError: ``transferee_id`` does not fit a member ID (uint64).
    """
    request = _pb.rpc.MoveLeaderRequest(targetID=check_member_id(transferee_id, "transferee_id"))
    return Call("maintenance", "MoveLeader", request, MoveLeaderResponse)


def downgrade(action: DowngradeAction, version: str) -> Call[DowngradeResponse]:
    """Describe the Downgrade RPC; only ``VALIDATE`` (which changes nothing) is repeatable.

    Args:
        action: ``VALIDATE``, ``ENABLE`` or ``CANCEL``.
        version: the target version (ignored by ``CANCEL``).

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``action`` is not a DowngradeAction or ``version`` not a str.
        InvalidArgumentError: ``action`` is an int that is no DowngradeAction.
    """
    if isinstance(action, bool) or not isinstance(action, int):
        raise ArgumentTypeError(f"action must be a DowngradeAction, not {type(action).__name__}")
    try:
        act = DowngradeAction(action)
    except ValueError:
        raise InvalidArgumentError(f"action must be a DowngradeAction, got {action!r}") from None
    if not isinstance(version, str):
        raise ArgumentTypeError(f"version must be a str, not {type(version).__name__}")
    request = _pb.rpc.DowngradeRequest(
        action=_pb.rpc.DowngradeRequest.DowngradeAction.Value(act.name), version=version
    )
    return Call(
        "maintenance",
        "Downgrade",
        request,
        DowngradeResponse,
        repeatable=act is DowngradeAction.VALIDATE,
    )
