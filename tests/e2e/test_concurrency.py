"""The concurrency recipes on every backend: Session, Mutex, Election and STM.

Threads and processes (multiprocessing, spawn start method, each making its own Client)
contend for one lock and one election; a holder killed with SIGKILL loses its lock when its
session's lease expires; an observer sees every leader change in order; concurrent STM
transfers keep the total. On real etcd, ``etcdctl lock`` and our Mutex exclude each other.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from etcd3py import Client, Context, Op
from etcd3py.concurrency import (
    REPEATABLE_READS,
    SERIALIZABLE,
    SERIALIZABLE_SNAPSHOT,
    STM,
    Election,
    Isolation,
    Mutex,
    Session,
    stm,
)
from etcd3py.errors import (
    CanceledError,
    DeadlineExceededError,
    ElectionNoLeaderError,
    ElectionNotLeaderError,
    LeaseNotFoundError,
    LockedError,
    SessionExpiredError,
)
from etcd3py.models import EventType
from tests.conftest import Backend, distro_binary
from tests.e2e.hold_proxy import HoldProxy
from tests.leases import lease_gone

WAIT = 20.0  # seconds any single wait of a test may take at most
SPAWN = multiprocessing.get_context("spawn")

pytestmark = pytest.mark.both_faces


@pytest.fixture(autouse=True)
def _recipes_of_the_face(recipes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bind ``Session``, ``Mutex`` and ``Election`` to the test's face (for the asyncio one,
    blocking views of ``etcd3py.aio.concurrency``'s), so one test body drives either."""
    for name in ("Session", "Mutex", "Election"):
        monkeypatch.setitem(globals(), name, getattr(recipes, name))


