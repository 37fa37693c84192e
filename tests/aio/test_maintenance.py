"""The asyncio Maintenance (:class:`etcd3py.aio.maintenance.Maintenance`) on every backend.

Status, alarms, hash, defragment and downgrade answer as the sync client's (the same member
answers both; only the counters another client's write may move on in between differ, and
only forward); every alarm is disarmed in one call (the shared flow: a list, then a clear of
each); ``move_leader`` finds the leader among the endpoints; a snapshot is saved to a path
and to a file object and checked; a ctx ended before or during the transfer, or the awaiting
task cancelled while the status or the stream is in flight, ends it with nothing left at the
path and no task behind. Bad input raises the sync face's error before sending.

On a cluster, a transport or client of several endpoints is answered by any member: where an
answer is compared with the sync client's (headers included) or is about one member, both
sides are on the backend's first endpoint only (``member_transport``, ``member_client``),
and a snapshot names its member. Tests that raise alarms or move the leader are
``cluster_wide`` (alone on an ``external`` cluster).
"""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest

from etcd3py import Client, Context
from etcd3py._aio_transport import AioTransport
from etcd3py.aio.maintenance import Maintenance
from etcd3py.errors import (
    BadLeaderTransfereeError,
    CanceledError,
    DeadlineExceededError,
    EtcdError,
)
from etcd3py.maintenance import AlarmType, DowngradeAction, SnapshotResponse
from tests.aio.unary_support import (
    REVISIONS,
    WAIT,
    Rejects,
    cancel_ctx_in_flight,
    cancel_in_flight,
    held_transport,
    proxy,
    rejects,
    same_error,
    same_view,
)
from tests.backends import Backend
from tests.e2e.hold_proxy import HoldProxy
from tests.e2e.test_maintenance_api import (
    OTHER_MEMBER,
    CancelOnFirstWrite,
    activate,
    check_snapshot_of,
)

__all__ = ["held_transport", "proxy", "rejects"]  # fixtures


#: what another client's write may change in a member's status between two calls
STATUS_GROWN = ("revision", "raftIndex", "raftAppliedIndex")
STATUS_SIZES = ("dbSize", "dbSizeInUse")


async def test_reads_answer_as_the_sync_client(
    member_transport: AioTransport, member_client: Client, backend: Backend, prefix: str
) -> None:
    m, client = Maintenance(member_transport), member_client  # the same member answers both
    endpoint = backend.endpoints[0]
    rev = client.put(prefix + "k", "v").header.revision
    status = await m.status(endpoint, timeout=WAIT)
    assert status.db_size > 0 and status.db_size_in_use > 0
    same_view(
        status, client.status(endpoint, timeout=WAIT), grown=STATUS_GROWN, unordered=STATUS_SIZES
    )
    listed = await m.alarm_list(timeout=WAIT)
    same_view(listed, client.alarm_list(timeout=WAIT), grown=REVISIONS)
    at_rev = await m.hash_kv(endpoint, rev)
    same_view(at_rev, client.hash_kv(endpoint, rev), grown=REVISIONS)
    # the hash of the member's current revision is its hash at the revision it answers with
    latest = await m.hash_kv(endpoint)
    assert latest.header.revision >= rev
    same_view(latest, client.hash_kv(endpoint, latest.header.revision), grown=REVISIONS)
    defrag = await m.defragment(endpoint, timeout=30.0)
    same_view(defrag, client.defragment(endpoint, timeout=30.0), header=False)
    for action, version in [(DowngradeAction.VALIDATE, "3.4"), (DowngradeAction.CANCEL, "")]:
        try:
            expected = client.downgrade(action, version, timeout=WAIT)
        except EtcdError:
            await same_error(
                lambda a=action, v=version: m.downgrade(a, v, timeout=WAIT),  # type: ignore[misc]
                lambda a=action, v=version: client.downgrade(a, v, timeout=WAIT),  # type: ignore[misc]
            )
        else:
            got = await m.downgrade(action, version, timeout=WAIT)
            same_view(expected, got, grown=REVISIONS)


