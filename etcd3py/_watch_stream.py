"""The watch driver: threads, the gRPC Watch stream, reconnection, and per-watch buffers.

Runs :class:`etcd3py._watch_mux.WatchMux` (which decides everything) through the sans-IO
:mod:`etcd3py._watch_core` (what its actions do to each watch's buffer, shared with the
asyncio driver) and only moves messages and waits: requests go to the current call,
responses to each watch's buffer, stream failures back to the mux.

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
* ``WatchStream._lock`` guards the mux, ``_state``, ``_call``, ``_requests``, ``_dispatcher``
  and every field of the stream's subscriptions (each one is also the mux's record of its
  watch; its condition is built on this lock). Actions are executed while holding it, so
  their order is the mux's order; executing never blocks (queue puts and deque appends).

Shutdown order (``client.close()``): the registry refuses new watches; each stream is ended
(``mux.shutdown`` ends every watch with the error; the request queue gets its sentinel, the
call is cancelled, the backoff wait is woken); the reader threads exit and queue the
dispatchers' sentinels; every thread is joined with a time limit (a lingering one is
logged), never from itself; then the client closes the channel.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import grpc

from etcd3py import _pb, _stubs
from etcd3py._streams import RequestQueue
from etcd3py._watch_core import RegistryCore, StreamCore, StreamState, WatchBuffer
from etcd3py._watch_mux import WatchSpec
from etcd3py.context import Context
from etcd3py.errors import (
    ClientClosedError,
    EtcdError,
    InternalError,
    UnavailableError,
    from_rpc_error,
)
from etcd3py.watch import WatchCallback, WatchResponse

if TYPE_CHECKING:
    from etcd3py._transport import Transport

_log = logging.getLogger(__name__)

_WAKE = 0.2  # seconds a blocked wait sleeps at most, so Ctrl-C and closes are noticed
_REAP_POLL = 0.5  # seconds at most before a dropped WatchChan's watch is cancelled
_JOIN_LIMIT = 5.0  # seconds close() waits for all threads of the watcher together


def _nothing() -> None:
    pass


def _cancel(call: grpc.CallIterator[_pb.rpc.WatchResponse]) -> None:
    call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped


class Subscription(WatchBuffer):
    """One watch's buffer (:class:`~etcd3py._watch_core.WatchBuffer`) as threads read it.

    Every field is guarded by the stream's lock. Adds a condition for iterator watches, and
    the "finished" and "registered" events, made only when someone waits.
    """

    __slots__ = ("_cond", "_finished", "_registered")  # the stream is the buffer's _core

    def __init__(self, stream: WatchStream, callback: WatchCallback | None, awaiting: bool) -> None:
        super().__init__(stream, callback, awaiting)
        # an iterator's reader waits on it (made at its first next()): notified on push, end
        self._cond: threading.Condition | None = None
        self._finished: threading.Event | None = None  # made by the first wait_finished()
        # set once the server registered the watch (or it ended): see WatchStream.add
        self._registered = threading.Event() if awaiting else None

    @property
    def _stream(self) -> WatchStream:
        return cast("WatchStream", self._core)

    @property
    def _lock(self) -> threading.Lock:
        """The stream's lock, which guards every field."""
        return cast("WatchStream", self._core)._lock

    # ---- the buffer's hooks (lock held) ---------------------------------------------------
    def _wake(self, all_waiters: bool) -> None:
        if self._cond is not None:
            if all_waiters:
                self._cond.notify_all()
            else:
                self._cond.notify()

    def _signal_done(self) -> None:
        if self._finished is not None:
            self._finished.set()

    def _signal_registered(self) -> None:
        registered, self._registered = self._registered, None  # a long-lived watch keeps none
        if registered is not None:
            registered.set()

    # ---- read by users --------------------------------------------------------------------
    def next(self, timeout: float | None) -> WatchResponse | None:
        """Take the next response, waiting up to ``timeout`` s; ``None`` on a timeout or a
        clean end.

        Raises:
            BaseException: the error that ended the watch, once its last response was taken
                (and again at every later call), unless the user closed the watch.
        """
        assert self.callback is None, "next() is for iterator watches"
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            cond = self._cond
            if cond is None:
                cond = self._cond = threading.Condition(self._lock)
            while True:
                response = self.poll()
                if response is not None or self.exhausted:
                    return response
                wait = _WAKE if deadline is None else min(_WAKE, deadline - time.monotonic())
                if wait <= 0:
                    return None
                cond.wait(wait)

    def run_callback(self, item: WatchResponse | object, counted: bool) -> None:
        """Run on the dispatcher thread, outside every lock."""
        lock = self._lock
        with lock:
            call = self.begin_callback(item)
        if call:
            assert isinstance(item, WatchResponse) and self.callback is not None
            try:
                self.callback(item)
            except Exception:
                _log.exception("etcd3py: a watch callback raised; the watch goes on")
        if counted:
            with lock:
                self.callback_ran(counted)

    def close(self) -> None:
        """The user closed the watch: cancel it on the server and end the iteration."""
        with self._lock:
            self.close_now()

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
            if self.done:
                return True
            if self._finished is None:
                self._finished = threading.Event()
            finished = self._finished
        return finished.wait(timeout)

    def wait_registered(self, timeout: float) -> bool:
        """Wait until the server registered the watch (or it ended); False on timeout."""
        registered = self._registered
        return registered is None or registered.wait(timeout)


