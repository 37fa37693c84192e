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

Shutdown (``await close()``, before the transport closes): refuse new keep-alives, end
every keep-alive with ``ClientClosedError``, cancel every call, wake every backoff, and await
every stream task.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import grpc
import grpc.aio

from etcd3py import _pb
from etcd3py._keepalive_state import (
    StreamKey,
    StreamState,
    Subscriber,
    closed_error,
    stream_ended_error,
)
from etcd3py.errors import (
    ClientClosedError,
    EtcdError,
    InternalError,
    UnavailableError,
    from_rpc_error,
)

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport

__all__ = ["TASK_NAME", "TICK", "AioKeepAliveDriver"]

_log = logging.getLogger(__name__)

TICK = 0.25  # seconds between two looks at the schedule by a call's request consumer
TASK_NAME = "etcd3py-keepalive"

_Request = _pb.rpc.LeaseKeepAliveRequest
_Call = grpc.aio.StreamStreamCall[_Request, _pb.rpc.LeaseKeepAliveResponse]


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

    When nothing is queued it runs ``tick()`` (the renewals due; ``None`` for none) and
    sleeps :data:`TICK` seconds, or until :meth:`put` or :meth:`end`.
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


class _Stream(StreamState[Subscriber]):
    """One ``LeaseKeepAlive`` stream: its rules, and its task's run state."""

    def __init__(self, key: StreamKey, first_timeout: float) -> None:
        super().__init__(key, first_timeout)
        self.call: _Call | None = None
        self.requests: _Requests | None = None
        self.waker = _Waker()  # cuts the reconnect backoff short
        self.task: asyncio.Task[None] | None = None

    def stop(self) -> None:
        self.stopped = True
        if self.requests is not None:
            self.requests.end()
        if self.call is not None:
            self.call.cancel()
        self.waker.wake()


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
        self._clock = clock
        self._first_timeout = first_timeout
        self._streams: dict[StreamKey, _Stream] = {}  # the live streams; idle ones leave
        self._tasks: set[asyncio.Task[None]] = set()  # every stream task not yet ended
        self._closed = False

    def subscribe(self, key: StreamKey, lease_id: int, sub: Subscriber) -> None:
        """Keep ``lease_id`` alive for ``sub`` on the stream of ``key``, starting its task if
        none runs.

        Args:
            key: the metadata of the caller's context (``()`` for none).
            lease_id: the lease.
            sub: the caller's keep-alive.

        Raises:
            ClientClosedError: the client is closed.
        """
        self._transport.check_usable()
        if self._closed:
            raise closed_error()
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(key, self._first_timeout)
            stream.add(lease_id, sub, self._clock())
            task = asyncio.get_running_loop().create_task(self._run(stream), name=TASK_NAME)
            stream.task = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        for request in stream.add(lease_id, sub, self._clock()):
            if stream.requests is not None:
                stream.requests.put(request)

    def unsubscribe(
        self, key: StreamKey, lease_id: int, sub: Subscriber, error: BaseException | None
    ) -> None:
        """Stop renewing for ``sub`` and end it with ``error``; a stream (and its task) ends
        when its last lease goes.

        Args:
            key: the stream ``sub`` was subscribed on.
            lease_id: the lease.
            sub: the caller's keep-alive.
            error: what ``sub`` ends with (``None``: cleanly).
        """
        stream = self._streams.get(key)
        if stream is not None and stream.remove(lease_id, sub, error):
            self._stop_if_idle(stream)

    async def close(self) -> None:
        """End every keep-alive with ``ClientClosedError``, stop every stream, await its task."""
        if not self._closed:
            self._closed = True
            streams = list(self._streams.values())
            self._streams.clear()
            for stream in streams:
                stream.fail(closed_error())
                stream.stop()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks)

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The stream tasks not yet ended (one per live stream)."""
        return list(self._tasks)

    def streams(self) -> list[StreamKey]:
        """Return the metadata of every live stream."""
        return list(self._streams)

    def kept_alive(self) -> list[int]:
        """Return the IDs of the leases being kept alive (on any stream), sorted."""
        return sorted({lid for s in self._streams.values() for lid in s.schedule.ids()})

    def _stop_if_idle(self, stream: _Stream) -> None:
        if stream.idle and not stream.stopped:
            stream.stop()  # Go closes an idle stream too; the next keep_alive opens anew
            self._forget(stream)

    def _forget(self, stream: _Stream) -> None:
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]

    def _tick(self, stream: _Stream) -> list[_Request]:
        due = stream.tick(self._clock())
        self._stop_if_idle(stream)
        if due is None and stream.call is not None:
            # A half-open connection or a hung server stream: no error would ever come,
            # so cancel the call; the task reconnects and renews at once.
            _log.info("etcd3py: no keep-alive answer in time; reopening the stream")
            stream.call.cancel()
        return due or []

    async def _run(self, stream: _Stream) -> None:
        try:
            while True:
                error, healthy = await self._serve_one_call(stream)
                if error is None:
                    return
                step = stream.policy.failed(error, healthy)
                if step.refresh:
                    ok = await self._transport.refresh_token("the keep-alive stream")
                    step = stream.policy.refreshed(ok)
                if step.end:
                    # etcd refused the stream, or ended it on losing its leader: as
                    # clientv3, the keep-alives that require a leader end with the error
                    self._fail(stream, error)
                    return
                if stream.stopped:
                    return
                _log.info("etcd3py: the keep-alive stream broke (%s); reconnecting", error)
                await self._wait_backoff(stream, step.wait)
        except asyncio.CancelledError:
            self._fail(stream, closed_error())  # the loop is going away: end, then obey
            raise
        except Exception as exc:  # a bug: end the keep-alives loudly rather than hang them
            _log.exception("etcd3py: the keep-alive task failed")
            self._fail(stream, InternalError(f"etcd3py: the keep-alive task failed: {exc!r}"))

    async def _wait_backoff(self, stream: _Stream, seconds: float) -> None:
        """Sleep before reconnecting, ending keep-alives whose deadline passes meanwhile."""
        until = self._clock() + seconds
        while not stream.stopped:
            stream.expire(self._clock())
            self._stop_if_idle(stream)
            left = until - self._clock()
            if left <= 0 or stream.stopped:
                return
            await stream.waker.sleep(min(left, TICK))

    async def _serve_one_call(self, stream: _Stream) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the task should end, any reply?)."""
        if stream.stopped:
            return None, False
        requests = _Requests(lambda: self._tick(stream))
        try:
            self._transport.check_usable()
            stub = cast(
                "_pb.rpc_grpc.LeaseAsyncStub", _pb.rpc_grpc.LeaseStub(self._transport.channel)
            )
            metadata = (*stream.key, *self._transport.metadata())
            call = stub.LeaseKeepAlive(requests, metadata=metadata)
        except ClientClosedError as exc:
            self._fail(stream, exc)
            return None, False
        except EtcdError as exc:
            return exc, False
        stream.call, stream.requests = call, requests
        for request in stream.opened(self._clock()):
            requests.put(request)
        healthy = False
        try:
            async for response in call:
                healthy = True
                if stream.stopped:
                    return None, healthy
                stream.deliver(response, self._clock())
                self._stop_if_idle(stream)
            error: EtcdError = stream_ended_error()
        except asyncio.CancelledError:
            if not call.done() or _task_cancelling():
                raise  # this task itself was cancelled
            # the call was: by this driver (stopped, or hung), or by the channel closing
            error = UnavailableError("etcd3py: the keep-alive call was cancelled")
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
        finally:
            stream.call = stream.requests = None
            stream.open = False
            requests.end()
            call.cancel()
        return (None if stream.stopped else error), healthy

    def _fail(self, stream: _Stream, error: BaseException) -> None:
        """End every keep-alive of ``stream`` with ``error`` and close the stream."""
        stream.fail(error)
        stream.stop()
        self._forget(stream)


def _task_cancelling() -> bool:
    """Whether the current task was asked to cancel (Python 3.11+ can tell; 3.10 cannot)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False
