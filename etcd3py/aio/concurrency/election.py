"""Election for asyncio: the leader election of :mod:`etcd3py.concurrency.election`, awaited.

Owns the asyncio :class:`Election` and :class:`Observer`, twins of the sync ones with the
same body (:mod:`etcd3py.concurrency._election`): the same keys and revision order, so that
sync and asyncio candidates, Go programs and ``etcdctl elect`` share one election. A task
cancelled while it campaigns resigns (removes its key) before the cancellation goes on.

Example::

    async with Session(client, ttl=10) as session:
        election = Election(session, "/election/scheduler")
        await election.campaign("node-1")       # returns once this node leads
        async with election.observe() as leaders:
            async for kv in leaders:
                ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType

from typing_extensions import Self

from etcd3py._keys import KeyLike
from etcd3py._responses import GetResponse
from etcd3py.aio.concurrency._drive import close_leftovers, drive, run
from etcd3py.aio.concurrency.session import Session
from etcd3py.concurrency._election import ElectionCore, ObserverCore
from etcd3py.context import Context
from etcd3py.models import KeyValue

__all__ = ["Election", "Observer"]


class Election(ElectionCore):
    """One candidate in the election on a prefix; see the sync Election.

    One ``Election`` object is one candidate: use it from one task at a time.
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a candidate on ``pfx`` (no I/O); see :class:`etcd3py.concurrency.Election`."""
        super().__init__(session, pfx)

    @classmethod
    def resume(cls, session: Session, pfx: KeyLike, leader_key: KeyLike, leader_rev: int) -> Self:
        """Return a leading candidate; see :meth:`etcd3py.concurrency.Election.resume`."""
        return cls._resumed(session, pfx, leader_key, leader_rev)

    async def campaign(
        self, value: KeyLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> None:
        """Stand with ``value`` until leading; see :meth:`etcd3py.concurrency.Election.campaign`.

        Cancelling the awaiting task gives up: the candidate resigns, then
        ``CancelledError`` goes on.
        """
        await run(self._session.client, self._campaign(value, timeout, ctx))

    async def proclaim(
        self, value: KeyLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> None:
        """Announce a new value as leader; see :meth:`etcd3py.concurrency.Election.proclaim`."""
        await run(self._session.client, self._proclaim(value, timeout, ctx))

    async def resign(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Give up leadership or candidacy; see :meth:`etcd3py.concurrency.Election.resign`."""
        await run(self._session.client, self._resign(timeout, ctx))

    async def leader(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> GetResponse:
        """Read the current leader; see :meth:`etcd3py.concurrency.Election.leader`."""
        return await run(self._session.client, self._leader(timeout, ctx))

    def observe(self, *, timeout: float | None = None, ctx: Context | None = None) -> Observer:
        """Follow the leadership; see :meth:`etcd3py.concurrency.Election.observe`.

        Returns:
            An async iterator of the leader's :class:`~etcd3py.models.KeyValue` and an async
            context manager; ``await close()`` it to stop. No I/O until iterated.
        """
        return Observer(self._session, self._pfx, timeout, ctx)


class Observer(ObserverCore):
    """The leaders of an election as an async iterator of :class:`~etcd3py.models.KeyValue`.

    As the sync :class:`~etcd3py.concurrency.Observer`: the current leader first, then each
    value it proclaims, then the next leader, and so on. It ends cleanly
    (``StopAsyncIteration``) only after :meth:`close` (or leaving its ``async with``); ended
    by anything else (its context, the session's end, a watch error, the client closing),
    the next iteration raises why, and so does every one after it. Cancelling the task that
    iterates ends the observation; a dropped observer ends its watches.
    """

    def __aiter__(self) -> AsyncIterator[KeyValue]:
        return self

    async def __anext__(self) -> KeyValue:
        self._running(StopAsyncIteration)
        try:
            return self._item(await drive(self._pump))
        except Exception as exc:
            raise self._failed(exc, StopAsyncIteration)  # noqa: B904 (the cause is set if any)

    async def close(self) -> None:
        """Stop observing: an iteration in progress ends cleanly, the watches close."""
        self._end()
        await close_leftovers(self._pump, force=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
