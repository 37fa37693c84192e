"""The reference server's lessor alone, over a store, with an injected clock (no sleeps)."""

from __future__ import annotations

import pytest

from etcd3py import _pb
from etcd3py.errors import (
    KeyNotFoundError,
    LeaseExistError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
)
from testserver.lease import ELECTION_TIMEOUT, MAX_LEASE_TTL, MIN_LEASE_TTL, Lessor
from testserver.mvcc.apply import Applier
from testserver.mvcc.store import Change, Store

rpc = _pb.rpc


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lessor(clock: Clock) -> Lessor:
    le = Lessor(clock)
    le.bind(Store(lessor=le))
    return le


def store_of(lessor: Lessor) -> Store:
    assert lessor.store is not None
    return lessor.store


def put(lessor: Lessor, key: bytes, lease: int = 0, **kw: bool) -> rpc.PutResponse:
    return Applier(store_of(lessor)).put(rpc.PutRequest(key=key, value=b"v", lease=lease, **kw))


def keys(lessor: Lessor) -> list[bytes]:
    resp = Applier(store_of(lessor)).range(rpc.RangeRequest(key=b"\0", range_end=b"\0"))
    return [kv.key for kv in resp.kvs]


def test_grant_keeps_ttl_and_raises_small_ones_to_the_minimum(lessor: Lessor) -> None:
    assert lessor.grant(1, 10).ttl == 10
    assert [lessor.grant(i, t).ttl for i, t in ((2, 1), (3, 0), (4, -7))] == [MIN_LEASE_TTL] * 3
    assert sorted(lessor.leases()) == [1, 2, 3, 4]
    assert lessor.grant(5, MAX_LEASE_TTL).ttl == MAX_LEASE_TTL


def test_grant_refuses_ttl_too_large_an_id_in_use_and_id_zero(lessor: Lessor) -> None:
    lessor.grant(7, 5)
    with pytest.raises(LeaseTTLTooLargeError):
        lessor.grant(8, MAX_LEASE_TTL + 1)
    with pytest.raises(LeaseExistError):
        lessor.grant(7, 30)
    with pytest.raises(LeaseNotFoundError):
        lessor.grant(0, 5)
    assert lessor.time_to_live(7)[1] == 5  # the refused grant changed nothing
    assert lessor.leases() == [7]


def test_time_to_live_truncates_remaining_seconds(lessor: Lessor, clock: Clock) -> None:
    lessor.grant(1, 10)
    assert lessor.time_to_live(1) == (10, 10, [])
    clock.now += 0.4
    assert lessor.time_to_live(1)[0] == 9
    clock.now += 5.0
    assert lessor.time_to_live(1)[0] == 4
    with pytest.raises(LeaseNotFoundError):
        lessor.time_to_live(2)


def test_renew_resets_to_the_granted_ttl(lessor: Lessor, clock: Clock) -> None:
    lessor.grant(1, 10)
    clock.now += 9.5
    assert lessor.renew(1) == 10
    clock.now += 9.5
    assert lessor.expire_due() == []
    assert lessor.time_to_live(1)[0] == 0
    clock.now += 1.0
    assert lessor.expire_due() == [1]
    with pytest.raises(LeaseNotFoundError):
        lessor.renew(1)


def test_renewing_an_expired_lease_revokes_it(lessor: Lessor, clock: Clock) -> None:
    lessor.grant(1, 5)
    put(lessor, b"k", 1)
    clock.now += 5.0
    with pytest.raises(LeaseNotFoundError):
        lessor.renew(1)
    assert lessor.leases() == []
    assert keys(lessor) == []


def test_put_attaches_moves_and_detaches(lessor: Lessor) -> None:
    lessor.grant(1, 10)
    lessor.grant(2, 10)
    put(lessor, b"a", 1)
    put(lessor, b"b", 1)
    assert lessor.time_to_live(1)[2] == [b"a", b"b"]
    put(lessor, b"a", 2)  # moves to lease 2
    assert lessor.time_to_live(1)[2] == [b"b"]
    assert lessor.time_to_live(2)[2] == [b"a"]
    put(lessor, b"a", ignore_lease=True)  # keeps lease 2
    assert lessor.lease_of(b"a") == 2
    put(lessor, b"a")  # lease 0 detaches
    assert lessor.lease_of(b"a") == 0
    assert lessor.time_to_live(2)[2] == []
    Applier(store_of(lessor)).delete_range(rpc.DeleteRangeRequest(key=b"b"))
    assert lessor.time_to_live(1)[2] == []
    assert lessor.lease_of(b"b") == 0


