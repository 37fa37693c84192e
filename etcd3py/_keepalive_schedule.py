"""When to renew which lease of a keep-alive stream, and which keep-alives end (sans-IO).

:class:`KeepAliveSchedule` holds one entry per lease of a stream, however many
``keep_alive()`` callers share it: its subscribers, when to send the next renewal (at once
for a new lease or a new stream, then a third of the TTL after each response, and again
every :data:`RESEND` seconds while no answer comes), and its deadline (the TTL after the
last renewal; :func:`first_timeout` for a new one). Times are passed in: no clock, no wire.
Each face's driver runs it through :mod:`etcd3py._keepalive_state`.
"""

from __future__ import annotations

import dataclasses
from typing import Generic, TypeVar

__all__ = ["RESEND", "STALL_MIN", "KeepAliveSchedule", "first_timeout"]

RESEND = 0.5  # seconds before a renewal that got no answer is sent again (Go: 500 ms)
STALL_MIN = 1.0  # seconds a renewal may go unanswered before the stream is taken as hung

_S = TypeVar("_S")


def first_timeout(dial_timeout: float | None) -> float:
    """How long a new keep-alive waits for its first renewal before giving the lease up.

    As clientv3: the dial timeout plus a second, but at least 5 seconds.

    Args:
        dial_timeout: the client's dial timeout.

    Returns:
        The seconds.
    """
    return max((dial_timeout or 0.0) + 1.0, 5.0)


@dataclasses.dataclass
class _Entry(Generic[_S]):
    subscribers: list[_S]
    next_at: float  # monotonic time of the next renewal
    deadline: float  # monotonic time after which the lease is taken as expired
    ttl: float  # the last TTL the server renewed it to (first_timeout before any)
    waiting_since: float | None  # when the oldest unanswered renewal went out
    answered: bool = False  # a renewal of it succeeded on this stream
    asked_again: bool = False  # a "gone" answer before any renewal succeeded was doubted


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

        The first "gone" of a lease no renewal has kept alive yet is doubted: the lease is
        asked about again :data:`RESEND` seconds later, and only a second "gone" ends it
        (its deadline still holds meanwhile). etcd before 3.5.3 renews on the leader without
        waiting for the leader to apply the grant (etcd #13675): on a cluster, a lease granted
        through a follower and kept alive at once can be reported gone while it exists.
        """
        self._last_answer = now
        entry = self._entries.get(lease_id)
        if entry is None:
            return [], False
        if ttl <= 0 and not entry.answered and not entry.asked_again:
            entry.asked_again = True
            entry.next_at = now + RESEND
            entry.waiting_since = None
            return [], False
        if ttl <= 0:
            del self._entries[lease_id]
            return entry.subscribers, True
        entry.answered = True
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
