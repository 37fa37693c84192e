"""Mutex on every backend: unlock never touches a key it did not write; Python's lock protocol.

``unlock()`` on a mutex that holds no lock raises ``LockReleasedError`` and sends nothing (the
old recipe sent ``delete(b"\\x00")`` and destroyed a user's key of that name); ``acquire`` /
``release`` / ``locked`` follow ``threading.Lock``; ``ctx=`` and ``timeout=`` end the calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from etcd3py import Client, Context
from etcd3py._responses import OpResponse
from etcd3py.concurrency import Mutex, Session
from etcd3py.errors import (
    CanceledError,
    DeadlineExceededError,
    InvalidArgumentError,
    LockReleasedError,
    SessionExpiredError,
)
from etcd3py.kv import KV
from etcd3py.op import Op

NAMES = ("Session", "Mutex")

pytestmark = pytest.mark.both_faces


@pytest.fixture(autouse=True)
def _recipes_of_the_face(recipes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bind the recipes to the test's face (for the asyncio one, blocking views of
    ``etcd3py.aio.concurrency``'s), so one test body drives either."""
    for name in NAMES:
        monkeypatch.setitem(globals(), name, getattr(recipes, name))


WAIT = 20.0  # seconds any single wait of a test may take at most


class RecordingKV(KV):
    """A KV that records every op it is asked to run, then runs it on the real one."""

    def __init__(self, inner: KV) -> None:
        self.inner = inner
        self.ops: list[Op] = []

    def do(self, op: Op, **kwargs: Any) -> OpResponse:
        self.ops.append(op)
        return self.inner.do(op, **kwargs)

    def compact(self, rev: int, **kwargs: Any) -> Any:
        return self.inner.compact(rev, **kwargs)


@pytest.fixture
def session(client: Client) -> Iterator[Session]:
    with Session(client, ttl=30) as s:
        yield s


@pytest.fixture
def other(client: Client) -> Iterator[Session]:
    with Session(client, ttl=30) as s:
        yield s


def _keys(client: Client, pfx: str) -> int:
    return client.get(pfx + "/", prefix=True, count_only=True).count


# ---- unlock sends nothing when nothing is held --------------------------------------------


@pytest.fixture
def nul_key(client: Client) -> Iterator[bytes]:
    """The key b"\\x00", which the old unlock() deleted; removed after the test."""
    client.put(b"\x00", b"precious")
    yield b"\x00"
    client.delete(b"\x00")


# plugs a sync recording KV into the client; the shared flow sends nothing without a key
# in either face (tests/unit/test_recipe_flows.py)
@pytest.mark.sync_face_only
@pytest.mark.cluster_wide  # writes b"\x00", outside its prefix: alone on a shared cluster
def test_unlock_without_a_lock_sends_nothing_and_keeps_a_key_named_nul(
    client: Client, prefix: str, session: Session, nul_key: bytes
) -> None:
    recorder = RecordingKV(client.kv)
    client.kv = recorder
    try:
        mutex = Mutex(session, prefix + "lock")
        with pytest.raises(LockReleasedError, match="mutex: lock has been released"):
            mutex.unlock()  # never locked
        assert recorder.ops == []
        mutex.lock(timeout=WAIT)
        mutex.unlock()
        sent = len(recorder.ops)
        with pytest.raises(LockReleasedError):
            mutex.unlock()  # a second unlock after a successful one
        with pytest.raises(LockReleasedError):
            mutex.release()
        assert len(recorder.ops) == sent
    finally:
        client.kv = recorder.inner
    assert client.get(nul_key).kvs[0].value == b"precious"


def test_failed_try_lock_leaves_nothing_to_unlock(
    client: Client, prefix: str, session: Session, other: Session, nul_key: bytes
) -> None:
    holder = Mutex(other, prefix + "lock")
    holder.lock(timeout=WAIT)
    mutex = Mutex(session, prefix + "lock")
    assert not mutex.acquire(blocking=False)
    with pytest.raises(LockReleasedError):
        mutex.unlock()
    holder.unlock()
    assert _keys(client, prefix + "lock") == 0
    assert client.get(nul_key).kvs[0].value == b"precious"


