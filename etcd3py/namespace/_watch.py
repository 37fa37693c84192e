"""The namespace watcher: a :class:`~etcd3py.watch.Watcher` whose watches live under a prefix.

Owns :class:`NamespaceWatcher` (clientv3 ``namespace/watch.go``). Each watch's key range is
mapped into the namespace by the same rules as the namespace KV, and the watch is made on the
wrapped watcher: namespaced watches share its streams and multiplexer, and resume after a
stream break like any other. The events' ``kv`` and ``prev_kv`` lose the prefix as the user
takes them; no thread is added.

Closing differs from clientv3 on purpose: :meth:`NamespaceWatcher.close` ends the watches
opened through this wrapper only, never the wrapped watcher (which its client owns).
"""

from __future__ import annotations

from etcd3py._keys import KeyLike, to_bytes
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError
from etcd3py.namespace._owned import Owned
from etcd3py.namespace._prefix import namespace_watch, unprefix_watch_response
from etcd3py.watch import (
    WatchCallback,
    WatchChan,
    Watcher,
    WatchHandle,
    WatchOptions,
    WatchResponse,
)


class _NamespaceWatchChan(WatchChan):
    """A :class:`WatchChan` over another chan whose responses lose the namespace prefix.

    It uses the wrapped chan through its public methods only, so namespaces nest: the chan
    of a namespace of a namespace strips both prefixes, the inner one first. Errors pass
    through unchanged (the wrapped chan raises them); dropping this chan drops the wrapped
    one, which cancels the watch.
    """

    def __init__(self, inner: WatchChan, prefix: bytes) -> None:
        super().__init__(None)
        self._inner = inner
        self._prefix = prefix

    def __next__(self) -> WatchResponse:
        return unprefix_watch_response(self._prefix, next(self._inner))

    def get(self, timeout: float | None = None) -> WatchResponse | None:
        """See :meth:`etcd3py.watch.WatchChan.get`; the keys lose the namespace prefix."""
        response = self._inner.get(timeout)
        return None if response is None else unprefix_watch_response(self._prefix, response)

    def err(self) -> BaseException | None:
        """See :meth:`etcd3py.watch.WatchChan.err`."""
        return self._inner.err()

    @property
    def done(self) -> bool:
        """See :attr:`etcd3py.watch.WatchChan.done`."""
        return self._inner.done

    def close(self) -> None:
        """See :meth:`etcd3py.watch.WatchChan.close`."""
        self._inner.close()

    def __repr__(self) -> str:
        return f"NamespaceWatchChan(prefix={self._prefix!r}, {self._inner!r})"


class NamespaceWatcher(Watcher):
    """A watcher whose watches see only the keys under a prefix, without the prefix."""

    def __init__(self, watcher: Watcher, prefix: KeyLike) -> None:
        """Wrap ``watcher``.

        Args:
            watcher: the watcher the watches are made on (it stays the caller's).
            prefix: the namespace prefix (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``watcher`` is not a Watcher, or ``prefix`` not ``str``/``bytes``.
        """
        if not isinstance(watcher, Watcher):
            raise ArgumentTypeError(f"new_watcher takes a Watcher, not {type(watcher).__name__}")
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
        """Watch a key or a range inside the namespace; see :meth:`Watcher.open_watch`.

        Returns:
            The watch; its events' keys are stripped of the namespace prefix.

        Raises:
            ClientClosedError: this watcher (or the wrapped one) is closed.
        """
        self._owned.check_open()
        begin, mapped = namespace_watch(self._prefix, key, options)
        inner = self._watcher.open_watch(begin, mapped, timeout=timeout, ctx=ctx)
        chan = _NamespaceWatchChan(inner, self._prefix)
        self._track(chan)
        return chan

    def open_watch_callback(
        self,
        key: KeyLike,
        callback: WatchCallback,
        options: WatchOptions,
        *,
        timeout: float | None,
        ctx: Context | None,
        wait: bool,
    ) -> WatchHandle:
        """Watch inside the namespace with a callback; see :meth:`Watcher.open_watch_callback`.

        Returns:
            A handle whose ``close()`` cancels the watch; the callback receives responses
            whose keys are stripped of the namespace prefix.

        Raises:
            ClientClosedError: this watcher (or the wrapped one) is closed.
        """
        self._owned.check_open()
        begin, mapped = namespace_watch(self._prefix, key, options)
        namespace = self._prefix

        def on_response(response: WatchResponse) -> None:
            callback(unprefix_watch_response(namespace, response))

        handle = self._watcher.open_watch_callback(
            begin, on_response, mapped, timeout=timeout, ctx=ctx, wait=wait
        )
        self._track(handle)
        return handle

    def request_progress(self, ctx: Context | None = None) -> None:
        """Ask for a progress notification on the stream of ``ctx``; see the base.

        The stream is shared with the wrapped watcher: its other watches get one too.

        Raises:
            ClientClosedError: this watcher (or the wrapped one) is closed.
        """
        self._owned.check_open()
        self._watcher.request_progress(ctx)

    def close(self) -> None:
        """End every watch opened through this wrapper and refuse new ones. Idempotent.

        The wrapped watcher and its other watches go on. A watch ended here ends as after
        its own ``close()``: the iteration stops, no further callback starts.
        """
        for item in self._owned.close():
            item.close()

    def _track(self, opened: WatchChan | WatchHandle) -> None:
        if not self._owned.add(opened):  # closed while the watch was being made
            opened.close()
            raise self._owned.refused()

    def __repr__(self) -> str:
        return f"NamespaceWatcher(prefix={self._prefix!r}, watcher={self._watcher!r})"