def _next_put(chan: Any) -> bytes:
    """Return the key of the next PUT event on a watch, failing after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        wresp = chan.get(timeout=deadline - time.monotonic())
        assert wresp is not None and wresp.err() is None, wresp
        for ev in wresp.events:
            if ev.type == EventType.PUT:
                return bytes(ev.kv.key)
    raise AssertionError("no PUT event in time")


def _watch_from_now(client: Client, pfx: str) -> Any:
    """Watch ``pfx`` from the next revision: unlike rev=0 ("from whenever the server
    registers the watch"), no write made after this call returns can be missed."""
    return client.watch(pfx, prefix=True, rev=client.get(pfx).header.revision + 1)


@pytest.fixture
def sessions(client: Client) -> Iterator[list[Session]]:
    """A list tests append their sessions to; each is closed afterwards."""
    made: list[Session] = []
    yield made
    for session in made:
        session.close()


def _session(client: Client, made: list[Session], ttl: int = 30) -> Session:
    session = Session(client, ttl)
    made.append(session)
    return session


# ---- Session ---------------------------------------------------------------------------------


def test_session_keeps_its_lease_and_revokes_on_close(client: Client, prefix: str) -> None:
    session = Session(client, ttl=5)
    assert not session.done and session.err() is None
    assert client.time_to_live(session.lease).ttl > 0
    client.put(prefix + "k", "v", lease=session.lease)
    session.close()
    assert session.wait(WAIT) and session.done and session.err() is None
    assert client.get(prefix + "k").kvs == []
    assert lease_gone(client, session.lease)


def test_session_ends_when_its_lease_is_revoked_elsewhere(client: Client) -> None:
    session = Session(client, ttl=3)  # renewed every second: the loss is seen quickly
    client.revoke(session.lease)
    assert session.wait(WAIT), "the session did not notice its lease was revoked"
    assert isinstance(session.err(), LeaseNotFoundError)
    session.close()  # revoking a gone lease is not an error


def test_session_adopts_a_given_lease(client: Client) -> None:
    lease = client.grant(30).id
    with Session(client, lease=lease) as session:
        assert session.lease == lease
    assert lease_gone(client, lease)


def test_session_ends_with_its_context(client: Client) -> None:
    ctx = Context.background().with_cancel()
    session = Session(client, ttl=30, ctx=ctx)
    ctx.cancel()
    assert session.wait(WAIT)
    assert isinstance(session.err(), CanceledError)
    session.close()


# ---- Mutex -------------------------------------------------------------------------------


def _owns(client: Client, mutex: Mutex) -> bool:
    """Whether a txn guarded by ``mutex.is_owner()`` runs its ops. It has one (a get): etcd
    serves a txn without ops as a serializable read, from the member's own store, which on a
    cluster may be behind the lock."""
    owner = mutex.is_owner()
    return bool(client.txn().if_(owner).then(Op.get(owner.key)).commit().succeeded)


def test_mutex_key_layout_matches_go(client: Client, prefix: str, sessions: list[Session]) -> None:
    session = _session(client, sessions)
    mutex = Mutex(session, prefix + "lock")
    mutex.lock(timeout=WAIT)
    assert mutex.key == f"{prefix}lock/{session.lease:x}".encode()
    kv = client.get(mutex.key).kvs[0]
    assert kv.lease == session.lease and kv.value == b""
    assert mutex.header is not None and mutex.header.revision == kv.create_revision
    assert _owns(client, mutex)
    key = mutex.key
    mutex.unlock()
    assert client.get(key).kvs == [] and mutex.key == b""
    assert not _owns(client, mutex)


def test_try_lock_fails_fast_while_held(
    client: Client, prefix: str, sessions: list[Session]
) -> None:
    holder = Mutex(_session(client, sessions), prefix + "lock")
    other = Mutex(_session(client, sessions), prefix + "lock")
    holder.lock(timeout=WAIT)
    with pytest.raises(LockedError):
        other.try_lock()
    assert client.get(prefix + "lock/", prefix=True, count_only=True).count == 1
    holder.unlock()
    other.try_lock()
    assert _owns(client, other)
    other.unlock()


def test_lock_times_out_and_withdraws(client: Client, prefix: str, sessions: list[Session]) -> None:
    holder = Mutex(_session(client, sessions), prefix + "lock")
    holder.lock(timeout=WAIT)
    waiter = Mutex(_session(client, sessions), prefix + "lock")
    with pytest.raises(DeadlineExceededError):
        waiter.lock(timeout=0.5)
    assert client.get(prefix + "lock/", prefix=True, count_only=True).count == 1
    ctx = Context.background().with_cancel()
    canceller = threading.Timer(0.3, ctx.cancel)  # cancels from another thread mid-wait
    canceller.start()
    with pytest.raises(CanceledError):
        waiter.lock(ctx=ctx)
    canceller.join(WAIT)
    assert client.get(prefix + "lock/", prefix=True, count_only=True).count == 1
    holder.unlock()


def test_lock_reports_a_session_lost_while_waiting(
    client: Client, prefix: str, sessions: list[Session]
) -> None:
    holder = Mutex(_session(client, sessions), prefix + "lock")
    holder.lock(timeout=WAIT)
    doomed = _session(client, sessions)
    outcome: queue.Queue[BaseException | None] = queue.Queue()

    def wait_turn() -> None:
        try:
            Mutex(doomed, prefix + "lock").lock(timeout=WAIT)
            outcome.put(None)
        except BaseException as exc:  # checked below
            outcome.put(exc)

    with _watch_from_now(client, prefix + "lock/") as chan:
        waiter = threading.Thread(target=wait_turn)
        waiter.start()
        _next_put(chan)
    client.revoke(doomed.lease)  # the waiter's key goes with its lease
    holder.unlock()
    waiter.join(WAIT)
    assert isinstance(outcome.get(timeout=WAIT), SessionExpiredError)


def _locked_increments(endpoints: list[str], lock: str, counter: str, rounds: int) -> None:
    """Increment ``counter`` ``rounds`` times by read-then-write, each under the lock."""
    with Client(endpoints=endpoints) as cli, Session(cli, ttl=30) as session:
        mutex = Mutex(session, lock)
        for _ in range(rounds):
            with mutex:
                kvs = cli.get(counter).kvs
                value = int(kvs[0].value) if kvs else 0
                write = Op.put(counter, str(value + 1))
                assert cli.txn().if_(mutex.is_owner()).then(write).commit().succeeded


# its worker threads make sync clients and recipes; the asyncio twin is in
# tests/aio/test_concurrency.py (tasks, and a sync and an aio client on one lock)
@pytest.mark.sync_face_only
def test_mutual_exclusion_threads(client: Client, backend: Backend, prefix: str) -> None:
    threads, rounds = 4, 8
    workers = [
        threading.Thread(
            target=_locked_increments,
            args=(backend.endpoints, prefix + "lock", prefix + "counter", rounds),
        )
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT * 3)
        assert not worker.is_alive()
    assert int(client.get(prefix + "counter").kvs[0].value) == threads * rounds


# its workers are sync processes; the asyncio twin is in tests/aio/test_concurrency.py
@pytest.mark.sync_face_only
def test_mutual_exclusion_processes(client: Client, backend: Backend, prefix: str) -> None:
    procs, rounds = 3, 5
    workers = [
        SPAWN.Process(
            target=_locked_increments,
            args=(backend.endpoints, prefix + "lock", prefix + "counter", rounds),
        )
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join(WAIT * 3)
            assert worker.exitcode == 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join(WAIT)
    assert int(client.get(prefix + "counter").kvs[0].value) == procs * rounds


def test_waiters_are_served_in_order(client: Client, prefix: str, sessions: list[Session]) -> None:
    lock = prefix + "lock"
    holder = Mutex(_session(client, sessions), lock)
    holder.lock(timeout=WAIT)
    served: queue.Queue[int] = queue.Queue()
    errors: list[BaseException] = []

    def wait_turn(index: int, mutex: Mutex) -> None:
        try:
            mutex.lock(timeout=WAIT * 2)
            served.put(index)
            mutex.unlock()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    waiters = []
    with _watch_from_now(client, lock + "/") as chan:
        for index in range(4):
            mutex = Mutex(_session(client, sessions), lock)
            thread = threading.Thread(target=wait_turn, args=(index, mutex))
            thread.start()
            waiters.append(thread)
            _next_put(chan)  # this waiter's key exists: it asked before the next one
    holder.unlock()
    for thread in waiters:
        thread.join(WAIT * 2)
    assert not errors
    assert [served.get_nowait() for _ in range(4)] == [0, 1, 2, 3]


def _hold_forever(endpoints: list[str], lock: str, ready: Any) -> None:
    """Take the lock on a 2-second session, say so, then wait to be killed."""
    cli = Client(endpoints=endpoints)
    session = Session(cli, ttl=2)
    Mutex(session, lock).lock(timeout=WAIT)
    ready.set()
    threading.Event().wait(120)  # bounded: the test kills this process long before


def test_killed_holder_releases_when_lease_expires(
    client: Client, backend: Backend, prefix: str, sessions: list[Session]
) -> None:
    lock = prefix + "lock"
    ready = SPAWN.Event()
    holder = SPAWN.Process(target=_hold_forever, args=(backend.endpoints, lock, ready))
    holder.start()
    try:
        assert ready.wait(WAIT * 2), "the holder process did not take the lock"
        waiter = Mutex(_session(client, sessions), lock)
        with pytest.raises(LockedError):
            waiter.try_lock()
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(WAIT)
        started = time.monotonic()
        waiter.lock(timeout=WAIT)
        assert time.monotonic() - started < WAIT
        assert _owns(client, waiter)
        waiter.unlock()
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join(WAIT)


# ---- Election ---------------------------------------------------------------------------------


def test_campaign_proclaim_resign_leader(
    client: Client, prefix: str, sessions: list[Session]
) -> None:
    name = prefix + "election"
    first = Election(_session(client, sessions), name)
    second = Election(_session(client, sessions), name)
    with pytest.raises(ElectionNoLeaderError):
        first.leader()
    with pytest.raises(ElectionNotLeaderError):
        first.proclaim("nobody")
    first.campaign("a", timeout=WAIT)
    assert first.key == f"{name}/{first._session.lease:x}".encode()
    assert first.leader().kvs[0].value == b"a"
    elected = threading.Event()
    campaign = threading.Thread(target=lambda: (second.campaign("b", timeout=WAIT), elected.set()))
    campaign.start()
    first.proclaim("a2")
    assert second.leader().kvs[0].value == b"a2"
    assert not elected.is_set()
    first.resign()
    campaign.join(WAIT)
    assert elected.is_set()
    leader = second.leader().kvs[0]
    assert (
        leader.value == b"b" and leader.key == second.key and second.rev == leader.create_revision
    )
    second.resign()
    with pytest.raises(ElectionNoLeaderError):
        second.leader()


@pytest.mark.sync_face_only  # the asyncio face's task cancel: tests/aio/test_concurrency.py
def test_a_ctx_cancelled_while_the_key_is_put_waits_for_the_put(
    client: Client, backend: Backend, prefix: str
) -> None:
    # the put's answer says whether there is a key to withdraw, so the call waits for it; here
    # the put never reaches the server (the proxy holds it, then drops the connection): no key,
    # and the call raises the context's error, the failed put as its cause
    lock = prefix + "lock"
    ctx = Context.background().with_cancel()
    outcome: queue.Queue[BaseException | None] = queue.Queue()
    with (
        HoldProxy(backend.endpoints[0]) as proxy,
        Client(endpoints=[proxy.endpoint]) as held,
        Session(held, ttl=30) as session,
    ):
        mutex = Mutex(session, lock)

        def lock_it() -> None:
            try:
                mutex.lock(ctx=ctx)
                outcome.put(None)
            except BaseException as exc:  # handed to the test
                outcome.put(exc)

        with proxy.hold():
            locker = threading.Thread(target=lock_it)
            locker.start()
            assert proxy.held.wait(WAIT)  # the put left
            ctx.cancel()
            locker.join(0.3)
            assert locker.is_alive()  # waits for the put's answer: still in flight
        locker.join(WAIT)
        assert isinstance(outcome.get(timeout=WAIT), CanceledError)
        assert mutex.key == b"" and not mutex.locked()
        held.get(lock, timeout=WAIT)  # a read, retried until a new connection serves
    assert client.get(lock + "/", prefix=True, count_only=True).count == 0


@pytest.mark.cluster_wide  # writes b"\x00", outside its prefix: alone on a shared cluster
def test_a_candidate_without_a_key_sends_nothing(
    client: Client, prefix: str, sessions: list[Session]
) -> None:
    name = prefix + "election"
    session = _session(client, sessions)
    election = Election(session, name)
    election.campaign("a", timeout=WAIT)
    client.delete(election.key)  # the candidate's key is lost behind its back
    with pytest.raises(ElectionNotLeaderError):
        election.proclaim("b")
    assert election.key == b""
    # the kind of key an empty-key default would hit
    precious = client.put(b"\x00", b"precious").header.revision
    try:
        election.resign()  # no key: nothing is sent
        with pytest.raises(ElectionNotLeaderError):
            election.proclaim("c")
        (kv,) = client.get(b"\x00").kvs
        assert (kv.value, kv.mod_revision) == (b"precious", precious)
        # nothing written under the election either (the revision may move: on a shared
        # external cluster other tests write meanwhile)
        assert client.get(prefix, prefix=True).kvs == []
    finally:
        client.delete(b"\x00")


def test_observer_sees_every_leader_change_in_order(
    client: Client, prefix: str, sessions: list[Session]
) -> None:
    name = prefix + "election"
    one = Election(_session(client, sessions), name)
    two = Election(_session(client, sessions), name)
    seen: queue.Queue[bytes] = queue.Queue()
    observer = Election(_session(client, sessions), name).observe()

    def follow() -> None:
        for kv in observer:
            seen.put(kv.value)

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        one.campaign("1", timeout=WAIT)
        assert seen.get(timeout=WAIT) == b"1"
        one.proclaim("2")
        assert seen.get(timeout=WAIT) == b"2"
        campaign = threading.Thread(target=two.campaign, args=("3",), kwargs={"timeout": WAIT})
        campaign.start()
        one.resign()
        campaign.join(WAIT)
        assert seen.get(timeout=WAIT) == b"3"
        for value in ("4", "5", "6"):  # a burst: nothing may be skipped
            two.proclaim(value)
        assert [seen.get(timeout=WAIT) for _ in range(3)] == [b"4", b"5", b"6"]
        two.resign()
    finally:
        observer.close()
        follower.join(WAIT)
    assert not follower.is_alive()


# ---- STM -------------------------------------------------------------------------------------


def _transfers(
    endpoints: list[str], accounts: list[str], count: int, isolation: Isolation, seed: int
) -> None:
    rng = random.Random(seed)
    with Client(endpoints=endpoints) as cli:
        for _ in range(count):
            src, dst = rng.sample(accounts, 2)
            amount = rng.randint(1, 20)

            def move(s: STM, src: str = src, dst: str = dst, amount: int = amount) -> None:
                a, b = int(s.get(src)), int(s.get(dst))
                moved = min(a, amount)
                s.put(src, str(a - moved))
                s.put(dst, str(b + moved))

            stm.run(cli, move, isolation=isolation)


@pytest.mark.sync_face_only  # an asyncio STM reads with await: see tests/aio/test_concurrency.py
@pytest.mark.parametrize("isolation", [SERIALIZABLE_SNAPSHOT, SERIALIZABLE, REPEATABLE_READS])
def test_stm_transfers_keep_the_total(
    client: Client, backend: Backend, prefix: str, isolation: Isolation
) -> None:
    accounts = [f"{prefix}acct/{i}" for i in range(4)]
    for account in accounts:
        client.put(account, "100")
    workers = [
        threading.Thread(target=_transfers, args=(backend.endpoints, accounts, 10, isolation, seed))
        for seed in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT * 3)
        assert not worker.is_alive()
    values = [int(client.get(a).kvs[0].value) for a in accounts]
    assert sum(values) == 400 and min(values) >= 0


@pytest.mark.sync_face_only  # an asyncio STM reads with await: see tests/aio/test_concurrency.py
def test_stm_retries_on_conflict_and_reads_its_writes(client: Client, prefix: str) -> None:
    key = prefix + "n"
    client.put(key, "1")
    attempts = []

    def bump(s: STM) -> None:
        attempts.append(s.get(key))
        if len(attempts) == 1:
            client.put(key, "10")  # a write by someone else between read and commit
        s.put(key, str(int(s.get(key)) + 1))
        assert s.get(key) == str(int(attempts[-1]) + 1).encode()

    resp = stm.run(client, bump, prefetch=[key])
    assert resp.succeeded and attempts == [b"1", b"10"]
    assert client.get(key).kvs[0].value == b"11"


@pytest.mark.sync_face_only  # an asyncio STM reads with await: see tests/aio/test_concurrency.py
def test_stm_abort_and_delete(client: Client, prefix: str) -> None:
    client.put(prefix + "a", "x")

    def fail(s: STM) -> None:
        s.delete(prefix + "a")
        raise ValueError("abort")

    with pytest.raises(ValueError, match="abort"):
        stm.run(client, fail)
    assert client.get(prefix + "a").kvs[0].value == b"x"

    def remove(s: STM) -> None:
        assert s.rev(prefix + "a") > 0
        s.delete(prefix + "a")
        assert s.get(prefix + "a") == b""

    stm.run(client, remove)
    assert client.get(prefix + "a").kvs == []


# ---- interop with etcdctl lock (real etcd) -----------------------------------------------------


class _Etcdctl:
    """``etcdctl lock|elect ...`` as a background process whose output lines go to a queue."""

    def __init__(self, endpoint: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
        self.proc = subprocess.Popen(
            [str(distro_binary("etcdctl")), f"--endpoints={endpoint}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def stop(self) -> None:
        """Interrupt etcdctl (it releases the lock and revokes its session) and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self._reader.join(WAIT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.mark.real_etcd_only
def test_etcdctl_lock_and_our_mutex_exclude_each_other(
    client: Client, backend: Backend, prefix: str, sessions: list[Session]
) -> None:
    name = prefix + "lock"
    ours = Mutex(_session(client, sessions), name)
    etcdctl = _Etcdctl(backend.endpoints[0], "lock", name)
    try:
        held = etcdctl.lines.get(timeout=WAIT)
        assert held.startswith(name + "/")
        with pytest.raises(LockedError):
            ours.try_lock()
    finally:
        etcdctl.stop()
    ours.try_lock()
    with _watch_from_now(client, name + "/") as chan:
        etcdctl = _Etcdctl(backend.endpoints[0], "lock", name)
        try:
            waiting = _next_put(chan)  # etcdctl's key: it waits behind ours
            assert etcdctl.lines.empty()
            ours.unlock()
            assert etcdctl.lines.get(timeout=WAIT) == waiting.decode()
        finally:
            etcdctl.stop()


@pytest.mark.real_etcd_only
def test_etcdctl_elect_and_our_election_share_leadership(
    client: Client, backend: Backend, prefix: str, sessions: list[Session]
) -> None:
    name = prefix + "election"
    ours = Election(_session(client, sessions), name)
    ours.campaign("python", timeout=WAIT)
    with _watch_from_now(client, name + "/") as chan:
        etcdctl = _Etcdctl(backend.endpoints[0], "elect", name, "go")
        try:
            waiting = _next_put(chan)  # etcdctl's candidacy, behind ours
            assert ours.leader().kvs[0].value == b"python"
            assert etcdctl.lines.empty()
            ours.resign()
            assert etcdctl.lines.get(timeout=WAIT) == waiting.decode()
            assert etcdctl.lines.get(timeout=WAIT) == "go"
            leader = ours.leader().kvs[0]
            assert leader.key == waiting and leader.value == b"go"
        finally:
            etcdctl.stop()
