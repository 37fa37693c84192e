"""The asyncio namespace watcher: :class:`etcd3py.namespace.NamespaceWatcher`'s rules, awaited.

The range is mapped by :func:`etcd3py.namespace._prefix.namespace_watch` and the responses
stripped by ``unprefix_watch_response``, as in the sync face; what was opened through the
wrapper is kept in the same :class:`~etcd3py.namespace._owned.Owned` set. The wrapped
watcher is used through its public methods only, so namespaces nest.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from types import TracebackType
from typing import Any

from typing_extensions import Self

from etcd3py._keys import KeyLike, to_bytes
from etcd3py.aio.watch import WatchCallback, WatchChan, Watcher, WatchHandle
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError
from etcd3py.namespace._owned import Owned
from etcd3py.namespace._prefix import namespace_watch, unprefix_watch_response
from etcd3py.watch import WatchOptions, WatchResponse

__all__ = ["NamespaceWatcher"]


class _NamespaceWatchChan(WatchChan):
    """An asyncio chan over another one whose responses lose the namespace prefix.

    Every method goes to the wrapped chan's public one; errors pass through unchanged.
    """

    def __init__(self, inner: WatchChan, prefix: bytes) -> None:  # not the base's: no driver
        self._inner = inner
        self._prefix = prefix

    def __await__(self) -> Generator[Any, None, Self]:
        return self._registered().__await__()

    async def _registered(self) -> Self:
        await self._inner
        return self

    async def __anext__(self) -> WatchResponse:
        return unprefix_watch_response(self._prefix, await self._inner.__anext__())

    async def get(self, timeout: float | None = None) -> WatchResponse | None:
        """See :meth:`etcd3py.aio.watch.WatchChan.get`; the keys lose the prefix."""
        response = await self._inner.get(timeout)
        return None if response is None else unprefix_watch_response(self._prefix, response)

    def err(self) -> BaseException | None:
        """See :meth:`etcd3py.aio.watch.WatchChan.err`."""
        return self._inner.err()

    @property
    def done(self) -> bool:
        """See :attr:`etcd3py.aio.watch.WatchChan.done`."""
        return self._inner.done

    async def close(self) -> None:
        """See :meth:`etcd3py.aio.watch.WatchChan.close`."""
        await self._inner.close()

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
        return f"NamespaceWatchChan(prefix={self._prefix!r}, {self._inner!r})"


class NamespaceWatcher(Watcher):
    """An asyncio watcher whose watches see only the keys under a prefix, without it."""

    def __init__(self, watcher: Watcher, prefix: KeyLike) -> None:
        """Wrap ``watcher``.

        Args:
            watcher: the asyncio watcher the watches are made on (it stays the caller's).
            prefix: the namespace prefix (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``watcher`` is not an asyncio Watcher, or ``prefix`` not
                ``str``/``bytes``.
        """
        if not isinstance(watcher, Watcher):
            raise ArgumentTypeError(
                f"new_watcher takes an asyncio Watcher, not {type(watcher).__name__}"
            )
        self._watcher = watcher
        self._prefix = to_bytes(prefix, "prefix")
        self._owned: Owned[WatchChan | WatchHandle] = Owned("namespaced watcher")

    @property
    def prefix(self) -> bytes:
        """The namespace prefix."""
        return self._prefix

    def open_watch(
        self, key: KeyLike, options: WatchOptions, *, timeout: float | None, ctx: Context | None
    ) -> WatchChan:
        """Watch inside the namespace; see :meth:`etcd3py.namespace.NamespaceWatcher.open_watch`."""
        self._owned.check_open()
        begin, mapped = namespace_watch(self._prefix, key, options)
        inner = self._watcher.open_watch(begin, mapped, timeout=timeout, ctx=ctx)
        chan = _NamespaceWatchChan(inner, self._prefix)
        if not self._owned.add(chan):  # pragma: no cover - closed between check and add
            raise self._owned.refused()
        return chan

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
        """Watch inside the namespace with a callback (plain or async); see the sync one."""
        self._owned.check_open()
        begin, mapped = namespace_watch(self._prefix, key, options)
        namespace = self._prefix

        async def on_response(response: WatchResponse) -> None:
            result = callback(unprefix_watch_response(namespace, response))
            if inspect.isawaitable(result):
                await result

        handle = await self._watcher.open_watch_callback(
            begin, on_response, mapped, timeout=timeout, ctx=ctx, wait=wait
        )
        if not self._owned.add(handle):  # closed while the watch was being made
            await handle.close()
            raise self._owned.refused()
        return handle

    async def request_progress(self, ctx: Context | None = None) -> None:
        """Ask for a progress notification on the stream of ``ctx`` (shared: see the sync)."""
        self._owned.check_open()
        await self._watcher.request_progress(ctx)

    async def close(self) -> None:
        """End every watch opened through this wrapper and refuse new ones. Idempotent."""
        for item in self._owned.close():
            await item.close()

    def __repr__(self) -> str:
        return f"NamespaceWatcher(prefix={self._prefix!r}, watcher={self._watcher!r})"
