"""Differential test of leases: the reference server must answer what real etcd answers.

One script of Lease and KV calls over raw stubs (grants with explicit ids so they match,
small, zero, negative, huge and too-large TTLs, an id in use; puts attaching, moving and
detaching keys; time-to-live with keys; the leases list; keep-alive answers for live and
unknown leases; revokes, known and not) runs against a fresh reference server and a fresh
real etcd, and the records must be equal. Only what timing decides is normalised: the
remaining TTL is recorded as "within a second of the granted TTL", and lists whose order
etcd takes from a Go map (keys, leases) are sorted.

A second test grants a lease of the minimum TTL, attaches keys, and waits (bounded) for a
watch to see their DELETE events in one response when it expires, on both servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

from etcd3py import _pb, _stubs
from tests.backends import BackendUnavailable, _etcd34_binary, _etcd35_binary, running_etcd
from tests.raw_streams import RawKeepAlive, RawWatch
from testserver import Server

pytestmark = pytest.mark.timeout(120)

rpc = _pb.rpc
WAIT = 10.0
DELETE = _pb.kv.Event.DELETE
_BINARIES = {"etcd35": _etcd35_binary, "etcd34": _etcd34_binary}


class Script:
    """Runs calls on one backend and records their normalised answers."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.lease = _stubs.rpc_grpc.LeaseStub(channel)
        self.kv = _stubs.rpc_grpc.KVStub(channel)
        self.out: list[tuple[Any, ...]] = []

    def call(self, name: str, fn: Callable[[], tuple[Any, ...]]) -> None:
        try:
            self.out.append((name, *fn()))
        except grpc.RpcError as exc:
            self.out.append((name, "error", exc.code(), exc.details()))

    def grant(self, lease_id: int, ttl: int) -> None:
        def run() -> tuple[Any, ...]:
            r = self.lease.LeaseGrant(rpc.LeaseGrantRequest(ID=lease_id, TTL=ttl), timeout=WAIT)
            return (r.ID, r.TTL, r.error, r.header.revision)

        self.call(f"grant {lease_id} ttl={ttl}", run)

    def put(self, key: bytes, lease: int = 0, **kw: bool) -> None:
        def run() -> tuple[Any, ...]:
            req = rpc.PutRequest(key=key, value=b"v", lease=lease, **kw)
            return (self.kv.Put(req, timeout=WAIT).header.revision,)

        self.call(f"put {key!r} lease={lease} {kw}", run)

    def delete(self, key: bytes) -> None:
        def run() -> tuple[Any, ...]:
            resp = self.kv.DeleteRange(rpc.DeleteRangeRequest(key=key), timeout=WAIT)
            return (resp.deleted, resp.header.revision)

        self.call(f"delete {key!r}", run)

    def ttl(self, lease_id: int, keys: bool = True) -> None:
        def run() -> tuple[Any, ...]:
            req = rpc.LeaseTimeToLiveRequest(ID=lease_id, keys=keys)
            r = self.lease.LeaseTimeToLive(req, timeout=WAIT)
            close = r.TTL == -1 or 0 <= r.grantedTTL - r.TTL <= 1
            return (r.ID, r.TTL if r.TTL == -1 else close, r.grantedTTL, sorted(r.keys))

        self.call(f"ttl {lease_id}", run)

    def leases(self) -> None:
        def run() -> tuple[Any, ...]:
            r = self.lease.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=WAIT)
            return (sorted(x.ID for x in r.leases), r.header.revision)

        self.call("leases", run)

    def revoke(self, lease_id: int) -> None:
        def run() -> tuple[Any, ...]:
            r = self.lease.LeaseRevoke(rpc.LeaseRevokeRequest(ID=lease_id), timeout=WAIT)
            return (r.header.revision,)

        self.call(f"revoke {lease_id}", run)

    def keys(self) -> None:
        def run() -> tuple[Any, ...]:
            r = self.kv.Range(rpc.RangeRequest(key=b"\0", range_end=b"\0"), timeout=WAIT)
            return (r.header.revision, [(kv.key, kv.lease, kv.mod_revision) for kv in r.kvs])

        self.call("keys", run)


