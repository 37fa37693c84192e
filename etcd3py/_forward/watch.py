"""The ``Client`` methods that forward to ``client.watcher``."""

from __future__ import annotations

from typing_extensions import Unpack

from etcd3py._keys import KeyLike
from etcd3py.context import Context
from etcd3py.watch import WatchCallback, WatchChan, Watcher, WatchHandle, WatchOptions

__all__ = ["WatchMethods"]


class WatchMethods:
    """The Watch methods of a client.

    Each method looks ``self.watcher`` up on every call, so replacing ``client.watcher`` changes
    what it does, as in clientv3.
    """

    watcher: Watcher

    def watch(
        self,
        key: KeyLike,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        **opts: Unpack[WatchOptions],
    ) -> WatchChan:
        """Watch a key or a range: ``client.watcher.watch``; see :meth:`Watcher.watch`.

        Args:
            key: the key, or the start of the range.
            ctx: the context (watches of one context share one stream).
            **opts: see :class:`~etcd3py.watch.WatchOptions`.

        Returns:
            A blocking iterator of :class:`~etcd3py.watch.WatchResponse`; a watch that ends
            for any reason but its ``close()`` yields its last response with ``err()`` set
            and the next iteration raises that error.
        """
        return self.watcher.watch(key, timeout=timeout, ctx=ctx, **opts)

    def add_watch_callback(
        self,
        key: KeyLike,
        callback: WatchCallback,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        wait: bool = True,
        **opts: Unpack[WatchOptions],
    ) -> WatchHandle:
        """Watch with a callback: ``client.watcher.add_watch_callback``.

        Args:
            key: the key, or the start of the range.
            callback: called with each :class:`~etcd3py.watch.WatchResponse`, in order, on
                the stream's dispatcher thread.
            ctx: the context (watches of one context share one stream).
            wait: wait for the server to register a "from now" watch (``False``: return at
                once, to make many; see :meth:`Watcher.add_watch_callback`).
            **opts: see :class:`~etcd3py.watch.WatchOptions`.

        Returns:
            A handle whose ``close()`` cancels the watch.
        """
        return self.watcher.add_watch_callback(
            key, callback, timeout=timeout, ctx=ctx, wait=wait, **opts
        )

    def request_progress(self, ctx: Context | None = None) -> None:
        """Ask for a progress notification: ``client.watcher.request_progress``.

        Args:
            ctx: the context whose stream is asked (``None``: the background context); every
                watch of that stream receives the notification.
        """
        self.watcher.request_progress(ctx)
