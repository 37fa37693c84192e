"""The watch driver: threads, the gRPC Watch stream, reconnection, and per-watch buffers.

Runs :class:`etcd3py._watch_mux.WatchMux` (which decides everything) and only moves
messages: requests it returns go to the current call, responses it delivers go to each
watch's buffer, and stream failures go back to it.

Threads (never one per watch):

* ``etcd3py-watch-<n>`` (daemon), one per :class:`WatchStream` (one per context with live
  watches): opens the gRPC call, reads its responses, feeds them to the mux, executes the
  actions; on a retryable failure backs off (tenacity's exponential wait with jitter, capped
  at 1 s) and reopens. It owns the call; it ends when the stream is idle (no live watch),
  its context ends, the client closes, or a failure cannot be retried.
* gRPC's own consumer of each call's request iterator (an
  :class:`etcd3py._streams.RequestQueue`, shared with the keep-alive driver): it blocks on
  that call's queue, which is never reused by a later call, so a dead call never takes a
  request meant for the next one. The queue's sentinel, or a periodic wake-up, ends it. At
  each wake-up (every half second at most) it also closes the iterator watches whose
  ``WatchChan`` was garbage collected (:meth:`WatchStream.reap`): their weakref finalizer,
  which may run on any thread, even one holding a lock of ours, only queues the watch's id.
* ``etcd3py-watch-<n>-callbacks`` (daemon), one per stream with callback watches, started
  with the first: runs the callbacks in order from its queue, outside every lock.
* User threads: iterate a :class:`Subscription` (waiting in short slices on its condition),
  add and close watches, request progress, cancel contexts.

Locks (taken in this order; never held while user code runs):

* ``StreamRegistry._lock`` guards ``_streams`` (context -> stream) and ``_closed``.
* ``WatchStream._lock`` guards the mux, ``_state``, ``_subs``, ``_call``, ``_requests``,
  ``_dispatcher`` and every field of the stream's subscriptions (each subscription's
  condition is built on this lock). Actions are executed while holding it, so their order is
  the mux's order; executing never blocks (queue puts and deque appends).

Shutdown order (``client.close()``): the registry refuses new watches; each stream is ended
(``mux.shutdown`` ends every watch with the error; the request queue gets its sentinel, the
call is cancelled, the backoff wait is woken); the reader threads exit and queue the
dispatchers' sentinels; every thread is joined with a time limit (a lingering one is
logged), never from itself; then the client closes the channel.
"""

from __future__ import annotations

import collections
import enum
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb, _stubs
from etcd3py._reconnect import watch_policy
from etcd3py._streams import RequestQueue
from etcd3py._watch_mux import Deliver, End, Phase, Reauth, Send, WatchMux, WatchSpec
from etcd3py.context import Context
from etcd3py.errors import (
    ClientClosedError,
    EtcdError,
    InternalError,
    InvalidAuthTokenError,
    UnavailableError,
    from_rpc_error,
)
from etcd3py.watch import WatchCallback, WatchResponse

if TYPE_CHECKING:
    from etcd3py._transport import Transport
    from etcd3py._watch_mux import Action

_log = logging.getLogger(__name__)

_WAKE = 0.2  # seconds a blocked wait sleeps at most, so Ctrl-C and closes are noticed
_REAP_POLL = 0.5  # seconds at most before a dropped WatchChan's watch is cancelled
_JOIN_LIMIT = 5.0  # seconds close() waits for all threads of the watcher together
_STREAM_NUMBERS = itertools.count(1)
_END = object()  # end-of-watch marker in a buffer or the dispatcher queue


def _nothing() -> None:
    pass


def _cancel(call: grpc.CallIterator[_pb.rpc.WatchResponse]) -> None:
    call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped


