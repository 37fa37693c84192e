"""End-to-end lease tests on every backend: grant, revoke, time-to-live, leases, keep-alives.

Every wait is bounded: keep-alive responses are taken with ``KeepAlive.get(timeout)`` and
loops stop after a fixed count or time. Time passes only while renewals come in.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, Context, KeepAlive
from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    ClientClosedError,
    LeaseExistError,
    LeaseNotFoundError,
)
from etcd3py.lease import GrpcLease, LeaseKeepAliveResponse
from etcd3py.models import EventType
from etcd3py.watch import Event
from tests.backends import Backend
from tests.leases import lease_gone, settled

WAIT = 10.0  # seconds any single expected renewal may take
KEEPALIVE_THREAD = "etcd3py-keepalive"
# etcd's minimum TTL with its default election timeout: ceil(1.5 * 1 s); smaller ones are raised
MIN_TTL = 2

pytestmark = pytest.mark.both_faces


def take(ka: KeepAlive, count: int, timeout: float = WAIT) -> list[LeaseKeepAliveResponse]:
    """Take ``count`` renewals, each within ``timeout`` seconds."""
    got = []
    for _ in range(count):
        resp = ka.get(timeout)
        assert resp is not None, f"no renewal within {timeout}s (done={ka.done}, {ka.err()!r})"
        got.append(resp)
    return got


def keep_for(ka: KeepAlive, seconds: float, max_count: int = 200) -> int:
    """Consume renewals for ``seconds``; return how many came."""
    start = time.monotonic()
    count = 0
    while time.monotonic() - start < seconds and count < max_count:
        assert ka.get(WAIT) is not None, ka.err()
        count += 1
    return count


def keepalive_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == KEEPALIVE_THREAD]


def stream_workers(client: Any) -> list[Any]:
    """The keep-alive driver's running stream workers: its threads (sync face) or its tasks
    (asyncio face, one per stream either way)."""
    driver = client.lease.driver
    return list(driver.threads) if hasattr(driver, "threads") else list(driver.tasks)


def worker_alive(worker: Any) -> bool:
    """Whether a stream worker (a thread or an asyncio task) still runs."""
    if isinstance(worker, threading.Thread):
        return worker.is_alive()
    return not worker.done()


def wait_worker_ended(worker: Any, timeout: float = WAIT) -> bool:
    """Wait (bounded) until a stream worker ends; return whether it did."""
    if isinstance(worker, threading.Thread):
        worker.join(timeout)
        return not worker.is_alive()
    deadline = time.monotonic() + timeout
    while not worker.done() and time.monotonic() < deadline:
        time.sleep(0.02)  # polling: the task runs on the face's loop thread
    return bool(worker.done())


@pytest.fixture
def lease_id(client: Client) -> Iterator[int]:
    lid = client.grant(30).id
    yield lid
    with contextlib.suppress(LeaseNotFoundError):  # the test may have revoked it
        client.revoke(lid)


def test_grant_time_to_live_leases_revoke(client: Client) -> None:
    grant = client.grant(30)
    assert grant.id > 0 and grant.ttl == 30
    assert grant.header.revision > 0
    ttl = settled(lambda: client.time_to_live(grant.id), lambda r: r.ttl != -1)
    assert ttl.id == grant.id and ttl.granted_ttl == 30 and 0 < ttl.ttl <= 30
    assert ttl.keys == []
    assert grant.id in settled(client.leases, lambda r: grant.id in r.leases).leases
    revoke = client.revoke(grant.id)
    assert revoke.header.revision > 0
    assert grant.id not in settled(client.leases, lambda r: grant.id not in r.leases).leases
    assert lease_gone(client, grant.id)  # etcd's answer for a gone lease: ttl -1


def test_grant_with_id(client: Client) -> None:
    wanted = random.randrange(1 << 40, 1 << 62)
    assert client.grant(20, id=wanted).id == wanted
    try:
        with pytest.raises(LeaseExistError):
            client.grant(20, id=wanted)
    finally:
        client.revoke(wanted)


def test_put_with_lease_key_vanishes_after_revoke(client: Client, prefix: str) -> None:
    lid = client.grant(30).id
    client.put(prefix + "a", "1", lease=lid)
    client.put(prefix + "b", "2", lease=lid)
    client.put(prefix + "c", "3")
    assert client.get(prefix + "a").kvs[0].lease == lid
    assert sorted(client.time_to_live(lid, keys=True).keys) == [
        (prefix + "a").encode(),
        (prefix + "b").encode(),
    ]
    before = client.get(prefix, prefix=True).header.revision
    with client.watch(prefix, prefix=True, rev=before + 1) as chan:
        revision = client.revoke(lid).header.revision
        events: list[Event] = []
        deadline = time.monotonic() + WAIT
        while len(events) < 2 and time.monotonic() < deadline:
            resp = chan.get(deadline - time.monotonic())
            assert resp is not None and resp.err() is None, resp
            events.extend(resp.events)
    # both keys deleted in one revision, the revoke's (other writes may come between on a
    # shared cluster, so the revision is compared with the events, not with ``before + 1``)
    assert [(ev.type, ev.kv.key) for ev in events] == [
        (EventType.DELETE, (prefix + "a").encode()),
        (EventType.DELETE, (prefix + "b").encode()),
    ]
    assert {ev.kv.mod_revision for ev in events} == {revision}
    assert [kv.key for kv in client.get(prefix, prefix=True).kvs] == [(prefix + "c").encode()]


def test_unknown_lease_errors(client: Client) -> None:
    unknown = random.randrange(1 << 40, 1 << 62)
    with pytest.raises(LeaseNotFoundError):
        client.revoke(unknown)
    with pytest.raises(LeaseNotFoundError):
        client.keep_alive_once(unknown)
    assert client.time_to_live(unknown, keys=True).ttl == -1


def test_bad_arguments_are_refused_before_sending(client: Client) -> None:
    with pytest.raises(ArgumentTypeError):
        client.grant("10")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        client.revoke(1.5)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        client.keep_alive("x")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        client.time_to_live(1, timeout="soon")  # type: ignore[arg-type]


def test_keep_alive_once(client: Client, lease_id: int) -> None:
    resp = client.keep_alive_once(lease_id, timeout=WAIT)
    assert resp.id == lease_id and resp.ttl == 30
    assert resp.header.revision > 0


def test_keep_alive_keeps_a_short_lease_for_several_ttls(client: Client, prefix: str) -> None:
    ttl = MIN_TTL
    lid = client.grant(ttl).id
    client.put(prefix + "k", "v", lease=lid)
    with client.keep_alive(lid) as ka:
        count = keep_for(ka, 3 * ttl)
        assert count >= 3  # about three renewals per TTL
        left = client.time_to_live(lid)
        assert 0 < left.ttl <= ttl
        assert client.get(prefix + "k").count == 1
    assert ka.done and ka.err() is None
    client.revoke(lid)


def test_two_callers_share_a_lease(client: Client) -> None:
    lid = client.grant(MIN_TTL).id
    first = client.keep_alive(lid)
    second = client.keep_alive(lid)
    assert client.lease.driver.kept_alive() == [lid]  # one entry, two subscribers
    take(first, 1)
    take(second, 1)
    first.close()
    assert first.get(0.0) is None and first.done and first.err() is None
    assert list(first) == []
    keep_for(second, 2 * MIN_TTL)  # the lease outlives the first caller's close
    assert client.time_to_live(lid).ttl > 0
    second.close()
    assert client.lease.driver.kept_alive() == []
    client.revoke(lid)


def test_keep_alive_unknown_lease_fails_at_first_next(client: Client) -> None:
    ka = client.keep_alive(random.randrange(1 << 40, 1 << 62))
    with pytest.raises(LeaseNotFoundError):
        next(ka)
    assert isinstance(ka.err(), LeaseNotFoundError)
    assert ka.done and ka.wait(0)


def test_revoke_ends_keep_alive(client: Client) -> None:
    lid = client.grant(3).id
    ka = client.keep_alive(lid)
    take(ka, 1)
    client.revoke(lid)
    assert ka.wait(WAIT)
    with pytest.raises(LeaseNotFoundError):
        for _ in range(100):  # a renewal or two may still be buffered
            next(ka)
    assert isinstance(ka.err(), LeaseNotFoundError)


def test_context_cancel_ends_keep_alive(client: Client, lease_id: int) -> None:
    ctx = Context.background().with_cancel()
    ka = client.keep_alive(lease_id, ctx=ctx)
    take(ka, 1)
    ctx.cancel()
    assert ka.wait(WAIT)
    with pytest.raises(CanceledError):
        ka.get(WAIT)
    done = Context.background().with_cancel()
    done.cancel()
    late = client.keep_alive(lease_id, ctx=done)
    assert isinstance(late.err(), CanceledError)


def test_client_close_ends_keep_alives(backend: Backend, new_client: Callable[..., Any]) -> None:
    other = new_client(endpoints=backend.endpoints)
    lid = other.grant(30).id
    ka = other.keep_alive(lid)
    take(ka, 1)
    [worker] = stream_workers(other)
    assert worker_alive(worker)
    other.close()
    assert ka.done
    with pytest.raises(ClientClosedError):
        next(ka)
    assert not worker_alive(worker)  # close() ended and awaited (joined) it
    with pytest.raises(ClientClosedError):
        other.keep_alive(lid)
    with new_client(endpoints=backend.endpoints) as cleanup:
        cleanup.revoke(lid)


def test_fifty_leases_one_worker(backend: Backend, new_client: Callable[..., Any]) -> None:
    with new_client(endpoints=backend.endpoints) as other:
        before = len(keepalive_threads())
        threads_before = threading.active_count()
        ids = [other.grant(30).id for _ in range(50)]
        kas = [other.keep_alive(lid) for lid in ids]
        for ka in kas:
            assert take(ka, 1)[0].ttl == 30
        assert len(stream_workers(other)) == 1  # one thread (sync) or task (aio) for all
        if isinstance(other.lease, GrpcLease):  # the sync face: that worker is a thread
            assert len(keepalive_threads()) == before + 1
        # + gRPC's request consumer (sync); the asyncio face starts no thread at all
        assert threading.active_count() - threads_before <= 3
        for ka in kas:
            ka.close()
        assert other.lease.driver.kept_alive() == []
        for lid in ids:
            other.revoke(lid)


def test_worker_ends_when_no_lease_is_kept_alive(client: Client, lease_id: int) -> None:
    ka = client.keep_alive(lease_id)
    take(ka, 1)
    [worker] = stream_workers(client)
    ka.close()
    assert wait_worker_ended(worker)
    assert stream_workers(client) == []
    again = client.keep_alive(lease_id)  # a new worker starts with the next keep-alive
    take(again, 1)
    again.close()