@pytest.mark.cluster_wide
async def test_every_alarm_disarmed_in_one_call(
    member_transport: AioTransport,
    member_client: Client,
    raw_channel: grpc.Channel,
    prefix: str,
) -> None:
    # one member answers both faces (the headers are compared) and raw_channel's activations
    m, client = Maintenance(member_transport), member_client
    member_id = client.member_list(timeout=WAIT).header.member_id
    assert (await m.alarm_disarm(timeout=WAIT)).alarms == []  # none raised: nothing cleared
    try:
        activate(raw_channel, member_id, AlarmType.NOSPACE)
        activate(raw_channel, OTHER_MEMBER, AlarmType.NOSPACE)
        listed = await m.alarm_list(timeout=WAIT)
        expected = client.alarm_list(timeout=WAIT)
        # the same member's header (etcd 3.4 sends none); a lease that expires may move the
        # revision on in between
        assert listed.header.revision <= expected.header.revision
        head = [(h.cluster_id, h.member_id, h.raft_term) for h in (listed.header, expected.header)]
        assert head[0] == head[1]
        assert listed._pb.HasField("header") == expected._pb.HasField("header")
        # etcd 3.4 lists in no fixed order
        assert sorted((a.member_id, a.alarm) for a in listed.alarms) == sorted(
            (a.member_id, a.alarm) for a in expected.alarms
        )
        one = await m.alarm_disarm(OTHER_MEMBER, AlarmType.NOSPACE, timeout=WAIT)
        assert [(a.member_id, a.alarm) for a in one.alarms] == [(OTHER_MEMBER, AlarmType.NOSPACE)]
        activate(raw_channel, OTHER_MEMBER, AlarmType.NOSPACE)
        cleared = await m.alarm_disarm(timeout=WAIT)
        assert {(a.member_id, a.alarm) for a in cleared.alarms} == {
            (member_id, AlarmType.NOSPACE),
            (OTHER_MEMBER, AlarmType.NOSPACE),
        }
    finally:
        client.alarm_disarm(timeout=WAIT)
    assert (await m.alarm_list()).alarms == []
    client.put(prefix + "k", "v", timeout=WAIT)  # writes are accepted again


@pytest.mark.cluster_wide
async def test_move_leader_finds_the_leader(
    aio_transport: AioTransport, client: Client, backend: Backend
) -> None:
    # a move to the leader itself is a no-op that only the leader answers: the transport of
    # every endpoint finds it (on a cluster, not necessarily the first endpoint)
    m = Maintenance(aio_transport)
    leader = client.status(backend.endpoints[0], timeout=WAIT).leader
    members = {member.id for member in client.member_list(timeout=WAIT).members}
    assert leader in members
    moved = await m.move_leader(leader, timeout=WAIT)
    assert moved.header.member_id == 0  # etcd answers a leader move without a header
    for endpoint in backend.endpoints:
        assert (await m.status(endpoint, timeout=WAIT)).leader == leader
    assert leader ^ 0xFFFF not in members
    with pytest.raises(BadLeaderTransfereeError):
        await m.move_leader(leader ^ 0xFFFF, timeout=WAIT)


async def test_snapshot_to_a_file_object_and_a_path(
    aio_transport: AioTransport,
    member_transport: AioTransport,
    member_client: Client,
    backend: Backend,
    prefix: str,
    tmp_path: Path,
) -> None:
    endpoint = backend.endpoints[0]
    m = Maintenance(member_transport)  # one endpoint: its member's snapshot, no endpoint=
    key = (prefix + "k").encode()
    member_client.put(key, "v")  # the member snapshotted has applied it
    buf = io.BytesIO()
    resp = await m.snapshot(buf, timeout=30.0)
    assert isinstance(resp, SnapshotResponse) and resp.size == len(buf.getvalue())
    check_snapshot_of(buf.getvalue(), backend, key)
    status = member_client.status(endpoint, timeout=WAIT)
    assert resp.version == status.version != ""
    assert resp.header.member_id == status.header.member_id != 0
    path = tmp_path / "snap.db"
    path.write_bytes(b"an older backup")
    # the transport of every endpoint snapshots the member named
    at_path = await Maintenance(aio_transport).snapshot(path, endpoint=endpoint, timeout=30.0)
    assert at_path.size == len(path.read_bytes())
    assert at_path.header.member_id == resp.header.member_id
    check_snapshot_of(path.read_bytes(), backend, key)
    again = await m.snapshot(str(tmp_path / "second.db"))
    assert again.header.member_id == resp.header.member_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["second.db", "snap.db"]  # no temp


@pytest.mark.parametrize("how", ["cancelled", "expired"])
async def test_snapshot_ctx_ended_leaves_no_file(
    aio_transport: AioTransport, backend: Backend, tmp_path: Path, how: str
) -> None:
    if how == "cancelled":
        ctx = Context.background().with_cancel()
        ctx.cancel()
        error: type[Exception] = CanceledError
    else:
        ctx = Context.background().with_timeout(1e-9)
        error = DeadlineExceededError
    with pytest.raises(error):
        await Maintenance(aio_transport).snapshot(
            tmp_path / "snap.db", endpoint=backend.endpoints[0], ctx=ctx
        )
    assert list(tmp_path.iterdir()) == []