def test_put_with_unknown_lease_or_ignore_lease_on_missing_key_fails(lessor: Lessor) -> None:
    with pytest.raises(LeaseNotFoundError):
        put(lessor, b"a", 42)
    with pytest.raises(KeyNotFoundError):
        put(lessor, b"a", ignore_lease=True)
    assert keys(lessor) == []


def test_revoke_deletes_every_key_in_one_revision(lessor: Lessor) -> None:
    store = store_of(lessor)
    seen: list[list[Change]] = []
    store.listeners.append(seen.append)
    lessor.grant(1, 10)
    for key in (b"c", b"a", b"b"):
        put(lessor, key, 1)
    put(lessor, b"other")
    before = store.current_revision
    seen.clear()
    assert lessor.revoke(1) == before + 1
    assert len(seen) == 1
    assert [(c.record.key, c.tombstone, c.rev.main) for c in seen[0]] == [
        (b"a", True, before + 1),
        (b"b", True, before + 1),
        (b"c", True, before + 1),
    ]
    assert keys(lessor) == [b"other"]
    assert lessor.leases() == []
    with pytest.raises(LeaseNotFoundError):
        lessor.revoke(1)


def test_revoke_without_keys_leaves_the_revision(lessor: Lessor) -> None:
    lessor.grant(1, 10)
    rev = store_of(lessor).current_revision
    assert lessor.revoke(1) == rev


def test_expiry_deletes_keys_in_one_revision_per_lease(lessor: Lessor, clock: Clock) -> None:
    store = store_of(lessor)
    seen: list[list[Change]] = []
    store.listeners.append(seen.append)
    lessor.grant(1, 3)
    lessor.grant(2, 5)
    lessor.grant(3, 60)
    put(lessor, b"x1", 1)
    put(lessor, b"y1", 1)
    put(lessor, b"x2", 2)
    put(lessor, b"x3", 3)
    seen.clear()
    assert lessor.next_expiry() == clock.now + 3
    clock.now += 2.99
    assert lessor.expire_due() == []
    clock.now += 2.01
    assert lessor.expire_due() == [1, 2]
    assert [[(c.record.key, c.rev.main) for c in batch] for batch in seen] == [
        [(b"x1", 6), (b"y1", 6)],
        [(b"x2", 7)],
    ]
    assert keys(lessor) == [b"x3"]
    assert lessor.leases() == [3]
    assert lessor.revoked == 2


def test_revoked_or_renewed_leases_leave_no_stale_expiry(lessor: Lessor, clock: Clock) -> None:
    lessor.grant(1, 5)
    lessor.grant(2, 5)
    lessor.revoke(1)
    for _ in range(300):  # many renewals: the heap stays bounded
        clock.now += 1
        lessor.renew(2)
    assert len(lessor._heap) <= 4 * 1 + 64 + 1
    assert lessor.next_expiry() == clock.now + 5
    assert lessor.expire_due() == []
    lessor.grant(1, 2)  # the id is free again
    clock.now += 2
    assert lessor.expire_due() == [1]


def test_expire_due_honours_its_limit(lessor: Lessor, clock: Clock) -> None:
    for i in range(1, 6):
        lessor.grant(i, 2)
    clock.now += 2
    assert len(lessor.expire_due(limit=3)) == 3
    assert len(lessor.expire_due(limit=3)) == 2
    assert lessor.leases() == []


def test_promote_refreshes_every_lease_past_the_downtime(lessor: Lessor, clock: Clock) -> None:
    lessor.grant(1, 10)
    lessor.grant(2, 4)
    clock.now += 3.5  # e.g. the server was down
    lessor.promote()
    assert lessor.time_to_live(1)[0] == int(10 + ELECTION_TIMEOUT)
    clock.now += 4 + ELECTION_TIMEOUT - 0.01
    assert lessor.expire_due() == []
    clock.now += 0.01
    assert lessor.expire_due() == [2]


def test_aborted_txn_restores_attachments(lessor: Lessor) -> None:
    store = store_of(lessor)
    lessor.grant(1, 10)
    lessor.grant(2, 10)
    put(lessor, b"a", 1)
    txn = store.write()
    txn.put(b"a", b"w", 2)
    txn.delete_range(b"a", None)
    txn.abort()
    assert lessor.lease_of(b"a") == 1
    assert lessor.time_to_live(1)[2] == [b"a"]
    assert lessor.time_to_live(2)[2] == []
