"""What is built on a session ends with it, on every backend; ctx= ends every recipe wait.

``session.ctx`` is cancelled when the session is closed, orphaned, or loses its lease; a
``Mutex.lock()`` and an ``Election.campaign()`` waiting in threads and an ``observe()``
iteration then end promptly with ``SessionExpiredError`` (its ``__cause__`` says why), and
withdraw their keys. A ctx cancelled from another thread ends them with ``CanceledError``, a
ctx deadline with ``DeadlineExceededError``. Every wait here is bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, Context
from etcd3py.concurrency import STM, Election, Mutex, Observer, Session, stm
from etcd3py.errors import (
    CanceledError,
    DeadlineExceededError,
    EtcdError,
    LeaseNotFoundError,
    SessionExpiredError,
)
from etcd3py.models import EventType
from tests.conftest import Backend
from tests.leases import lease_gone

NAMES = ("Session", "Mutex", "Election")

pytestmark = pytest.mark.both_faces


@pytest.fixture(autouse=True)
def _recipes_of_the_face(recipes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bind the recipes to the test's face (for the asyncio one, blocking views of
    ``etcd3py.aio.concurrency``'s), so one test body drives either."""
    for name in NAMES:
        monkeypatch.setitem(globals(), name, getattr(recipes, name))


WAIT = 20.0  # seconds any single wait of a test may take at most


