"""End-to-end tests of the Maintenance API: alarms, defragment, hash, snapshot, leader moves,
downgrades, and ``ctx=`` on the calls.

Alarms are raised with etcd's own ``Alarm(ACTIVATE)`` RPC on every backend, and by filling a
private etcd past a small ``--quota-backend-bytes``. Snapshots are saved and checked on every
backend (real etcd's with ``etcdutl snapshot status`` too; the reference server's is its own
serialization, read back with ``testserver.snapshot.read_snapshot``). Downgrades are
validated on every backend (etcd 3.4 has none), and enabled then cancelled on the reference
server and on a private etcd 3.5. Moving the leadership to another member runs on the
3-member ``etcd_cluster`` fixture, and on an ``external`` backend of several members.

On a cluster, calls of a client of several endpoints are answered by any member: a test about
one member (its status, hash, snapshot, or the header of its answers) makes its calls through
``member_client``, a client of the backend's first endpoint only, or names that endpoint. A
test that raises an alarm or moves the leader is ``cluster_wide``: on ``external`` it runs
alone (a NOSPACE alarm refuses every other test's writes while it is raised).
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from etcd3py import Client, Context, _pb, _stubs
from etcd3py.errors import (
    BadLeaderTransfereeError,
    CanceledError,
    DeadlineExceededError,
    DowngradeInProcessError,
    InvalidArgumentError,
    InvalidDowngradeTargetVersionError,
    NoInflightDowngradeError,
    NoSpaceError,
    RequestTimedOutError,
    UnimplementedError,
    WrongDowngradeVersionFormatError,
)
from etcd3py.maintenance import (
    AlarmType,
    DowngradeAction,
    HashKVResponse,
    SnapshotResponse,
    verify_snapshot,
)
from tests.backends import (
    Backend,
    EtcdProcess,
    EtcdTools,
    _etcd34_binary,
    _etcd35_binary,
    running_etcd,
)
from testserver.snapshot import read_snapshot

pytestmark = pytest.mark.both_faces

NewClient = Callable[..., Client]
TIMEOUT = 10.0
#: bbolt's magic number, little-endian, at offset 16 of the first page (its meta page).
BOLT_MAGIC = (0xED0CDAED).to_bytes(4, "little")
SHA256_SIZE = 32
#: a member ID no member has (alarms may name any member).
OTHER_MEMBER = 0x5


@pytest.fixture
def member_client(backend: Backend, new_client: NewClient) -> Client:
    """A client of the test's face on the backend's first endpoint only (``raw_channel``'s).

    Every call it makes is answered by that one member, so its answers' headers, its status
    and what it has applied are that member's, on one member and on a cluster alike.
    """
    return new_client(endpoints=backend.endpoints[:1])


def member_ids(client: Client) -> set[int]:
    """The IDs of the cluster's members."""
    return {m.id for m in client.member_list(timeout=TIMEOUT).members}


def activate(channel: grpc.Channel, member_id: int, alarm: AlarmType) -> None:
    """Raise an alarm with etcd's own RPC (etcd accepts ``ACTIVATE`` from any client)."""
    request = _pb.rpc.AlarmRequest(
        action=_pb.rpc.AlarmRequest.ACTIVATE,
        memberID=member_id,
        alarm=_pb.rpc.AlarmType.Value(alarm.name),
    )
    _stubs.rpc_grpc.MaintenanceStub(channel).Alarm(request, timeout=TIMEOUT)


def test_alarm_list_empty(client: Client) -> None:
    assert client.alarm_list(timeout=TIMEOUT).alarms == []


def test_alarm_disarm_none_raised(client: Client) -> None:
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    assert client.alarm_disarm(member_id, AlarmType.NOSPACE, timeout=TIMEOUT).alarms == []
    assert client.alarm_disarm(timeout=TIMEOUT).alarms == []
    assert client.alarm_list(timeout=TIMEOUT).alarms == []


@pytest.mark.cluster_wide
def test_alarms_raised_then_all_disarmed_in_one_call(
    member_client: Client, backend: Backend, raw_channel: grpc.Channel, prefix: str
) -> None:
    # one member throughout: the alarms raised on it are in its status as soon as they are
    # answered, and each answer's header is its own
    client = member_client
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    assert member_id in member_ids(client)
    try:
        activate(raw_channel, member_id, AlarmType.NOSPACE)
        activate(raw_channel, OTHER_MEMBER, AlarmType.NOSPACE)
        raised = {(a.member_id, a.alarm) for a in client.alarm_list(timeout=TIMEOUT).alarms}
        assert raised == {(member_id, AlarmType.NOSPACE), (OTHER_MEMBER, AlarmType.NOSPACE)}
        errors = client.status(backend.endpoints[0], timeout=TIMEOUT).errors
        assert sorted(errors) == sorted(f"memberID:{m} alarm:NOSPACE " for m, _ in raised)
        with pytest.raises(NoSpaceError):
            client.put(prefix + "k", "v", timeout=TIMEOUT)
        cleared = client.alarm_disarm(timeout=TIMEOUT)
        assert {(a.member_id, a.alarm) for a in cleared.alarms} == raised
        if not is_etcd34(backend):  # etcd 3.4 answers alarm changes without a header
            assert cleared.header.member_id == member_id
    finally:
        client.alarm_disarm(timeout=TIMEOUT)
    assert client.alarm_list(timeout=TIMEOUT).alarms == []
    assert client.status(backend.endpoints[0], timeout=TIMEOUT).errors == []
    client.put(prefix + "k", "v", timeout=TIMEOUT)


@pytest.mark.cluster_wide
def test_alarm_disarm_one(client: Client, raw_channel: grpc.Channel) -> None:
    # the alarms are the cluster's: raised through one member, listed and disarmed through
    # whichever member answers the client (every member, on a cluster)
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    assert member_id in member_ids(client)
    try:
        activate(raw_channel, OTHER_MEMBER, AlarmType.NOSPACE)
        activate(raw_channel, member_id, AlarmType.NOSPACE)
        cleared = client.alarm_disarm(OTHER_MEMBER, AlarmType.NOSPACE, timeout=TIMEOUT)
        assert [(a.member_id, a.alarm) for a in cleared.alarms] == [
            (OTHER_MEMBER, AlarmType.NOSPACE)
        ]
        left = client.alarm_list(timeout=TIMEOUT).alarms
        assert [(a.member_id, a.alarm) for a in left] == [(member_id, AlarmType.NOSPACE)]
    finally:
        client.alarm_disarm(timeout=TIMEOUT)


@pytest.fixture
def small_quota_etcd(backend: Backend) -> Iterator[Backend]:
    """A private etcd of the backend's version with a 64 KiB backend quota."""
    binaries = {"etcd35": _etcd35_binary, "etcd34": _etcd34_binary}
    if backend.name not in binaries:
        pytest.skip(f"needs a private etcd; backend {backend.name} has none")
    binary = binaries[backend.name]()[0]
    with running_etcd(binary, backend.name, ["--quota-backend-bytes=65536"]) as member:
        yield member


@pytest.mark.real_etcd_only
def test_quota_exceeded_raises_nospace_and_disarm_recovers(
    small_quota_etcd: Backend, new_client: NewClient
) -> None:
    endpoint = small_quota_etcd.endpoints[0]
    with new_client(endpoints=[endpoint]) as client:
        with pytest.raises(NoSpaceError):
            # 64 KiB of quota: etcd checks it against the backend's size as of its last
            # commit (every 100 ms), so on a loaded machine many more writes may get in
            # first (CI once saw 200 x 16 KiB accepted); bounded all the same
            for n in range(1000):
                client.put(f"/quota/{n}", b"x" * 16384, timeout=TIMEOUT)
        member_id = client.member_list(timeout=TIMEOUT).header.member_id
        alarms = client.alarm_list(timeout=TIMEOUT).alarms
        assert [(a.member_id, a.alarm) for a in alarms] == [(member_id, AlarmType.NOSPACE)]
        assert client.status(endpoint, timeout=TIMEOUT).errors
        # etcd's recovery: free the space (delete, compact, defragment), then disarm
        rev = client.delete("/quota/", prefix=True, timeout=TIMEOUT).header.revision
        client.compact(rev, timeout=TIMEOUT)
        client.defragment(endpoint, timeout=TIMEOUT)
        cleared = client.alarm_disarm(timeout=TIMEOUT).alarms
        assert [(a.member_id, a.alarm) for a in cleared] == [(member_id, AlarmType.NOSPACE)]
        assert client.alarm_list(timeout=TIMEOUT).alarms == []
        client.put("/quota/after", "v", timeout=TIMEOUT)


def test_defragment(client: Client, backend: Backend, prefix: str) -> None:
    client.put(prefix + "k", "v")
    client.defragment(backend.endpoints[0], timeout=TIMEOUT)
    assert client.get(prefix + "k").kvs[0].value == b"v"


def test_hash_kv_stable_without_writes(
    member_client: Client, backend: Backend, prefix: str
) -> None:
    client = member_client  # the member hashed has applied the put (it answered it)
    rev = client.put(prefix + "k", "v").header.revision
    first = client.hash_kv(backend.endpoints[0], rev, timeout=TIMEOUT)
    second = client.hash_kv(backend.endpoints[0], rev, timeout=TIMEOUT)
    assert isinstance(first, HashKVResponse)
    assert first.hash == second.hash != 0
    assert first.compact_revision == second.compact_revision
    assert first.header.revision >= rev


def test_hash_kv_changes_with_a_write(member_client: Client, backend: Backend, prefix: str) -> None:
    client = member_client  # the member hashed has applied the puts (it answered them)
    rev = client.put(prefix + "k", "v1").header.revision
    before = client.hash_kv(backend.endpoints[0], rev, timeout=TIMEOUT).hash
    rev2 = client.put(prefix + "k", "v2").header.revision
    after = client.hash_kv(backend.endpoints[0], rev2, timeout=TIMEOUT).hash
    assert before != after


def check_snapshot_of(data: bytes, backend: Backend, key: bytes) -> None:
    """The saved bytes are a checked snapshot holding ``key``, in the backend's format."""
    assert verify_snapshot(data) == len(data)
    if backend.is_real:
        assert data[16:20] == BOLT_MAGIC
        assert key in data  # bbolt stores small keys inline
    else:
        _, _, kvs = read_snapshot(data)
        assert key in [kv.key for kv in kvs]


def test_snapshot_to_a_file_object(member_client: Client, backend: Backend, prefix: str) -> None:
    client = member_client  # one endpoint: the snapshot is its member's, no endpoint= needed
    client.put(prefix + "k", "v")
    buf = io.BytesIO()
    resp = client.snapshot(buf, timeout=30.0)
    assert isinstance(resp, SnapshotResponse)
    assert resp.size == len(buf.getvalue()) > SHA256_SIZE
    status = client.status(backend.endpoints[0], timeout=TIMEOUT)
    assert resp.version == status.version != ""
    assert resp.header.member_id == status.header.member_id != 0
    assert resp.header.cluster_id == status.header.cluster_id
    assert resp.header.revision >= client.get(prefix + "k").kvs[0].mod_revision
    check_snapshot_of(buf.getvalue(), backend, (prefix + "k").encode())


def test_snapshot_to_a_path(
    client: Client, member_client: Client, backend: Backend, prefix: str, tmp_path: Path
) -> None:
    endpoint = backend.endpoints[0]
    member_client.put(prefix + "k", "v")  # the member snapshotted has applied it
    path = tmp_path / "snap.db"
    path.write_bytes(b"an older backup")
    # the client of every endpoint snapshots the member it names
    resp = client.snapshot(path, endpoint=endpoint, timeout=30.0)
    data = path.read_bytes()
    assert resp.size == len(data)
    check_snapshot_of(data, backend, (prefix + "k").encode())
    assert [p.name for p in tmp_path.iterdir()] == ["snap.db"]  # no temp file left
    again = client.snapshot(str(tmp_path / "second.db"), endpoint=endpoint, timeout=30.0)
    assert again.header.member_id == resp.header.member_id
    assert resp.header.member_id == member_client.status(endpoint).header.member_id


def test_snapshot_of_a_client_of_several_endpoints_names_one(
    backend: Backend, new_client: NewClient, tmp_path: Path
) -> None:
    # the first endpoint twice: a client of two endpoints on any backend
    endpoint = backend.endpoints[0]
    client = new_client(endpoints=[endpoint, endpoint])
    path = tmp_path / "snap.db"
    with pytest.raises(InvalidArgumentError, match="the client has 2 endpoints"):
        client.snapshot(path, timeout=30.0)
    assert list(tmp_path.iterdir()) == []
    resp = client.snapshot(path, endpoint=endpoint, timeout=30.0)
    assert resp.size == len(path.read_bytes()) > SHA256_SIZE


@pytest.mark.parametrize("how", ["cancelled", "expired"])
def test_snapshot_ctx_ended_leaves_no_file(
    client: Client, backend: Backend, tmp_path: Path, how: str
) -> None:
    if how == "cancelled":
        ctx = Context.background().with_cancel()
        ctx.cancel()
        error: type[Exception] = CanceledError
    else:
        ctx = Context.background().with_timeout(1e-9)
        error = DeadlineExceededError
    path = tmp_path / "snap.db"
    with pytest.raises(error):
        client.snapshot(path, endpoint=backend.endpoints[0], ctx=ctx)
    assert list(tmp_path.iterdir()) == []


class CancelOnFirstWrite(io.BytesIO):
    """A file object that cancels a context when the first bytes arrive."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.ctx.cancel()
        return super().write(data)


def test_snapshot_cancelled_mid_stream(client: Client, backend: Backend) -> None:
    # etcd sends at least two messages (the database, then its trailer): the cancel lands
    # between them, and the bytes already written stay in the caller's file
    ctx = Context.background().with_cancel()
    out = CancelOnFirstWrite(ctx)
    with pytest.raises(CanceledError):
        client.snapshot(out, endpoint=backend.endpoints[0], ctx=ctx)
    assert len(out.getvalue()) > 0


@pytest.mark.testserver_only
def test_snapshot_deadline_while_the_server_is_slow(
    client: Client, backend: Backend, tmp_path: Path
) -> None:
    assert backend.server is not None
    backend.server.set_delay(0.5)
    try:
        with pytest.raises(DeadlineExceededError):
            client.snapshot(tmp_path / "snap.db", ctx=Context.background().with_timeout(0.2))
    finally:
        backend.server.set_delay(0.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.real_etcd_only
def test_snapshot_accepted_by_etcdutl(
    client: Client, backend: Backend, prefix: str, etcd_tools: EtcdTools, tmp_path: Path
) -> None:
    client.put(prefix + "k", "v")
    path = tmp_path / "snap.db"
    resp = client.snapshot(path, endpoint=backend.endpoints[0], timeout=30.0)
    out = subprocess.run(
        [str(etcd_tools.etcdutl), "snapshot", "status", str(path), "-w", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    status = json.loads(out.stdout)
    assert status["totalSize"] == resp.size - SHA256_SIZE
    assert status["totalKey"] > 0


def is_etcd34(backend: Backend) -> bool:
    """etcd 3.4 has no Downgrade RPC."""
    return backend.version.startswith("3.4.")


def test_downgrade_validate(client: Client, backend: Backend) -> None:
    cases: list[tuple[str, type[Exception] | None]] = [
        ("3.4", None),
        ("3.4.0", None),
        ("3.4.7", None),
        ("bad", WrongDowngradeVersionFormatError),
        ("", WrongDowngradeVersionFormatError),
        ("3.5", InvalidDowngradeTargetVersionError),
        ("3.3", InvalidDowngradeTargetVersionError),
        ("3.6.0", InvalidDowngradeTargetVersionError),
    ]
    for version, error in cases:
        if is_etcd34(backend):
            with pytest.raises(UnimplementedError, match="unknown method Downgrade"):
                client.downgrade(DowngradeAction.VALIDATE, version, timeout=TIMEOUT)
        elif error is None:
            resp = client.downgrade(DowngradeAction.VALIDATE, version, timeout=TIMEOUT)
            assert resp.version == "3.5.0"
            assert resp.header.member_id != 0
        else:
            with pytest.raises(error):
                client.downgrade(DowngradeAction.VALIDATE, version, timeout=TIMEOUT)


def test_downgrade_cancel_without_one(client: Client, backend: Backend) -> None:
    error = UnimplementedError if is_etcd34(backend) else NoInflightDowngradeError
    with pytest.raises(error):
        client.downgrade(DowngradeAction.CANCEL, timeout=TIMEOUT)
    with pytest.raises(error):
        client.downgrade(DowngradeAction.CANCEL, "bad", timeout=TIMEOUT)


def check_downgrade_in_progress(client: Client) -> None:
    """A downgrade is enabled: enabling or validating again is refused."""
    with pytest.raises(DowngradeInProcessError):
        client.downgrade(DowngradeAction.VALIDATE, "3.4", timeout=TIMEOUT)
    with pytest.raises(DowngradeInProcessError):
        client.downgrade(DowngradeAction.ENABLE, "3.4", timeout=TIMEOUT)
    with pytest.raises(WrongDowngradeVersionFormatError):  # the format is checked first
        client.downgrade(DowngradeAction.ENABLE, "bad", timeout=TIMEOUT)


@pytest.mark.testserver_only
def test_downgrade_enable_then_cancel_reference_server(client: Client) -> None:
    assert client.downgrade(DowngradeAction.ENABLE, "3.4", timeout=TIMEOUT).version == "3.5.0"
    try:
        check_downgrade_in_progress(client)
    finally:
        assert client.downgrade(DowngradeAction.CANCEL, timeout=TIMEOUT).version == "3.5.0"
    with pytest.raises(NoInflightDowngradeError):
        client.downgrade(DowngradeAction.CANCEL, timeout=TIMEOUT)


@pytest.mark.real_etcd_only
def test_downgrade_enable_then_cancel_private_etcd35(
    backend: Backend, new_client: NewClient
) -> None:
    if backend.name != "etcd35":
        pytest.skip("enables a downgrade on a private etcd 3.5")
    with (
        running_etcd(_etcd35_binary()[0], "etcd35") as member,
        new_client(endpoints=member.endpoints) as client,
    ):
        # etcd 3.5.1 applies ENABLE and CANCEL on a one-member cluster but never answers
        # them (it reports "request timed out" after 7 s): bound the wait. etcd also holds
        # the proposal to the call's own deadline, so at that same second either side may
        # report it first: our deadline, or etcd's "request timed out"
        with pytest.raises((DeadlineExceededError, RequestTimedOutError)):
            client.downgrade(DowngradeAction.ENABLE, "3.4", timeout=1.0)
        check_downgrade_in_progress(client)
        with pytest.raises((DeadlineExceededError, RequestTimedOutError)):
            client.downgrade(DowngradeAction.CANCEL, timeout=1.0)
        with pytest.raises(NoInflightDowngradeError):
            client.downgrade(DowngradeAction.CANCEL, timeout=TIMEOUT)
        assert client.downgrade(DowngradeAction.VALIDATE, "3.4").version == "3.5.0"


def test_maintenance_calls_take_a_context(client: Client, backend: Backend) -> None:
    endpoint = backend.endpoints[0]
    ctx = Context.background().with_timeout(TIMEOUT)
    assert client.status(endpoint, ctx=ctx).version
    assert client.alarm_list(ctx=ctx).alarms == []
    assert client.hash_kv(endpoint, ctx=ctx).header.revision > 0
    cancelled = Context.background().with_cancel()
    cancelled.cancel()
    calls = [
        lambda: client.status(endpoint, ctx=cancelled),
        lambda: client.alarm_list(ctx=cancelled),
        lambda: client.alarm_disarm(ctx=cancelled),
        lambda: client.defragment(endpoint, ctx=cancelled),
        lambda: client.hash_kv(endpoint, ctx=cancelled),
        lambda: client.move_leader(1, ctx=cancelled),
        lambda: client.downgrade(DowngradeAction.VALIDATE, "3.4", ctx=cancelled),
    ]
    for call in calls:
        with pytest.raises(CanceledError):
            call()


@pytest.mark.cluster_wide
def test_move_leader_to_itself(client: Client, backend: Backend) -> None:
    # a move to the leader itself is a no-op, answered by the leader (the client finds it
    # among its endpoints: on a cluster, not necessarily the first)
    leader = client.status(backend.endpoints[0], timeout=TIMEOUT).leader
    assert leader in member_ids(client)
    resp = client.move_leader(leader, timeout=TIMEOUT)
    assert resp.header.member_id == 0  # etcd answers a leader move without a header
    for endpoint in backend.endpoints:
        assert client.status(endpoint, timeout=TIMEOUT).leader == leader


@pytest.mark.cluster_wide
def test_move_leader_to_unknown_member(client: Client) -> None:
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    assert member_id ^ 0xFFFF not in member_ids(client)
    with pytest.raises(BadLeaderTransfereeError):
        client.move_leader(member_id ^ 0xFFFF, timeout=TIMEOUT)


def check_move_leader_to_another_member(client: Client, endpoints: list[str]) -> None:
    """Move the leadership from the leader to another member of ``endpoints``' cluster."""
    statuses = {e: client.status(e, timeout=TIMEOUT) for e in endpoints}
    leader = next(s.leader for s in statuses.values())
    assert all(s.leader == leader for s in statuses.values())
    endpoint, target = next(
        (e, s.header.member_id) for e, s in statuses.items() if s.header.member_id != leader
    )
    client.move_leader(target, timeout=TIMEOUT)
    assert client.status(endpoint, timeout=TIMEOUT).leader == target
    with pytest.raises(BadLeaderTransfereeError):
        client.move_leader(target ^ 0xFFFF, timeout=TIMEOUT)


@pytest.mark.cluster  # a private cluster: not the backend's, so not cluster_wide
def test_move_leader_to_another_member(
    etcd_cluster: list[EtcdProcess], new_client: NewClient
) -> None:
    with new_client(endpoints=[m.endpoint for m in etcd_cluster]) as client:
        check_move_leader_to_another_member(client, [m.endpoint for m in etcd_cluster])


@pytest.mark.real_etcd_only
@pytest.mark.cluster_wide
def test_move_leader_to_another_member_of_the_backend(client: Client, backend: Backend) -> None:
    if len(backend.endpoints) < 2:
        pytest.skip(f"needs a backend of several members; {backend.name} has one endpoint")
    check_move_leader_to_another_member(client, backend.endpoints)
