"""Mutex for asyncio: the distributed lock of :mod:`etcd3py.concurrency.mutex`, awaited.

Owns the asyncio :class:`Mutex`, the twin of :class:`etcd3py.concurrency.Mutex` with the
same body (:class:`~etcd3py.concurrency._mutex.MutexCore`): the same key layout and revision
order, so that it excludes sync Mutexes, Go programs and ``etcdctl lock`` on the same name.
A task cancelled while it waits for the lock withdraws its key before the cancellation goes
on (the withdrawal is bounded by the session's TTL).

Example::

    async with Session(client, ttl=10) as session:
        async with Mutex(session, "/locks/report"):
            ...   # only one holder at a time, across processes, faces and languages
"""

from __future__ import annotations

from types import TracebackType

from typing_extensions import Self

from etcd3py._keys import KeyLike
from etcd3py.aio.concurrency._drive import run
from etcd3py.aio.concurrency.session import Session
from etcd3py.concurrency._mutex import MutexCore
from etcd3py.context import Context

__all__ = ["Mutex"]


class Mutex(MutexCore):
    """A lock shared by every holder using the same prefix; see the sync Mutex.

    ``async with mutex:`` locks and unlocks; :meth:`acquire`, :meth:`release` and
    :meth:`locked` follow ``asyncio.Lock`` where it agrees with ``threading.Lock``.
    One ``Mutex`` object is one would-be holder: use it from one task at a time.
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a mutex on ``pfx`` (no I/O); see :class:`etcd3py.concurrency.Mutex`."""
        super().__init__(session, pfx)

    @property
    def session(self) -> Session:
        """The session the mutex belongs to."""
        return self._session  # type: ignore[no-any-return]

    async def try_lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock if free, else fail; see :meth:`etcd3py.concurrency.Mutex.try_lock`."""
        await run(self._session.client, self._try_lock(timeout, ctx))

    async def lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock, waiting in turn; see :meth:`etcd3py.concurrency.Mutex.lock`.

        Cancelling the awaiting task gives up the wait: the waiter's key is removed, then
        ``CancelledError`` goes on.
        """
        await run(self._session.client, self._lock(timeout, ctx))

    async def unlock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Release the lock; see :meth:`etcd3py.concurrency.Mutex.unlock`."""
        await run(self._session.client, self._unlock(timeout, ctx))

    async def acquire(
        self, blocking: bool = True, timeout: float | None = -1, *, ctx: Context | None = None
    ) -> bool:
        """Take the lock, lock-protocol style; see :meth:`etcd3py.concurrency.Mutex.acquire`."""
        return await run(self._session.client, self._acquire(blocking, timeout, ctx))

    async def release(self) -> None:
        """Release the lock (:meth:`unlock`); see :meth:`etcd3py.concurrency.Mutex.release`."""
        await self.unlock()

    async def __aenter__(self) -> Self:
        await self.lock()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.unlock()
