"""The client's keep-alive threads: each renews the leases of one ``LeaseKeepAlive`` stream.

Mirrors clientv3 ``lease.go`` (``recvKeepAliveLoop``, ``sendKeepAliveLoop``,
``deadlineLoop``) without its goroutines: :class:`KeepAliveSchedule` decides (sans-IO: no
clock, no gRPC, no threads; tested alone), :class:`KeepAliveDriver` moves messages.

Streams: as clientv3 keeps one keep-alive stream per distinct context metadata, the driver
keeps one stream per :data:`StreamKey` (the metadata of the ``keep_alive()`` caller's
context): every keep-alive of the plain contexts shares one stream, those made with
``with_require_leader()`` share another, and so on. A stream opens with its first lease and
closes (its thread ends) when its last lease goes, so threads are O(streams), never O(leases).

Each stream's schedule holds one entry per lease, however many ``keep_alive()`` callers share
it: its subscribers, when to send the next renewal (at once for a new lease or a new stream,
then a third of the TTL after each response, and again every :data:`RESEND` seconds while no
answer comes), and its deadline (the TTL after the last renewal; :data:`first_timeout` for a
new one). A renewal unanswered for a third of the TTL means the stream is hung (a half-open
connection): the call is cancelled and reopened before the lease is lost. A response with
``ttl <= 0`` means the lease is gone: its subscribers end with ``LeaseNotFoundError``. A
deadline that passes ends them with ``LeaseExpiredError``. A stream whose metadata requires
a leader (``hasleader=true``) that etcd refuses or ends with ``etcdserver: no leader`` (its
interceptor does so when the member has no leader, and its leader monitor cancels such
streams a few election timeouts after the leader is lost) ends its keep-alives with
``NoLeaderError``; every other stream failure is retried.

Threads (never one per lease):

* ``etcd3py-keepalive`` (daemon), one per live stream (started by the stream's first
  ``subscribe``; it ends once the stream has no lease left or the client closes; as
  clientv3, every stream failure but the one above is retried, the deadlines ending what
  cannot wait): opens the ``LeaseKeepAlive`` call with the stream's metadata and the auth
  token, reads its responses and delivers them, and on a failure backs off (tenacity's
  exponential wait with jitter, capped at 1 s; :func:`etcd3py._reconnect.backoff`) while
  checking deadlines, then reopens and renews every lease at once, so a dropped stream or a
  restarted server does not let a lease expire. gRPC's sync API reads a stream only by
  blocking on it, so one reader per stream is the floor.
* gRPC's consumer of each call's request iterator (an :class:`etcd3py._streams.RequestQueue`,
  the watch driver's pattern): besides taking queued requests, every :data:`TICK` seconds it
  runs :meth:`KeepAliveDriver._tick` for its stream, which sends the renewals that are due
  and ends the keep-alives past their deadline. It is the timer: no thread sleeps per lease.
* User threads: ``subscribe`` / ``unsubscribe`` (``keep_alive()``, ``KeepAlive.close()``,
  a context ending) and ``close()``; they iterate their :class:`~etcd3py.lease.KeepAlive`,
  whose buffer is bounded, so a slow consumer misses renewals but never blocks this module.

Locks: ``KeepAliveDriver._lock`` guards the streams (their schedules and run state: call,
request queue, stop flag) and ``_closed``. It is taken before a ``KeepAlive``'s own
condition (``push``/``finish``), never after; neither is held while user code runs, and
delivering never blocks.

Shutdown order (``client.close()`` calls ``close()`` before closing the channel): refuse new
keep-alives; end every subscriber with ``ClientClosedError``; end each stream's request
queue, cancel its call and wake its backoff; join the threads with one time limit (a
lingering one is logged), never from themselves.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import grpc

from etcd3py import _pb, _stubs
from etcd3py._reconnect import keep_alive_policy
from etcd3py._streams import RequestQueue, cancel_call
from etcd3py.errors import (
    ClientClosedError,
    EtcdError,
    InternalError,
    LeaseExpiredError,
    LeaseNotFoundError,
    UnavailableError,
    from_rpc_error,
)

if TYPE_CHECKING:
    from etcd3py._transport import Transport

_log = logging.getLogger(__name__)

RESEND = 0.5  # seconds before a renewal that got no answer is sent again (Go: 500 ms)
TICK = 0.25  # seconds between two looks at the schedule by a call's request consumer
STALL_MIN = 1.0  # seconds a renewal may go unanswered before the stream is taken as hung
_JOIN_LIMIT = 5.0  # seconds close() waits for the thread
THREAD_NAME = "etcd3py-keepalive"


class Subscriber(Protocol):
    """What the driver needs of a ``keep_alive()`` caller (``etcd3py.lease.KeepAlive``)."""

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        """Take one renewal without blocking."""

    def finish(self, error: BaseException | None) -> None:
        """End, with ``error`` (``None``: cleanly)."""


_S = TypeVar("_S")


@dataclasses.dataclass
class _Entry(Generic[_S]):
    subscribers: list[_S]
    next_at: float  # monotonic time of the next renewal
    deadline: float  # monotonic time after which the lease is taken as expired
    ttl: float  # the last TTL the server renewed it to (first_timeout before any)
    waiting_since: float | None  # when the oldest unanswered renewal went out


class KeepAliveSchedule(Generic[_S]):
    """When to renew which lease, and which keep-alives end: sans-IO, times passed in.

    Args:
        first_timeout: seconds a new lease may wait for its first renewal.
    """

    def __init__(self, first_timeout: float) -> None:
        self.first_timeout = first_timeout
        self._entries: dict[int, _Entry[_S]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._entries

    def subscribers(self, lease_id: int) -> list[_S]:
        """Return the subscribers of a lease (empty when it is not kept alive)."""
        entry = self._entries.get(lease_id)
        return list(entry.subscribers) if entry else []

    def add(self, lease_id: int, sub: _S, now: float) -> bool:
        """Keep ``lease_id`` alive for ``sub``; ``True`` when it is new (send a renewal now).

        A new lease's renewal counts as sent now: the next is due :data:`RESEND` later if
        no answer came.
        """
        entry = self._entries.get(lease_id)
        if entry is not None:
            entry.subscribers.append(sub)
            return False
        timeout = self.first_timeout
        self._entries[lease_id] = _Entry([sub], now + RESEND, now + timeout, timeout, now)
        return True

    def remove(self, lease_id: int, sub: _S) -> bool:
        """Drop ``sub``; ``True`` when it was there (its lease goes once nobody is left)."""
        entry = self._entries.get(lease_id)
        if entry is None or sub not in entry.subscribers:
            return False
        entry.subscribers.remove(sub)
        if not entry.subscribers:
            del self._entries[lease_id]
        return True

    def on_response(self, lease_id: int, ttl: int, now: float) -> tuple[list[_S], bool]:
        """A renewal answer came; return (its subscribers, whether the lease is gone).

        A gone lease (``ttl <= 0``) leaves the schedule; a live one is renewed again a
        third of ``ttl`` from now and expires ``ttl`` from now. An unknown ID is ignored.
        """
        entry = self._entries.get(lease_id)
        if entry is None:
            return [], False
        if ttl <= 0:
            del self._entries[lease_id]
            return entry.subscribers, True
        entry.next_at = now + ttl / 3.0
        entry.deadline = now + ttl
        entry.ttl = ttl
        entry.waiting_since = None
        return list(entry.subscribers), False

    def due(self, now: float) -> list[int]:
        """Return the leases whose renewal is due, and count it as sent now."""
        ids = [lid for lid, entry in self._entries.items() if entry.next_at <= now]
        for lid in ids:
            entry = self._entries[lid]
            entry.next_at = now + RESEND
            if entry.waiting_since is None:
                entry.waiting_since = now
        return ids

    def stalled(self, now: float) -> bool:
        """Whether a renewal went unanswered for a third of its lease's TTL (at least
        :data:`STALL_MIN` seconds): the stream is taken as hung and reopened, before the
        lease's deadline, rather than trusted until the lease is lost.
        """
        for entry in self._entries.values():
            limit = max(entry.ttl / 3.0, STALL_MIN)
            if entry.waiting_since is not None and now - entry.waiting_since >= limit:
                return True
        return False

    def stream_opened(self, now: float) -> list[int]:
        """A new stream is up: every lease is due at once (a lost answer must not wait)."""
        for entry in self._entries.values():
            entry.next_at = now
            entry.waiting_since = None  # answers owed by the old stream will never come
        return self.due(now)

    def expire(self, now: float) -> list[tuple[int, list[_S]]]:
        """Remove and return the leases past their deadline, with their subscribers."""
        gone = [lid for lid, entry in self._entries.items() if entry.deadline <= now]
        return [(lid, self._entries.pop(lid).subscribers) for lid in gone]

    def ids(self) -> list[int]:
        """Return the IDs of the leases in the schedule."""
        return list(self._entries)

    def clear(self) -> list[_S]:
        """Remove every lease; return every subscriber."""
        subs = [sub for entry in self._entries.values() for sub in entry.subscribers]
        self._entries.clear()
        return subs


#: The gRPC metadata of a stream: the pairs of the contexts whose keep-alives it carries.
StreamKey = tuple[tuple[str, str], ...]

#: The metadata pair that asks etcd to refuse (or end) a stream when the member has no leader.
REQUIRE_LEADER = ("hasleader", "true")


class _Stream:
    """One ``LeaseKeepAlive`` stream: its leases' schedule and its thread's run state.

    Every field is guarded by the driver's lock.
    """

    def __init__(self, key: StreamKey, first_timeout: float) -> None:
        self.key = key
        self.schedule: KeepAliveSchedule[Subscriber] = KeepAliveSchedule(first_timeout)
        self.require_leader = REQUIRE_LEADER in key
        self.stopped = False
        self.call: grpc.CallIterator[_pb.rpc.LeaseKeepAliveResponse] | None = None
        self.requests: RequestQueue[_pb.rpc.LeaseKeepAliveRequest] | None = None
        self.wake = threading.Event()  # cuts the reconnect backoff short
        self.thread: threading.Thread | None = None

    def stop(self) -> None:
        self.stopped = True
        if self.requests is not None:
            self.requests.end()
        if self.call is not None:
            cancel_call(self.call)
        self.wake.set()


def _request(lease_id: int) -> _pb.rpc.LeaseKeepAliveRequest:
    return _pb.rpc.LeaseKeepAliveRequest(ID=lease_id)


class KeepAliveDriver:
    """Renews every kept-alive lease of one client: one stream (and thread) per metadata.

    Args:
        transport: the client's transport (usability checks, token metadata).
        stub: the Lease stub on the client's channel.
        first_timeout: seconds a new lease may wait for its first renewal.
        clock: the monotonic clock (tests may pass another).
    """

    def __init__(
        self,
        transport: Transport,
        stub: _stubs.rpc_grpc.LeaseStub,
        *,
        first_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._stub = stub
        self._clock = clock
        self._first_timeout = first_timeout
        self._lock = threading.Lock()
        self._streams: dict[StreamKey, _Stream] = {}  # the live streams; idle ones leave
        self._closed = False

    # ---- user threads --------------------------------------------------------------------
    def subscribe(self, key: StreamKey, lease_id: int, sub: Subscriber) -> None:
        """Keep ``lease_id`` alive for ``sub`` on the stream of ``key``, opening it if none
        runs.

        Args:
            key: the metadata of the caller's context (``()`` for none).
            lease_id: the lease.
            sub: the caller's keep-alive.

        Raises:
            ClientClosedError: the client is closed.
        """
        self._transport.check_usable()
        with self._lock:
            if self._closed:
                raise ClientClosedError("etcd3py: the client is closed")
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = _Stream(key, self._first_timeout)
                stream.schedule.add(lease_id, sub, self._clock())
                self._start(stream)  # its call, once open, renews every lease at once
                return
            new = stream.schedule.add(lease_id, sub, self._clock())
            if new and stream.requests is not None:
                stream.requests.put(_request(lease_id))

    def unsubscribe(
        self, key: StreamKey, lease_id: int, sub: Subscriber, error: BaseException | None
    ) -> None:
        """Stop renewing for ``sub`` and end it with ``error``; a stream (and its thread)
        ends when its last lease goes.

        Args:
            key: the stream ``sub`` was subscribed on.
            lease_id: the lease.
            sub: the caller's keep-alive.
            error: what ``sub`` ends with (``None``: cleanly).
        """
        with self._lock:
            stream = self._streams.get(key)
            if stream is None or not stream.schedule.remove(lease_id, sub):
                return
            sub.finish(error)
            self._stop_if_idle(stream)

    def close(self) -> None:
        """End every keep-alive with ``ClientClosedError``, stop and join every thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            streams = list(self._streams.values())
            self._streams.clear()
            for stream in streams:
                for sub in stream.schedule.clear():
                    sub.finish(ClientClosedError("etcd3py: the client is closed"))
                stream.stop()
        deadline = time.monotonic() + _JOIN_LIMIT
        for stream in streams:
            thread = stream.thread
            if thread is None or thread is threading.current_thread():
                continue
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():
                _log.warning("etcd3py: thread %s did not end in time", thread.name)

    @property
    def threads(self) -> list[threading.Thread]:
        """The running keep-alive threads (one per live stream)."""
        with self._lock:
            return [s.thread for s in self._streams.values() if s.thread is not None]

    def streams(self) -> list[StreamKey]:
        """Return the metadata of every live stream."""
        with self._lock:
            return list(self._streams)

    def kept_alive(self) -> list[int]:
        """Return the IDs of the leases being kept alive (on any stream), sorted."""
        with self._lock:
            return sorted({lid for s in self._streams.values() for lid in s.schedule.ids()})

    # ---- lock held ---------------------------------------------------------------------------
    def _start(self, stream: _Stream) -> None:
        stream.thread = threading.Thread(
            target=self._thread_main, args=(stream,), name=THREAD_NAME, daemon=True
        )
        stream.thread.start()

    def _stop_if_idle(self, stream: _Stream) -> None:
        if len(stream.schedule) == 0 and not stream.stopped:
            stream.stop()  # Go closes an idle stream too; the next keep_alive opens anew
            if self._streams.get(stream.key) is stream:
                del self._streams[stream.key]

    def _expire(self, stream: _Stream) -> None:
        for lease_id, subs in stream.schedule.expire(self._clock()):
            error = LeaseExpiredError(
                f"etcd3py: lease {lease_id:x} was not renewed before its TTL ran out"
            )
            for sub in subs:
                sub.finish(error)
        self._stop_if_idle(stream)

    def _deliver(self, stream: _Stream, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        subs, gone = stream.schedule.on_response(response.ID, response.TTL, self._clock())
        for sub in subs:
            if gone:
                sub.finish(LeaseNotFoundError("etcdserver: requested lease not found"))
            else:
                sub.push(response)
        if gone:
            self._stop_if_idle(stream)

    # ---- gRPC's request consumer (the timer) -------------------------------------------
    def _tick(self, stream: _Stream) -> list[_pb.rpc.LeaseKeepAliveRequest]:
        with self._lock:
            self._expire(stream)
            now = self._clock()
            if stream.schedule.stalled(now) and stream.call is not None:
                # A half-open connection or a hung server stream: no error would ever
                # come, so cancel the call; the thread reconnects and renews at once.
                _log.info("etcd3py: no keep-alive answer in time; reopening the stream")
                cancel_call(stream.call)
                return []
            return [_request(lid) for lid in stream.schedule.due(now)]

    # ---- a stream's thread -------------------------------------------------------------------
    def _thread_main(self, stream: _Stream) -> None:
        try:
            policy = keep_alive_policy(stream.require_leader)
            while True:
                error, healthy = self._serve_one_call(stream)
                if error is None:
                    return
                step = policy.failed(error, healthy)
                if step.refresh:
                    step = policy.refreshed(self._transport.refresh_token("the keep-alive stream"))
                if step.end:
                    # etcd refused the stream, or ended it on losing its leader: as
                    # clientv3, the keep-alives that require a leader end with the error
                    self._fail(stream, error)
                    return
                with self._lock:
                    if stream.stopped:
                        return
                _log.info("etcd3py: the keep-alive stream broke (%s); reconnecting", error)
                self._wait_backoff(stream, step.wait)
        except BaseException as exc:  # a bug: end the keep-alives loudly rather than hang them
            _log.exception("etcd3py: the keep-alive thread failed")
            self._fail(stream, InternalError(f"etcd3py: the keep-alive thread failed: {exc!r}"))

    def _wait_backoff(self, stream: _Stream, seconds: float) -> None:
        """Sleep before reconnecting, ending keep-alives whose deadline passes meanwhile."""
        until = time.monotonic() + seconds
        while True:
            with self._lock:
                if stream.stopped:
                    return
                self._expire(stream)
            left = until - time.monotonic()
            if left <= 0:
                return
            stream.wake.wait(min(left, TICK))

    def _serve_one_call(self, stream: _Stream) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the thread should end, any reply?)."""
        requests: RequestQueue[_pb.rpc.LeaseKeepAliveRequest]
        requests = RequestQueue(poll=TICK, tick=lambda: self._tick(stream))
        try:
            self._transport.check_usable()
            metadata = (*stream.key, *self._transport.metadata())
            call = self._stub.LeaseKeepAlive(iter(requests), metadata=metadata)
        except EtcdError as exc:
            return (None if isinstance(exc, ClientClosedError) else exc), False
        with self._lock:
            if stream.stopped:
                requests.end()
                cancel_call(call)
                return None, False
            stream.call, stream.requests = call, requests
            for lease_id in stream.schedule.stream_opened(self._clock()):
                requests.put(_request(lease_id))
        healthy = False
        try:
            for response in call:
                healthy = True
                with self._lock:
                    if stream.stopped:
                        return None, healthy
                    self._deliver(stream, response)
            error: EtcdError = UnavailableError("etcd3py: the server ended the keep-alive stream")
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
        finally:
            with self._lock:
                stream.call = stream.requests = None
            requests.end()
            cancel_call(call)
        with self._lock:
            return (None if stream.stopped else error), healthy

    def _fail(self, stream: _Stream, error: EtcdError) -> None:
        """End every keep-alive of ``stream`` with ``error`` and close the stream."""
        with self._lock:
            for sub in stream.schedule.clear():
                sub.finish(error)
            stream.stop()
            if self._streams.get(stream.key) is stream:
                del self._streams[stream.key]
