"""The asyncio Lease concern on every backend: answers, keep-alives, streams, ends, leaks.

Every wait is bounded (``KeepAlive.get(timeout)``, ``wait(timeout)``); time passes only
while renewals come in or while waiting for a keep-alive's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator

import pytest

from etcd3py import Context
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py.aio.lease import GrpcLease, KeepAlive
from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    LeaseNotFoundError,
)
from etcd3py.lease import (
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py.op import Op
from tests.leases import alease_gone, asettled

WAIT = 10.0  # seconds any single expected renewal or end may take
MIN_TTL = 2  # etcd's minimum TTL with its default election timeout


@pytest.fixture
async def lease(aio_transport: AioTransport) -> AsyncIterator[GrpcLease]:
    api = GrpcLease(aio_transport)
    try:
        yield api
    finally:
        await api.close()
        assert api.driver.tasks == [] and api.driver.streams() == []


async def take(ka: KeepAlive, count: int) -> list[LeaseKeepAliveResponse]:
    """Take ``count`` renewals, each within WAIT."""
    got = []
    for _ in range(count):
        resp = await ka.get(WAIT)
        assert resp is not None, f"no renewal in time ({ka!r})"
        got.append(resp)
    return got


async def drain_until_error(ka: KeepAlive) -> tuple[int, BaseException]:
    """Iterate ``ka`` to its end; return (responses yielded, the error raised)."""
    count = 0
    with pytest.raises(Exception) as info:
        async for _ in ka:
            count += 1
            assert count < 100
    return count, info.value


async def test_grant_time_to_live_leases_revoke(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    assert isinstance(grant, LeaseGrantResponse)
    assert grant.id > 0 and grant.ttl == 30 and grant.header.revision > 0
    ttl = await asettled(lambda: lease.time_to_live(grant, keys=True), lambda r: r.ttl != -1)
    assert isinstance(ttl, LeaseTimeToLiveResponse)
    assert ttl.id == grant.id and ttl.granted_ttl == 30 and 0 < ttl.ttl <= 30
    assert ttl.keys == []
    listed = await asettled(lease.leases, lambda r: grant.id in r.leases)
    assert isinstance(listed, LeaseLeasesResponse) and grant.id in listed.leases
    revoked = await lease.revoke(grant.id)
    assert isinstance(revoked, LeaseRevokeResponse) and revoked.header.revision > 0
    assert grant.id not in (await asettled(lease.leases, lambda r: grant.id not in r.leases)).leases
    assert await alease_gone(lease, grant.id)
    with pytest.raises(LeaseNotFoundError):
        await lease.revoke(grant.id)


async def test_keys_attached_to_a_lease(
    lease: GrpcLease, aio_transport: AioTransport, prefix: str
) -> None:
    grant = await lease.grant(30)
    await aio_transport.run(kv_calls.do(Op.put(prefix + "k", "v", lease=grant.id)))
    assert (await lease.time_to_live(grant.id, keys=True)).keys == [(prefix + "k").encode()]
    await lease.revoke(grant)
    got = await aio_transport.run(kv_calls.do(Op.get(prefix + "k")))
    assert got.count == 0


async def test_bad_arguments_are_refused_before_sending(lease: GrpcLease) -> None:
    await lease.driver.close()  # nothing may be sent, nor subscribed
    with pytest.raises(InvalidArgumentError):
        await lease.grant(-1)
    with pytest.raises(ArgumentTypeError):
        await lease.revoke("7")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        await lease.keep_alive_once(-1)
    with pytest.raises(InvalidArgumentError):
        await lease.keep_alive_once(7, timeout=-1)
    with pytest.raises(ArgumentTypeError):
        await lease.keep_alive_once(7, ctx="ctx")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        lease.keep_alive(-1)
    with pytest.raises(InvalidArgumentError):
        lease.keep_alive(7, timeout=-1)
    with pytest.raises(ArgumentTypeError):
        lease.keep_alive(7, ctx=object())  # type: ignore[arg-type]
    with pytest.raises(ClientClosedError):
        lease.keep_alive(7)  # the driver is closed: refused at the call


async def test_keep_alive_once(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    resp = await lease.keep_alive_once(grant)
    assert isinstance(resp, LeaseKeepAliveResponse)
    assert resp.id == grant.id and resp.ttl == 30 and resp.header.revision > 0
    await lease.revoke(grant)
    with pytest.raises(LeaseNotFoundError):
        await lease.keep_alive_once(grant.id)
    assert lease.driver.tasks == []  # one call, no stream task


async def test_keep_alive_keeps_a_short_ttl_lease_for_several_ttls(lease: GrpcLease) -> None:
    grant = await lease.grant(MIN_TTL)
    async with lease.keep_alive(grant) as ka:
        got = await take(ka, 8)  # a renewal about every ttl/3: 8 of them span > 2 TTLs
        assert {r.id for r in got} == {grant.id} and all(r.ttl > 0 for r in got)
        assert (await lease.time_to_live(grant)).ttl > 0
        assert not ka.done
    assert ka.done and ka.err() is None
    assert [r async for r in ka] == []  # its own close: the iteration ends cleanly
    await lease.revoke(grant)


async def test_a_thousand_leases_on_one_stream_and_one_task(lease: GrpcLease) -> None:
    grants = await asyncio.gather(*(lease.grant(30) for _ in range(1000)))
    before = len(asyncio.all_tasks())
    first = lease.keep_alive(grants[0])
    await take(first, 1)
    with_one = len(asyncio.all_tasks())
    kas = [first]
    # In batches: a new lease must see its first renewal within the first-renewal timeout
    # (5 s, as clientv3's), which a thousand at once need not meet on a loaded machine.
    for start in range(1, len(grants), 100):
        batch = [lease.keep_alive(g) for g in grants[start : start + 100]]
        for ka in batch:
            await take(ka, 1)
        kas += batch
    assert len(asyncio.all_tasks()) == with_one  # no task per lease
    assert len(lease.driver.tasks) == 1 and lease.driver.streams() == [()]
    # the stream's task, and gRPC's two of its call (the request consumer, the status)
    assert with_one - before <= 3
    mine = [t for t in asyncio.all_tasks() if t.get_name() == "etcd3py-keepalive"]
    assert mine == lease.driver.tasks
    assert len(lease.driver.kept_alive()) == 1000
    for ka in kas:
        await ka.close()
    await asyncio.gather(*(lease.revoke(g) for g in grants))


async def test_distinct_metadata_get_distinct_streams(lease: GrpcLease) -> None:
    grant = await lease.grant(6)
    plain = lease.keep_alive(grant)
    leader = lease.keep_alive(grant, ctx=Context.background().with_require_leader())
    shared = lease.keep_alive(grant)
    for ka in (plain, leader, shared):
        await take(ka, 1)
    assert sorted(lease.driver.streams()) == [(), (("hasleader", "true"),)]
    assert len(lease.driver.tasks) == 2
    await leader.close()
    await asyncio.sleep(0.05)  # let the idle stream's task end
    assert lease.driver.streams() == [()] and len(lease.driver.tasks) == 1
    await take(plain, 1)
    await take(shared, 1)
    await plain.close()
    await shared.close()
    await lease.revoke(grant)


async def test_revoked_lease_yields_its_last_response_then_raises(lease: GrpcLease) -> None:
    grant = await lease.grant(3)
    ka = lease.keep_alive(grant)
    await take(ka, 1)
    await lease.revoke(grant)
    assert await ka.wait(WAIT)
    assert isinstance(ka.err(), LeaseNotFoundError)
    _count, error = await drain_until_error(ka)
    assert isinstance(error, LeaseNotFoundError)
    with pytest.raises(LeaseNotFoundError):  # and stays raised
        await ka.get(0)
    await ka.close()
    assert [r async for r in ka] == []  # the owner's close wins for the iteration


async def test_unknown_lease_fails_at_the_first_iteration(lease: GrpcLease) -> None:
    ka = lease.keep_alive(0x7E57_0000_0001)
    with pytest.raises(LeaseNotFoundError):
        await ka.__anext__()
    await ka.close()


async def test_ctx_cancel_from_another_thread_ends_that_keep_alive_alone(
    lease: GrpcLease,
) -> None:
    grant = await lease.grant(30)
    ctx = Context.background().with_cancel()
    mine, other = lease.keep_alive(grant, ctx=ctx), lease.keep_alive(grant)
    await take(mine, 1)
    thread = threading.Thread(target=ctx.cancel)
    thread.start()
    thread.join()
    assert await mine.wait(WAIT)
    with pytest.raises(CanceledError):
        await mine.get(WAIT)
    assert not other.done
    await take(other, 1)
    assert lease.driver.kept_alive() == [grant.id]
    await other.close()
    await lease.revoke(grant)


async def test_timeout_ends_a_keep_alive_with_deadline_exceeded(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    ka = lease.keep_alive(grant, timeout=0.5)
    assert await ka.wait(WAIT)
    assert isinstance(ka.err(), DeadlineExceededError)
    _count, error = await drain_until_error(ka)
    assert isinstance(error, DeadlineExceededError)
    assert lease.driver.kept_alive() == []
    await lease.revoke(grant)


async def test_an_ended_ctx_ends_the_keep_alive_at_once(lease: GrpcLease) -> None:
    ctx = Context.background().with_cancel()
    ctx.cancel()
    ka = lease.keep_alive(7, ctx=ctx)
    assert ka.done and isinstance(ka.err(), CanceledError)
    assert lease.driver.streams() == []  # nothing subscribed, nothing sent


async def test_close_ends_every_keep_alive_and_leaves_no_task(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    kas = [
        lease.keep_alive(grant),
        lease.keep_alive(grant, ctx=Context.background().with_require_leader()),
    ]
    for ka in kas:
        await take(ka, 1)
    ended: list[int] = []
    kas[0].add_done_callback(lambda: ended.append(1))
    await lease.close()
    assert lease.driver.tasks == [] and lease.driver.streams() == []
    for ka in kas:
        assert isinstance(ka.err(), ClientClosedError)
        with pytest.raises(ClientClosedError):
            await ka.__anext__()
    await asyncio.sleep(0)  # done callbacks run on the loop
    assert ended == [1]
    with pytest.raises(ClientClosedError):
        lease.keep_alive(grant)
    await lease.close()  # idempotent
    await lease.revoke(grant)


async def test_stream_task_ends_when_no_lease_is_left(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    ka = lease.keep_alive(grant)
    await take(ka, 1)
    await ka.close()
    await asyncio.wait(lease.driver.tasks, timeout=WAIT)
    assert lease.driver.tasks == [] and lease.driver.streams() == []
    again = lease.keep_alive(grant)  # a new stream opens
    await take(again, 1)
    await again.close()
    await lease.revoke(grant)


async def test_a_dropped_keep_alive_is_unsubscribed(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    kept = lease.keep_alive(grant)
    dropped = lease.keep_alive(grant)
    await take(dropped, 1)
    sink = dropped._sink  # what the driver holds of it
    del dropped
    gc.collect()
    for _ in range(10):  # the finalizer schedules the close on the loop
        await asyncio.sleep(0)
    assert sink.state.done and sink.state.closed
    assert lease.driver._table.streams[()].schedule.subscribers(grant.id) != [sink]
    assert len(lease.driver._table.streams[()].schedule.subscribers(grant.id)) == 1
    await take(kept, 1)
    await kept.close()
    await lease.revoke(grant)


async def test_cancelling_a_task_waiting_on_a_keep_alive_keeps_it_alive(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    ka = lease.keep_alive(grant)
    await take(ka, 1)
    waits = [ka.__anext__(), ka.get(), ka.get(60.0), ka.wait(), ka.wait(60.0)]
    for wait in waits:
        task = asyncio.ensure_future(wait)
        await asyncio.sleep(0.01)  # it waits: the next renewal is ~10 s away
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ka._sink.changed._waiters == []  # nothing left registered
    assert not ka.done and lease.driver.kept_alive() == [grant.id]
    await ka.close()
    await lease.revoke(grant)


async def test_cancelling_close_still_ends_the_streams(lease: GrpcLease) -> None:
    grant = await lease.grant(30)
    ka = lease.keep_alive(grant)
    await take(ka, 1)
    closing = asyncio.ensure_future(lease.close())
    await asyncio.sleep(0)
    closing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await closing
    assert isinstance(ka.err(), ClientClosedError)
    await lease.close()  # awaits what is left
    assert lease.driver.tasks == []
    await lease.revoke(grant)
