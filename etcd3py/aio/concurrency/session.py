"""Session for asyncio: a lease kept alive while a task takes part in a recipe.

Owns the asyncio :class:`Session`, the twin of :class:`etcd3py.concurrency.Session` over
:class:`etcd3py.aio.Client`, with the same body
(:class:`~etcd3py.concurrency._session.SessionCore`): the same lease, keep-alive, context and
errors. Making one does no I/O; the lease is granted when it is entered (``async with``) or
awaited (``session = await Session(client)``). Its keep-alive runs on the client's one
keep-alive stream task: no task of its own.

Example::

    async with Session(client, ttl=10) as session:
        async with Mutex(session, "/locks/job"):
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from etcd3py._ints import LeaseLike
from etcd3py.aio.concurrency._drive import run
from etcd3py.concurrency._session import DEFAULT_SESSION_TTL, SessionCore
from etcd3py.context import Context

if TYPE_CHECKING:
    from etcd3py.aio.client import Client

__all__ = [
    "DEFAULT_SESSION_TTL",
    "Session",
]


class Session(SessionCore):
    """A lease kept alive until :meth:`close`, or until it is lost; see the sync Session.

    Use it as ``async with Session(client) as session:`` (closed on exit), or
    ``session = await Session(client)`` then ``await session.close()``. Before either, it
    holds no lease: :attr:`lease` and :attr:`ctx` raise :class:`~etcd3py.errors.EtcdError`.
    Use it on the event loop of its client.
    """

    def __init__(
        self,
        client: Client,
        ttl: int = DEFAULT_SESSION_TTL,
        *,
        lease: LeaseLike = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> None:
        """Check the arguments; the lease is granted (or adopted) on entry or await.

        See :class:`etcd3py.concurrency.Session` for the arguments; ``timeout`` and ``ctx``
        apply to the grant made on entry.

        Raises:
            ArgumentTypeError: ``ttl`` or ``lease`` is not an int (or a grant response).
            InvalidArgumentError: ``ttl`` or ``lease`` is out of range.
        """
        super().__init__(client, ttl, lease=lease, timeout=timeout, ctx=ctx)
        self._opening = asyncio.Lock()  # one grant however many tasks start it

    @property
    def client(self) -> Client:
        """The client the session runs on."""
        return self._client  # type: ignore[no-any-return]

    async def _start(self) -> Self:
        async with self._opening:
            await run(self._client, self._open())
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        """Grant the lease (or adopt it) and start keeping it alive; idempotent.

        Raises:
            DeadlineExceededError: the grant did not complete in time.
            CanceledError: ``ctx`` was cancelled during the grant.
            EtcdError: granting the lease failed.
        """
        return self._start().__await__()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the session ends; see :meth:`etcd3py.concurrency.Session.wait`."""
        loop, ended = asyncio.get_running_loop(), asyncio.Event()

        def wake() -> None:  # the session's context may end on any thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(ended.set)

        unregister = self.ctx.add_done_callback(wake)
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ended.wait(), timeout)
        finally:
            unregister()
        return self.done

    async def close(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """End the session and revoke its lease; see :meth:`etcd3py.concurrency.Session.close`."""
        try:
            await run(self._client, self._close(timeout, ctx))
        finally:
            if self._keep_alive is not None:  # ended with ctx already: await its end
                await self._keep_alive.close()

    async def __aenter__(self) -> Self:
        return await self._start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
