"""The Watch concern: the :class:`Watcher` base, its gRPC implementation, and what users hold.

Owns the public face of watching: the options (:class:`WatchOptions`, declared once and
validated at the call, before anything is sent), the read-only views :class:`WatchResponse`
and :class:`Event`, the blocking iterator :class:`WatchChan`, the callback
:class:`WatchHandle`, and :class:`GrpcWatcher`, which groups watches by
:class:`~etcd3py.Context` into streams. The protocol logic lives in :mod:`etcd3py._watch_mux`
and the threads and gRPC calls in :mod:`etcd3py._watch_stream`; this module starts no thread.

Example::

    with client.watch("/jobs/", prefix=True, rev=rev) as chan:
        for wresp in chan:
            if wresp.err() is not None:
                raise wresp.err()
            for ev in wresp.events:
                print(ev.type.name, ev.kv.key, ev.kv.value)

Guarantees: every event of a watch reaches its user once, in revision order, across stream
breaks and server restarts (the watch resumes by itself from its next revision), or the watch
ends with a response whose :meth:`WatchResponse.err` says why (a compacted revision, a server
cancel, the context's end, the client's close) and the next iteration raises that error. A
watch never ends silently: only its owner's :meth:`WatchChan.close` (or leaving its ``with``
block) ends the iteration cleanly. A :class:`WatchChan` the program drops is cancelled on the
server once it is garbage collected; a :class:`WatchHandle` lives until its ``close()``.
"""

from __future__ import annotations

import abc
import threading
import weakref
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import Self, TypedDict

from etcd3py._keys import KeyLike
from etcd3py._transport import check_timeout
from etcd3py._watch_mux import WatchSpec
from etcd3py._watch_views import Event, WatchResponse
from etcd3py.context import Context
from etcd3py.errors import (
    ArgumentTypeError,
    ClientClosedError,
    InvalidArgumentError,
)
from etcd3py.op import _check_options, _key_range

if TYPE_CHECKING:
    from etcd3py._transport import Transport
    from etcd3py._watch_stream import StreamRegistry, Subscription

__all__ = [
    "Event",
    "GrpcWatcher",
    "WatchChan",
    "WatchHandle",
    "WatchOptions",
    "WatchResponse",
    "Watcher",
]

_REGISTER_WAKE = 0.2  # seconds watch() sleeps at most while waiting for registration

#: The signature of a watch callback: it receives every response of its watch, in order.
WatchCallback = Callable[["WatchResponse"], None]


class WatchOptions(TypedDict, total=False):
    """Options of a watch (``client.watch``, ``client.add_watch_callback``); keyword-only.

    Attributes:
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
    """

    prefix: bool
    range_end: KeyLike | None
    from_key: bool
    rev: int
    prev_kv: bool
    filter_put: bool
    filter_delete: bool
    progress_notify: bool
    created_notify: bool
    fragment: bool


_OPTIONS = tuple(WatchOptions.__annotations__)  # every option's name, in declaration order
_ALLOWED = frozenset(_OPTIONS)


def _build_spec(key: KeyLike, opts: WatchOptions) -> WatchSpec:
    """Validate a watch's arguments and build what the multiplexer needs.

    Args:
        key: the key, or the start of the range.
        opts: the watch's options.

    Returns:
        The watch spec.

    Raises:
        ArgumentTypeError: an argument of the wrong type, or an unknown option.
        EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
        InvalidArgumentError: conflicting range options, or a negative revision.
    """
    _check_options("watch", opts, _ALLOWED)  # known, each bool a bool, rev an int >= 0
    raw, end = _key_range(key, opts)
    return WatchSpec(
        raw,
        end,
        opts.get("rev", 0),
        opts.get("prev_kv", False),
        opts.get("filter_put", False),
        opts.get("filter_delete", False),
        opts.get("progress_notify", False),
        opts.get("created_notify", False),
        opts.get("fragment", False),
    )


# ---- what users hold ---------------------------------------------------------------------