class Subscription:
    """One watch's buffer and its state; every field is guarded by the stream's lock.

    Kept small (slots; a condition only for iterator watches; the "finished" and
    "registered" events made only when someone waits), since a client may hold 10,000.

    Attributes:
        wid: the mux's id of the watch.
        callback: the callback of an ``add_watch_callback`` watch, None for an iterator.
    """

    __slots__ = (
        "_cond",
        "_done",
        "_end_error",
        "_ended",
        "_finished",
        "_items",
        "_lock",
        "_registered",
        "_stream",
        "_user_closed",
        "callback",
        "exhausted",
        "wid",
    )

    def __init__(
        self, stream: WatchStream, wid: int, callback: WatchCallback | None, awaiting: bool
    ) -> None:
        self._stream = stream
        self._lock = stream._lock
        self.wid = wid
        self.callback = callback
        # an iterator's consumer waits on it: notified on push and end
        self._cond = threading.Condition(stream._lock) if callback is None else None
        self._items: collections.deque[tuple[WatchResponse | object, bool]] = collections.deque()
        self._ended = False  # the mux ended the watch (its End was pushed)
        self._end_error: BaseException | None = None  # raised by next() once the end is taken
        self._user_closed = False
        self.exhausted = False  # the user saw the end (or closed)
        self._done = False  # the end was seen / the last callback ran
        self._finished: threading.Event | None = None  # made by the first wait_finished()
        # set once the server registered the watch (or it ended): see WatchStream.add
        self._registered = threading.Event() if awaiting else None

    # ---- filled by the stream (lock held) ---------------------------------------------------
    def push(self, response: WatchResponse, counted: bool) -> None:
        if self.callback is not None:
            self._stream._dispatch(self, response, counted)
        elif not self._user_closed:
            self._items.append((response, counted))
            self._notify(all_waiters=False)

    def finish(self, error: BaseException | None, final: _pb.rpc.WatchResponse | None) -> None:
        if final is None and error is not None:
            final = _pb.rpc.WatchResponse(canceled=True)
        if final is not None:
            self.push(WatchResponse(final, error), False)
        self._ended = True
        if not self._user_closed:
            self._end_error = error
        self.mark_registered()
        if self.callback is not None:
            self._stream._dispatch(self, _END, False)
        else:
            self._items.append((_END, False))
            self._notify(all_waiters=True)
            if self._user_closed:
                self._set_done()

    def mark_registered(self) -> None:
        """The server registered the watch (or it ended): release a waiting ``watch()``."""
        registered, self._registered = self._registered, None  # a long-lived watch keeps none
        if registered is not None:
            registered.set()

    def _notify(self, *, all_waiters: bool) -> None:
        if self._cond is not None:
            if all_waiters:
                self._cond.notify_all()
            else:
                self._cond.notify()

    def _set_done(self) -> None:
        self._done = True
        if self._finished is not None:
            self._finished.set()

    # ---- read by users --------------------------------------------------------------------
    def next(self, timeout: float | None) -> WatchResponse | None:
        """Take the next response, waiting up to ``timeout`` s; ``None`` on a timeout or a
        clean end.

        Raises:
            BaseException: the error that ended the watch, once its last response was taken
                (and again at every later call), unless the user closed the watch.
        """
        cond = self._cond
        assert cond is not None, "next() is for iterator watches"
        deadline = None if timeout is None else time.monotonic() + timeout
        with cond:
            while not self.exhausted:
                if self._items:
                    item, counted = self._items.popleft()
                    if item is _END:
                        self.exhausted = True
                        self._set_done()
                        break
                    if counted:
                        self._stream._consumed(self.wid)
                    assert isinstance(item, WatchResponse)
                    return item
                wait = _WAKE if deadline is None else min(_WAKE, deadline - time.monotonic())
                if wait <= 0:
                    return None
                cond.wait(wait)
            error = self._end_error
        if error is not None:
            raise error
        return None

    def run_callback(self, item: WatchResponse | object, counted: bool) -> None:
        """Run on the dispatcher thread, outside every lock."""
        if item is _END:
            with self._lock:
                self.exhausted = True
                self._set_done()
            return
        assert isinstance(item, WatchResponse) and self.callback is not None
        if not self._user_closed:
            try:
                self.callback(item)
            except Exception:
                _log.exception("etcd3py: a watch callback raised; the watch goes on")
        if counted:
            with self._lock:
                self._stream._consumed(self.wid)

    def close(self) -> None:
        """The user closed the watch: cancel it on the server and end the iteration."""
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        """:meth:`close`, with the stream's lock already held."""
        if self._user_closed:
            return
        self._user_closed = True
        self._end_error = None  # the owner's close ends the iteration cleanly
        self._items.clear()
        if self.callback is None:
            self.exhausted = True
        self._stream._close_watch(self)
        self._notify(all_waiters=True)
        if self.callback is None and self._ended:
            self._set_done()

    def drop(self) -> None:
        """The user's iterator was garbage collected: close the watch soon, elsewhere.

        Runs from a weakref finalizer, on whatever thread collected the iterator (maybe one
        holding the stream's lock): it takes no lock and only queues the watch for the
        stream's own threads (:meth:`WatchStream.reap`).
        """
        self._stream.dropped(self.wid)

    def wait_finished(self, timeout: float | None) -> bool:
        """Wait until the end was seen (or the last callback ran); False on timeout."""
        with self._lock:
            if self._done:
                return True
            if self._finished is None:
                self._finished = threading.Event()
            finished = self._finished
        return finished.wait(timeout)

    def wait_registered(self, timeout: float) -> bool:
        """Wait until the server registered the watch (or it ended); False on timeout."""
        registered = self._registered
        return registered is None or registered.wait(timeout)

    def __repr__(self) -> str:
        state = "ended" if self._ended else "closed" if self._user_closed else "live"
        return f"watch {self.wid} on {self._stream.name}, {state}"


