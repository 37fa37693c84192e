"""The reference server over gRPC: lifecycle, headers, limits, delays, other services, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from etcd3py import _pb, _stubs
from testserver import Server
from testserver.snapshot import read_snapshot

rpc = _pb.rpc


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as srv:
        yield srv


@pytest.fixture
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.endpoint) as ch:
        yield ch


def test_lifecycle_is_idempotent_and_restart_keeps_data_and_port() -> None:
    srv = Server()
    assert not srv.running
    srv.start()
    srv.start()
    port = srv.port
    assert port > 0 and srv.endpoint == f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(srv.endpoint) as ch:
            kv = _stubs.rpc_grpc.KVStub(ch)
            first = kv.Put(rpc.PutRequest(key=b"k", value=b"v"), timeout=5).header
            srv.restart()
            assert srv.port == port
            resp = kv.Range(rpc.RangeRequest(key=b"k"), timeout=5, wait_for_ready=True)
            assert resp.kvs[0].value == b"v"
            assert resp.header.revision == 2
            assert (resp.header.cluster_id, resp.header.member_id) == (
                first.cluster_id,
                first.member_id,
            )
    finally:
        srv.stop()
        srv.stop()
    assert not srv.running
    with pytest.raises(RuntimeError):
        srv.restart()


def test_stopped_server_refuses_connections() -> None:
    with Server() as srv:
        endpoint = srv.endpoint
    with grpc.insecure_channel(endpoint) as ch:
        with pytest.raises(grpc.RpcError) as info:
            _stubs.rpc_grpc.KVStub(ch).Range(rpc.RangeRequest(key=b"k"), timeout=2)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_two_servers_at_once_and_a_taken_port() -> None:
    with Server() as one, Server() as two:
        assert one.port != two.port
        for srv in (one, two):
            with grpc.insecure_channel(srv.endpoint) as ch:
                _stubs.rpc_grpc.KVStub(ch).Put(rpc.PutRequest(key=b"k"), timeout=5)
        assert one.store.current_revision == two.store.current_revision == 2
        clash = Server(port=one.port)
        with pytest.raises(RuntimeError):
            clash.start()
        assert not clash.running


def test_every_response_has_a_full_header(server: Server, channel: grpc.Channel) -> None:
    kv = _stubs.rpc_grpc.KVStub(channel)
    headers = [
        kv.Range(rpc.RangeRequest(key=b"a"), timeout=5).header,
        kv.Put(rpc.PutRequest(key=b"a"), timeout=5).header,
        kv.DeleteRange(rpc.DeleteRangeRequest(key=b"a"), timeout=5).header,
        kv.Txn(rpc.TxnRequest(), timeout=5).header,
        kv.Compact(rpc.CompactionRequest(revision=1), timeout=5).header,
    ]
    assert [h.revision for h in headers] == [1, 2, 3, 3, 3]
    assert {(h.cluster_id, h.member_id, h.raft_term) for h in headers} == {
        (headers[0].cluster_id, headers[0].member_id, 2)
    }
    assert headers[0].cluster_id != 0 and headers[0].member_id != 0


def _abort_details(call: object) -> tuple[grpc.StatusCode, str]:
    err = call
    assert isinstance(err, grpc.RpcError)
    return err.code(), err.details() or ""


def test_errors_carry_etcd_codes_and_messages(channel: grpc.Channel) -> None:
    kv = _stubs.rpc_grpc.KVStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        kv.Put(rpc.PutRequest(key=b""), timeout=5)
    assert _abort_details(info.value) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "etcdserver: key is not provided",
    )
    with pytest.raises(grpc.RpcError) as info:
        kv.Put(rpc.PutRequest(key=b"k", lease=5), timeout=5)
    assert _abort_details(info.value) == (
        grpc.StatusCode.NOT_FOUND,
        "etcdserver: requested lease not found",
    )


def test_request_size_limits() -> None:
    with Server(max_request_bytes=4096) as srv, grpc.insecure_channel(srv.endpoint) as ch:
        kv = _stubs.rpc_grpc.KVStub(ch)
        kv.Put(rpc.PutRequest(key=b"k", value=b"x" * 3000), timeout=5)
        with pytest.raises(grpc.RpcError) as info:
            kv.Put(rpc.PutRequest(key=b"k", value=b"x" * 5000), timeout=5)
        assert _abort_details(info.value) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: request is too large",
        )
        with pytest.raises(grpc.RpcError) as info:
            kv.Put(rpc.PutRequest(key=b"k", value=b"x" * (4096 + 600 * 1024)), timeout=5)
        assert _abort_details(info.value)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
        # reads are not raft requests: a large range request is not refused by size
        kv.Range(rpc.RangeRequest(key=b"k" * 5000), timeout=5)


def test_txn_op_limit_is_configurable() -> None:
    with Server(max_txn_ops=2) as srv, grpc.insecure_channel(srv.endpoint) as ch:
        kv = _stubs.rpc_grpc.KVStub(ch)
        ops = [rpc.RequestOp(request_put=rpc.PutRequest(key=b"k%d" % i)) for i in range(3)]
        with pytest.raises(grpc.RpcError) as info:
            kv.Txn(rpc.TxnRequest(success=ops), timeout=5)
        assert _abort_details(info.value)[1] == "etcdserver: too many operations in txn request"
        kv.Txn(rpc.TxnRequest(success=ops[:2]), timeout=5)


def test_delay_makes_client_timeouts_fire(server: Server, channel: grpc.Channel) -> None:
    kv = _stubs.rpc_grpc.KVStub(channel)
    server.set_delay(2.0)
    with pytest.raises(grpc.RpcError) as info:
        kv.Range(rpc.RangeRequest(key=b"k"), timeout=0.2)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    server.set_delay(0)
    assert kv.Range(rpc.RangeRequest(key=b"k"), timeout=5).header.revision == 1
    with pytest.raises(ValueError):
        server.set_delay(-1)


def test_drop_streams_without_streams(server: Server) -> None:
    assert server.drop_streams() == 0


def test_maintenance(server: Server, channel: grpc.Channel) -> None:
    kv = _stubs.rpc_grpc.KVStub(channel)
    maint = _stubs.rpc_grpc.MaintenanceStub(channel)
    kv.Put(rpc.PutRequest(key=b"a", value=b"1"), timeout=5)
    status = maint.Status(rpc.StatusRequest(), timeout=5)
    assert status.version == "3.5.1"
    assert status.leader == status.header.member_id != 0
    assert status.raftIndex == status.raftAppliedIndex > 0
    assert status.raftTerm == 2 and not status.isLearner and list(status.errors) == []
    assert status.dbSize >= status.dbSizeInUse > 0
    assert list(maint.Alarm(rpc.AlarmRequest(), timeout=5).alarms) == []
    assert not maint.Defragment(rpc.DefragmentRequest(), timeout=5).HasField("header")
    h1 = maint.HashKV(rpc.HashKVRequest(), timeout=5)
    kv.Put(rpc.PutRequest(key=b"a", value=b"2"), timeout=5)
    h2 = maint.HashKV(rpc.HashKVRequest(), timeout=5)
    assert h1.hash != h2.hash
    assert maint.HashKV(rpc.HashKVRequest(revision=2), timeout=5).hash == h1.hash
    assert maint.Hash(rpc.HashRequest(), timeout=5).header.revision == 3
    with pytest.raises(grpc.RpcError) as info:
        maint.HashKV(rpc.HashKVRequest(revision=9), timeout=5)
    assert _abort_details(info.value)[0] == grpc.StatusCode.OUT_OF_RANGE
    with pytest.raises(grpc.RpcError) as info:  # no member 0: a bad transferee
        maint.MoveLeader(rpc.MoveLeaderRequest(), timeout=5)
    assert _abort_details(info.value) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "etcdserver: bad leader transferee",
    )
    blob = b"".join(r.blob for r in maint.Snapshot(rpc.SnapshotRequest(), timeout=5))
    assert [kv.value for kv in read_snapshot(blob)[2]] == [b"2"]


def test_member_list(server: Server, channel: grpc.Channel) -> None:
    cluster = _stubs.rpc_grpc.ClusterStub(channel)
    resp = cluster.MemberList(rpc.MemberListRequest(), timeout=5)
    (member,) = resp.members
    assert member.name == "default"
    assert list(member.clientURLs) == [f"http://127.0.0.1:{server.port}"]
    assert resp.header.member_id == member.ID and not member.isLearner
    assert resp.header.revision == 0  # etcd's cluster service leaves it out
    with pytest.raises(grpc.RpcError) as info:
        cluster.MemberAdd(rpc.MemberAddRequest(), timeout=5)
    assert _abort_details(info.value)[0] == grpc.StatusCode.UNIMPLEMENTED


def test_command_line_serves_until_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "testserver", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=root,
        env=env,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()  # bounded by the test timeout
            assert line.startswith("listening on 127.0.0.1:")
            endpoint = line.removeprefix("listening on ")
            with grpc.insecure_channel(endpoint) as ch:
                resp = _stubs.rpc_grpc.KVStub(ch).Range(rpc.RangeRequest(key=b"k"), timeout=5)
                assert resp.header.revision == 1
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
