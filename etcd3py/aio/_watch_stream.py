"""The asyncio watch driver: one task per gRPC Watch stream, on the event loop.

Runs the same :class:`etcd3py._watch_mux.WatchMux` through the same sans-IO
:mod:`etcd3py._watch_core` as the thread driver (:mod:`etcd3py._watch_stream`); only the
waiting differs. No thread, no lock (everything runs on the loop that made the watcher),
never a task per watch:

* ``etcd3py-watch-<n>``, one task per :class:`AioWatchStream` (one per context with live
  watches): opens a ``grpc.aio`` Watch call (stub made on each (re)connect from the
  transport's channel), reads its responses, feeds them to the mux, executes the actions;
  after a failure asks :func:`etcd3py._reconnect.watch_policy` (refresh the token, wait,
  reopen, or end every watch). It ends when the stream is idle (no live watch), its context
  ends, the client closes, or a failure cannot be retried.
* gRPC's own consumer of each call's request iterator (:func:`_requests`, over an
  ``asyncio.Queue`` that belongs to that call alone): Send actions are put there.
* ``etcd3py-watch-<n>-callbacks``, one task per stream with callback watches, started with
  the first: runs the callbacks in order (a plain one called, an async one awaited).

A :class:`~etcd3py.Context` may end on any thread: its done callback only schedules
:meth:`AioWatchStream.shutdown` on the loop. A ``WatchChan`` garbage collected without
``close()`` has a finalizer that only schedules :meth:`AioWatchStream.reap_dropped` with
``call_soon_threadsafe``. Shutdown order (``await watcher.close()``): the registry refuses
new watches; each stream is ended (``mux.shutdown`` ends every watch with the error, the
request queue gets its sentinel, the call is cancelled, the backoff wait is woken); the
stream tasks end and stop their dispatchers, which run what is queued (the ends); every
task is awaited with a time limit (a lingering one is cancelled and logged), except the
one calling ``close()`` (a callback may).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

import grpc
import grpc.aio

from etcd3py import _pb, _stubs
from etcd3py._aio_ctx import (
    cancelled_read,
    cancels,
    on_ctx_done,
    raise_lost_cancel,
    task_cancelling,
)
from etcd3py._watch_core import RegistryCore, StreamCore, StreamState, WatchBuffer
from etcd3py._watch_views import WatchResponse
from etcd3py.context import Context
from etcd3py.errors import (
    ClientClosedError,
    EtcdError,
    InternalError,
    UnavailableError,
    from_rpc_error,
)

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport
    from etcd3py._watch_mux import WatchSpec
    from etcd3py.aio.watch import WatchCallback

_log = logging.getLogger(__name__)

_JOIN_LIMIT = 5.0  # seconds close() waits for all tasks of the watcher together
_STOP = object()  # the request iterator's and the dispatcher's sentinel


class AioSubscription(WatchBuffer):
    """One watch's buffer (:class:`~etcd3py._watch_core.WatchBuffer`) as tasks read it.

    A future per wait (the reader's, the registration's, the end's), made only while
    someone waits.
    """

    __slots__ = ("_finished", "_reader", "_registered")  # the stream is the buffer's _core

    def __init__(
        self, stream: AioWatchStream, callback: WatchCallback | None, awaiting: bool
    ) -> None:
        super().__init__(stream, callback, awaiting)
        self._reader: asyncio.Future[None] | None = None  # an iterator's waiting reader
        self._registered: asyncio.Future[None] | None = None
        self._finished: asyncio.Future[None] | None = None

    @property
    def _stream(self) -> AioWatchStream:
        return cast("AioWatchStream", self._core)

    @property
    def _loop(self) -> asyncio.AbstractEventLoop:
        return cast("AioWatchStream", self._core).loop

    # ---- the buffer's hooks --------------------------------------------------------------
    def _wake(self, all_waiters: bool) -> None:
        _resolve(self._reader)

    def _signal_done(self) -> None:
        _resolve(self._finished)

    def _signal_registered(self) -> None:
        _resolve(self._registered)

    # ---- read by the owner ---------------------------------------------------------------
    async def next(self, timeout: float | None) -> WatchResponse | None:
        """Take the next response, waiting up to ``timeout`` s; ``None`` on a timeout or a
        clean end. Cancelling the waiting task closes the watch.

        Raises:
            BaseException: the error that ended the watch, once its last response was taken.
        """
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            response = self.poll()
            if response is not None or self.exhausted:
                return response
            left = None if deadline is None else deadline - self._loop.time()
            if left is not None and left <= 0:
                return None
            self._reader = self._loop.create_future()
            try:  # the future is this wait's alone: awaited as is unless timed
                await (self._reader if left is None else _wait(self._reader, left))
            except asyncio.CancelledError:
                self.close_now()  # cancelling the iterating task cancels this watch
                raise
            finally:
                self._reader = None

    async def wait_registered(self) -> None:
        """Wait until the server registered the watch (or it ended); a cancel closes it."""
        if self.registered:
            return
        if self._registered is None:
            self._registered = self._loop.create_future()
        try:
            await _wait(self._registered, None)
        except asyncio.CancelledError:
            self.close_now()  # nothing stays registered for a cancelled caller
            raise

    async def wait_finished(self, timeout: float | None) -> bool:
        """Wait until the end was seen (or the last callback ran); False on timeout."""
        if self.done:
            return True
        if self._finished is None:
            self._finished = self._loop.create_future()
        await _wait(self._finished, timeout)
        return self.done

    async def run_callback(self, item: WatchResponse | object, counted: bool) -> None:
        """Run on the dispatcher task."""
        if self.begin_callback(item):
            assert isinstance(item, WatchResponse) and self.callback is not None
            try:
                result = self.callback(item)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _log.exception("etcd3py: a watch callback raised; the watch goes on")
        self.callback_ran(counted)

    def drop(self) -> None:
        """The owner's chan was garbage collected: close the watch soon, on the loop.

        Runs from a weakref finalizer, maybe on another thread: it only schedules.
        """
        loop = self._loop
        if not loop.is_closed():
            # the loop may close meanwhile: then nothing is left to cancel
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stream.reap_dropped, self.wid)


class AioWatchStream(StreamCore):
    """One gRPC Watch stream (one context) and its task."""

    def __init__(
        self, registry: AioStreamRegistry, ctx: Context, buffer_limit: int, create_window: int
    ) -> None:
        self._transport = registry.transport
        config = self._transport.config
        super().__init__(ctx, config, buffer_limit=buffer_limit, create_window=create_window)
        self._registry = registry
        self.loop = asyncio.get_running_loop()
        self._call: Any = None  # the current grpc.aio call, set and cleared by the task
        self._requests: asyncio.Queue[Any] | None = None  # the current call's requests
        self._stopping = False  # _stop_call cancelled the current call (not a task cancel)
        self._wake: asyncio.Future[None] | None = None  # cuts a reconnect wait short
        self._callbacks: asyncio.Queue[Any] | None = None  # the dispatcher's queue
        self._unregister_ctx: Callable[[], None] = _nothing

    def start(self) -> None:
        """Start the stream's task and follow the context (which may have ended already)."""
        self._registry.track(self.loop.create_task(self._run(), name=self.name))
        ctx = self.ctx
        self._unregister_ctx = on_ctx_done(ctx, lambda: self.shutdown(ctx.err()))

    def add(
        self, spec: WatchSpec, callback: WatchCallback | None, wait: bool
    ) -> AioSubscription | None:
        """Register a watch; ``None`` when the stream is going away (make a new one)."""
        if self._state is not StreamState.RUNNING:
            return None
        awaiting = spec.start_revision == 0 and wait
        if callback is not None and self._callbacks is None:
            self._callbacks = asyncio.Queue()
            dispatcher = _dispatch_callbacks(self._callbacks)
            self._registry.track(self.loop.create_task(dispatcher, name=f"{self.name}-callbacks"))
        return self._add(spec, lambda: AioSubscription(self, callback, awaiting))

    @property
    def live_count(self) -> int:
        """How many watches of this stream are live."""
        return self._mux.live_count

    def reap_dropped(self, wid: int) -> None:
        """Close iterator watch ``wid``, whose chan was garbage collected."""
        self._close_dropped(wid)

    def request_progress(self) -> None:
        """Ask for a stream-wide progress notification (when the call is up)."""
        self._request_progress()

    def shutdown(self, error: Exception | None) -> None:
        """End every watch with ``error`` and stop the stream; does not wait."""
        self._shutdown(error)

    # ---- the core's hooks ----------------------------------------------------------------
    def _send(self, request: _pb.rpc.WatchRequest) -> None:
        if self._requests is not None:
            self._requests.put_nowait(request)

    def _stop_call(self) -> None:
        if self._requests is not None:
            self._requests.put_nowait(_STOP)
        if self._call is not None:
            self._stopping = True
            self._call.cancel()
        _resolve(self._wake)

    def _dispatch(self, sub: WatchBuffer, item: WatchResponse | object, counted: bool) -> None:
        assert self._callbacks is not None
        self._callbacks.put_nowait((sub, item, counted))

    # ---- the task ------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            policy = self._policy
            while True:
                error, healthy = await self._serve_one_call()
                if error is None:
                    return
                step = policy.failed(error, healthy)
                if step.refresh:
                    ok = await self._transport.refresh_token(self.name, policy.token)
                    step = policy.refreshed(ok)
                if not self._failed(error, step):
                    return
                self._wake = self.loop.create_future()
                try:
                    await _wait(self._wake, step.wait)
                finally:
                    self._wake = None
        except asyncio.CancelledError:
            self.shutdown(ClientClosedError("etcd3py: the watch stream was cancelled"))
            raise
        except BaseException as exc:  # a bug: end the watches loudly rather than hang them
            _log.exception("etcd3py: %s failed", self.name)
            self.shutdown(InternalError(f"etcd3py: the watch stream failed: {exc!r}"))
        finally:
            self._unregister_ctx()
            # a stream that stopped for a closed transport ends what it still serves
            self._shutdown(ClientClosedError("etcd3py: the client is closed"))
            if self._callbacks is not None:
                self._callbacks.put_nowait(_STOP)
            self._registry.forget(self)

    async def _serve_one_call(self) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the stream is over, any reply?)."""
        if self._state is not StreamState.RUNNING:
            return None, False  # ended (or idle) before the call opened
        # The call holds its channel: an endpoint change closes the old one once it ends.
        async with contextlib.AsyncExitStack() as hold:
            requests: asyncio.Queue[Any] = asyncio.Queue()
            try:
                self._transport.check_usable()
                await self._transport.ensure_started()  # a client not entered connects here
                if self._state is not StreamState.RUNNING:
                    return None, False
                metadata = self._transport.metadata(self.ctx)
                self._policy.opened(metadata)
                # The stub is made on each (re)connect: the transport's channel may have changed.
                gen = await hold.enter_async_context(self._transport.held_channel())
                stub = _stubs.rpc_grpc.WatchStub(gen.channel)
                call: Any = stub.Watch(_requests(requests), metadata=metadata)  # type: ignore[arg-type]
            except EtcdError as exc:
                return (None if isinstance(exc, ClientClosedError) else exc), False
            self._call, self._requests, self._stopping = call, requests, False
            self._opened()
            healthy = False
            before = cancels()
            try:
                async for response in call:
                    healthy = True
                    if self._state is not StreamState.RUNNING:
                        return None, healthy
                    reauth = self._received(response)
                    if reauth is not None:
                        return reauth, healthy
                raise_lost_cancel(before)  # the call "ended" as this task was cancelled
                error: EtcdError = UnavailableError("etcd3py: the server ended the watch stream")
            except asyncio.CancelledError:
                if not self._stopping or task_cancelling():
                    raise  # the task itself was cancelled: asyncio's own rule
                return None, healthy  # our _stop_call cancelled the call: the stream is over
            except grpc.aio.AioRpcError as exc:
                error = from_rpc_error(exc)
            except UnboundLocalError as exc:  # grpcio 1.51's lost cancellation
                raise cancelled_read(exc) from None
            finally:
                self._call = self._requests = None
                requests.put_nowait(_STOP)
                call.cancel()
                # gRPC's own tasks of the call see its status first: wait for it, so none
                # outlives the stream (after a cancel the status is there at once)
                await call.code()
            if self._state is not StreamState.RUNNING:
                return None, healthy
            return error, healthy


async def _requests(queue: asyncio.Queue[Any]) -> AsyncIterator[_pb.rpc.WatchRequest]:
    """The request iterator of ONE call (gRPC's consumer drains it), until its sentinel."""
    while True:
        request = await queue.get()
        if request is _STOP:
            return
        yield request


async def _dispatch_callbacks(callbacks: asyncio.Queue[Any]) -> None:
    """The dispatcher task of one stream: runs the callbacks in order, until the sentinel."""
    while True:
        entry = await callbacks.get()
        if entry is _STOP:
            return
        sub, item, counted = entry
        await sub.run_callback(item, counted)


class AioStreamRegistry(RegistryCore[AioWatchStream]):
    """The streams of one aio watcher, by context; made and used by ``aio.GrpcWatcher``
    (the bookkeeping is :class:`~etcd3py._watch_core.RegistryCore`'s)."""

    def __init__(self, transport: AioTransport, *, buffer_limit: int, create_window: int) -> None:
        def make_stream(ctx: Context) -> AioWatchStream:
            return AioWatchStream(self, ctx, buffer_limit, create_window)

        super().__init__(transport, make_stream)
        self.transport = transport
        # every stream task and dispatcher task still running (close() awaits them)
        self._tasks: set[asyncio.Task[None]] = set()

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep ``task`` (a stream's or a dispatcher's) until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscribe(
        self,
        spec: WatchSpec,
        ctx: Context,
        callback: WatchCallback | None,
        wait: bool,
        *,
        owned: bool = False,
    ) -> AioSubscription:
        """Add a watch to the stream of ``ctx``, opening one if needed (see the sync
        :meth:`etcd3py._watch_stream.StreamRegistry.subscribe`)."""
        sub, new = self._place(spec, ctx, callback, wait, owned)
        if new is not None:
            new.start()
        assert isinstance(sub, AioSubscription)
        return sub

    def request_progress(self, ctx: Context) -> None:
        """Ask for a progress notification on the stream of ``ctx``, if it has one."""
        stream = self._stream_of(ctx)
        if stream is not None:
            stream.request_progress()

    def forget(self, stream: AioWatchStream) -> None:
        """Called by a stream's task as it ends."""
        if self._forget(stream):
            stream.ctx.cancel()  # made for one watch's timeout=: its deadline goes with it

    @property
    def stream_count(self) -> int:
        """How many streams are registered."""
        return len(self._streams)

    @property
    def watch_count(self) -> int:
        """How many watches are live over every running stream."""
        return sum(stream.live_count for stream in self._running)

    async def close(self, error: Exception) -> None:
        """End every stream with ``error`` and await their tasks (time-limited)."""
        streams = self._close_all()
        current = asyncio.current_task()  # a callback may close the watcher
        tasks = [task for task in self._tasks if task is not current]
        for stream in streams:
            stream.shutdown(error)
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=_JOIN_LIMIT)
        for task in late:
            _log.warning("etcd3py: task %s did not end in time; cancelling it", task.get_name())
            task.cancel()
        if late:
            await asyncio.wait(late)


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


async def _wait(future: asyncio.Future[None], timeout: float | None) -> None:
    """Wait for ``future`` (at most ``timeout`` s), never cancelling it (others may wait)."""
    await asyncio.wait([future], timeout=timeout)


def _nothing() -> None:
    pass
