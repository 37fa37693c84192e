"""The asyncio Watch concern: :class:`Watcher`, :class:`GrpcWatcher`, and what users hold.

The same options, checks, views and guarantees as :mod:`etcd3py.watch` (every event once,
in order, across stream breaks; an end for any reason but the owner's close yields a last
response whose ``err()`` says why, and the next iteration raises it), driven by the same
:class:`~etcd3py._watch_mux.WatchMux` through :mod:`etcd3py.aio._watch_stream`: one task per
stream (one per :class:`~etcd3py.Context` with live watches), never one per watch.

Example::

    async with client.watch("/jobs/", prefix=True) as chan:   # registered on entry
        async for wresp in chan:
            for ev in wresp.events:
                print(ev.type.name, ev.kv.key, ev.kv.value)

:meth:`Watcher.watch` returns its :class:`WatchChan` at once (no I/O to wait for): awaiting
the chan, or entering it, waits until the server registered a "from now" watch. Cancelling a
task that awaits or iterates a chan cancels that watch alone. A chan garbage collected
without :meth:`WatchChan.close` is cancelled on the server soon after.
"""

from __future__ import annotations

import abc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from etcd3py._keys import KeyLike
from etcd3py._watch_views import Event, WatchResponse
from etcd3py.context import Context
from etcd3py.errors import ClientClosedError
from etcd3py.watch import (
    WatchOptions,
    _check_callback,
    _check_settings,
    _context,
    _options,
    _watch_args,
)

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport
    from etcd3py.aio._watch_stream import AioStreamRegistry, AioSubscription

__all__ = ["Event", "GrpcWatcher", "WatchChan", "WatchHandle", "WatchResponse", "Watcher"]

#: A watch callback: a plain function, or one returning an awaitable (awaited in order).
WatchCallback = Callable[[WatchResponse], "Awaitable[None] | None"]


class WatchChan:
    """A watch as an awaitable, an async iterator of :class:`WatchResponse` and an async
    context manager; see :class:`etcd3py.watch.WatchChan` for the rules.

    ``await chan`` (and ``async with chan``) waits until the server registered a "from now"
    watch and gives the chan back. Cancelling a task awaiting or iterating it closes this
    watch alone. Use it on the loop that made it.
    """

    __slots__ = ("__weakref__", "_finalizer", "_sub")

    def __init__(self, subscription: AioSubscription) -> None:
        """Wrap the driver's subscription; made by :meth:`Watcher.watch`, not by users.

        Args:
            subscription: the buffer the stream fills for this watch.
        """
        self._sub = subscription
        # Dropped without close(): the finalizer (holding the subscription, never this chan)
        # only schedules the cancel on the loop.
        self._finalizer = weakref.finalize(self, subscription.drop)
        self._finalizer.atexit = False

    def __await__(self) -> Generator[Any, None, Self]:
        return self._registered().__await__()

    async def _registered(self) -> Self:
        await self._sub.wait_registered()
        return self

    def __aiter__(self) -> AsyncIterator[WatchResponse]:
        return self

    async def __anext__(self) -> WatchResponse:
        response = await self._sub.next(None)
        if response is None:
            raise StopAsyncIteration
        return response

    async def get(self, timeout: float | None = None) -> WatchResponse | None:
        """Return the next response, waiting at most ``timeout`` seconds; see
        :meth:`etcd3py.watch.WatchChan.get`."""
        return await self._sub.next(timeout)

    def err(self) -> BaseException | None:
        """Return the error that ended the watch (None while it lives or after close())."""
        return self._sub.end_error

    @property
    def done(self) -> bool:
        """Return whether the watch ended and every response was taken."""
        return self._sub.exhausted

    async def close(self) -> None:
        """Cancel this watch alone (the server is told) and end the iteration. Idempotent."""
        self._finalizer.detach()
        self._sub.close_now()

    async def __aenter__(self) -> Self:
        return await self._registered()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"WatchChan({self._sub!r})"


