"""The reference server's Lease service over raw gRPC stubs (no etcd3py client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from etcd3py import _pb, _stubs
from tests.raw_streams import RawKeepAlive, RawWatch
from tests.testserver.test_watch_service import events_of
from testserver import Server
from testserver.faults import DROPPED_MESSAGE
from testserver.lease import MIN_LEASE_TTL
from testserver.services.lease import IdGenerator

rpc = _pb.rpc
DELETE = _pb.kv.Event.DELETE
WAIT = 10.0  # seconds any one expected response may take


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as srv:
        yield srv


@pytest.fixture
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.endpoint) as ch:
        yield ch


def stubs(channel: grpc.Channel) -> tuple[Any, Any]:
    return _stubs.rpc_grpc.LeaseStub(channel), _stubs.rpc_grpc.KVStub(channel)


def test_grant_time_to_live_leases_and_revoke(server: Server, channel: grpc.Channel) -> None:
    lease, kv = stubs(channel)
    st = server.state
    g = lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=30, ID=7), timeout=WAIT)
    assert (g.ID, g.TTL, g.error) == (7, 30, "")
    assert (g.header.cluster_id, g.header.member_id) == (st.header.cluster_id, st.header.member_id)
    assert g.header.revision == 1
    kv.Put(rpc.PutRequest(key=b"b", value=b"1", lease=7), timeout=WAIT)
    kv.Put(rpc.PutRequest(key=b"a", value=b"2", lease=7), timeout=WAIT)
    t = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=7, keys=True), timeout=WAIT)
    assert (t.ID, t.grantedTTL, list(t.keys), t.header.revision) == (7, 30, [b"a", b"b"], 3)
    assert 0 < t.TTL <= 30
    t = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=7), timeout=WAIT)
    assert list(t.keys) == []
    ls = lease.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=WAIT)
    assert [x.ID for x in ls.leases] == [7]
    r = lease.LeaseRevoke(rpc.LeaseRevokeRequest(ID=7), timeout=WAIT)
    assert r.header.revision == 4  # both keys deleted in one revision
    got = kv.Range(rpc.RangeRequest(key=b"\0", range_end=b"\0"), timeout=WAIT)
    assert list(got.kvs) == []
    assert list(lease.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=WAIT).leases) == []


def test_errors_and_not_found_answers(channel: grpc.Channel) -> None:
    lease, _ = stubs(channel)
    lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=5, ID=3), timeout=WAIT)
    cases = [
        (lease.LeaseGrant, rpc.LeaseGrantRequest(TTL=5, ID=3), grpc.StatusCode.FAILED_PRECONDITION,
         "etcdserver: lease already exists"),
        (lease.LeaseGrant, rpc.LeaseGrantRequest(TTL=9_000_000_001), grpc.StatusCode.OUT_OF_RANGE,
         "etcdserver: too large lease TTL"),
        (lease.LeaseRevoke, rpc.LeaseRevokeRequest(ID=4), grpc.StatusCode.NOT_FOUND,
         "etcdserver: requested lease not found"),
    ]  # fmt: skip
    for method, req, code, message in cases:
        with pytest.raises(grpc.RpcError) as info:
            method(req, timeout=WAIT)
        assert (info.value.code(), info.value.details()) == (code, message)
    t = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=4, keys=True), timeout=WAIT)
    assert (t.ID, t.TTL, t.grantedTTL, list(t.keys)) == (4, -1, 0, [])
    assert t.header.revision == 1


def test_small_ttls_get_the_minimum_and_ids_are_picked(channel: grpc.Channel) -> None:
    lease, _ = stubs(channel)
    ids = set()
    for ttl in (1, 0, -3):
        g = lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=ttl), timeout=WAIT)
        assert g.TTL == MIN_LEASE_TTL
        assert 0 < g.ID < 2**63
        ids.add(g.ID)
    assert len(ids) == 3


def test_id_generator_follows_etcds_layout() -> None:
    gen = IdGenerator(0xABCD_1234, now_ms=0x12_3456_789A)
    assert gen.next() == (0x1234 << 48) | (0x12_3456_789A << 8) | 1
    assert gen.next() == (0x1234 << 48) | (0x12_3456_789A << 8) | 2
    high = IdGenerator(0xFFFF, now_ms=0)
    assert high.next_lease_id() == ((0xFFFF << 48) | 1) & (2**63 - 1)


def test_keep_alive_answers_granted_ttl_or_zero(server: Server, channel: grpc.Channel) -> None:
    lease, kv = stubs(channel)
    lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=20, ID=9), timeout=WAIT)
    rev = kv.Put(rpc.PutRequest(key=b"k", value=b"v"), timeout=WAIT).header.revision
    with RawKeepAlive(channel) as ka:
        for _ in range(3):
            resp = ka.renew(9)
            assert (resp.ID, resp.TTL, resp.header.revision) == (9, 20, rev)
            assert resp.header.member_id == server.state.header.member_id
        gone = ka.renew(10)
        assert (gone.ID, gone.TTL) == (10, 0)
        lease.LeaseRevoke(rpc.LeaseRevokeRequest(ID=9), timeout=WAIT)
        assert ka.renew(9).TTL == 0


def test_drop_streams_breaks_keep_alive_streams(server: Server, channel: grpc.Channel) -> None:
    lease, _ = stubs(channel)
    lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=20, ID=5), timeout=WAIT)
    with RawKeepAlive(channel) as ka:
        assert ka.renew(5).TTL == 20
        assert server.drop_streams() == 1
        with pytest.raises(grpc.RpcError) as info:
            ka.next()
        assert (info.value.code(), info.value.details()) == (
            grpc.StatusCode.UNAVAILABLE,
            DROPPED_MESSAGE,
        )
    with RawKeepAlive(channel) as again:  # the lease lives on; a new stream renews it
        assert again.renew(5).TTL == 20


def test_restart_keeps_leases_and_their_keys(server: Server) -> None:
    with grpc.insecure_channel(server.endpoint) as ch:
        lease, kv = stubs(ch)
        lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=30, ID=11), timeout=WAIT)
        kv.Put(rpc.PutRequest(key=b"held", value=b"v", lease=11), timeout=WAIT)
    before = server.lessor.clock()  # the lease expires before before + 30
    server.restart()
    assert server.lessor.get(11).expiry > before + 30  # refreshed, as etcd's new leader does
    with grpc.insecure_channel(server.endpoint) as ch:
        lease, kv = stubs(ch)
        t = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=11, keys=True), timeout=WAIT)
        assert (t.grantedTTL, list(t.keys)) == (30, [b"held"])
        with RawKeepAlive(ch) as ka:
            assert ka.renew(11).TTL == 30
    server.stop()
    server.start()  # a full stop (new loop, new expiry task) keeps them too
    with grpc.insecure_channel(server.endpoint) as ch:
        lease, _ = stubs(ch)
        assert [x.ID for x in lease.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=WAIT).leases] == [
            11
        ]


def test_expiry_deletes_keys_in_one_watch_response(server: Server, channel: grpc.Channel) -> None:
    lease, kv = stubs(channel)
    with RawWatch(channel) as w:  # watching first: a slow machine cannot miss the expiry
        w.create(b"e/", b"e0", filters=[rpc.WatchCreateRequest.NOPUT])
        assert w.next().created
        lease.LeaseGrant(rpc.LeaseGrantRequest(TTL=1, ID=21), timeout=WAIT)
        for key in (b"e/2", b"e/1", b"e/3"):
            kv.Put(rpc.PutRequest(key=key, value=b"v", lease=21), timeout=WAIT)
        kv.Put(rpc.PutRequest(key=b"e/kept", value=b"v"), timeout=WAIT)
        resp = w.next(timeout=MIN_LEASE_TTL + WAIT)  # the expiry, bounded
    assert events_of([resp]) == [(DELETE, k, b"", 6) for k in (b"e/1", b"e/2", b"e/3")]
    t = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=21), timeout=WAIT)
    assert t.TTL == -1
    got = kv.Range(rpc.RangeRequest(key=b"e/", range_end=b"e0"), timeout=WAIT)
    assert [x.key for x in got.kvs] == [b"e/kept"]
    assert server.lessor.revoked == 1
