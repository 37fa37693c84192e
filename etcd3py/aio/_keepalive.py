"""The asyncio client's keep-alive driver: one task renews the leases of one stream.

The asyncio face of :mod:`etcd3py._keepalive`: the same rules, from
:mod:`etcd3py._keepalive_state` (each stream's :class:`~etcd3py._keepalive_state.StreamState`:
its schedule, what a response, a deadline or a hung call means) and the same reconnect
policy (:func:`etcd3py._reconnect.keep_alive_policy`); only the waiting differs.

Streams: one ``grpc.aio`` ``LeaseKeepAlive`` call per :data:`StreamKey` (the metadata of the
``keep_alive()`` callers' contexts, e.g. ``require_leader``), opened with the stream's first
lease and ended once it has none left, or when the client closes.

Tasks (never one per lease), all on the loop that made the driver:

* ``etcd3py-keepalive``, one per live stream: opens the call (a stub on the transport's
  channel at each (re)connect; metadata ``(*key, *transport.metadata())``), reads its
  responses and delivers them; on a failure asks the policy, refreshes the token if told,
  then ends the stream's keep-alives or waits the backoff (cut short by a close, ending the
  keep-alives whose deadline passes meanwhile) and reopens, renewing every lease at once.
* gRPC's own consumer of each call's request iterator (:class:`_Requests`): besides taking
  the queued requests it wakes every :data:`TICK` seconds to run the stream's timer (send
  the renewals due, end the keep-alives past their deadline, cancel a hung call), as the
  sync driver's request consumer does.

The driver holds a :class:`Sink` per ``keep_alive()`` caller (its renewals and end, the
rules of :mod:`etcd3py._keepalive_renewals`), never the caller's ``KeepAlive`` itself, so
a dropped one is collected: its finalizer (:func:`dropped`) schedules the sink's close on
the loop.

Shutdown (``await close()``, before the transport closes): refuse new keep-alives, end
every keep-alive with ``ClientClosedError``, cancel every call, wake every backoff, and await
every stream task.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import grpc
import grpc.aio

from etcd3py import _pb, _stubs
from etcd3py._aio_ctx import cancelled_read, cancels, raise_lost_cancel, task_cancelling
from etcd3py._keepalive_renewals import Renewals, ctx_error, follow, run_callbacks
from etcd3py._keepalive_state import (
    KeepAliveStreams,
    StreamKey,
    StreamState,
    Subscriber,
    closed_error,
    stream_ended_error,
)
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

__all__ = ["TASK_NAME", "TICK", "AioKeepAliveDriver", "Sink", "dropped"]

_log = logging.getLogger(__name__)

TICK = 0.25  # seconds between two looks at the schedule by a call's request consumer
TASK_NAME = "etcd3py-keepalive"

_Request = _pb.rpc.LeaseKeepAliveRequest


class _Waker:
    """A sleep that another callback on the loop may cut short (no task of its own)."""

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(seconds, self.wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class _Requests:
    """The request iterator of ONE call, consumed by gRPC's task: the stream's timer.

    When nothing is queued it runs ``tick()`` (the renewals due, after the deadline and
    stall checks) and sleeps :data:`TICK` seconds, or until :meth:`put` or :meth:`end`.
    """

    def __init__(self, tick: Callable[[], list[_Request]]) -> None:
        self._tick = tick
        self._queue: collections.deque[_Request] = collections.deque()
        self._waker = _Waker()
        self._ended = False

    def put(self, request: _Request) -> None:
        self._queue.append(request)
        self._waker.wake()

    def end(self) -> None:
        self._ended = True
        self._waker.wake()

    def __aiter__(self) -> _Requests:
        return self

    async def __anext__(self) -> _Request:
        while not self._ended:
            if not self._queue:
                self._queue.extend(self._tick())
            if self._queue:
                return self._queue.popleft()
            await self._waker.sleep(TICK)
        raise StopAsyncIteration


class _Stream(StreamState):
    """One ``LeaseKeepAlive`` stream: its rules and its task."""

    def __init__(self, key: StreamKey, first_timeout: float) -> None:
        waker = _Waker()  # cuts the reconnect backoff short
        super().__init__(key, first_timeout, waker.wake)
        self.waker = waker
        self.task: asyncio.Task[None] | None = None


class AioKeepAliveDriver:
    """Renews every kept-alive lease of one asyncio client: one stream (and task) per metadata.

    Every method must be called on the loop of the client.

    Args:
        transport: the client's transport (channel, usability checks, token metadata).
        first_timeout: seconds a new lease may wait for its first renewal.
        clock: the monotonic clock (tests may pass another).
    """

    def __init__(
        self,
        transport: AioTransport,
        *,
        first_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._table: KeepAliveStreams[_Stream] = KeepAliveStreams(
            lambda key: _Stream(key, first_timeout), self._start, clock
        )
        self._tasks: set[asyncio.Task[None]] = set()  # every stream task not yet ended

    def subscribe(self, key: StreamKey, lease_id: int, sub: Subscriber) -> None:
        """Keep ``lease_id`` alive for ``sub``; see :meth:`KeepAliveDriver.subscribe`."""
        self._transport.check_usable()
        self._table.subscribe(key, lease_id, sub)

    def unsubscribe(
        self, key: StreamKey, lease_id: int, sub: Subscriber, error: BaseException | None
    ) -> None:
        """Stop renewing for ``sub``; see :meth:`KeepAliveDriver.unsubscribe`."""
        self._table.unsubscribe(key, lease_id, sub, error)

    async def close(self) -> None:
        """End every keep-alive with ``ClientClosedError``, stop every stream, await its task."""
        self._table.close()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks)

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The stream tasks not yet ended (one per live stream).

        A task that just ended leaves the set a loop iteration later (its done callback):
        it is not listed meanwhile, so a reader on another thread sees it gone at once.
        """
        return [task for task in self._tasks if not task.done()]

    def streams(self) -> list[StreamKey]:
        """Return the metadata of every live stream."""
        return list(self._table.streams)

    def kept_alive(self) -> list[int]:
        """Return the IDs of the leases being kept alive (on any stream), sorted."""
        return self._table.kept_alive()

    def _start(self, stream: _Stream) -> None:
        task = asyncio.get_running_loop().create_task(self._run(stream), name=TASK_NAME)
        stream.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, stream: _Stream) -> None:
        try:
            while True:
                error, healthy = await self._serve_one_call(stream)
                if error is None:
                    return
                step = stream.policy.failed(error, healthy)
                if step.refresh:
                    stale = stream.policy.token
                    ok = await self._transport.refresh_token("the keep-alive stream", stale)
                    step = stream.policy.refreshed(ok)
                if step.end:
                    # etcd refused the stream, or ended it on losing its leader: as
                    # clientv3, the keep-alives that require a leader end with the error
                    self._table.fail(stream, error)
                    return
                if stream.stopped:
                    return
                _log.info("etcd3py: the keep-alive stream broke (%s); reconnecting", error)
                for pause in self._table.backoff(stream, step.wait, TICK):
                    await stream.waker.sleep(pause)
        except asyncio.CancelledError:
            self._table.fail(stream, closed_error())  # the loop is going away: end, then obey
            raise
        except Exception as exc:  # a bug: end the keep-alives loudly rather than hang them
            _log.exception("etcd3py: the keep-alive task failed")
            error = InternalError(f"etcd3py: the keep-alive task failed: {exc!r}")
            self._table.fail(stream, error)

    async def _serve_one_call(self, stream: _Stream) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the task should end, any reply?)."""
        if stream.stopped:
            return None, False
        # The call holds its channel: an endpoint change closes the old one once it ends.
        async with contextlib.AsyncExitStack() as hold:
            requests = _Requests(lambda: self._table.tick(stream))
            try:
                self._transport.check_usable()
                await self._transport.ensure_started()  # a client not entered connects here
                if stream.stopped:
                    return None, False
                channel = (await hold.enter_async_context(self._transport.held_channel())).channel
                stub = cast("_stubs.rpc_grpc.LeaseAsyncStub", _stubs.rpc_grpc.LeaseStub(channel))
                metadata = (*stream.key, *self._transport.metadata())
                stream.policy.opened(metadata)
                call = stub.LeaseKeepAlive(requests, metadata=metadata)
            except ClientClosedError as exc:
                self._table.fail(stream, exc)
                return None, False
            except EtcdError as exc:
                return exc, False
            stream.opened(call, requests, self._table.clock())
            healthy = False
            before = cancels()
            try:
                async for response in call:
                    healthy = True
                    if stream.stopped:
                        return None, healthy
                    self._table.deliver(stream, response)
                raise_lost_cancel(before)  # the call "ended" as this task was cancelled
                error: EtcdError = stream_ended_error()
            except asyncio.CancelledError:
                if not call.done() or task_cancelling():
                    raise  # this task itself was cancelled
                # the call was: by this driver (stopped, or hung), or by the channel closing
                error = UnavailableError("etcd3py: the keep-alive call was cancelled")
            except grpc.aio.AioRpcError as exc:
                error = from_rpc_error(exc)
            except UnboundLocalError as exc:  # grpcio 1.51's lost cancellation
                raise cancelled_read(exc) from None
            finally:
                stream.call_ended()
                requests.end()
                call.cancel()
            return (None if stream.stopped else error), healthy


class Sink:
    """What the driver holds of one :class:`etcd3py.aio.lease.KeepAlive`: its renewals, its
    end, its waiters (on the loop that made it).

    Kept apart from the ``KeepAlive`` so that a dropped one can be collected (the driver and
    a context's callback hold only this).
    """

    def __init__(self, lease_id: int, driver: AioKeepAliveDriver, key: StreamKey) -> None:
        self.id = lease_id
        self.driver = driver
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.state = Renewals()
        self.changed = _Signal()  # a renewal came, or it ended

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        if self.state.push(response):
            self.changed.fire()

    def finish(self, error: BaseException | None) -> None:
        ended = self.state.finish(error)
        if ended is None:
            return
        self.changed.fire()
        ended.detach()
        if ended.callbacks:  # later, on the loop: never inside the driver
            self.loop.call_soon(run_callbacks, ended.callbacks)

    def follow(self, ctx: Context, owned: bool) -> None:
        loop = self.loop

        def on_done() -> None:  # on whichever thread ended the context
            if not loop.is_closed():
                loop.call_soon_threadsafe(self.ctx_done, ctx)

        follow(self.state, ctx, owned, on_done)

    def ctx_done(self, ctx: Context) -> None:
        error = ctx_error(ctx)
        self.driver.unsubscribe(self.key, self.id, self, error)
        self.finish(error)  # when it was not subscribed (yet): still end it

    def close(self) -> None:
        self.state.close()
        self.changed.fire()
        self.driver.unsubscribe(self.key, self.id, self, None)
        self.finish(None)


def dropped(sink: Sink) -> None:
    """A ``KeepAlive`` was collected unclosed: close its sink on its loop (never I/O here)."""
    if not sink.loop.is_closed():
        sink.loop.call_soon_threadsafe(sink.close)


class _Signal:
    """Wakes every task waiting on it (no task of its own; a cancelled wait leaves nothing)."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def fire(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            _resolve(waiter)

    async def wait(self, timeout: float | None) -> None:
        """Wait for the next :meth:`fire`, at most ``timeout`` seconds (``None``: no limit)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