@pytest.fixture
def holder(client: Client) -> Iterator[Session]:
    with Session(client, ttl=30) as s:
        yield s


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, queue.Queue[object]]:
    """Run ``fn`` in a thread; its result or exception goes to the returned queue."""
    out: queue.Queue[object] = queue.Queue()

    def run() -> None:
        try:
            out.put(fn())
        except BaseException as exc:  # checked by the test
            out.put(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _wait_for_puts(client: Client, pfx: str, rev: int, count: int) -> None:
    """Block until ``count`` keys were put under ``pfx`` after ``rev`` (bounded)."""
    seen = 0
    with client.watch(pfx, prefix=True, rev=rev + 1) as chan:
        while seen < count:
            wresp = chan.get(timeout=WAIT)
            assert wresp is not None and wresp.err() is None, wresp
            seen += sum(ev.type == EventType.PUT for ev in wresp.events)


def _count(client: Client, pfx: str) -> int:
    return client.get(pfx, prefix=True, count_only=True).count


# ---- the session's context -----------------------------------------------------------------


@pytest.mark.parametrize("end", ["close", "orphan"])
def test_session_ctx_is_cancelled_when_the_session_is_ended(client: Client, end: str) -> None:
    session = Session(client, ttl=30)
    assert not session.ctx.done and session.ctx.err() is None
    # a session adds no thread of its own: its keep-alive's done callback ends its ctx
    assert not [t.name for t in threading.enumerate() if "session" in t.name]
    getattr(session, end)()
    assert session.ctx.done and isinstance(session.ctx.err(), CanceledError)
    assert session.done and session.err() is None
    if end == "orphan":
        assert client.time_to_live(session.lease).ttl > 0  # not revoked, only not renewed
        session.close()
    assert lease_gone(client, session.lease)


def test_session_ctx_is_cancelled_when_the_lease_is_lost(client: Client) -> None:
    session = Session(client, ttl=3)  # renewed every second: the loss is seen quickly
    client.revoke(session.lease)
    assert session.ctx.wait(WAIT), "the session's ctx outlived its lease"
    assert isinstance(session.ctx.err(), CanceledError)
    assert isinstance(session.err(), LeaseNotFoundError)
    session.close()


def test_session_ctx_is_cancelled_when_the_client_closes(backend: Backend) -> None:
    endpoints = backend.endpoints
    cli = Client(endpoints=endpoints)
    session = Session(cli, ttl=30)
    lease = session.lease
    cli.close()
    assert session.ctx.wait(WAIT)
    assert isinstance(session.err(), EtcdError)
    with Client(endpoints=endpoints) as other:
        other.revoke(lease)


def test_session_construction_takes_ctx_and_timeout(client: Client) -> None:
    ended = Context.background().with_cancel()
    ended.cancel()
    with pytest.raises(CanceledError):
        Session(client, ttl=30, ctx=ended)
    with Session(client, ttl=30, timeout=WAIT) as session:
        assert not session.done
    grant = client.grant(30)
    with Session(client, lease=grant) as adopted:  # a grant response is accepted
        assert adopted.lease == grant.id


# ---- what is built on a session ends with it -----------------------------------------------


def _end(client: Client, session: Session, how: str) -> None:
    if how == "close":
        session.close()
    elif how == "orphan":
        session.orphan()
    else:
        client.revoke(session.lease)


@pytest.mark.parametrize("how", ["close", "orphan", "revoke"])
def test_waits_end_with_the_session(client: Client, prefix: str, holder: Session, how: str) -> None:
    lock, name = prefix + "lock", prefix + "election"
    Mutex(holder, lock).lock(timeout=WAIT)
    Election(holder, name).campaign("holder", timeout=WAIT)
    doomed = Session(client, ttl=3)  # renewed every second: a revoke is seen quickly
    rev = client.get(prefix).header.revision
    locker, locked = _in_thread(lambda: Mutex(doomed, lock).lock())
    campaigner, campaigned = _in_thread(lambda: Election(doomed, name).campaign("doomed"))
    observer = Election(doomed, name).observe()
    assert next(observer).value == b"holder"
    follower, followed = _in_thread(lambda: next(observer))
    _wait_for_puts(client, prefix, rev, 2)  # both waiters wrote their keys and wait
    _end(client, doomed, how)
    for thread, out in ((locker, locked), (campaigner, campaigned), (follower, followed)):
        thread.join(WAIT)
        assert not thread.is_alive()
        err = out.get_nowait()
        assert isinstance(err, SessionExpiredError), err
        cause = LeaseNotFoundError if how == "revoke" else CanceledError
        assert isinstance(err.__cause__, cause), err.__cause__  # why the session ended
    assert isinstance(observer.err(), SessionExpiredError)
    with pytest.raises(SessionExpiredError):
        next(observer)  # and every iteration after
    assert _count(client, lock + "/") == 1 and _count(client, name + "/") == 1  # withdrawn
    doomed.close()


def test_recipes_refuse_an_ended_session(client: Client, prefix: str) -> None:
    session = Session(client, ttl=30)
    session.close()
    with pytest.raises(SessionExpiredError):
        Mutex(session, prefix + "lock").lock()
    with pytest.raises(SessionExpiredError):
        Election(session, prefix + "election").campaign("v")
    with pytest.raises(SessionExpiredError), Election(session, prefix + "e").observe() as obs:
        next(obs)
    assert _count(client, prefix) == 0


# ---- ctx= and timeout= end the waits ---------------------------------------------------------


def test_campaign_ends_with_its_ctx(client: Client, prefix: str, holder: Session) -> None:
    name = prefix + "election"
    Election(holder, name).campaign("holder", timeout=WAIT)
    with Session(client, ttl=30) as session:
        candidate = Election(session, name)
        ctx = Context.background().with_cancel()
        canceller = threading.Timer(0.3, ctx.cancel)  # from another thread, mid-wait
        canceller.start()
        with pytest.raises(CanceledError):
            candidate.campaign("c", ctx=ctx)
        canceller.join(WAIT)
        with pytest.raises(DeadlineExceededError):
            candidate.campaign("c", ctx=Context.background().with_timeout(0.3))
        with pytest.raises(DeadlineExceededError):
            candidate.campaign("c", timeout=0.3)
        assert candidate.key == b"" and _count(client, name + "/") == 1  # it resigned


def test_observe_ends_with_its_ctx(client: Client, prefix: str, holder: Session) -> None:
    name = prefix + "election"
    ctx = Context.background().with_cancel()
    observer = Election(holder, name).observe(ctx=ctx)
    canceller = threading.Timer(0.3, ctx.cancel)  # no leader yet: the observer waits
    canceller.start()
    with pytest.raises(CanceledError):
        next(observer)
    canceller.join(WAIT)
    assert isinstance(observer.err(), CanceledError)
    with pytest.raises(CanceledError):
        next(observer)
    observer.close()
    assert observer.err() is None
    with pytest.raises(StopIteration):
        next(observer)  # after its own close(): a clean end
    deadline = Election(holder, name).observe(ctx=Context.background().with_timeout(0.3))
    with pytest.raises(DeadlineExceededError):
        next(deadline)
    with pytest.raises(DeadlineExceededError), Election(holder, name).observe(timeout=0.3) as obs:
        next(obs)


def test_observe_close_ends_cleanly(client: Client, prefix: str, holder: Session) -> None:
    name = prefix + "election"
    Election(holder, name).campaign("holder", timeout=WAIT)
    observer: Observer = Election(holder, name).observe()
    assert next(observer).value == b"holder"
    follower, followed = _in_thread(lambda: list(observer))  # blocks until closed
    observer.close()
    follower.join(WAIT)
    assert not follower.is_alive() and followed.get_nowait() == []
    assert observer.err() is None


def test_election_calls_take_a_ctx(client: Client, prefix: str, holder: Session) -> None:
    ended = Context.background().with_cancel()
    ended.cancel()
    election = Election(holder, prefix + "election")
    with pytest.raises(CanceledError):
        election.campaign("v", ctx=ended)
    election.campaign("v", timeout=WAIT, ctx=Context.background().with_timeout(WAIT))
    with pytest.raises(CanceledError):
        election.proclaim("w", ctx=ended)
    with pytest.raises(CanceledError):
        election.leader(ctx=ended)
    election.proclaim("w", timeout=WAIT)
    assert election.leader(timeout=WAIT).kvs[0].value == b"w"
    with pytest.raises(CanceledError):
        election.resign(ctx=ended)
    election.campaign("w", timeout=WAIT)  # its key is still there: reused
    election.resign(ctx=Context.background().with_timeout(WAIT))
    assert _count(client, prefix) == 0


def test_stm_run_ends_with_its_ctx(client: Client, prefix: str) -> None:
    key = prefix + "n"
    ctx = Context.background().with_cancel()
    applied: list[int] = []

    def apply(s: STM) -> None:
        applied.append(1)
        ctx.cancel()  # the commit that follows runs under an ended ctx
        s.put(key, "1")

    with pytest.raises(CanceledError):
        stm.run(client, apply, ctx=ctx)
    assert applied == [1] and client.get(key).kvs == []
    with pytest.raises(CanceledError):
        stm.run(client, apply, ctx=ctx)  # ended before the first attempt: apply never runs
    assert applied == [1]
    with pytest.raises(DeadlineExceededError):
        stm.run(client, lambda s: s.get(key), timeout=0.0)
    assert stm.run(client, lambda s: s.put(key, "2"), timeout=WAIT).succeeded