class WatchHandle:
    """A watch whose responses go to a callback; see :class:`etcd3py.watch.WatchHandle`."""

    __slots__ = ("__weakref__", "_sub")

    def __init__(self, subscription: AioSubscription) -> None:
        """Wrap the driver's subscription; made by :meth:`Watcher.add_watch_callback`.

        Args:
            subscription: the driver's record of this watch.
        """
        self._sub = subscription

    async def close(self) -> None:
        """Cancel the watch; no further callback of it starts. Idempotent."""
        self._sub.close_now()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the watch ended and its last callback ran; see
        :meth:`etcd3py.watch.WatchHandle.wait`."""
        return await self._sub.wait_finished(timeout)

    @property
    def done(self) -> bool:
        """Return whether the watch ended and its last callback ran."""
        return self._sub.exhausted

    def __repr__(self) -> str:
        return f"WatchHandle({self._sub!r})"


class Watcher(abc.ABC):
    """Watches of keys and ranges, awaited; see :class:`etcd3py.watch.Watcher`."""

    def watch(
        self,
        key: KeyLike,
        *,
        prefix: bool = False,
        range_end: KeyLike | None = None,
        from_key: bool = False,
        rev: int = 0,
        prev_kv: bool = False,
        filter_put: bool = False,
        filter_delete: bool = False,
        progress_notify: bool = False,
        created_notify: bool = False,
        fragment: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> WatchChan:
        """Watch a key or a range; see :meth:`etcd3py.watch.Watcher.watch`.

        Returns:
            The chan, at once: ``await`` it (or enter it) to wait until the server
            registered a "from now" watch.
        """
        return self.open_watch(key, _options(locals()), timeout=timeout, ctx=ctx)

    async def add_watch_callback(
        self,
        key: KeyLike,
        callback: WatchCallback,
        *,
        prefix: bool = False,
        range_end: KeyLike | None = None,
        from_key: bool = False,
        rev: int = 0,
        prev_kv: bool = False,
        filter_put: bool = False,
        filter_delete: bool = False,
        progress_notify: bool = False,
        created_notify: bool = False,
        fragment: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
        wait: bool = True,
    ) -> WatchHandle:
        """Watch with a callback; see :meth:`etcd3py.watch.Watcher.add_watch_callback`.

        Args:
            callback: a plain function (called) or a coroutine function (awaited); the
                callbacks of one stream run in order on its dispatcher task.
        """
        _check_callback(callback, wait)
        return await self.open_watch_callback(
            key, callback, _options(locals()), timeout=timeout, ctx=ctx, wait=wait
        )

    @abc.abstractmethod
    def open_watch(
        self, key: KeyLike, options: WatchOptions, *, timeout: float | None, ctx: Context | None
    ) -> WatchChan:
        """What :meth:`watch` does, its options in one :class:`~etcd3py.watch.WatchOptions`:
        the hook a watcher implements; see :meth:`etcd3py.watch.Watcher.open_watch`."""

    @abc.abstractmethod
    async def open_watch_callback(
        self,
        key: KeyLike,
        callback: WatchCallback,
        options: WatchOptions,
        *,
        timeout: float | None,
        ctx: Context | None,
        wait: bool,
    ) -> WatchHandle:
        """What :meth:`add_watch_callback` does, its options in one ``WatchOptions``: the
        hook a watcher implements; see :meth:`etcd3py.watch.Watcher.open_watch_callback`."""

    @abc.abstractmethod
    async def request_progress(self, ctx: Context | None = None) -> None:
        """Ask for a progress notification; see :meth:`etcd3py.watch.Watcher.request_progress`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """End every watch (``err()``: ``ClientClosedError``) and every stream, and await
        their tasks. Idempotent."""


class GrpcWatcher(Watcher):
    """The aio watcher of a client: one :mod:`etcd3py.aio._watch_stream` stream per context.

    Tasks: one per live stream, plus one callback dispatcher per stream that has callbacks;
    never one per watch. A stream with no live watch closes and its tasks end.
    """

    def __init__(
        self, transport: AioTransport, *, buffer_limit: int = 1000, create_window: int = 1
    ) -> None:
        """Create the watcher; see :class:`etcd3py.watch.GrpcWatcher`.

        Args:
            transport: the client's asyncio connection.
            buffer_limit: responses a watch may hold unconsumed before it is paused.
            create_window: create requests one stream may have in flight at once.

        Raises:
            ArgumentTypeError: a setting is not an int.
            InvalidArgumentError: a setting is below 1.
        """
        _check_settings(buffer_limit, create_window)
        self._transport = transport
        self._buffer_limit = buffer_limit
        self._create_window = create_window
        self._registry: AioStreamRegistry | None = None

    @property
    def _streams(self) -> AioStreamRegistry:
        if self._registry is None:
            from etcd3py.aio._watch_stream import AioStreamRegistry

            self._registry = AioStreamRegistry(
                self._transport,
                buffer_limit=self._buffer_limit,
                create_window=self._create_window,
            )
        return self._registry

    def open_watch(
        self, key: KeyLike, options: WatchOptions, *, timeout: float | None, ctx: Context | None
    ) -> WatchChan:
        """See :meth:`Watcher.open_watch`."""
        spec, ctx, owned = _watch_args(key, options, timeout, ctx)
        return WatchChan(self._streams.subscribe(spec, ctx, None, True, owned=owned))

    async def open_watch_callback(
        self,
        key: KeyLike,
        callback: WatchCallback,
        options: WatchOptions,
        *,
        timeout: float | None,
        ctx: Context | None,
        wait: bool,
    ) -> WatchHandle:
        """See :meth:`Watcher.open_watch_callback`."""
        spec, ctx, owned = _watch_args(key, options, timeout, ctx)
        sub = self._streams.subscribe(spec, ctx, callback, wait, owned=owned)
        await sub.wait_registered()
        return WatchHandle(sub)

    async def request_progress(self, ctx: Context | None = None) -> None:
        """See :meth:`Watcher.request_progress`."""
        self._streams.request_progress(_context(ctx))

    async def close(self) -> None:
        """See :meth:`Watcher.close`."""
        if self._registry is not None:
            await self._registry.close(ClientClosedError("etcd3py: the client is closed"))

    @property
    def stream_count(self) -> int:
        """How many gRPC watch streams are open (one per context with live watches)."""
        return 0 if self._registry is None else self._registry.stream_count

    @property
    def watch_count(self) -> int:
        """How many watches are live (not ended nor closed) over every stream."""
        return 0 if self._registry is None else self._registry.watch_count
