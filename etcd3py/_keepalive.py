"""The client's one keep-alive thread, renewing every kept-alive lease over one gRPC stream.

Mirrors clientv3 ``lease.go`` (``recvKeepAliveLoop``, ``sendKeepAliveLoop``,
``deadlineLoop``) without its three goroutines: :class:`KeepAliveSchedule` decides (sans-IO:
no clock, no gRPC, no threads; tested alone), :class:`KeepAliveDriver` moves messages.

The schedule holds one entry per lease, however many ``keep_alive()`` callers share it: its
subscribers, when to send the next renewal (at once for a new lease or a new stream, then a
third of the TTL after each response, and again every :data:`RESEND` seconds while no answer
comes), and its deadline (the TTL after the last renewal; :data:`first_timeout` for a new
one). A renewal unanswered for a third of the TTL means the stream is hung (a half-open
connection): the call is cancelled and reopened before the lease is lost. A response with
``ttl <= 0`` means the lease is gone: its subscribers end with ``LeaseNotFoundError``. A
deadline that passes ends them with ``LeaseExpiredError``.

Threads (never one per lease):

* ``etcd3py-keepalive`` (daemon), one per client while at least one lease is kept alive
  (started by the first ``subscribe``; it ends once none is left or the client closes; as
  clientv3, every stream failure is retried, the deadlines ending what cannot wait): opens
  the ``LeaseKeepAlive`` call with the auth token, reads its responses and delivers them,
  and on a failure backs off (tenacity's exponential wait with jitter, capped at 1 s;
  :func:`etcd3py._streams.backoff`) while checking deadlines, then reopens and renews every
  lease at once, so a dropped stream or a restarted server does not let a lease expire.
* gRPC's consumer of each call's request iterator (an :class:`etcd3py._streams.RequestQueue`,
  the watch driver's pattern): besides taking queued requests, every :data:`TICK` seconds it
  runs :meth:`KeepAliveDriver._tick`, which sends the renewals that are due and ends the
  keep-alives past their deadline. It is the timer: no thread sleeps per lease.
* User threads: ``subscribe`` / ``unsubscribe`` (``keep_alive()``, ``KeepAlive.close()``,
  a context ending) and ``close()``; they iterate their :class:`~etcd3py.lease.KeepAlive`,
  whose buffer is bounded, so a slow consumer misses renewals but never blocks this module.

Locks: ``KeepAliveDriver._lock`` guards the schedule, ``_run`` (the current thread's run
state: call, request queue, stop flag) and ``_closed``. It is taken before a
``KeepAlive``'s own condition (``push``/``finish``), never after; neither is held while
user code runs, and delivering never blocks.

Shutdown order (``client.close()`` calls ``close()`` before closing the channel): refuse new
keep-alives; end every subscriber with ``ClientClosedError``; end the request queue, cancel
the call and wake the backoff; join the thread with a time limit (a lingering one is logged),
never from itself.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import grpc

from etcd3py import _pb
from etcd3py._streams import RequestQueue, backoff, cancel_call
from etcd3py.errors import (
    ClientClosedError,
    EtcdError,
    InternalError,
    InvalidAuthTokenError,
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

    def clear(self) -> list[_S]:
        """Remove every lease; return every subscriber."""
        subs = [sub for entry in self._entries.values() for sub in entry.subscribers]
        self._entries.clear()
        return subs


class _Run:
    """The run state of one keep-alive thread; its fields are guarded by the driver's lock."""

    def __init__(self) -> None:
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
    """Renews every kept-alive lease of one client on one thread and one stream.

    Args:
        transport: the client's transport (usability checks, token metadata).
        stub: the Lease stub on the client's channel.
        first_timeout: seconds a new lease may wait for its first renewal.
        clock: the monotonic clock (tests may pass another).
    """

    def __init__(
        self,
        transport: Transport,
        stub: _pb.rpc_grpc.LeaseStub,
        *,
        first_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._stub = stub
        self._clock = clock
        self._lock = threading.Lock()
        self._schedule: KeepAliveSchedule[Subscriber] = KeepAliveSchedule(first_timeout)
        self._run: _Run | None = None  # the live thread's state; None when no thread runs
        self._closed = False

    # ---- user threads --------------------------------------------------------------------
    def subscribe(self, lease_id: int, sub: Subscriber) -> None:
        """Keep ``lease_id`` alive for ``sub``, starting the thread if none runs.

        Raises:
            ClientClosedError: the client is closed.
        """
        self._transport.check_usable()
        with self._lock:
            if self._closed:
                raise ClientClosedError("etcd3py: the client is closed")
            new = self._schedule.add(lease_id, sub, self._clock())
            if self._run is None:
                self._start()  # its stream, once open, renews every lease at once
            elif new and self._run.requests is not None:
                self._run.requests.put(_request(lease_id))

    def unsubscribe(self, lease_id: int, sub: Subscriber, error: BaseException | None) -> None:
        """Stop renewing for ``sub`` and end it with ``error``; the thread ends when the
        last lease goes.
        """
        with self._lock:
            removed = self._schedule.remove(lease_id, sub)
            if removed:
                sub.finish(error)
            self._stop_if_idle()

    def close(self) -> None:
        """End every keep-alive with ``ClientClosedError``, stop and join the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for sub in self._schedule.clear():
                sub.finish(ClientClosedError("etcd3py: the client is closed"))
            run, self._run = self._run, None
            if run is not None:
                run.stop()
        thread = run.thread if run is not None else None
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_LIMIT)
            if thread.is_alive():
                _log.warning("etcd3py: thread %s did not end in time", thread.name)

    @property
    def thread(self) -> threading.Thread | None:
        """The running keep-alive thread, if any."""
        with self._lock:
            return self._run.thread if self._run is not None else None

    def kept_alive(self) -> list[int]:
        """Return the IDs of the leases being kept alive."""
        with self._lock:
            return list(self._schedule._entries)

    # ---- lock held ---------------------------------------------------------------------------
    def _start(self) -> None:
        run = _Run()
        run.thread = threading.Thread(
            target=self._thread_main, args=(run,), name=THREAD_NAME, daemon=True
        )
        self._run = run
        run.thread.start()

    def _stop_if_idle(self) -> None:
        if len(self._schedule) == 0 and self._run is not None:
            self._run.stop()  # Go closes an idle stream too; the next keep_alive starts anew
            self._run = None

    def _expire(self) -> None:
        for lease_id, subs in self._schedule.expire(self._clock()):
            error = LeaseExpiredError(
                f"etcd3py: lease {lease_id:x} was not renewed before its TTL ran out"
            )
            for sub in subs:
                sub.finish(error)
        self._stop_if_idle()

    def _deliver(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        subs, gone = self._schedule.on_response(response.ID, response.TTL, self._clock())
        for sub in subs:
            if gone:
                sub.finish(LeaseNotFoundError("etcdserver: requested lease not found"))
            else:
                sub.push(response)
        if gone:
            self._stop_if_idle()

    # ---- gRPC's request consumer (the timer) -------------------------------------------
    def _tick(self) -> list[_pb.rpc.LeaseKeepAliveRequest]:
        with self._lock:
            self._expire()
            now = self._clock()
            run = self._run
            if self._schedule.stalled(now) and run is not None and run.call is not None:
                # A half-open connection or a hung server stream: no error would ever
                # come, so cancel the call; the thread reconnects and renews at once.
                _log.info("etcd3py: no keep-alive answer in time; reopening the stream")
                cancel_call(run.call)
                return []
            return [_request(lid) for lid in self._schedule.due(now)]

    # ---- the keep-alive thread -----------------------------------------------------------
    def _thread_main(self, run: _Run) -> None:
        try:
            attempt = 0
            while True:
                error, healthy = self._serve_one_call(run)
                if error is None:
                    return
                attempt = 1 if healthy else attempt + 1
                if isinstance(error, InvalidAuthTokenError):
                    self._transport.refresh_token("the keep-alive stream")
                with self._lock:
                    if run.stopped:
                        return
                _log.info("etcd3py: the keep-alive stream broke (%s); reconnecting", error)
                self._wait_backoff(run, backoff(attempt))
        except BaseException as exc:  # a bug: end the keep-alives loudly rather than hang them
            _log.exception("etcd3py: the keep-alive thread failed")
            self._fail(run, InternalError(f"etcd3py: the keep-alive thread failed: {exc!r}"))

    def _wait_backoff(self, run: _Run, seconds: float) -> None:
        """Sleep before reconnecting, ending keep-alives whose deadline passes meanwhile."""
        until = time.monotonic() + seconds
        while True:
            with self._lock:
                if run.stopped:
                    return
                self._expire()
            left = until - time.monotonic()
            if left <= 0:
                return
            run.wake.wait(min(left, TICK))

    def _serve_one_call(self, run: _Run) -> tuple[EtcdError | None, bool]:
        """Run one call; return (its failure or None when the thread should end, any reply?)."""
        requests: RequestQueue[_pb.rpc.LeaseKeepAliveRequest]
        requests = RequestQueue(poll=TICK, tick=self._tick)
        try:
            self._transport.check_usable()
            call = self._stub.LeaseKeepAlive(iter(requests), metadata=self._transport.metadata())
        except EtcdError as exc:
            return (None if isinstance(exc, ClientClosedError) else exc), False
        with self._lock:
            if run.stopped:
                requests.end()
                cancel_call(call)
                return None, False
            run.call, run.requests = call, requests
            for lease_id in self._schedule.stream_opened(self._clock()):
                requests.put(_request(lease_id))
        healthy = False
        try:
            for response in call:
                healthy = True
                with self._lock:
                    if run.stopped:
                        return None, healthy
                    self._deliver(response)
            error: EtcdError = UnavailableError("etcd3py: the server ended the keep-alive stream")
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
        finally:
            with self._lock:
                run.call = run.requests = None
            requests.end()
            cancel_call(call)
        with self._lock:
            return (None if run.stopped else error), healthy

    def _fail(self, run: _Run, error: EtcdError) -> None:
        with self._lock:
            if self._run is not run:
                return
            for sub in self._schedule.clear():
                sub.finish(error)
            run.stop()
            self._run = None
