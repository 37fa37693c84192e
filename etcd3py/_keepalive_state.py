"""The keep-alive rules of both faces, sans-IO: no clock, no wire, no threads, no tasks.

Mirrors clientv3 ``lease.go`` (``recvKeepAliveLoop``, ``sendKeepAliveLoop``,
``deadlineLoop``) without its goroutines. What each face's driver (the sync
:class:`etcd3py._keepalive.KeepAliveDriver`, a thread per stream; the asyncio
:class:`etcd3py.aio._keepalive.AioKeepAliveDriver`, a task per stream) does on each event is
decided here, once; the drivers only move messages, wait and lock:

* :class:`KeepAliveSchedule`: one entry per lease of a stream, however many ``keep_alive()``
  callers share it: its subscribers, when to send the next renewal (at once for a new lease
  or a new stream, then a third of the TTL after each response, and again every
  :data:`RESEND` seconds while no answer comes), and its deadline (the TTL after the last
  renewal; :func:`first_timeout` for a new one).
* :class:`StreamState`: one ``LeaseKeepAlive`` stream (one per :data:`StreamKey`, the
  metadata of the callers' contexts, as clientv3): its schedule, its reconnect policy
  (:func:`etcd3py._reconnect.keep_alive_policy`) and what each event means. A response with
  ``ttl <= 0`` ends the lease's subscribers with ``LeaseNotFoundError``; a deadline that
  passes ends them with ``LeaseExpiredError``; a renewal unanswered for a third of the TTL
  means the stream is hung (a half-open connection): the driver reopens it before the
  lease is lost; a stream with no lease left is idle and ends.
* :class:`Renewals`: one caller's side: its bounded buffer and the error rule (ended by
  anything but its own close, it yields what it holds, then raises why).
* :func:`start_keep_alive`: what ``keep_alive()`` does with its ``timeout=`` and ``ctx=``.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from etcd3py import _pb
from etcd3py._lease_views import LeaseKeepAliveResponse
from etcd3py._reconnect import Reconnect, keep_alive_policy
from etcd3py.context import Context
from etcd3py.errors import (
    ClientClosedError,
    LeaseExpiredError,
    LeaseNotFoundError,
    UnavailableError,
)

__all__ = [
    "KEEPALIVE_BUFFER",
    "REQUIRE_LEADER",
    "RESEND",
    "STALL_MIN",
    "KeepAliveSchedule",
    "Renewals",
    "StreamKey",
    "StreamState",
    "Subscriber",
    "closed_error",
    "first_timeout",
    "not_found_error",
    "start_keep_alive",
    "stream_ended_error",
]

RESEND = 0.5  # seconds before a renewal that got no answer is sent again (Go: 500 ms)
STALL_MIN = 1.0  # seconds a renewal may go unanswered before the stream is taken as hung
#: Renewal responses one keep-alive holds unconsumed; past it the oldest is dropped.
KEEPALIVE_BUFFER = 16

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


_S = TypeVar("_S")
_Sub = TypeVar("_Sub", bound=Subscriber)


def first_timeout(dial_timeout: float | None) -> float:
    """How long a new keep-alive waits for its first renewal before giving the lease up.

    As clientv3: the dial timeout plus a second, but at least 5 seconds.

    Args:
        dial_timeout: the client's dial timeout.

    Returns:
        The seconds.
    """
    return max((dial_timeout or 0.0) + 1.0, 5.0)


def closed_error() -> ClientClosedError:
    """Return what a keep-alive ends with when its client closes."""
    return ClientClosedError("etcd3py: the client is closed")


def not_found_error() -> LeaseNotFoundError:
    """Return what a keep-alive ends with when the server says its lease is gone."""
    return LeaseNotFoundError("etcdserver: requested lease not found")


def stream_ended_error() -> UnavailableError:
    """Return the failure of a keep-alive stream the server ended without a status."""
    return UnavailableError("etcd3py: the server ended the keep-alive stream")


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
        self._last_answer = float("-inf")  # when the stream last answered anything

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
        self._last_answer = now
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
        """Whether a renewal went unanswered, and the stream silent, for a third of its
        lease's TTL (at least :data:`STALL_MIN` seconds): the stream is taken as hung and
        reopened, before the lease's deadline, rather than trusted until the lease is
        lost. A stream still answering others is not hung (a burst of thousands of
        renewals is answered in turn).
        """
        for entry in self._entries.values():
            limit = max(entry.ttl / 3.0, STALL_MIN)
            if entry.waiting_since is None:
                continue
            if now - max(entry.waiting_since, self._last_answer) >= limit:
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


def _requests(ids: list[int]) -> list[Request]:
    return [Request(ID=lid) for lid in ids]


class StreamState(Generic[_Sub]):
    """One ``LeaseKeepAlive`` stream's rules: what each event does to its keep-alives.

    The driver calls it (under its lock, in the sync face) and sends the requests it
    returns; subscribers are pushed to and finished from here, never blocking.

    Attributes:
        key: the stream's metadata.
        schedule: its leases.
        require_leader: whether its metadata asks etcd for a leader.
        policy: its reconnect policy.
        open: whether a call is up (a new lease's renewal then goes out at once).
        stopped: whether it ended (idle, failed, or its client closed).
    """

    def __init__(self, key: StreamKey, first_timeout: float) -> None:
        self.key = key
        self.schedule: KeepAliveSchedule[_Sub] = KeepAliveSchedule(first_timeout)
        self.require_leader = REQUIRE_LEADER in key
        self.policy: Reconnect = keep_alive_policy(self.require_leader)
        self.open = False
        self.stopped = False

    @property
    def idle(self) -> bool:
        """Whether no lease is left (the stream then ends, as clientv3's)."""
        return len(self.schedule) == 0

    def add(self, lease_id: int, sub: _Sub, now: float) -> list[Request]:
        """Keep ``lease_id`` alive for ``sub``; return what to send now."""
        new = self.schedule.add(lease_id, sub, now)
        return _requests([lease_id]) if new and self.open else []

    def remove(self, lease_id: int, sub: _Sub, error: BaseException | None) -> bool:
        """Stop renewing for ``sub`` and end it with ``error``; ``False`` if it was not here."""
        if not self.schedule.remove(lease_id, sub):
            return False
        sub.finish(error)
        return True

    def opened(self, now: float) -> list[Request]:
        """A call is up: return the renewals of every lease, due at once."""
        self.open = True
        return _requests(self.schedule.stream_opened(now))

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

    def tick(self, now: float) -> list[Request] | None:
        """The timer: expire, then return the renewals due, or ``None``: the stream is hung
        (no answer in time; no error would ever come), so the driver cancels the call.
        """
        self.expire(now)
        if self.open and self.schedule.stalled(now):
            return None
        return _requests(self.schedule.due(now))

    def fail(self, error: BaseException) -> None:
        """End every keep-alive with ``error``; the stream is stopped."""
        self.stopped = True
        for sub in self.schedule.clear():
            sub.finish(error)


class Renewals:
    """One ``keep_alive()`` caller's renewals and end (the face adds locking and waiting).

    The error rule: ended by anything but its own :meth:`close`, it yields what it holds,
    then :meth:`take` raises why; after its own close, iteration ends cleanly.
    """

    def __init__(self) -> None:
        self.items: collections.deque[_pb.rpc.LeaseKeepAliveResponse]
        self.items = collections.deque(maxlen=KEEPALIVE_BUFFER)
        self.err: BaseException | None = None
        self.closed = False  # the owner called close()
        self.done = False  # nothing more will come

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> bool:
        """Keep a renewal (dropping the oldest when full); ``True`` if taken."""
        if self.done:
            return False
        self.items.append(response)
        return True

    def finish(self, error: BaseException | None) -> bool:
        """End with ``error``; ``True`` for the first end (the one that counts)."""
        if self.done:
            return False
        self.err = None if self.closed else error
        self.done = True
        return True

    def close(self) -> None:
        """The owner's close: drop what is held; iteration ends cleanly."""
        self.closed = True
        self.items.clear()

    def take(self) -> tuple[bool, LeaseKeepAliveResponse | None]:
        """Return (ready, the next renewal or ``None`` for the end); not ready: wait.

        Raises:
            BaseException: the error that ended it, once nothing is held.
        """
        if self.closed:
            return True, None
        if self.items:
            return True, LeaseKeepAliveResponse(self.items.popleft())
        if self.done:
            if self.err is not None:
                raise self.err
            return True, None
        return False, None


class Follower(Protocol):
    """What :func:`start_keep_alive` needs of a face's ``KeepAlive``."""

    def finish(self, error: BaseException | None) -> None:
        """End, with ``error``."""

    def follow(self, ctx: Context, *, owned: bool = False) -> None:
        """End when ``ctx`` ends."""


def start_keep_alive(
    ka: Follower, subscribe: Callable[[], None], parent: Context, timeout: float | None
) -> None:
    """Subscribe ``ka`` and make it follow its context (``ctx=`` and ``timeout=``).

    A ``timeout`` makes a child context owned by ``ka`` (cancelled once it ends); a context
    that already ended ends ``ka`` at once, nothing subscribed.

    Args:
        ka: the new keep-alive.
        subscribe: subscribes it on its driver (may raise ``ClientClosedError``).
        parent: the caller's context (background when none).
        timeout: seconds after which it ends with ``DeadlineExceededError``.
    """
    scope = parent if timeout is None else parent.with_timeout(timeout)
    if scope is Context.background():
        subscribe()
        return
    err = scope.err()
    if err is not None:  # already ended: nothing is sent, the first next() raises
        ka.finish(err)
        if scope is not parent:
            scope.cancel()
        return
    try:
        subscribe()
    except BaseException:
        if scope is not parent:
            scope.cancel()
        raise
    ka.follow(scope, owned=scope is not parent)
