"""The Maintenance flows without a server: the steps they yield and what they make of answers.

Each flow of :mod:`etcd3py._maintenance_flows` is stepped here by hand with
:class:`etcd3py._flow_run.FlowRun`, as both faces' drivers step it: the steps asked, in order,
the result, and the errors thrown into it (a token refused once before any data is
refreshed; after data, or a second time, it is not).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from etcd3py import _pb
from etcd3py._flow import Refresh, Stream, Unary
from etcd3py._flow_run import FlowRun
from etcd3py._maintenance_flows import alarm_disarm, move_leader, snapshot
from etcd3py._maintenance_views import AlarmResponse, AlarmType, StatusResponse
from etcd3py._snapshot import CHECKSUM_SIZE
from etcd3py.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvalidAuthTokenError,
    NoLeaderError,
    UnavailableError,
    UnknownError,
)


def _status(member: int, leader: int) -> StatusResponse:
    pb = _pb.rpc.StatusResponse(leader=leader, version="3.5.1")
    pb.header.member_id = member
    return StatusResponse(pb)


def _alarms(*members: int) -> AlarmResponse:
    pb = _pb.rpc.AlarmResponse()
    pb.header.revision = 7
    for m in members:
        pb.alarms.add(memberID=m, alarm=_pb.rpc.NOSPACE)
    return AlarmResponse(pb)


def test_alarm_disarm_of_one_alarm_is_one_step() -> None:
    run = FlowRun(alarm_disarm(5, AlarmType.NOSPACE).flow)
    step = run.start()
    assert isinstance(step, Unary) and step.endpoint is None
    assert step.call.method == "Alarm" and step.call.request.memberID == 5
    assert run.answer(_alarms(5)) is None
    assert [a.member_id for a in run.result.alarms] == [5]  # type: ignore[union-attr]


def test_alarm_disarm_of_every_alarm_lists_then_clears_each() -> None:
    run = FlowRun(alarm_disarm(0, AlarmType.NONE).flow)
    listed = run.start()
    assert isinstance(listed, Unary)
    assert listed.call.request.action == _pb.rpc.AlarmRequest.GET
    cleared = []
    step = run.answer(_alarms(1, 2))
    while step is not None:
        assert isinstance(step, Unary)
        assert step.call.request.action == _pb.rpc.AlarmRequest.DEACTIVATE
        cleared.append(step.call.request.memberID)
        step = run.answer(_alarms(step.call.request.memberID))
    assert cleared == [1, 2]
    assert [a.member_id for a in run.result.alarms] == [1, 2]  # type: ignore[union-attr]


def test_alarm_disarm_checks_its_arguments_before_any_step() -> None:
    with pytest.raises(ArgumentTypeError):
        FlowRun(alarm_disarm("1", AlarmType.NONE).flow).start()  # type: ignore[arg-type]


def test_move_leader_asks_each_endpoint_until_the_leader() -> None:
    run = FlowRun(move_leader(9, ["a:1", "b:2", "c:3"]).flow)
    step = run.start()
    assert isinstance(step, Unary) and step.endpoint == "a:1"
    step = run.answer(_status(member=1, leader=2))  # a follower
    assert isinstance(step, Unary) and step.endpoint == "b:2" and step.call.method == "Status"
    step = run.answer(_status(member=2, leader=2))  # the leader: the move goes to it
    assert isinstance(step, Unary) and step.endpoint == "b:2"
    assert step.call.method == "MoveLeader" and step.call.request.targetID == 9
    assert run.answer("moved") is None and run.result == "moved"


def test_move_leader_without_a_leader() -> None:
    run = FlowRun(move_leader(9, ["a:1"]).flow)
    run.start()
    with pytest.raises(NoLeaderError):
        run.answer(_status(member=1, leader=0))


def _snapshot_bytes() -> bytes:
    import hashlib

    data = b"\x01" * 1024
    return data + hashlib.sha256(data).digest()


def _feed(step: Stream, data: bytes) -> None:
    for i in range(0, len(data), 300):
        step.take(_pb.rpc.SnapshotResponse(blob=data[i : i + 300]))


def test_snapshot_status_then_stream_to_a_path(tmp_path: Path) -> None:
    path = tmp_path / "snap.db"
    run = FlowRun(snapshot(path, None, ["m:1"]).flow)
    status = run.start()
    assert isinstance(status, Unary) and status.endpoint == "m:1"
    assert not path.exists()
    stream = run.answer(_status(member=3, leader=3))
    assert isinstance(stream, Stream) and stream.endpoint == "m:1"
    assert stream.method == "Snapshot"
    data = _snapshot_bytes()
    _feed(stream, data)
    assert run.answer(None) is None
    assert run.result is not None and run.result.size == len(data) == 1024 + CHECKSUM_SIZE
    assert path.read_bytes() == data and run.result.version == "3.5.1"
    assert run.result.header.member_id == 3


def test_snapshot_refreshes_a_refused_token_once_before_any_data() -> None:
    out = io.BytesIO()
    run = FlowRun(snapshot(out, "m:1", ["a:1", "b:2"]).flow)
    run.start()
    first = run.answer(_status(member=3, leader=3))
    refused = UnknownError("auth: invalid auth token")  # as etcd's Snapshot sends it
    refresh = run.fail(refused)
    assert isinstance(refresh, Refresh)
    again = run.answer(True)
    assert isinstance(again, Stream) and again is not first
    with pytest.raises(UnknownError):  # a second refusal is not refreshed again
        run.fail(refused)


@pytest.mark.parametrize("why", ["data came first", "refresh failed", "another error"])
def test_snapshot_gives_up(why: str, tmp_path: Path) -> None:
    path = tmp_path / "snap.db"
    run = FlowRun(snapshot(path, None, ["m:1"]).flow)
    run.start()
    stream = run.answer(_status(member=3, leader=3))
    assert isinstance(stream, Stream)
    error: Exception = InvalidAuthTokenError("etcdserver: invalid auth token")
    if why == "data came first":
        stream.take(_pb.rpc.SnapshotResponse(blob=b"x"))
        with pytest.raises(InvalidAuthTokenError):
            run.fail(error)  # type: ignore[arg-type]
    elif why == "refresh failed":
        assert isinstance(run.fail(error), Refresh)  # type: ignore[arg-type]
        with pytest.raises(InvalidAuthTokenError):
            run.answer(False)
    else:
        with pytest.raises(UnavailableError):
            run.fail(UnavailableError("gone"))
    assert list(tmp_path.iterdir()) == []  # the temporary file is removed


def test_snapshot_member_and_destination_checked_first(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="name one with endpoint="):
        FlowRun(snapshot(tmp_path / "s.db", None, ["a:1", "b:2"]).flow).start()
    with pytest.raises(ArgumentTypeError):
        FlowRun(snapshot(io.BytesIO(), 5, ["a:1"]).flow).start()  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        FlowRun(snapshot(3, None, ["a:1"]).flow).start()  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
