"""Mutex: a distributed lock, fair by create revision, compatible with Go and ``etcdctl lock``.

Owns :class:`Mutex` (clientv3/concurrency ``mutex.go``). The key layout is Go's: a waiter
writes ``pfx + "/" + "%x" % lease`` attached to its session's lease; the key with the lowest
create revision holds the lock; every other waiter watches only the key created just before
its own (its predecessor) for deletion, so a release wakes one waiter, in order of request,
and nobody polls. A holder that dies releases the lock when its session's lease expires.
Built on the public client API only (``client.kv.do``, ``watch``); its body
(:class:`~etcd3py.concurrency._mutex.MutexCore`) is shared with the asyncio face, and this
face runs its flows blocking.

A mutex only ever deletes the key it wrote itself, and only while that key still has the
create revision it was written at: :meth:`Mutex.unlock` on a mutex that holds no key raises
:class:`~etcd3py.errors.LockReleasedError` and sends nothing (Go before 3.6 sent a delete
of the key ``"\\x00"``). It also speaks Python's lock protocol (``acquire``/``release``/
``locked``, ``with``), so it can stand where a ``threading.Lock`` is expected.

Example::

    with Session(client, ttl=10) as session:
        with Mutex(session, "/locks/report"):
            ...   # only one holder at a time, across processes and languages
"""

from __future__ import annotations

from types import TracebackType

from typing_extensions import Self

from etcd3py._keys import KeyLike
from etcd3py.concurrency._drive import run
from etcd3py.concurrency._mutex import MutexCore
from etcd3py.concurrency.session import Session
from etcd3py.context import Context

__all__ = ["Mutex"]


class Mutex(MutexCore):
    """A lock shared by every process using the same prefix, held by one session at a time.

    One ``Mutex`` object is one would-be holder; use one per thread (or guard it): a
    session may hold one key per prefix, so two Mutex objects of one session on one prefix
    share it, as in Go.

    The lock protocol: ``with mutex:`` locks and unlocks; :meth:`acquire`, :meth:`release`
    and :meth:`locked` behave as ``threading.Lock``'s, except that :meth:`locked` tells
    whether *this* mutex holds the lock (Go's ownership, not "anyone holds it").
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a mutex on ``pfx``; nothing is sent until :meth:`lock`/:meth:`try_lock`.

        Args:
            session: the session whose lease the lock key is attached to.
            pfx: the lock's name (keys live under ``pfx + "/"``).
        """
        super().__init__(session, pfx)

    @property
    def session(self) -> Session:
        """The session the mutex belongs to."""
        return self._session  # type: ignore[no-any-return]

    def try_lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock if it is free, else fail at once (Go's ``TryLock``).

        Args:
            timeout: seconds for the calls.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Raises:
            LockedError: another session holds the lock (this waiter's key is removed).
            SessionExpiredError: the session has ended.
            EtcdError: a call failed.
        """
        run(self._session.client, self._try_lock(timeout, ctx))

    def lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock, waiting for every earlier waiter to release it (Go's ``Lock``).

        Waits by watching the predecessor's key; waiters are served in the order they asked.
        The wait follows the session: if the session ends meanwhile (closed, orphaned, lease
        lost), the wait ends with :class:`~etcd3py.errors.SessionExpiredError` whose
        ``__cause__`` says why. On any failure this waiter's key is removed.

        Args:
            timeout: seconds to wait at most (``None``: no limit).
            ctx: a Context whose deadline, cancellation and metadata apply (cancel it from
                another thread to give up).

        Raises:
            DeadlineExceededError: ``timeout`` or ``ctx``'s deadline passed.
            CanceledError: ``ctx`` was cancelled.
            SessionExpiredError: the session ended, or its key was lost, while waiting.
            EtcdError: a call failed.
        """
        run(self._session.client, self._lock(timeout, ctx))

    def unlock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Release the lock (or give up a key left by a failed wait): delete this waiter's key.

        Only the key this mutex wrote is deleted, and only if it still has the create
        revision it was written at (a key lost with the session is not touched).

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Raises:
            LockReleasedError: this mutex holds no lock (never locked, or already
                unlocked); nothing is sent.
            EtcdError: the delete failed (the mutex still holds the key; retry, or let the
                session's end remove it).
        """
        run(self._session.client, self._unlock(timeout, ctx))

    # ---- the lock protocol --------------------------------------------------------------

    def acquire(
        self, blocking: bool = True, timeout: float | None = -1, *, ctx: Context | None = None
    ) -> bool:
        """Take the lock as ``threading.Lock.acquire`` does.

        ``blocking=False`` tries once (:meth:`try_lock`); ``timeout=-1`` (or ``None``)
        waits as long as it takes (:meth:`lock`); ``timeout >= 0`` waits at most that long.

        Args:
            blocking: whether to wait for the lock.
            timeout: the longest wait in seconds; -1 for no limit.
            ctx: a Context whose deadline, cancellation and metadata apply; its end is an
                error, not a ``False``.

        Returns:
            ``True`` when the lock was taken; ``False`` when another session holds it
            (``blocking=False``) or ``timeout`` passed first.

        Raises:
            InvalidArgumentError: a timeout with ``blocking=False``, or a negative timeout
                other than -1 (as ``threading``'s ``ValueError``).
            CanceledError: ``ctx`` was cancelled.
            DeadlineExceededError: ``ctx``'s deadline passed.
            SessionExpiredError: the session ended.
            EtcdError: a call failed.
        """
        return run(self._session.client, self._acquire(blocking, timeout, ctx))

    def release(self) -> None:
        """Release the lock (:meth:`unlock`), as ``threading.Lock.release`` does.

        Raises:
            LockReleasedError: this mutex holds no lock (``threading`` raises
                ``RuntimeError`` there).
            EtcdError: the delete failed.
        """
        self.unlock()

    def __enter__(self) -> Self:
        self.lock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()
