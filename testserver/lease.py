"""The reference server's lessor: leases, their TTLs and attached keys (etcd's ``lease/lessor.go``).

A :class:`Lessor` holds every granted lease (id, granted TTL, expiry on a monotonic clock,
attached keys) and implements the store's :class:`~testserver.mvcc.store.Lessor` protocol, so
that a put with a lease attaches its key (moving it from its old lease), and a delete, or a put
to another lease, detaches it. Revoking a lease, or its expiry, deletes every attached key in
one write txn of the store: one revision, so that watchers get all the DELETE events in one
response. Expiries sit in a heap (lazily pruned: an entry whose lease was renewed or revoked
since is skipped); :meth:`Lessor.expire_due` revokes what is due and is called by the server's
background task on its loop. The clock is injectable, so tests need no sleeps.

As etcd 3.5.1 with default flags: a TTL below the minimum (2 s: ``ceil(1.5 * election ticks *
heartbeat)``) is raised to it, a TTL above :data:`MAX_LEASE_TTL` is refused, a renewal resets
the expiry to the full granted TTL, and :meth:`Lessor.promote` (run when the server starts
serving, as etcd's leader does on election) refreshes every lease, extended by the election
timeout, so that no lease expires because the server was down. Everything runs on the
server's one asyncio loop; nothing here takes a lock.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable

from etcd3py.errors import LeaseExistError, LeaseNotFoundError, LeaseTTLTooLargeError
from testserver.mvcc.store import Store

__all__ = ["ELECTION_TIMEOUT", "Lease", "Lessor", "MAX_LEASE_TTL", "MIN_LEASE_TTL"]

#: etcd's ``MaxLeaseTTL`` (seconds).
MAX_LEASE_TTL = 9_000_000_000
#: etcd's minimum TTL with default flags: ceil((3 * 10 election ticks / 2) * 100 ms) seconds.
MIN_LEASE_TTL = 2
#: etcd's default election timeout (seconds): how far :meth:`Lessor.promote` extends leases.
ELECTION_TIMEOUT = 1.0


class Lease:
    """One granted lease.

    Attributes:
        id: the lease id.
        ttl: the granted TTL in seconds (after the minimum was applied).
        expiry: when it expires, on the lessor's clock.
        keys: the keys attached to it.
    """

    __slots__ = ("expiry", "id", "keys", "ttl")

    def __init__(self, lease_id: int, ttl: int, expiry: float) -> None:
        self.id = lease_id
        self.ttl = ttl
        self.expiry = expiry
        self.keys: set[bytes] = set()

    def remaining(self, now: float) -> float:
        """Return the seconds left before expiry (negative once past it)."""
        return self.expiry - now

    def remaining_ttl(self, now: float) -> int:
        """Return the remaining TTL in whole seconds, truncated as etcd's ``TimeToLive``."""
        return math.trunc(self.remaining(now))


