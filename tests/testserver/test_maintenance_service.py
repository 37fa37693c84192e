"""The reference server's alarms, snapshots and downgrades, through raw gRPC stubs and alone.

What etcd 3.5.1 answers (checked in ``tests/e2e/test_maintenance_api.py`` on every backend):
an alarm raised twice is listed once; ``GET`` filters by kind; clearing one not raised
answers nothing; ``Status.errors`` lists the alarms; downgrade targets parse as etcd's
``convertToClusterVersion``. Snapshots are the server's own format with etcd's trailer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import grpc
import pytest

from etcd3py import _pb, _stubs
from etcd3py.errors import CorruptError, NoSpaceError, WrongDowngradeVersionFormatError
from testserver import Server
from testserver.alarms import AlarmStore, txn_write_kind
from testserver.downgrade import target_version
from testserver.snapshot import CHUNK_SIZE, MAGIC, chunks, read_snapshot

rpc = _pb.rpc
NOSPACE, CORRUPT, NONE = rpc.NOSPACE, rpc.CORRUPT, rpc.NONE


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as srv:
        yield srv


@pytest.fixture
def maint(server: Server) -> Iterator[_stubs.rpc_grpc.MaintenanceStub]:
    with grpc.insecure_channel(server.endpoint) as channel:
        yield _stubs.rpc_grpc.MaintenanceStub(channel)


def alarm(
    stub: _stubs.rpc_grpc.MaintenanceStub, action: int, member: int, kind: int
) -> list[tuple[int, int]]:
    resp = stub.Alarm(rpc.AlarmRequest(action=action, memberID=member, alarm=kind), timeout=5)  # type: ignore[arg-type]
    return [(a.memberID, a.alarm) for a in resp.alarms]


def test_alarm_store_alone() -> None:
    store = AlarmStore()
    assert store.activate(7, NONE) is None
    assert store.activate(7, NOSPACE) == (7, NOSPACE)
    assert store.activate(7, NOSPACE) == (7, NOSPACE)
    assert store.activate(3, CORRUPT) == (3, CORRUPT)
    assert store.get() == [(7, NOSPACE), (3, CORRUPT)]
    assert store.get(CORRUPT) == [(3, CORRUPT)]
    assert store.status_errors() == ["memberID:7 alarm:NOSPACE ", "memberID:3 alarm:CORRUPT "]
    assert store.deactivate(3, NOSPACE) is None
    assert store.deactivate(3, CORRUPT) == (3, CORRUPT)
    assert store.get() == [(7, NOSPACE)]
    # protobuf's text form leaves a zero field out, as etcd's a.String() does
    assert store.activate(0, CORRUPT) == (0, CORRUPT)
    assert store.status_errors() == ["memberID:7 alarm:NOSPACE ", "alarm:CORRUPT "]


def test_alarm_rpc_and_status(server: Server, maint: _stubs.rpc_grpc.MaintenanceStub) -> None:
    GET, ACT, DEACT = rpc.AlarmRequest.GET, rpc.AlarmRequest.ACTIVATE, rpc.AlarmRequest.DEACTIVATE
    assert alarm(maint, ACT, 9, NOSPACE) == [(9, NOSPACE)]
    assert alarm(maint, ACT, 9, NOSPACE) == [(9, NOSPACE)]
    assert alarm(maint, ACT, 9, NONE) == []
    assert alarm(maint, ACT, 4, CORRUPT) == [(4, CORRUPT)]
    assert alarm(maint, GET, 0, NONE) == [(9, NOSPACE), (4, CORRUPT)]
    assert alarm(maint, GET, 0, CORRUPT) == [(4, CORRUPT)]
    status = maint.Status(rpc.StatusRequest(), timeout=5)
    assert list(status.errors) == ["memberID:9 alarm:NOSPACE ", "memberID:4 alarm:CORRUPT "]
    server.restart()  # etcd keeps alarms in its backend
    assert alarm(maint, GET, 0, NONE) == [(9, NOSPACE), (4, CORRUPT)]
    assert alarm(maint, DEACT, 0, NONE) == []  # etcd clears nothing for member 0
    assert alarm(maint, DEACT, 9, NOSPACE) == [(9, NOSPACE)]
    assert alarm(maint, DEACT, 9, NOSPACE) == []
    assert alarm(maint, DEACT, 4, CORRUPT) == [(4, CORRUPT)]
    assert list(maint.Status(rpc.StatusRequest(), timeout=5).errors) == []


def test_snapshot_stream(server: Server, maint: _stubs.rpc_grpc.MaintenanceStub) -> None:
    with grpc.insecure_channel(server.endpoint) as channel:
        kv = _stubs.rpc_grpc.KVStub(channel)
        for n in range(40):  # 40 x 2 KiB: more than two 32 KiB chunks
            kv.Put(rpc.PutRequest(key=b"/snap/%02d" % n, value=bytes(2048)), timeout=5)
        kv.DeleteRange(rpc.DeleteRangeRequest(key=b"/snap/00"), timeout=5)
        rev = kv.Range(rpc.RangeRequest(key=b"/snap/"), timeout=5).header.revision
    messages = list(maint.Snapshot(rpc.SnapshotRequest(), timeout=5))
    assert len(messages) >= 4
    assert all(len(m.blob) == CHUNK_SIZE for m in messages[:-2])
    assert len(messages[-1].blob) == 32 and messages[-1].remaining_bytes == 0
    assert [m.remaining_bytes for m in messages[:-1]] == sorted(
        (m.remaining_bytes for m in messages[:-1]), reverse=True
    )
    blob = b"".join(m.blob for m in messages)
    assert blob.startswith(MAGIC)
    assert (len(blob) - 32) % 4096 == 0
    assert hashlib.sha256(blob[:-32]).digest() == blob[-32:]
    snap_rev, _, kvs = read_snapshot(blob)
    assert snap_rev == rev
    keys = [kv.key for kv in kvs if kv.key.startswith(b"/snap/")]
    assert keys == [b"/snap/%02d" % n for n in range(1, 40)]


def test_snapshot_chunks_and_damage() -> None:
    body = bytes(4096)
    blob = body + hashlib.sha256(body).digest()
    assert [(m.remaining_bytes, len(m.blob)) for m in chunks(blob)] == [(0, 4096), (0, 32)]
    with pytest.raises(ValueError, match="sha256"):
        read_snapshot(blob[:-1] + b"\x00")
    with pytest.raises(ValueError, match="not a reference-server snapshot"):
        read_snapshot(blob)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.4", (3, 4)),
        ("3.4.0", (3, 4)),
        ("3.4.12", (3, 4)),
        ("3.4.1-rc.0", (3, 4)),
        ("3.4.0+meta", (3, 4)),
    ],
)
def test_downgrade_target_parsed_as_etcd(text: str, expected: tuple[int, int]) -> None:
    assert target_version(text) == expected


@pytest.mark.parametrize("text", ["", "3", "bad", "3.4.x", "v3.4", "3.4.0.1", " 3.4", "4.0+meta"])
def test_downgrade_target_refused_as_etcd(text: str) -> None:
    with pytest.raises(WrongDowngradeVersionFormatError):
        target_version(text)


def test_downgrade_unknown_action(maint: _stubs.rpc_grpc.MaintenanceStub) -> None:
    with pytest.raises(grpc.RpcError) as info:
        maint.Downgrade(rpc.DowngradeRequest(action=7, version="3.4"), timeout=5)  # type: ignore[arg-type]
    assert info.value.code() == grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
    assert info.value.details() == "etcdserver: unknown method"  # type: ignore[attr-defined]


@pytest.mark.parametrize("linearizable", [True, False])
def test_member_list_both_forms(server: Server, linearizable: bool) -> None:
    with grpc.insecure_channel(server.endpoint) as channel:
        cluster = _stubs.rpc_grpc.ClusterStub(channel)
        resp = cluster.MemberList(rpc.MemberListRequest(linearizable=linearizable), timeout=5)
    assert [m.name for m in resp.members] == ["default"]


WRITES = ("put", "delete", "txn", "txn_put", "compact", "lease_grant", "lease_revoke")


def refused(store: AlarmStore) -> dict[str, str]:
    """Which writes the store refuses, and with which error (as probed on etcd 3.5.1)."""
    out = {}
    for write in WRITES:
        try:
            store.check_apply(write)  # type: ignore[arg-type]
        except (NoSpaceError, CorruptError) as exc:
            out[write] = type(exc).__name__
    return out


def test_writes_refused_as_etcd_appliers() -> None:
    store = AlarmStore()
    assert refused(store) == {}
    store.activate(1, NOSPACE)
    nospace = {"put": "NoSpaceError", "txn_put": "NoSpaceError", "lease_grant": "NoSpaceError"}
    assert refused(store) == nospace
    store.activate(2, NOSPACE)
    store.deactivate(1, NOSPACE)
    assert refused(store) == nospace  # another NOSPACE is still raised
    store.activate(1, CORRUPT)
    assert refused(store) == dict.fromkeys(WRITES, "CorruptError")
    store.activate(2, NOSPACE)  # already raised: nothing changes
    store.activate(3, NOSPACE)  # not the first NOSPACE: nothing changes
    assert refused(store) == dict.fromkeys(WRITES, "CorruptError")
    store.deactivate(1, CORRUPT)
    assert refused(store) == {}  # the plain applier, though NOSPACE is still raised
    assert store.get() == [(2, NOSPACE), (3, NOSPACE)]
    store.deactivate(2, NOSPACE)
    store.deactivate(3, NOSPACE)
    store.activate(1, CORRUPT)
    store.activate(3, NOSPACE)  # the first NOSPACE replaces the corrupt applier
    assert refused(store) == nospace


def test_txn_classified_as_etcd_capped_applier() -> None:
    put = rpc.RequestOp(request_put=rpc.PutRequest(key=b"k"))
    delete = rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=b"k"))
    nested = rpc.RequestOp(request_txn=rpc.TxnRequest(success=[put]))
    assert txn_write_kind(rpc.TxnRequest(success=[delete])) == "txn"
    assert txn_write_kind(rpc.TxnRequest(success=[delete], failure=[put])) == "txn_put"
    assert txn_write_kind(rpc.TxnRequest(success=[nested])) == "txn"  # etcd 3.5.1 lets it by