class WatchStream(StreamCore):
    """One gRPC Watch stream (one context) and its reader thread."""

    def __init__(
        self, registry: StreamRegistry, ctx: Context, buffer_limit: int, create_window: int
    ) -> None:
        self._transport = registry.transport
        config = self._transport.config
        super().__init__(ctx, config, buffer_limit=buffer_limit, create_window=create_window)
        self._registry = registry
        self._lock = threading.Lock()
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
        self.reap()
        with self._lock:
            if self._state is not StreamState.RUNNING:
                return None
            awaiting = spec.start_revision == 0 and wait
            if callback is not None and self._dispatcher is None:
                self._dispatcher = _Dispatcher(f"{self.name}-callbacks")
            return self._add(spec, lambda: Subscription(self, callback, awaiting))

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
        :meth:`Subscription.drop`). Called on this stream's threads and by :meth:`add`,
        never with the stream's lock held."""
        if self._dropped.empty():
            return
        with self._lock:
            while True:
                try:
                    wid = self._dropped.get_nowait()
                except queue.Empty:
                    return
                self._close_dropped(wid)

    def _tick(self) -> tuple[()]:
        # RequestQueue's tick, on gRPC's request-consumer thread (holding none of our locks):
        # the cancels that reap() queues on the call go out right after it.
        self.reap()
        return ()

    def request_progress(self) -> None:
        with self._lock:
            self._request_progress()

    def shutdown(self, error: Exception | None) -> None:
        """End every watch with ``error`` and stop the stream; does not wait."""
        with self._lock:
            self._shutdown(error)

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

    # ---- the core's hooks (lock held) ------------------------------------------------------
    def _send(self, request: _pb.rpc.WatchRequest) -> None:
        if self._requests is not None:
            self._requests.put(request)

    def _stop_call(self) -> None:
        if self._requests is not None:
            self._requests.end()
        if self._call is not None:
            _cancel(self._call)
        self._wake.set()

    def _dispatch(self, sub: WatchBuffer, item: WatchResponse | object, counted: bool) -> None:
        assert self._dispatcher is not None and isinstance(sub, Subscription)
        self._dispatcher.put(sub, item, counted)

    # ---- the reader thread ---------------------------------------------------------------
    def _on_ctx_done(self) -> None:
        self.shutdown(self.ctx.err())

    def _run(self) -> None:
        try:
            policy = self._policy
            while True:
                error, healthy = self._serve_one_call()
                if error is None:
                    return
                step = policy.failed(error, healthy)
                if step.refresh:
                    ok = self._transport.refresh_token(self.name, policy.token)
                    step = policy.refreshed(ok)
                with self._lock:
                    if not self._failed(error, step):
                        return
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
            self._policy.opened(metadata)
            # The stub is made on each (re)connect: the transport's channel may have changed.
            stub = _stubs.rpc_grpc.WatchStub(self._transport.channel)
            call = stub.Watch(iter(requests), metadata=metadata)
        except EtcdError as exc:
            return (None if isinstance(exc, ClientClosedError) else exc), False
        with self._lock:
            if self._state is not StreamState.RUNNING:
                _cancel(call)
                return None, False
            self._call, self._requests = call, requests
            self._wake.clear()
            self._opened()
        healthy = False
        try:
            for response in call:
                healthy = True
                with self._lock:
                    if self._state is not StreamState.RUNNING:
                        return None, healthy
                    reauth = self._received(response)
                if reauth is not None:
                    return reauth, healthy
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
        # (subscription, response or END, counted?) from the stream; None = stop
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


class StreamRegistry(RegistryCore[WatchStream]):
    """The streams of one watcher, by context; made and used by ``GrpcWatcher``.

    The bookkeeping is :class:`~etcd3py._watch_core.RegistryCore`'s, under ``_lock``.
    """

    def __init__(self, transport: Transport, *, buffer_limit: int, create_window: int) -> None:
        def make_stream(ctx: Context) -> WatchStream:
            return WatchStream(self, ctx, buffer_limit, create_window)

        super().__init__(transport, make_stream)
        self.transport = transport
        self._lock = threading.Lock()

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
        with self._lock:
            sub, new = self._place(spec, ctx, callback, wait, owned)
        if new is not None:
            new.start()
        assert isinstance(sub, Subscription)
        return sub

    def request_progress(self, ctx: Context) -> None:
        """Ask for a progress notification on the stream of ``ctx``, if it has one."""
        with self._lock:
            stream = self._stream_of(ctx)
        if stream is not None:
            stream.request_progress()

    def forget(self, stream: WatchStream) -> None:
        """Called by a stream's reader thread as it ends."""
        with self._lock:
            owned = self._forget(stream)
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
            streams = self._close_all()
        for stream in streams:
            stream.shutdown(error)
        deadline = time.monotonic() + _JOIN_LIMIT
        for stream in streams:
            stream.join(deadline)
