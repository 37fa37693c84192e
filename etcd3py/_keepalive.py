"""The client's keep-alive threads: each renews the leases of one ``LeaseKeepAlive`` stream.

Mirrors clientv3 ``lease.go`` (``recvKeepAliveLoop``, ``sendKeepAliveLoop``,
``deadlineLoop``) without its goroutines: the rules of both faces live in
:mod:`etcd3py._keepalive_state` (sans-IO: :class:`KeepAliveSchedule` and each stream's
:class:`~etcd3py._keepalive_state.StreamState`; tested alone), and
:class:`KeepAliveDriver` moves messages and locks; the asyncio face's driver
(:mod:`etcd3py.aio._keepalive`) drives the same rules from a task per stream.

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

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc

from etcd3py import _pb, _stubs
from etcd3py._keepalive_schedule import RESEND, STALL_MIN, KeepAliveSchedule
from etcd3py._keepalive_state import (
    REQUIRE_LEADER,
    KeepAliveStreams,
    StreamKey,
    StreamState,
    Subscriber,
    stream_ended_error,
)
from etcd3py._streams import RequestQueue, cancel_call
from etcd3py.errors import ClientClosedError, EtcdError, InternalError, from_rpc_error

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = [
    "REQUIRE_LEADER",
    "RESEND",
    "STALL_MIN",
    "THREAD_NAME",
    "TICK",
    "KeepAliveDriver",
    "KeepAliveSchedule",
    "StreamKey",
    "Subscriber",
]

_log = logging.getLogger(__name__)

TICK = 0.25  # seconds between two looks at the schedule by a call's request consumer
_JOIN_LIMIT = 5.0  # seconds close() waits for the thread
THREAD_NAME = "etcd3py-keepalive"


class _Stream(StreamState):
    """One ``LeaseKeepAlive`` stream: its rules and its thread (guarded by the driver's lock)."""

    def __init__(self, key: StreamKey, first_timeout: float) -> None:
        wake = threading.Event()  # cuts the reconnect backoff short
        super().__init__(key, first_timeout, wake.set)
        self.wake = wake
        self.thread: threading.Thread | None = None


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
        self._lock = threading.Lock()  # guards the streams (their state and run state)
        self._table: KeepAliveStreams[_Stream] = KeepAliveStreams(
            lambda key: _Stream(key, first_timeout), self._start, clock
        )

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
            self._table.subscribe(key, lease_id, sub)

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
            self._table.unsubscribe(key, lease_id, sub, error)

    def close(self) -> None:
        """End every keep-alive with ``ClientClosedError``, stop and join every thread."""
        with self._lock:
            streams = self._table.close()
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
            return [s.thread for s in self._table.streams.values() if s.thread is not None]

    def streams(self) -> list[StreamKey]:
        """Return the metadata of every live stream."""
        with self._lock:
            return list(self._table.streams)

    def kept_alive(self) -> list[int]:
        """Return the IDs of the leases being kept alive (on any stream), sorted."""
        with self._lock:
            return self._table.kept_alive()

    def _start(self, stream: _Stream) -> None:  # lock held
        stream.thread = threading.Thread(
            target=self._thread_main, args=(stream,), name=THREAD_NAME, daemon=True
        )
        stream.thread.start()

    # ---- gRPC's request consumer (the timer) -------------------------------------------
    def _tick(self, stream: _Stream) -> list[_pb.rpc.LeaseKeepAliveRequest]:
        with self._lock:
            return self._table.tick(stream)

    # ---- a stream's thread -------------------------------------------------------------------
    def _thread_main(self, stream: _Stream) -> None:
        try:
            policy = stream.policy
            while True:
                error, healthy = self._serve_one_call(stream)
                if error is None:
                    return
                step = policy.failed(error, healthy)
                if step.refresh:
                    ok = self._transport.refresh_token("the keep-alive stream", policy.token)
                    step = policy.refreshed(ok)
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
        with self._lock:
            pauses = self._table.backoff(stream, seconds, TICK)
        while True:
            with self._lock:
                pause = next(pauses, None)
            if pause is None:
                return
            stream.wake.wait(pause)

    def _serve_one_call(self, stream: _Stream) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the thread should end, any reply?)."""
        requests: RequestQueue[_pb.rpc.LeaseKeepAliveRequest]
        requests = RequestQueue(poll=TICK, tick=lambda: self._tick(stream))
        try:
            self._transport.check_usable()
            metadata = (*stream.key, *self._transport.metadata())
            stream.policy.opened(metadata)
            call = self._stub.LeaseKeepAlive(iter(requests), metadata=metadata)
        except EtcdError as exc:
            return (None if isinstance(exc, ClientClosedError) else exc), False
        with self._lock:
            if stream.stopped:
                requests.end()
                cancel_call(call)
                return None, False
            stream.opened(call, requests, self._table.clock())
        healthy = False
        try:
            for response in call:
                healthy = True
                with self._lock:
                    if stream.stopped:
                        return None, healthy
                    self._table.deliver(stream, response)
            error: EtcdError = stream_ended_error()
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
        finally:
            with self._lock:
                stream.call_ended()
            requests.end()
            cancel_call(call)
        with self._lock:
            return (None if stream.stopped else error), healthy

    def _fail(self, stream: _Stream, error: EtcdError) -> None:
        """End every keep-alive of ``stream`` with ``error`` and close the stream."""
        with self._lock:
            self._table.fail(stream, error)