class WatchChan:
    """A watch as a blocking iterator of :class:`WatchResponse`, and a context manager.

    A watch that ends for any reason but :meth:`close` (a compacted revision, a server
    cancel, its context cancelled or past its deadline, the client closed) yields its last
    response, whose :meth:`WatchResponse.err` says why, and the next iteration raises that
    error (every later one too). Only :meth:`close` (or leaving the ``with`` block) ends the
    iteration cleanly, at once. A blocked iteration wakes several times a second, so Ctrl-C
    interrupts it at once. Iterate from one thread at a time; :meth:`close` may be called from
    any thread. A chan the program drops without closing it (``break`` out of the ``for``,
    then it is garbage collected) is cancelled on the server shortly after, by the stream's
    own threads.
    """

    __slots__ = ("__weakref__", "_finalizer", "_sub")

    def __init__(self, subscription: Subscription | None) -> None:
        """Wrap the driver's subscription; made by :meth:`Watcher.watch`, not by users.

        Args:
            subscription: the buffer the stream fills for this watch (``None`` for a subclass
                that wraps another chan and overrides every method).
        """
        if subscription is None:
            return
        self._sub = subscription
        # Dropped without close(): the subscription is closed by the stream's own threads
        # (the finalizer holds the subscription, never this chan).
        self._finalizer = weakref.finalize(self, subscription.drop)
        self._finalizer.atexit = False

    def __iter__(self) -> Iterator[WatchResponse]:
        return self

    def __next__(self) -> WatchResponse:
        response = self._sub.next(None)
        if response is None:
            raise StopIteration
        return response

    def get(self, timeout: float | None = None) -> WatchResponse | None:
        """Return the next response, waiting at most ``timeout`` seconds.

        Args:
            timeout: seconds to wait (``None``: until one comes or the watch ends).

        Returns:
            The response, or ``None`` when the time ran out or the watch was closed by its
            owner (see :attr:`done`).

        Raises:
            EtcdError: the error that ended the watch (the ``err()`` of its last response),
                once that response was taken; never after :meth:`close`.
        """
        return self._sub.next(timeout)

    def err(self) -> BaseException | None:
        """Return the error that ended the watch (``None`` while it lives, or after ``close()``).

        Set once the watch ended for any reason but its own ``close()``; the iteration
        raises it after the last response.
        """
        return self._sub.end_error

    @property
    def done(self) -> bool:
        """Whether the watch ended and every response was taken."""
        return self._sub.exhausted

    def close(self) -> None:
        """Cancel this watch alone (the server is told) and end the iteration. Idempotent."""
        self._finalizer.detach()
        self._sub.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WatchChan({self._sub!r})"