async def test_snapshot_ctx_cancelled_mid_stream(
    aio_transport: AioTransport, backend: Backend
) -> None:
    ctx = Context.background().with_cancel()
    out = CancelOnFirstWrite(ctx)  # etcd sends the database, then its trailer
    with pytest.raises(CanceledError):
        await Maintenance(aio_transport).snapshot(out, endpoint=backend.endpoints[0], ctx=ctx)
    assert len(out.getvalue()) > 0


class CancelTaskOnFirstWrite(io.BytesIO):
    """A file object that cancels the task writing to it when the first bytes arrive."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        return super().write(data)


async def test_snapshot_task_cancelled_mid_stream(
    aio_transport: AioTransport, backend: Backend
) -> None:
    out = CancelTaskOnFirstWrite()
    snapshot = Maintenance(aio_transport).snapshot(out, endpoint=backend.endpoints[0], timeout=30.0)
    task = asyncio.ensure_future(snapshot)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(out.getvalue()) > 0
    assert (await Maintenance(aio_transport).alarm_list(timeout=WAIT)).alarms == []


async def test_alarm_disarm_cancelled_in_flight(
    held_transport: AioTransport, proxy: HoldProxy
) -> None:
    m = Maintenance(held_transport)
    await cancel_in_flight(held_transport, proxy, lambda: m.alarm_disarm(timeout=WAIT))
    await cancel_ctx_in_flight(held_transport, proxy, lambda ctx: m.alarm_disarm(ctx=ctx))
    assert (await m.alarm_disarm(timeout=WAIT)).alarms == []


class CancelFromAThreadOnFirstWrite(io.BytesIO):
    """A file object that cancels a context from another thread when the first bytes arrive."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if not self.getvalue():
            canceller = threading.Thread(target=self.ctx.cancel)
            canceller.start()
            canceller.join()
        return super().write(data)


async def test_snapshot_ctx_cancelled_from_a_thread_mid_stream(
    aio_transport: AioTransport, backend: Backend
) -> None:
    ctx = Context.background().with_cancel()
    out = CancelFromAThreadOnFirstWrite(ctx)
    with pytest.raises(CanceledError):
        await Maintenance(aio_transport).snapshot(
            out, endpoint=backend.endpoints[0], ctx=ctx, timeout=30.0
        )
    assert len(out.getvalue()) > 0


@pytest.mark.testserver_only
async def test_snapshot_and_status_cancelled_while_the_server_works(
    aio_transport: AioTransport, backend: Backend, tmp_path: Path
) -> None:
    m = Maintenance(aio_transport)
    path = tmp_path / "snap.db"
    assert backend.server is not None
    backend.server.set_delay(WAIT)  # every unary call (the status first) waits on the server
    try:
        for call in (
            lambda: m.snapshot(path, timeout=30.0),
            lambda: m.status(backend.endpoints[0], timeout=30.0),
            lambda: m.move_leader(1, timeout=30.0),
        ):
            task = asyncio.ensure_future(call())
            await asyncio.sleep(0.2)  # the status is sent and waits on the server
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        backend.server.set_delay(0.0)
    assert list(tmp_path.iterdir()) == []
    assert (await m.snapshot(path, timeout=30.0)).size == len(path.read_bytes())


BAD_INPUT: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("status", ("127.0.0.1:1",), {"timeout": -1}),
    ("alarm_list", (), {"ctx": 3}),
    ("alarm_disarm", ("1",), {}),
    ("alarm_disarm", (1, "NOSPACE"), {}),
    ("alarm_disarm", (2**64,), {}),
    ("hash_kv", ("127.0.0.1:1", -1), {}),
    ("hash_kv", ("127.0.0.1:1", "1"), {}),
    ("snapshot", (123,), {}),
    ("snapshot", (io.BytesIO(),), {"endpoint": 5}),
    ("snapshot", (io.BytesIO(),), {"timeout": "long"}),
    ("move_leader", ("1",), {}),
    ("move_leader", (-1,), {}),
    ("downgrade", ("validate", "3.4"), {}),
    ("downgrade", (DowngradeAction.VALIDATE, 3.4), {}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), BAD_INPUT)
async def test_bad_input_raises_the_sync_error_before_sending(
    aio_transport: AioTransport, rejects: Rejects, method: str, args: Any, kwargs: Any
) -> None:
    await rejects(Maintenance(aio_transport), method, args, kwargs)
