"""The asyncio recipes (``etcd3py.aio.concurrency``) on every backend, and with the sync ones.

Tasks contend for one lock; an asyncio and a sync client share a lock and an election (the
same keys, the same revision order); an observer sees every leader change; a session's end
ends the waits built on it and loses its lock; STM counters stay exact under contention; a
task cancelled while it waits for a lock or campaigns leaves no key and no task behind. On
real etcd, ``etcdctl lock``/``elect`` and the asyncio recipes share locks and elections.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import etcd3py.concurrency as sync_recipes
import etcd3py.concurrency.stm as sync_stm
from etcd3py import Client as SyncClient
from etcd3py import Context
from etcd3py.aio import Client
from etcd3py.aio.concurrency import (
    READ_COMMITTED,
    SERIALIZABLE,
    STM,
    Election,
    Mutex,
    Observer,
    Session,
    stm,
)
from etcd3py.errors import (
    CanceledError,
    DeadlineExceededError,
    ElectionNoLeaderError,
    ElectionNotLeaderError,
    EtcdError,
    LeaseNotFoundError,
    LockedError,
    LockReleasedError,
    SessionExpiredError,
)
from etcd3py.models import EventType
from tests.conftest import Backend
from tests.e2e.hold_proxy import HoldProxy
from tests.e2e.test_concurrency import _Etcdctl
from tests.leases import alease_gone

WAIT = 20.0  # seconds any single wait of a test may take at most


@pytest.fixture
async def aclient(backend: Backend) -> AsyncIterator[Client]:
    """An asyncio client on the backend, closed after the test."""
    async with Client(endpoints=backend.endpoints) as client:
        yield client


async def _puts(client: Client, pfx: str, rev: int, count: int) -> list[bytes]:
    """Return the keys of the next ``count`` PUTs under ``pfx`` from ``rev`` (within WAIT)."""
    keys: list[bytes] = []

    async def collect() -> None:
        async with client.watch(pfx, prefix=True, rev=rev) as chan:
            async for wresp in chan:
                assert wresp.err() is None, wresp
                keys.extend(ev.kv.key for ev in wresp.events if ev.type == EventType.PUT)
                if len(keys) >= count:
                    return

    await asyncio.wait_for(collect(), WAIT)
    return keys[:count]


async def _rev(client: Client, pfx: str) -> int:
    """The revision after which a write under ``pfx`` is new."""
    return (await client.get(pfx)).header.revision + 1


async def _count(client: Client, pfx: str) -> int:
    return (await client.get(pfx, prefix=True, count_only=True)).count


# ---- the faces agree -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aio", "sync"),
    [
        (Session, sync_recipes.Session),
        (Mutex, sync_recipes.Mutex),
        (Election, sync_recipes.Election),
        (Observer, sync_recipes.Observer),
        (STM, sync_recipes.STM),
        (stm.run, sync_stm.run),
    ],
)
def test_the_faces_take_the_same_parameters(aio: Any, sync: Any) -> None:
    def names(obj: Any) -> dict[str, list[tuple[str, Any, Any]]]:
        found = {}
        members = inspect.getmembers(obj) if inspect.isclass(obj) else [("run", obj)]
        for name, member in members:
            if callable(member) and (not name.startswith("_") or name == "__init__"):
                params = inspect.signature(member).parameters.values()
                found[name] = [(p.name, p.kind, p.default) for p in params]
        return found

    assert names(aio) == names(sync)


# ---- Session ---------------------------------------------------------------------------------


async def test_session_grants_keeps_and_revokes(aclient: Client) -> None:
    session = Session(aclient, ttl=5)
    with pytest.raises(EtcdError, match="not started"):
        _ = session.lease  # no I/O before it is entered or awaited
    assert not session.done and session.err() is None
    async with session:
        assert (await aclient.time_to_live(session.lease)).ttl > 0
        assert not session.done and session.err() is None
        assert not await session.wait(0.05)
    assert session.done and session.err() is None
    assert session.ctx.err() is not None
    assert await alease_gone(aclient, session.lease)  # revoked
    awaited = await Session(aclient, ttl=5)
    assert not awaited.done
    awaited.orphan()  # no revoke: the lease stays until its TTL
    assert awaited.done and await awaited.wait(WAIT)
    assert (await aclient.time_to_live(awaited.lease)).ttl > 0
    await awaited.close()  # revokes what orphan() left
    assert await alease_gone(aclient, awaited.lease)


async def test_session_ends_when_its_lease_is_revoked(aclient: Client) -> None:
    async with Session(aclient, ttl=3) as session:
        await aclient.revoke(session.lease)
        assert await session.wait(WAIT)
        assert isinstance(session.err(), LeaseNotFoundError)


async def test_session_refuses_bad_input_at_the_call(aclient: Client) -> None:
    with pytest.raises(TypeError):
        Session(aclient, ttl="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Session(aclient, lease=-1)
    async with Session(aclient, ttl=30) as session:
        with pytest.raises(ValueError):
            Election.resume(session, "/e/", "/e/1", 0)
        with pytest.raises(TypeError):
            await Election(session, "/e").campaign(1)  # type: ignore[arg-type]


async def test_session_adopts_a_lease_and_ends_with_its_ctx(aclient: Client) -> None:
    lease = await aclient.grant(30)
    ctx = Context.background().with_cancel()
    async with Session(aclient, lease=lease, ctx=ctx) as session:
        assert session.lease == lease.id and session.ttl == 60  # the default TTL, as sync
        threading.Timer(0.1, ctx.cancel).start()  # from another thread
        assert await session.wait(WAIT)
        assert isinstance(session.err(), CanceledError)


# ---- Mutex -----------------------------------------------------------------------------------


async def test_mutex_excludes_tasks(aclient: Client, prefix: str) -> None:
    name, inside, entries = prefix + "lock", [0], []

    async def worker(n: int) -> None:
        async with Session(aclient, ttl=30) as session:
            for _ in range(3):
                async with Mutex(session, name) as mutex:
                    assert mutex.locked()
                    inside[0] += 1
                    assert inside[0] == 1
                    await aclient.put(prefix + "holder", str(n))  # a round trip while held
                    entries.append(n)
                    inside[0] -= 1
                assert not mutex.locked()

    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(4))), WAIT * 2)
    assert sorted(entries) == sorted([n for n in range(4) for _ in range(3)])
    assert await _count(aclient, name + "/") == 0


async def test_mutex_try_lock_unlock_acquire(aclient: Client, prefix: str) -> None:
    name = prefix + "lock"
    async with Session(aclient, ttl=30) as one, Session(aclient, ttl=30) as two:
        first, second = Mutex(one, name), Mutex(two, name)
        with pytest.raises(LockReleasedError):
            await first.unlock()  # holds nothing: sends nothing
        await first.try_lock()
        assert first.key == f"{name}/{one.lease:x}".encode() and first.header is not None
        with pytest.raises(LockedError):
            await second.try_lock()
        assert second.key == b"" and await _count(aclient, name + "/") == 1
        assert not await second.acquire(blocking=False)
        assert not await second.acquire(timeout=0.2)
        with pytest.raises(ValueError):
            await second.acquire(blocking=False, timeout=1)
        txn = aclient.txn().if_(first.is_owner()).then()
        assert (await txn.commit()).succeeded
        await first.release()
        assert await second.acquire(timeout=WAIT) and second.locked()
        await second.release()
        assert await _count(aclient, name + "/") == 0


async def test_aio_and_sync_mutexes_exclude_each_other(
    aclient: Client, client: SyncClient, prefix: str
) -> None:
    name = prefix + "lock"
    with sync_recipes.Session(client, ttl=30) as sync_session:
        theirs = sync_recipes.Mutex(sync_session, name)
        theirs.lock(timeout=WAIT)
        async with Session(aclient, ttl=30) as session:
            ours = Mutex(session, name)
            with pytest.raises(LockedError):
                await ours.try_lock()
            rev = await _rev(aclient, name)
            waiter = asyncio.create_task(ours.lock(timeout=WAIT))
            # The key is the session's: the event may come before the waiter records its key.
            ours_key = f"{name}/{session.lease:x}".encode()
            assert await _puts(aclient, name + "/", rev, 1) == [ours_key]  # behind theirs
            assert not waiter.done()
            await asyncio.to_thread(theirs.unlock)
            await waiter
            assert ours.locked()
            # and the other way round: the sync mutex waits behind ours
            rev = await _rev(aclient, name)
            sync_waiter = asyncio.ensure_future(asyncio.to_thread(theirs.lock, timeout=WAIT))
            theirs_key = f"{name}/{sync_session.lease:x}".encode()
            assert await _puts(aclient, name + "/", rev, 1) == [theirs_key]
            assert not sync_waiter.done() and not theirs.locked()
            await ours.unlock()
            await sync_waiter
            assert theirs.locked() and theirs.key == theirs_key
            theirs.unlock()


async def test_a_lock_is_lost_with_its_session(aclient: Client, prefix: str) -> None:
    name = prefix + "lock"
    async with Session(aclient, ttl=30) as waiting:
        holder = await Session(aclient, ttl=3)
        held = Mutex(holder, name)
        await held.lock()
        rev = await _rev(aclient, name)
        waiter = Mutex(waiting, name)
        task = asyncio.create_task(waiter.lock(timeout=WAIT))
        await _puts(aclient, name + "/", rev, 1)
        await aclient.revoke(holder.lease)  # the holder's lease goes: its key with it
        await task
        assert waiter.locked()
        assert await holder.wait(WAIT) and not held.locked()
        await holder.close()
        await waiter.unlock()


@pytest.mark.parametrize("how", ["close", "orphan", "revoke"])
async def test_waits_end_with_their_session(aclient: Client, prefix: str, how: str) -> None:
    lock, name = prefix + "lock", prefix + "election"
    async with Session(aclient, ttl=30) as holder:
        await Mutex(holder, lock).lock(timeout=WAIT)
        await Election(holder, name).campaign("holder", timeout=WAIT)
        doomed = await Session(aclient, ttl=3)
        rev = await _rev(aclient, prefix)
        locker = asyncio.create_task(Mutex(doomed, lock).lock())
        campaigner = asyncio.create_task(Election(doomed, name).campaign("doomed"))
        observer = Election(doomed, name).observe()
        assert (await anext(observer)).value == b"holder"
        follower = asyncio.create_task(anext(observer))
        await _puts(aclient, prefix, rev, 2)  # both waiters wrote their keys and wait
        if how == "close":
            await doomed.close()
        elif how == "orphan":
            doomed.orphan()
        else:
            await aclient.revoke(doomed.lease)
        for task in (locker, campaigner, follower):
            with pytest.raises(SessionExpiredError) as info:
                await asyncio.wait_for(task, WAIT)
            cause = LeaseNotFoundError if how == "revoke" else CanceledError
            assert isinstance(info.value.__cause__, cause)
        with pytest.raises(SessionExpiredError):
            await anext(observer)  # and every iteration after
        await observer.close()
        assert await _count(aclient, lock + "/") == 1 and await _count(aclient, name + "/") == 1
        await doomed.close()


# ---- cancellation ----------------------------------------------------------------------------


async def test_a_task_cancelled_while_waiting_leaves_no_key(aclient: Client, prefix: str) -> None:
    lock, name = prefix + "lock", prefix + "election"
    async with Session(aclient, ttl=30) as holder, Session(aclient, ttl=30) as session:
        await Mutex(holder, lock).lock()
        await Election(holder, name).campaign("holder")
        mutex, election = Mutex(session, lock), Election(session, name)
        waiters = [asyncio.create_task(mutex.lock()), asyncio.create_task(election.campaign("c"))]
        # both wait once their keys' puts have answered (the PUT events can come sooner: on
        # a cluster a follower's watch may see a put before the leader's answer arrives, and a
        # cancel during the put leaves the key to its session, as clientv3's does)
        for _ in range(int(WAIT / 0.01)):
            if mutex.key and election.key:
                break
            await asyncio.sleep(0.01)
        assert mutex.key and election.key, "the waiters' keys were not put in time"
        for task in waiters:
            task.cancel()
        for task in waiters:
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await _count(aclient, lock + "/") == 1 and await _count(aclient, name + "/") == 1
        assert mutex.key == b"" and election.key == b"" and not mutex.locked()
        # the same waiter may try again at once, and a ctx cancelled from a thread ends it;
        # 1 s, so the end comes while waiting behind the holder: an end that comes during the
        # put of the waiter's key (as under CI load with 0.2 s) leaves the key to its session,
        # as clientv3's Campaign does
        ctx = Context.background().with_cancel()
        threading.Timer(1.0, ctx.cancel).start()
        with pytest.raises(CanceledError):
            await mutex.lock(ctx=ctx)
        with pytest.raises(DeadlineExceededError):
            await election.campaign("c", timeout=1.0)
        assert await _count(aclient, lock + "/") == 1 and await _count(aclient, name + "/") == 1


async def test_a_task_cancelled_while_its_key_is_put_waits_for_the_put_then_ends(
    aclient: Client, backend: Backend, prefix: str
) -> None:
    # the put's answer says whether there is a key to withdraw, so the cancel waits for it
    # (unit tests of the flows: tests/unit/test_recipe_flows.py); here the put never reaches
    # the server (the proxy holds it, then drops the connection): nothing to withdraw
    lock = prefix + "lock"
    with HoldProxy(backend.endpoints[0]) as proxy:
        async with Client(endpoints=[proxy.endpoint]) as held, Session(held, ttl=30) as session:
            mutex = Mutex(session, lock)
            with proxy.hold():
                task = asyncio.create_task(mutex.lock())
                assert await asyncio.to_thread(proxy.held.wait, WAIT)  # the put left
                task.cancel()
                done, _ = await asyncio.wait([task], timeout=0.3)
                assert not done  # waits for the put's answer: it is still in flight
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, WAIT)  # the hold dropped it: the cancel ends it
            assert mutex.key == b"" and not mutex.locked()
            await held.get(lock, timeout=WAIT)  # a read, retried until a new connection serves
            await session.close()
    assert await _count(aclient, lock + "/") == 0


async def test_a_task_cancelled_while_observing_closes_its_watch(
    aclient: Client, prefix: str
) -> None:
    async with Session(aclient, ttl=30) as session:
        observer = Election(session, prefix + "election").observe()
        task = asyncio.create_task(anext(observer))  # no leader: it waits
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(EtcdError):
            await anext(observer)  # ended by the cancel, not by close(): an error
        await observer.close()
        with pytest.raises(StopAsyncIteration):
            await anext(observer)


async def test_a_dropped_observer_lets_go_of_its_session(aclient: Client, prefix: str) -> None:
    name = prefix + "election"
    async with Session(aclient, ttl=30) as session:
        await Election(session, name).campaign("v")
        before = len(session.ctx._callbacks)
        observer = Election(session, name).observe(ctx=Context.background().with_cancel())
        assert (await anext(observer)).value == b"v"
        assert len(session.ctx._callbacks) == before + 1  # it follows the session
        del observer
        gc.collect()
        assert len(session.ctx._callbacks) == before  # its finalizer ended it


# ---- Election --------------------------------------------------------------------------------


async def test_aio_and_sync_candidates_share_an_election(
    aclient: Client, client: SyncClient, prefix: str
) -> None:
    name = prefix + "election"
    with sync_recipes.Session(client, ttl=30) as sync_session:
        theirs = sync_recipes.Election(sync_session, name)
        theirs.campaign("sync", timeout=WAIT)
        async with Session(aclient, ttl=30) as session:
            ours = Election(session, name)
            with pytest.raises(ElectionNotLeaderError):
                await ours.proclaim("x")  # no key: nothing sent
            await ours.resign()  # no key: nothing sent
            async with ours.observe() as leaders:
                assert (await anext(leaders)).value == b"sync"
                rev = await _rev(aclient, name)
                campaign = asyncio.create_task(ours.campaign("aio", timeout=WAIT))
                # The session's key: its event may come before the campaign records it.
                ours_key = f"{name}/{session.lease:x}".encode()
                assert await _puts(aclient, name + "/", rev, 1) == [ours_key]
                await asyncio.to_thread(theirs.proclaim, "sync, again")
                assert (await anext(leaders)).value == b"sync, again"
                assert not campaign.done()
                await asyncio.to_thread(theirs.resign)
                await campaign
                seen = await anext(leaders)
                assert (seen.key, seen.value) == (ours.key, b"aio")
                await ours.proclaim("aio, again")
                assert (await anext(leaders)).value == b"aio, again"
                assert theirs.leader().kvs[0].value == b"aio, again"
                assert (await ours.leader()).kvs[0].key == ours.key
                resumed = Election.resume(session, ours.prefix, ours.key, ours.rev)
                await resumed.proclaim("resumed")
                assert (await anext(leaders)).value == b"resumed"
                await ours.resign()
            with pytest.raises(StopAsyncIteration):
                await anext(leaders)  # closed on leaving its async with
            with pytest.raises(ElectionNoLeaderError):
                await ours.leader()


async def test_observe_ends_with_its_ctx(aclient: Client, prefix: str) -> None:
    async with Session(aclient, ttl=30) as session:
        election = Election(session, prefix + "election")
        ctx = Context.background().with_cancel()
        observer = election.observe(ctx=ctx)
        threading.Timer(0.2, ctx.cancel).start()  # no leader yet: it waits
        with pytest.raises(CanceledError):
            await anext(observer)
        assert isinstance(observer.err(), CanceledError)
        with pytest.raises(CanceledError):
            await anext(observer)
        await observer.close()
        assert observer.err() is None
        with pytest.raises(DeadlineExceededError):
            async with election.observe(timeout=0.2) as timed:
                await anext(timed)


# ---- STM -------------------------------------------------------------------------------------


async def test_stm_counters_under_contention(
    aclient: Client, client: SyncClient, prefix: str
) -> None:
    keys = [prefix + "a", prefix + "b"]

    async def bump(s: STM) -> None:
        for key in keys:
            s.put(key, str(int(await s.get(key) or b"0") + 1))

    def sync_bump(s: sync_recipes.STM) -> None:
        for key in keys:
            s.put(key, str(int(s.get(key) or b"0") + 1))

    def sync_worker() -> None:
        for _ in range(5):
            sync_stm.run(client, sync_bump, timeout=WAIT)

    async def worker(isolation: Any) -> None:
        for _ in range(5):
            await stm.run(aclient, bump, isolation=isolation, prefetch=keys, timeout=WAIT)

    await asyncio.gather(
        *(worker(iso) for iso in (stm.SERIALIZABLE_SNAPSHOT, SERIALIZABLE, stm.REPEATABLE_READS)),
        asyncio.to_thread(sync_worker),
    )
    for key in keys:
        assert (await aclient.get(key)).kvs[0].value == b"20"


async def test_stm_plain_apply_reads_its_writes_and_aborts(aclient: Client, prefix: str) -> None:
    key = prefix + "k"

    def blind(s: STM) -> None:  # a plain function: buffers writes only
        s.put(key, "plain")

    resp = await stm.run(aclient, blind, isolation=READ_COMMITTED)
    assert resp.succeeded and (await aclient.get(key)).kvs[0].value == b"plain"

    async def moves(s: STM) -> None:
        assert await s.get(key) == b"plain" and await s.rev(key) > 0
        s.delete(key)
        assert await s.get(key) == b""

    await stm.run(aclient, moves)
    assert not (await aclient.get(key)).kvs

    class Abort(Exception):
        pass

    async def aborts(s: STM) -> None:
        s.put(key, "never")
        raise Abort

    with pytest.raises(Abort):
        await stm.run(aclient, aborts)
    with pytest.raises(ValueError):
        await stm.run(aclient, blind, isolation="serializable")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await stm.run(aclient, _get_nothing)
    assert not (await aclient.get(key)).kvs


async def _get_nothing(s: STM) -> None:
    await s.get()


async def test_stm_retries_a_conflict(aclient: Client, prefix: str) -> None:
    key, runs = prefix + "n", []

    async def conflicted(s: STM) -> None:
        value = await s.get(key)
        runs.append(value)
        if len(runs) == 1:
            await aclient.put(key, "meanwhile")  # a write between the read and the commit
        s.put(key, value + b"+")

    await stm.run(aclient, conflicted)
    assert runs == [b"", b"meanwhile"]
    assert (await aclient.get(key)).kvs[0].value == b"meanwhile+"


# ---- interop with etcdctl (real etcd) --------------------------------------------------------


async def _line(etcdctl: _Etcdctl) -> str:
    return await asyncio.to_thread(etcdctl.lines.get, timeout=WAIT)


def _stopping(etcdctl: _Etcdctl) -> Callable[[], Any]:
    return lambda: asyncio.to_thread(etcdctl.stop)


@pytest.mark.real_etcd_only
async def test_etcdctl_lock_and_the_aio_mutex_exclude_each_other(
    aclient: Client, backend: Backend, prefix: str
) -> None:
    name = prefix + "lock"
    async with Session(aclient, ttl=30) as session:
        ours = Mutex(session, name)
        etcdctl = _Etcdctl(backend.endpoints[0], "lock", name)
        try:
            assert (await _line(etcdctl)).startswith(name + "/")
            with pytest.raises(LockedError):
                await ours.try_lock()
        finally:
            await _stopping(etcdctl)()
        await ours.try_lock()
        rev = await _rev(aclient, name)
        etcdctl = _Etcdctl(backend.endpoints[0], "lock", name)
        try:
            (waiting,) = await _puts(aclient, name + "/", rev, 1)  # etcdctl waits behind us
            assert etcdctl.lines.empty()
            await ours.unlock()
            assert await _line(etcdctl) == waiting.decode()
        finally:
            await _stopping(etcdctl)()


@pytest.mark.real_etcd_only
async def test_etcdctl_elect_and_the_aio_election_share_leadership(
    aclient: Client, backend: Backend, prefix: str
) -> None:
    name = prefix + "election"
    async with Session(aclient, ttl=30) as session:
        ours = Election(session, name)
        await ours.campaign("python", timeout=WAIT)
        rev = await _rev(aclient, name)
        etcdctl = _Etcdctl(backend.endpoints[0], "elect", name, "go")
        try:
            (waiting,) = await _puts(aclient, name + "/", rev, 1)  # etcdctl, behind us
            assert (await ours.leader()).kvs[0].value == b"python"
            assert etcdctl.lines.empty()
            await ours.resign()
            assert await _line(etcdctl) == waiting.decode()
            assert await _line(etcdctl) == "go"
            leader = (await ours.leader()).kvs[0]
            assert leader.key == waiting and leader.value == b"go"
        finally:
            await _stopping(etcdctl)()