class Lessor:
    """The lease registry of one reference server.

    Args:
        clock: a monotonic clock in seconds (``time.monotonic`` unless a test injects one).
        min_ttl: the smallest TTL granted; smaller requests are raised to it.

    Attributes:
        store: the store whose keys revoking deletes (set by :meth:`bind`).
        revoked: how many leases were revoked or expired (for tests and stand-in raft indexes).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, min_ttl: int = MIN_LEASE_TTL
    ) -> None:
        self.clock = clock
        self.min_ttl = min_ttl
        self.store: Store | None = None
        self.revoked = 0
        self._leases: dict[int, Lease] = {}
        self._key_lease: dict[bytes, int] = {}
        self._heap: list[tuple[float, int]] = []

    def bind(self, store: Store) -> None:
        """Use ``store`` for revocations and become its lessor.

        Args:
            store: the MVCC store; its ``lessor`` is set to this lessor.
        """
        self.store = store
        store.lessor = self

    # ---- the store's protocol --------------------------------------------------------------

    def lookup(self, lease_id: int) -> bool:
        """Return whether the lease exists."""
        return lease_id in self._leases

    def lease_of(self, key: bytes) -> int:
        """Return the lease ``key`` is attached to, or 0."""
        return self._key_lease.get(key, 0)

    def attach(self, lease_id: int, key: bytes) -> None:
        """Attach ``key`` to the lease (the store checked that it exists)."""
        lease = self._leases.get(lease_id)
        if lease is None:
            return
        lease.keys.add(key)
        self._key_lease[key] = lease_id

    def detach(self, lease_id: int, key: bytes) -> None:
        """Detach ``key`` from the lease, if it is attached to it."""
        lease = self._leases.get(lease_id)
        if lease is not None:
            lease.keys.discard(key)
        if self._key_lease.get(key) == lease_id:
            del self._key_lease[key]

    # ---- the Lease API ---------------------------------------------------------------------

    def grant(self, lease_id: int, ttl: int) -> Lease:
        """Grant a lease, as etcd's ``lessor.Grant``.

        Args:
            lease_id: the id (non-zero; the service picks one when the client gives none).
            ttl: the requested TTL in seconds (raised to the minimum if below it).

        Returns:
            The new lease.

        Raises:
            LeaseNotFoundError: ``lease_id`` is 0.
            LeaseTTLTooLargeError: ``ttl`` exceeds :data:`MAX_LEASE_TTL`.
            LeaseExistError: a lease with that id exists.
        """
        if lease_id == 0:
            raise LeaseNotFoundError()
        if ttl > MAX_LEASE_TTL:
            raise LeaseTTLTooLargeError()
        if lease_id in self._leases:
            raise LeaseExistError()
        ttl = max(ttl, self.min_ttl)
        lease = Lease(lease_id, ttl, self.clock() + ttl)
        self._leases[lease_id] = lease
        heapq.heappush(self._heap, (lease.expiry, lease_id))
        return lease

    def get(self, lease_id: int) -> Lease:
        """Return the lease.

        Raises:
            LeaseNotFoundError: no such lease.
        """
        lease = self._leases.get(lease_id)
        if lease is None:
            raise LeaseNotFoundError()
        return lease

    def renew(self, lease_id: int) -> int:
        """Renew the lease for its full TTL, as etcd's ``lessor.Renew``.

        A lease past its expiry that the background task has not revoked yet is revoked now
        (etcd waits for that revocation and then answers not found).

        Returns:
            The granted TTL.

        Raises:
            LeaseNotFoundError: no such lease, or it had expired.
        """
        lease = self.get(lease_id)
        now = self.clock()
        if lease.remaining(now) <= 0:
            self.revoke(lease_id)
            raise LeaseNotFoundError()
        self._refresh(lease, now, 0.0)
        return lease.ttl

    def revoke(self, lease_id: int) -> int:
        """Revoke the lease: delete its keys (sorted) in one revision, then forget it.

        Returns:
            The store's revision after the deletes (unchanged when no key was attached).

        Raises:
            LeaseNotFoundError: no such lease.
        """
        lease = self.get(lease_id)
        store = self.store
        if store is None:
            raise RuntimeError("Lessor.bind(store) was not called")
        txn = store.write()
        try:
            for key in sorted(lease.keys):
                txn.delete_range(key, None)
        except BaseException:
            txn.abort()
            raise
        for key in lease.keys:
            if self._key_lease.get(key) == lease_id:
                del self._key_lease[key]
        del self._leases[lease_id]
        self.revoked += 1
        txn.end()
        return store.current_revision

    def leases(self) -> list[int]:
        """Return the ids of every lease (expired ones not yet revoked included, as etcd)."""
        return list(self._leases)

    def time_to_live(self, lease_id: int) -> tuple[int, int, list[bytes]]:
        """Return (remaining TTL in whole seconds, granted TTL, attached keys sorted).

        Raises:
            LeaseNotFoundError: no such lease.
        """
        lease = self.get(lease_id)
        return lease.remaining_ttl(self.clock()), lease.ttl, sorted(lease.keys)

    # ---- expiry ----------------------------------------------------------------------------

    def next_expiry(self) -> float | None:
        """Return the earliest pending expiry on the clock, or None when there is none."""
        self._prune()
        return self._heap[0][0] if self._heap else None

    def expire_due(self, limit: int = 500) -> list[int]:
        """Revoke the leases whose expiry has passed, each in its own revision.

        Args:
            limit: revoke at most this many (etcd revokes up to 500 per round).

        Returns:
            The ids revoked, in expiry order.
        """
        now = self.clock()
        done: list[int] = []
        while len(done) < limit:
            self._prune()
            if not self._heap or self._heap[0][0] > now:
                break
            _, lease_id = heapq.heappop(self._heap)
            self.revoke(lease_id)
            done.append(lease_id)
        return done

    def promote(self, extend: float = ELECTION_TIMEOUT) -> None:
        """Refresh every lease to its full TTL plus ``extend`` (etcd's ``lessor.Promote``).

        Args:
            extend: extra seconds (the election timeout), so that none expires at once.
        """
        now = self.clock()
        for lease in self._leases.values():
            self._refresh(lease, now, extend)

    def _refresh(self, lease: Lease, now: float, extend: float) -> None:
        lease.expiry = now + extend + lease.ttl
        heapq.heappush(self._heap, (lease.expiry, lease.id))
        if len(self._heap) > 4 * len(self._leases) + 64:  # drop stale entries of renewals
            self._heap = [(x.expiry, x.id) for x in self._leases.values()]
            heapq.heapify(self._heap)

    def _prune(self) -> None:
        heap = self._heap
        while heap:
            expiry, lease_id = heap[0]
            lease = self._leases.get(lease_id)
            if lease is not None and lease.expiry == expiry:
                return
            heapq.heappop(heap)