class _State(enum.Enum):
    RUNNING = "running"
    IDLE = "idle"  # no live watch left: the call is closed and the thread ends
    ENDED = "ended"  # shut down: context ended, client closed, or a fatal stream error


class WatchStream:
    """One gRPC Watch stream (one context) and its reader thread."""

    def __init__(
        self, registry: StreamRegistry, ctx: Context, buffer_limit: int, create_window: int
    ) -> None:
        self._registry = registry
        self._transport = registry.transport
        self.ctx = ctx
        self.name = f"etcd3py-watch-{next(_STREAM_NUMBERS)}"
        self._lock = threading.Lock()
        self._mux = WatchMux(
            buffer_limit=buffer_limit,
            create_window=create_window,
            reauth=self._transport.config.username is not None,
        )
        self._reauth: EtcdError | None = None  # a Reauth action asked for a new token
        self._state = _State.RUNNING
        self._subs: dict[int, Subscription] = {}  # live watches by wid
        # "from now" iterator watches whose watch() call waits for the server's `created`
        self._awaiting: set[Subscription] = set()
        # the current call and its request queue: set and cleared by the reader thread
        self._call: grpc.CallIterator[_pb.rpc.WatchResponse] | None = None
        self._requests: RequestQueue[_pb.rpc.WatchRequest] | None = None  # the call's queue
        self._dispatcher: _Dispatcher | None = None  # started with the first callback watch
        self._wake = threading.Event()  # set to cut the reconnect backoff short
        # wids of iterator watches whose WatchChan was garbage collected: put without a lock
        # (from a finalizer), taken by reap() on this stream's threads
        self._dropped: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._unregister_ctx: Callable[[], None] = _nothing
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    # ---- called by the registry and subscriptions ---------------------------------------
    def start(self) -> None:
        """Start the reader thread and follow the context (which may have ended already)."""
        self._thread.start()
        self._unregister_ctx = self.ctx.add_done_callback(self._on_ctx_done)

    def add(
        self, spec: WatchSpec, callback: WatchCallback | None, wait: bool
    ) -> Subscription | None:
        """Register a watch; ``None`` when the stream is going away (make a new one).

        With ``wait`` and a "from now" start, the subscription's ``wait_registered`` waits
        for the server's ``created``.
        """
        with self._lock:
            if self._state is not _State.RUNNING:
                return None
            wid, actions = self._mux.add(spec)
            awaiting = spec.start_revision == 0 and wait
            sub = Subscription(self, wid, callback, awaiting)
            self._subs[wid] = sub
            if awaiting:
                self._awaiting.add(sub)
            if callback is not None and self._dispatcher is None:
                self._dispatcher = _Dispatcher(f"{self.name}-callbacks")
            self._execute(actions)
            return sub

    @property
    def live_count(self) -> int:
        """How many watches of this stream are live."""
        with self._lock:
            return self._mux.live_count

    def dropped(self, wid: int) -> None:
        """Queue watch ``wid`` for closing by :meth:`reap`; takes no lock (finalizer-safe)."""
        self._dropped.put(wid)

    def reap(self) -> None:
        """Close the iterator watches whose WatchChan was garbage collected (see
        :meth:`Subscription.drop`). Called on this stream's threads and by ``subscribe``,
        never with the stream's lock held."""
        if self._dropped.empty():
            return
        with self._lock:
            while True:
                try:
                    wid = self._dropped.get_nowait()
                except queue.Empty:
                    return
                sub = self._subs.get(wid)
                if sub is not None and sub.callback is None:
                    sub.close_locked()

    def _tick(self) -> tuple[()]:
        # RequestQueue's tick, on gRPC's request-consumer thread (holding none of our locks):
        # the cancels that reap() queues on the call go out right after it.
        self.reap()
        return ()

    def request_progress(self) -> None:
        with self._lock:
            if self._state is _State.RUNNING:
                self._execute(self._mux.request_progress())

    def shutdown(self, error: Exception | None) -> None:
        """End every watch with ``error`` and stop the stream; does not wait."""
        with self._lock:
            if self._state is _State.ENDED:
                return
            self._state = _State.ENDED
            self._execute(self._mux.shutdown(error))
            self._stop_call()

    def join(self, deadline: float) -> None:
        """Wait for this stream's threads until ``deadline`` (monotonic); log a lingerer."""
        with self._lock:
            dispatcher = self._dispatcher
        threads = [self._thread] + ([dispatcher.thread] if dispatcher else [])
        for thread in threads:
            if thread is threading.current_thread() or not thread.is_alive():
                continue
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():
                _log.warning("etcd3py: thread %s did not end in time", thread.name)

    # ---- lock held ------------------------------------------------------------------------
    def _execute(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                if self._requests is not None:
                    self._requests.put(action.request)
            elif isinstance(action, Deliver):
                sub = self._subs.get(action.wid)
                if sub is not None:
                    sub.push(WatchResponse(action.response), True)
            elif isinstance(action, End):
                sub = self._subs.pop(action.wid, None)
                if sub is not None:
                    self._awaiting.discard(sub)
                    sub.finish(action.error, action.final)
            elif isinstance(action, Reauth):
                self._reauth = action.error  # the reader ends this call and refreshes
        if self._state is _State.RUNNING and self._mux.live_count == 0:
            self._state = _State.IDLE  # Go closes an idle stream too (watchGRPCStream.run)
            self._stop_call()

    def _mark_registered(self) -> None:
        for sub in list(self._awaiting):
            if self._mux.phase(sub.wid) is not Phase.QUEUED:
                sub.mark_registered()
                self._awaiting.discard(sub)

    def _stop_call(self) -> None:
        if self._requests is not None:
            self._requests.end()
        if self._call is not None:
            _cancel(self._call)
        self._wake.set()

    def _consumed(self, wid: int) -> None:
        if wid in self._subs:
            self._execute(self._mux.consumed(wid, 1))

    def _close_watch(self, sub: Subscription) -> None:
        if self._subs.get(sub.wid) is sub:
            self._execute(self._mux.close(sub.wid))

    def _dispatch(self, sub: Subscription, item: WatchResponse | object, counted: bool) -> None:
        assert self._dispatcher is not None
        self._dispatcher.put(sub, item, counted)

    # ---- the reader thread ---------------------------------------------------------------
    def _on_ctx_done(self) -> None:
        self.shutdown(self.ctx.err())

    def _run(self) -> None:
        try:
            policy = watch_policy()
            while True:
                error, healthy = self._serve_one_call()
                if error is None:
                    return
                step = policy.failed(error, healthy)
                if step.refresh:
                    step = policy.refreshed(self._transport.refresh_token(self.name))
                with self._lock:
                    if self._state is not _State.RUNNING:
                        return
                    if step.end:
                        self._state = _State.ENDED
                        self._execute(self._mux.shutdown(error))
                        return
                    _log.info("etcd3py: %s broke (%s); reconnecting", self.name, error)
                    self._execute(self._mux.stream_broken(error))
                self._wake.wait(step.wait)
        except BaseException as exc:  # a bug: end the watches loudly rather than hang them
            _log.exception("etcd3py: %s failed", self.name)
            self.shutdown(InternalError(f"etcd3py: the watch stream failed: {exc!r}"))
        finally:
            self._finish_thread()

    def _serve_one_call(self) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the stream is over, any reply?)."""
        self.reap()
        requests = RequestQueue[_pb.rpc.WatchRequest](poll=_REAP_POLL, tick=self._tick)
        try:
            self._transport.check_usable()
            metadata = self._transport.metadata(self.ctx)
            # The stub is made on each (re)connect: the transport's channel may have changed.
            stub = _stubs.rpc_grpc.WatchStub(self._transport.channel)
            call = stub.Watch(iter(requests), metadata=metadata)
        except EtcdError as exc:
            return (None if isinstance(exc, ClientClosedError) else exc), False
        with self._lock:
            if self._state is not _State.RUNNING:
                _cancel(call)
                return None, False
            self._call, self._requests = call, requests
            self._wake.clear()
            self._execute(self._mux.stream_opened())
        healthy = False
        try:
            for response in call:
                healthy = True
                with self._lock:
                    if self._state is not _State.RUNNING:
                        return None, healthy
                    self._execute(self._mux.on_response(response))
                    if response.created and self._awaiting:
                        self._mark_registered()
                    if self._reauth is not None:  # a create refused for auth: new token
                        reauth, self._reauth = self._reauth, None
                        _log.info("etcd3py: %s: %s; refreshing the token", self.name, reauth)
                        return InvalidAuthTokenError(reauth.details), healthy
            error: EtcdError = UnavailableError("etcd3py: the server ended the watch stream")
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
        finally:
            with self._lock:
                self._call = self._requests = None
            requests.end()
            _cancel(call)
        return error, healthy

    def _finish_thread(self) -> None:
        self._unregister_ctx()
        with self._lock:
            dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.stop()
        self._registry.forget(self)


class _Dispatcher:
    """The callback thread of one stream: runs callbacks in order, outside every lock."""

    def __init__(self, name: str) -> None:
        # (subscription, response or _END, counted?) from the stream; None = stop
        self._queue: queue.SimpleQueue[tuple[Subscription, object, bool] | None]
        self._queue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def put(self, sub: Subscription, item: object, counted: bool) -> None:
        self._queue.put((sub, item, counted))

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            try:
                entry = self._queue.get(timeout=_WAKE)
            except queue.Empty:
                continue
            if entry is None:
                return
            sub, item, counted = entry
            sub.run_callback(item, counted)


class StreamRegistry:
    """The streams of one watcher, by context; made and used by ``GrpcWatcher``."""

    def __init__(self, transport: Transport, *, buffer_limit: int, create_window: int) -> None:
        self.transport = transport
        self._buffer_limit = buffer_limit
        self._create_window = create_window
        self._lock = threading.Lock()
        self._streams: dict[Context, WatchStream] = {}  # the stream taking new watches
        self._running: set[WatchStream] = set()  # every stream whose thread runs
        self._owned: set[Context] = set()  # contexts made for one watch's timeout=
        self._closed = False

    def subscribe(
        self,
        spec: WatchSpec,
        ctx: Context,
        callback: WatchCallback | None,
        wait: bool,
        *,
        owned: bool = False,
    ) -> Subscription:
        """Add a watch to the stream of ``ctx``, opening one if needed.

        ``wait``: a "from now" watch's ``wait_registered`` waits for the server's ``created``.
        ``owned``: ``ctx`` was made for this watch alone (``timeout=``): it is cancelled once
        its stream ends, so its deadline leaves the timer with the watch.
        """
        try:
            self.transport.check_usable()
        except BaseException:
            if owned:
                ctx.cancel()
            raise
        with self._lock:
            if owned:
                self._owned.add(ctx)
            if self._closed:
                self._owned.discard(ctx)
                if owned:
                    ctx.cancel()
                raise ClientClosedError("etcd3py: the client is closed")
            stream = self._streams.get(ctx)
            if stream is not None:
                stream.reap()
            sub = stream.add(spec, callback, wait) if stream is not None else None
            if sub is not None:
                return sub
            stream = WatchStream(self, ctx, self._buffer_limit, self._create_window)
            self._streams[ctx] = stream
            self._running.add(stream)
            sub = stream.add(spec, callback, wait)
            assert sub is not None
        stream.start()
        return sub

    def request_progress(self, ctx: Context) -> None:
        """Ask for a progress notification on the stream of ``ctx``, if it has one."""
        self.transport.check_usable()
        with self._lock:
            if self._closed:
                raise ClientClosedError("etcd3py: the client is closed")
            stream = self._streams.get(ctx)
        if stream is not None:
            stream.request_progress()

    def forget(self, stream: WatchStream) -> None:
        """Called by a stream's reader thread as it ends."""
        with self._lock:
            self._running.discard(stream)
            if self._streams.get(stream.ctx) is stream:
                del self._streams[stream.ctx]
            owned = stream.ctx in self._owned
            self._owned.discard(stream.ctx)
        if owned:
            stream.ctx.cancel()  # made for one watch's timeout=: its deadline goes with it

    @property
    def stream_count(self) -> int:
        """How many streams are registered."""
        with self._lock:
            return len(self._streams)

    @property
    def watch_count(self) -> int:
        """How many watches are live over every running stream."""
        with self._lock:
            streams = list(self._running)
        return sum(stream.live_count for stream in streams)

    def close(self, error: Exception) -> None:
        """End every stream with ``error`` and join their threads (time-limited)."""
        with self._lock:
            self._closed = True
            streams = list(self._running)
        for stream in streams:
            stream.shutdown(error)
        deadline = time.monotonic() + _JOIN_LIMIT
        for stream in streams:
            stream.join(deadline)