class WatchHandle:
    """A watch whose responses go to a callback; :meth:`close` cancels it.

    The watch lives until :meth:`close`, its context's end or the client's close: dropping
    the handle does not cancel it (the callback still holds what it needs). A watch that ends
    for any reason but :meth:`close` calls the callback one last time with the response whose
    ``err()`` says why.
    """

    __slots__ = ("__weakref__", "_sub")

    def __init__(self, subscription: Subscription) -> None:
        """Wrap the driver's subscription; made by :meth:`Watcher.add_watch_callback`.

        Args:
            subscription: the driver's record of this watch.
        """
        self._sub = subscription

    def close(self) -> None:
        """Cancel the watch (the server is told); no further callback of it starts.

        A callback already running on the dispatcher thread finishes. Idempotent; may be
        called from any thread, a callback included.
        """
        self._sub.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the watch ended and its last callback ran.

        Args:
            timeout: seconds to wait (``None``: no limit).

        Returns:
            Whether the watch is over.
        """
        return self._sub.wait_finished(timeout)

    @property
    def done(self) -> bool:
        """Whether the watch ended and its last callback ran."""
        return self._sub.exhausted

    def __repr__(self) -> str:
        return f"WatchHandle({self._sub!r})"


class Watcher(abc.ABC):
    """Watches of keys and ranges, as clientv3's ``Watcher`` interface."""

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
        """Watch a key or a range; return a blocking iterator of its responses.

        A watch from "now" (``rev=0``) returns once the server has registered it, as
        clientv3's ``Watch`` does, so every write made after this call returns reaches it
        (while the server is unreachable, the call waits for it, or for ``ctx`` to end).
        A watch with ``rev=`` returns at once: its start is already fixed.

        Args:
            key: the key, or the start of the range.
            timeout: seconds after which the watch ends with ``DeadlineExceededError`` (as a
                ``ctx.with_timeout``: the watch gets a context, and so a stream, of its own;
                give many timed watches one ``with_timeout`` context to share a stream).
            ctx: the context: watches of one context share one gRPC stream; cancelling it
                ends them all (``err()`` is a ``CanceledError``; its deadline ends them with
                ``DeadlineExceededError``); its metadata (e.g. ``require_leader``) is sent.
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
            The watch: a :class:`WatchChan` (an error that ends it is raised by the
            iteration after the response carrying it; see :class:`WatchChan`).

        Raises:
            ArgumentTypeError: an argument of the wrong type, or an unknown option.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options or a negative revision.
            ClientClosedError: the watcher (its client) is closed.
        """
        return self.open_watch(key, _options(locals()), timeout=timeout, ctx=ctx)

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
        """Watch a key or a range; ``callback(wresp)`` receives every response, in order.

        Callbacks of one stream run one at a time on its dispatcher thread, never on the
        gRPC reader thread; a callback may create or close watches. An exception in a
        callback is logged and the watch goes on. A watch that ends for any reason but
        :meth:`WatchHandle.close` gets one last call with the response whose ``err()`` says
        why; it never just goes quiet. The watch lives until :meth:`WatchHandle.close` (or its
        context's end, or the client's close): dropping the handle does not cancel it.

        As :meth:`watch`, a watch from "now" (``rev=0``) returns once the server registered
        it, so every write made after this call returns reaches the callback. ``wait=False``
        returns at once instead, before the server registered the watch, to make thousands
        without a round trip each; then pass ``rev=`` (e.g. a read's
        ``header.revision + 1``), or ``created_notify=True`` to be told when it is registered.

        Args:
            key: the key, or the start of the range.
            callback: called with each :class:`WatchResponse`.
            timeout: seconds after which the watch ends (see :meth:`watch`).
            ctx: the context (see :meth:`watch`).
            wait: wait for the server to register a "from now" watch (ignored with ``rev=``).
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

        Raises:
            ArgumentTypeError: an argument of the wrong type (``wait`` too), or an unknown
                option.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options or a negative revision.
            ClientClosedError: the watcher (its client) is closed.
        """
        _check_callback(callback, wait)
        return self.open_watch_callback(
            key, callback, _options(locals()), timeout=timeout, ctx=ctx, wait=wait
        )

    @abc.abstractmethod
    def open_watch(
        self, key: KeyLike, options: WatchOptions, *, timeout: float | None, ctx: Context | None
    ) -> WatchChan:
        """What :meth:`watch` does, its options gathered in one :class:`WatchOptions`.

        The hook a watcher implements (a wrapper, e.g. a namespace, calls the wrapped
        watcher's): :meth:`watch` declares the options once for every watcher and calls it.

        Args:
            key: the key, or the start of the range.
            options: the watch's options (those not given are absent).
            timeout: seconds after which the watch ends (see :meth:`watch`).
            ctx: the context (see :meth:`watch`).

        Returns:
            The watch, as :meth:`watch` returns it.

        Raises:
            ArgumentTypeError: an argument of the wrong type, or an unknown option.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options or a negative revision.
            ClientClosedError: the watcher (its client) is closed.
        """

    @abc.abstractmethod
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
        """What :meth:`add_watch_callback` does, its options in one :class:`WatchOptions`.

        The hook a watcher implements, as :meth:`open_watch`; ``callback`` is callable and
        ``wait`` a bool (:meth:`add_watch_callback` checked them).

        Returns:
            The handle, as :meth:`add_watch_callback` returns it; errors as :meth:`open_watch`.
        """

    @abc.abstractmethod
    def request_progress(self, ctx: Context | None = None) -> None:
        """Ask the server for a progress notification on the stream of ``ctx``.

        Every watch of that stream receives it (an empty response, ``is_progress_notify()``)
        once the server's watchers are caught up. Nothing happens when ``ctx`` has no stream.

        Args:
            ctx: the context whose stream is asked (``None``: the background context).

        Raises:
            ArgumentTypeError: ``ctx`` is not a Context.
            ClientClosedError: the watcher (its client) is closed.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """End every watch (``err()``: ``ClientClosedError``) and every stream. Idempotent."""


class GrpcWatcher(Watcher):
    """The watcher of a client: one :mod:`etcd3py._watch_stream` stream per context.

    Threads: one reader per live stream, plus one callback dispatcher per stream that has
    callbacks; never one per watch. A stream with no live watch closes and its threads end.
    """

    def __init__(
        self, transport: Transport, *, buffer_limit: int = 1000, create_window: int = 1
    ) -> None:
        """Create the watcher (no stream opens before the first watch).

        Args:
            transport: the client's connection.
            buffer_limit: responses a watch may hold unconsumed before it is paused on the
                server (and resumed, losslessly, once its consumer drained half of them).
            create_window: create requests one stream may have in flight at once (1: only the
                head of the creation queue, as clientv3).

        Raises:
            ArgumentTypeError: a setting is not an int.
            InvalidArgumentError: a setting is below 1.
        """
        _check_settings(buffer_limit, create_window)
        self._transport = transport
        self._buffer_limit = buffer_limit
        self._create_window = create_window
        self._lock = threading.Lock()  # guards the lazy creation of _registry
        self._registry: StreamRegistry | None = None

    @property
    def _streams(self) -> StreamRegistry:
        # The driver is imported on first use: a client that never watches loads none of it.
        with self._lock:
            if self._registry is None:
                from etcd3py._watch_stream import StreamRegistry

                self._registry = StreamRegistry(
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
        sub = self._streams.subscribe(spec, ctx, None, True, owned=owned)
        chan = WatchChan(sub)
        _wait_registered(sub, chan.close)
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
        """See :meth:`Watcher.open_watch_callback`."""
        spec, ctx, owned = _watch_args(key, options, timeout, ctx)
        sub = self._streams.subscribe(spec, ctx, callback, wait, owned=owned)
        handle = WatchHandle(sub)
        _wait_registered(sub, handle.close)
        return handle

    def request_progress(self, ctx: Context | None = None) -> None:
        """See :meth:`Watcher.request_progress`."""
        self._streams.request_progress(_context(ctx))

    def close(self) -> None:
        """See :meth:`Watcher.close`."""
        with self._lock:
            registry = self._registry
        if registry is not None:
            registry.close(ClientClosedError("etcd3py: the client is closed"))

    @property
    def stream_count(self) -> int:
        """How many gRPC watch streams are open (one per context with live watches)."""
        with self._lock:
            registry = self._registry
        return 0 if registry is None else registry.stream_count

    @property
    def watch_count(self) -> int:
        """How many watches are live (not ended nor closed) over every stream."""
        with self._lock:
            registry = self._registry
        return 0 if registry is None else registry.watch_count


def _options(args: dict[str, Any]) -> WatchOptions:
    """Gather the watch options of a ``watch()``/``add_watch_callback()`` call (of either
    face), given its ``locals()``, into one :class:`WatchOptions`."""
    return cast(WatchOptions, {name: args[name] for name in _OPTIONS})


def _check_callback(callback: object, wait: object) -> None:
    """Check ``add_watch_callback``'s own arguments (either face), before any watcher's hook.

    Raises:
        ArgumentTypeError: ``callback`` is not callable, or ``wait`` not a bool.
    """
    if not callable(callback):
        raise ArgumentTypeError(f"callback must be callable, not {type(callback).__name__}")
    if not isinstance(wait, bool):
        raise ArgumentTypeError(f"wait must be a bool, not {type(wait).__name__}")


def _watch_args(
    key: KeyLike, options: WatchOptions, timeout: float | None, ctx: Context | None
) -> tuple[WatchSpec, Context, bool]:
    """Check one watch's arguments (of either face's gRPC watcher); return the spec, the
    context and whether that context is the watch's own (``timeout=``).

    Raises:
        ArgumentTypeError: an argument of the wrong type, or an unknown option.
        EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
        InvalidArgumentError: conflicting range options or a negative revision.
    """
    spec = _build_spec(key, options)
    timed, owned = _timed_context(ctx, timeout)
    return spec, timed, owned


def _check_settings(buffer_limit: int, create_window: int) -> None:
    """Check a watcher's settings (both faces' ``GrpcWatcher``).

    Raises:
        ArgumentTypeError: a setting is not an int.
        InvalidArgumentError: a setting is below 1.
    """
    for name, value in (("buffer_limit", buffer_limit), ("create_window", create_window)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentTypeError(f"{name} must be an int")
        if value < 1:
            raise InvalidArgumentError(f"{name} must be at least 1, got {value}")


def _wait_registered(sub: Subscription, close: Callable[[], None]) -> None:
    """Wait until the server registered ``sub`` (at once unless it waits for that)."""
    try:  # in short slices, so that Ctrl-C interrupts the wait
        while not sub.wait_registered(_REGISTER_WAKE):
            pass
    except BaseException:
        close()
        raise


def _timed_context(ctx: Context | None, timeout: float | None) -> tuple[Context, bool]:
    """The context a watch runs under: ``ctx``, or with ``timeout=`` a child of it made for
    that watch alone (``owned``: cancelled once the watch's stream ends)."""
    check_timeout(timeout)
    parent = _context(ctx)
    if timeout is None:
        return parent, False
    return parent.with_timeout(timeout), True


def _context(ctx: Context | None) -> Context:
    if ctx is None:
        return Context.background()
    if not isinstance(ctx, Context):
        raise ArgumentTypeError(f"ctx must be an etcd3py.Context, not {type(ctx).__name__}")
    return ctx
