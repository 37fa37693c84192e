"""The keep-alive streams' rules, for both faces, sans-IO: no clock, no wire, no waiting.

Mirrors clientv3 ``lease.go`` (``recvKeepAliveLoop``, ``sendKeepAliveLoop``,
``deadlineLoop``) without its goroutines. What each face's driver (the sync
:class:`etcd3py._keepalive.KeepAliveDriver`, a thread per stream; the asyncio
:class:`etcd3py.aio._keepalive.AioKeepAliveDriver`, a task per stream) does on each event is
decided here, once; the drivers only move messages, wait and lock:

* :class:`~etcd3py._keepalive_schedule.KeepAliveSchedule` (its own module): when to renew
  which lease of a stream, and when each lease's deadline passes.
* :class:`StreamState`: one ``LeaseKeepAlive`` stream (one per :data:`StreamKey`, the
  metadata of the callers' contexts, as clientv3): its schedule, its reconnect policy
  (:func:`etcd3py._reconnect.keep_alive_policy`), its call and what each event means. A
  response with ``ttl <= 0`` ends the lease's subscribers with ``LeaseNotFoundError``; a
  deadline that passes ends them with ``LeaseExpiredError``; a renewal unanswered while
  the stream stays silent for a third of the TTL means the call is hung (a half-open
  connection): it is cancelled, and the driver reopens it before the lease is lost.
* :class:`KeepAliveStreams`: a driver's streams by key: a stream starts with its first
  lease and ends once it has none left; the client's close ends every keep-alive.

The caller's side (the buffer and the error rule) is :mod:`etcd3py._keepalive_renewals`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from etcd3py import _pb
from etcd3py._keepalive_schedule import KeepAliveSchedule
from etcd3py._reconnect import Reconnect, keep_alive_policy
from etcd3py.errors import (
    ClientClosedError,
    LeaseExpiredError,
    LeaseNotFoundError,
    UnavailableError,
)

__all__ = [
    "REQUIRE_LEADER",
    "KeepAliveStreams",
    "StreamKey",
    "StreamState",
    "Subscriber",
    "closed_error",
    "not_found_error",
    "stream_ended_error",
]

_log = logging.getLogger(__name__)


#: The gRPC metadata of a stream: the pairs of the contexts whose keep-alives it carries.
StreamKey = tuple[tuple[str, str], ...]

#: The metadata pair that asks etcd to refuse (or end) a stream when the member has no leader.
REQUIRE_LEADER = ("hasleader", "true")

Request = _pb.rpc.LeaseKeepAliveRequest


class Subscriber(Protocol):
    """What a driver needs of a ``keep_alive()`` caller (a face's ``KeepAlive``)."""

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        """Take one renewal without blocking."""

    def finish(self, error: BaseException | None) -> None:
        """End, with ``error`` (``None``: cleanly)."""


def closed_error() -> ClientClosedError:
    """Return what a keep-alive ends with when its client closes."""
    return ClientClosedError("etcd3py: the client is closed")


def not_found_error() -> LeaseNotFoundError:
    """Return what a keep-alive ends with when the server says its lease is gone."""
    return LeaseNotFoundError("etcdserver: requested lease not found")


def stream_ended_error() -> UnavailableError:
    """Return the failure of a keep-alive stream the server ended without a status."""
    return UnavailableError("etcd3py: the server ended the keep-alive stream")


class _Queue(Protocol):
    """A call's request iterator, as the driver feeds it."""

    def put(self, request: Request) -> None:
        """Queue a request."""

    def end(self) -> None:
        """End the iterator (the call's sending side)."""


class _Call(Protocol):
    """A running call, as the driver ends it."""

    def cancel(self) -> object:
        """Cancel it (harmless once it ended)."""


class StreamState:
    """One ``LeaseKeepAlive`` stream's rules: what each event does to its keep-alives.

    The driver calls it (under its lock, in the sync face); subscribers are pushed to and
    finished from here, never blocking.

    Attributes:
        key: the stream's metadata.
        schedule: its leases.
        require_leader: whether its metadata asks etcd for a leader.
        policy: its reconnect policy.
        call: the running call, if any.
        requests: the running call's request iterator, if any.
        open: whether a call is up (a new lease's renewal then goes out at once).
        stopped: whether it ended (idle, failed, or its client closed).
    """

    def __init__(self, key: StreamKey, first_timeout: float, wake: Callable[[], None]) -> None:
        """Create a stream with no lease.

        Args:
            key: its metadata.
            first_timeout: seconds a new lease may wait for its first renewal.
            wake: cuts the driver's reconnect wait short.
        """
        self.key = key
        self.schedule: KeepAliveSchedule[Subscriber] = KeepAliveSchedule(first_timeout)
        self.require_leader = REQUIRE_LEADER in key
        self.policy: Reconnect = keep_alive_policy(self.require_leader)
        self.call: _Call | None = None
        self.requests: _Queue | None = None
        self.open = False
        self.stopped = False
        self._wake = wake

    @property
    def idle(self) -> bool:
        """Whether no lease is left (the stream then ends, as clientv3's)."""
        return len(self.schedule) == 0

    def add(self, lease_id: int, sub: Subscriber, now: float) -> None:
        """Keep ``lease_id`` alive for ``sub``; a new lease's renewal goes out at once."""
        if self.schedule.add(lease_id, sub, now) and self.requests is not None:
            self.requests.put(Request(ID=lease_id))

    def remove(self, lease_id: int, sub: Subscriber, error: BaseException | None) -> bool:
        """Stop renewing for ``sub`` and end it with ``error``; ``False`` if it was not here."""
        if not self.schedule.remove(lease_id, sub):
            return False
        sub.finish(error)
        return True

    def opened(self, call: _Call, requests: _Queue, now: float) -> None:
        """A call is up: renew every lease at once on it."""
        self.call, self.requests, self.open = call, requests, True
        for lease_id in self.schedule.stream_opened(now):
            requests.put(Request(ID=lease_id))

    def call_ended(self) -> None:
        """The call ended: nothing goes out until the next one."""
        self.call = self.requests = None
        self.open = False

    def deliver(self, response: _pb.rpc.LeaseKeepAliveResponse, now: float) -> None:
        """Hand a response to its lease's subscribers (a gone lease ends them)."""
        subs, gone = self.schedule.on_response(response.ID, response.TTL, now)
        for sub in subs:
            if gone:
                sub.finish(not_found_error())
            else:
                sub.push(response)

    def expire(self, now: float) -> None:
        """End the keep-alives whose lease's deadline passed with ``LeaseExpiredError``."""
        for lease_id, subs in self.schedule.expire(now):
            error = LeaseExpiredError(
                f"etcd3py: lease {lease_id:x} was not renewed before its TTL ran out"
            )
            for sub in subs:
                sub.finish(error)

    def tick(self, now: float) -> list[Request]:
        """The timer: expire, then return the renewals due; a hung call (no answer in
        time, and no error would ever come) is cancelled, so the driver reopens it.
        """
        self.expire(now)
        if self.open and self.call is not None and self.schedule.stalled(now):
            _log.info("etcd3py: no keep-alive answer in time; reopening the stream")
            self.call.cancel()
            return []
        return [Request(ID=lid) for lid in self.schedule.due(now)]

    def fail(self, error: BaseException) -> None:
        """End every keep-alive with ``error``."""
        for sub in self.schedule.clear():
            sub.finish(error)

    def stop(self) -> None:
        """End the stream: its request iterator, its call, its reconnect wait."""
        self.stopped = True
        if self.requests is not None:
            self.requests.end()
        if self.call is not None:
            self.call.cancel()
        self._wake()


_St = TypeVar("_St", bound=StreamState)


class KeepAliveStreams(Generic[_St]):
    """One driver's live streams, by metadata, and what it does on each event (sans-IO).

    A stream opens with its first lease and leaves once it has none (or fails); the sync
    driver calls every method under its lock, the asyncio one on its loop.

    Args:
        make: makes a stream (the face's :class:`StreamState`) for a key.
        start: starts a new stream's thread or task.
        clock: the monotonic clock.
    """

    def __init__(
        self,
        make: Callable[[StreamKey], _St],
        start: Callable[[_St], None],
        clock: Callable[[], float],
    ) -> None:
        self._make = make
        self._start = start
        self.clock = clock
        self.streams: dict[StreamKey, _St] = {}
        self.closed = False

    def subscribe(self, key: StreamKey, lease_id: int, sub: Subscriber) -> None:
        """Keep ``lease_id`` alive for ``sub`` on the stream of ``key``, starting it if none
        runs (its call, once open, renews every lease at once).

        Raises:
            ClientClosedError: the driver is closed.
        """
        if self.closed:
            raise closed_error()
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = self._make(key)
            stream.add(lease_id, sub, self.clock())
            self._start(stream)
            return
        stream.add(lease_id, sub, self.clock())

    def unsubscribe(
        self, key: StreamKey, lease_id: int, sub: Subscriber, error: BaseException | None
    ) -> None:
        """Stop renewing for ``sub`` and end it with ``error``; an idle stream ends."""
        stream = self.streams.get(key)
        if stream is not None and stream.remove(lease_id, sub, error):
            self.stop_if_idle(stream)

    def close(self) -> list[_St]:
        """End every keep-alive with ``ClientClosedError`` and stop every stream.

        Returns:
            The streams stopped (their threads or tasks are the face's to join or await).
        """
        if self.closed:
            return []
        self.closed = True
        streams = list(self.streams.values())
        self.streams.clear()
        for stream in streams:
            stream.fail(closed_error())
            stream.stop()
        return streams

    def stop_if_idle(self, stream: _St) -> None:
        """Stop a stream with no lease left (Go closes an idle stream too)."""
        if stream.idle and not stream.stopped:
            self.fail(stream, closed_error())

    def fail(self, stream: _St, error: BaseException) -> None:
        """End every keep-alive of ``stream`` with ``error``, stop it and let it go."""
        stream.fail(error)
        stream.stop()
        if self.streams.get(stream.key) is stream:
            del self.streams[stream.key]

    def tick(self, stream: _St) -> list[Request]:
        """The timer of ``stream``'s call: see :meth:`StreamState.tick`."""
        due = stream.tick(self.clock())
        self.stop_if_idle(stream)
        return due

    def deliver(self, stream: _St, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        """A response came on ``stream``'s call."""
        stream.deliver(response, self.clock())
        self.stop_if_idle(stream)

    def backoff(self, stream: _St, seconds: float, slice_: float) -> Iterator[float]:
        """The reconnect wait, in slices: ends the keep-alives whose deadline passes.

        Yields:
            The seconds to sleep next (the face sleeps, cut short by a stop).
        """
        until = self.clock() + seconds
        while not stream.stopped:
            stream.expire(self.clock())
            self.stop_if_idle(stream)
            left = until - self.clock()
            if left <= 0 or stream.stopped:
                return
            yield min(left, slice_)

    def kept_alive(self) -> list[int]:
        """Return the IDs of the leases being kept alive (on any stream), sorted."""
        return sorted({lid for s in self.streams.values() for lid in s.schedule.ids()})