def run_script(endpoint: str) -> list[tuple[Any, ...]]:
    with grpc.insecure_channel(endpoint) as ch:
        s = Script(ch)
        for lease_id, ttl in ((101, 1), (102, 0), (103, -4), (104, 2), (105, 60), (106, 30)):
            s.grant(lease_id, ttl)
        s.grant(107, 9_000_000_000)
        s.grant(108, 9_000_000_001)  # too large
        s.grant(105, 10)  # in use
        s.grant(-9, 30)  # etcd takes negative ids given explicitly
        for lease_id in (101, 102, 103, 104):  # revoked now: no timing in what follows
            s.revoke(lease_id)
        s.put(b"a", 105)
        s.put(b"b", 105)
        s.put(b"c", 106)
        s.put(b"a", 106)  # moves to 106
        s.put(b"b", ignore_lease=True)  # stays on 105
        s.put(b"c")  # lease 0 detaches
        s.put(b"d", 999)  # unknown lease
        s.put(b"nokey", ignore_lease=True)  # no such key
        s.put(b"e", 105)
        s.delete(b"e")  # detaches
        for lease_id in (105, 106, 107, -9, 999):
            s.ttl(lease_id)
        s.ttl(105, keys=False)
        s.leases()
        with RawKeepAlive(ch) as ka:
            for lease_id in (105, 106, 999, 0, -9, 101):
                r = ka.renew(lease_id)
                s.out.append(("keepalive", r.ID, r.TTL, r.header.revision))
            s.put(b"f", 106)
            s.put(b"g", 106)
            s.revoke(106)  # a, f, g in one revision
            r = ka.renew(106)
            s.out.append(("keepalive revoked", r.ID, r.TTL, r.header.revision))
        s.revoke(106)
        s.revoke(0)
        s.revoke(107)  # no keys: the revision stays
        s.keys()
        s.leases()
        return s.out


def _binary(name: str) -> Path:
    try:
        return _BINARIES[name]()[0]
    except BackendUnavailable as exc:
        pytest.skip(f"{name} unavailable: {exc}")


@contextmanager
def _reference() -> Iterator[str]:
    with Server() as srv:
        yield srv.endpoint


@contextmanager
def _real(binary: Path, name: str) -> Iterator[str]:
    with running_etcd(binary, name) as etcd:
        yield etcd.endpoints[0]


@pytest.mark.parametrize("binary_name", sorted(_BINARIES))
def test_reference_server_answers_leases_as_real_etcd(binary_name: str) -> None:
    binary = _binary(binary_name)
    with _reference() as ep:
        ours = run_script(ep)
    with _real(binary, binary_name) as ep:
        theirs = run_script(ep)
    assert len(ours) == len(theirs)
    for mine, real in zip(ours, theirs, strict=True):
        assert mine == real


def expire_and_watch(endpoint: str) -> list[tuple[Any, ...]]:
    """Attach keys to a minimum-TTL lease and return the watch responses of their expiry."""
    with grpc.insecure_channel(endpoint) as ch:
        lease, kv = _stubs.rpc_grpc.LeaseStub(ch), _stubs.rpc_grpc.KVStub(ch)
        with RawWatch(ch) as w:  # watching first: a slow machine cannot miss the expiry
            w.create(b"x/", b"x0", filters=[rpc.WatchCreateRequest.NOPUT])
            assert w.next().created
            g = lease.LeaseGrant(rpc.LeaseGrantRequest(ID=55, TTL=1), timeout=WAIT)
            for key in (b"x/b", b"x/a", b"x/c"):
                kv.Put(rpc.PutRequest(key=key, value=b"v", lease=55), timeout=WAIT)
            resp = w.next(timeout=g.TTL + WAIT)  # the expiry: bounded
        events = [(e.type, e.kv.key, e.kv.mod_revision) for e in resp.events]
        t = lease.LeaseTimeToLive(rpc.LeaseTimeToLiveRequest(ID=55), timeout=WAIT)
        left = kv.Range(rpc.RangeRequest(key=b"x/", range_end=b"x0"), timeout=WAIT)
        return [(g.TTL,), tuple(events), (t.TTL, left.count)]


@pytest.mark.parametrize("binary_name", sorted(_BINARIES))
def test_expiry_deletes_keys_in_one_watch_response_as_real_etcd(binary_name: str) -> None:
    binary = _binary(binary_name)
    with _reference() as ep:
        ours = expire_and_watch(ep)
    with _real(binary, binary_name) as ep:
        theirs = expire_and_watch(ep)
    assert ours == theirs
    assert ours[1] == tuple((DELETE, k, 5) for k in (b"x/a", b"x/b", b"x/c"))