def test_unlock_of_a_lock_lost_with_its_session_deletes_nothing_else(
    client: Client, prefix: str, other: Session
) -> None:
    doomed = Session(client, ttl=30)
    mutex = Mutex(doomed, prefix + "lock")
    mutex.lock(timeout=WAIT)
    doomed.close()  # the lock key goes with the lease
    assert not mutex.locked()
    successor = Mutex(other, prefix + "lock")
    successor.lock(timeout=WAIT)
    mutex.unlock()  # the old key is gone; the guarded delete must not touch the successor
    assert successor.locked() and _keys(client, prefix + "lock") == 1
    owner = successor.is_owner()  # a get makes the txn linearizable (no op: serializable)
    assert client.txn().if_(owner).then(Op.get(owner.key)).commit().succeeded
    successor.unlock()


# ---- the lock protocol -------------------------------------------------------------------------


def test_acquire_release_locked_and_with(client: Client, prefix: str, session: Session) -> None:
    mutex = Mutex(session, prefix + "lock")
    assert not mutex.locked()
    assert mutex.acquire() is True
    assert mutex.locked() and _keys(client, prefix + "lock") == 1
    mutex.release()
    assert not mutex.locked() and _keys(client, prefix + "lock") == 0
    with mutex:
        assert mutex.locked()
    assert not mutex.locked() and _keys(client, prefix + "lock") == 0
    assert mutex.acquire(True, 5.0) is True
    mutex.release()


def test_acquire_returns_false_when_held_elsewhere(
    client: Client, prefix: str, session: Session, other: Session
) -> None:
    holder = Mutex(other, prefix + "lock")
    holder.lock(timeout=WAIT)
    mutex = Mutex(session, prefix + "lock")
    assert mutex.acquire(blocking=False) is False
    assert mutex.acquire(timeout=0) is False
    assert mutex.acquire(timeout=0.3) is False
    assert not mutex.locked() and _keys(client, prefix + "lock") == 1  # it withdrew
    assert holder.locked()
    got = threading.Event()
    waiter = threading.Thread(target=lambda: mutex.acquire(timeout=WAIT) and got.set())
    waiter.start()
    holder.release()
    waiter.join(WAIT)
    assert got.is_set() and mutex.locked() and not holder.locked()
    mutex.release()


def test_acquire_argument_errors_are_value_errors(prefix: str, session: Session) -> None:
    mutex = Mutex(session, prefix + "lock")
    with pytest.raises(InvalidArgumentError, match="non-blocking"):
        mutex.acquire(blocking=False, timeout=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        mutex.acquire(timeout=-2)
    assert not mutex.locked()


def test_acquire_raises_when_its_ctx_ends(
    client: Client, prefix: str, session: Session, other: Session
) -> None:
    holder = Mutex(other, prefix + "lock")
    holder.lock(timeout=WAIT)
    mutex = Mutex(session, prefix + "lock")
    ctx = Context.background().with_cancel()
    canceller = threading.Timer(0.3, ctx.cancel)  # from another thread, mid-wait
    canceller.start()
    with pytest.raises(CanceledError):
        mutex.acquire(ctx=ctx)
    canceller.join(WAIT)
    with pytest.raises(DeadlineExceededError):
        mutex.acquire(timeout=WAIT, ctx=Context.background().with_timeout(0.3))
    assert _keys(client, prefix + "lock") == 1
    holder.unlock()


def test_locked_is_false_once_the_session_ends(client: Client, prefix: str) -> None:
    session = Session(client, ttl=30)
    mutex = Mutex(session, prefix + "lock")
    mutex.lock(timeout=WAIT)
    session.orphan()
    assert not mutex.locked()
    with pytest.raises(SessionExpiredError):
        mutex.lock(timeout=WAIT)
    with pytest.raises(SessionExpiredError):
        mutex.try_lock()
    client.revoke(session.lease)


# ---- ctx on the unary calls ---------------------------------------------------------------------


def test_try_lock_and_unlock_take_a_ctx(client: Client, prefix: str, session: Session) -> None:
    ended = Context.background().with_cancel()
    ended.cancel()
    mutex = Mutex(session, prefix + "lock")
    with pytest.raises(CanceledError):
        mutex.try_lock(ctx=ended)
    mutex.try_lock(ctx=Context.background().with_timeout(WAIT), timeout=WAIT)
    with pytest.raises(CanceledError):
        mutex.unlock(ctx=ended)
    assert mutex.locked()  # a failed unlock keeps the lock: it can be retried
    mutex.unlock(ctx=Context.background().with_timeout(WAIT))
    assert not mutex.locked() and _keys(client, prefix + "lock") == 0
