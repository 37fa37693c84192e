"""The ``Client`` methods that forward to ``client.watcher``."""

from __future__ import annotations

from etcd3py._keys import KeyLike
from etcd3py.context import Context
from etcd3py.watch import WatchCallback, WatchChan, Watcher, WatchHandle

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
        """Watch a key or a range: ``client.watcher.watch``; see :meth:`Watcher.watch`.

        Args:
            key: the key, or the start of the range.
            ctx: the context (watches of one context share one stream).
            prefix: watch every key starting with the key (the empty key: every key).
            range_end: watch the keys in ``[key, range_end)``.
            from_key: watch every key ``>= key`` (the empty key: every key).
            rev: replay history from this revision (0: from now on).
            prev_kv: events carry the key-value before the change.
            filter_put: drop PUT events (etcd's ``NOPUT`` filter).
            filter_delete: drop DELETE events (``NODELETE``).
            progress_notify: the server sends empty responses now and then (its interval).
            created_notify: deliver the server's ``created`` response to the user too.
            fragment: let the server split huge responses (joined again before delivery).

        Returns:
            A blocking iterator of :class:`~etcd3py.watch.WatchResponse`; a watch that ends
            for any reason but its ``close()`` yields its last response with ``err()`` set
            and the next iteration raises that error.
        """
        return self.watcher.watch(
            key,
            prefix=prefix,
            range_end=range_end,
            from_key=from_key,
            rev=rev,
            prev_kv=prev_kv,
            filter_put=filter_put,
            filter_delete=filter_delete,
            progress_notify=progress_notify,
            created_notify=created_notify,
            fragment=fragment,
            timeout=timeout,
            ctx=ctx,
        )

    def add_watch_callback(
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
        """Watch with a callback: ``client.watcher.add_watch_callback``.

        Args:
            key: the key, or the start of the range.
            callback: called with each :class:`~etcd3py.watch.WatchResponse`, in order, on
                the stream's dispatcher thread.
            ctx: the context (watches of one context share one stream).
            wait: wait for the server to register a "from now" watch (``False``: return at
                once, to make many; see :meth:`Watcher.add_watch_callback`).
            prefix: watch every key starting with the key (the empty key: every key).
            range_end: watch the keys in ``[key, range_end)``.
            from_key: watch every key ``>= key`` (the empty key: every key).
            rev: replay history from this revision (0: from now on).
            prev_kv: events carry the key-value before the change.
            filter_put: drop PUT events (etcd's ``NOPUT`` filter).
            filter_delete: drop DELETE events (``NODELETE``).
            progress_notify: the server sends empty responses now and then (its interval).
            created_notify: deliver the server's ``created`` response to the user too.
            fragment: let the server split huge responses (joined again before delivery).

        Returns:
            A handle whose ``close()`` cancels the watch.
        """
        return self.watcher.add_watch_callback(
            key,
            callback,
            prefix=prefix,
            range_end=range_end,
            from_key=from_key,
            rev=rev,
            prev_kv=prev_kv,
            filter_put=filter_put,
            filter_delete=filter_delete,
            progress_notify=progress_notify,
            created_notify=created_notify,
            fragment=fragment,
            timeout=timeout,
            ctx=ctx,
            wait=wait,
        )

    def request_progress(self, ctx: Context | None = None) -> None:
        """Ask for a progress notification: ``client.watcher.request_progress``.

        Args:
            ctx: the context whose stream is asked (``None``: the background context); every
                watch of that stream receives the notification.
        """
        self.watcher.request_progress(ctx)
