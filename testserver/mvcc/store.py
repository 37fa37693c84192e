"""The revisioned key space of the reference server: etcd's ``kvstore.go`` and ``kvstore_txn.go``.

The store owns the revision counter, the key index, every stored change by revision (the
history a past read or a watch replay needs) and compaction. Reads and writes go through
transactions: a :class:`TxnWrite` collects changes at ``current_revision + 1`` and commits them
as one revision when it ends (a txn that changed nothing leaves the revision alone).

It raises the domain errors of :mod:`etcd3py.errors` (``CompactedError``,
``FutureRevisionError``) and knows nothing of gRPC; request-level rules (sorting, limits,
compares, ``ignore_value``...) live in :mod:`testserver.mvcc.apply`. It runs on the server's
one asyncio loop and takes no locks.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from etcd3py import _pb
from etcd3py.errors import CompactedError, FutureRevisionError
from testserver.mvcc.crc32c import crc32c
from testserver.mvcc.index import TreeIndex
from testserver.mvcc.revision import Revision, revision_bytes

__all__ = [
    "Change",
    "Lessor",
    "NoLessor",
    "RangeResult",
    "Record",
    "Store",
    "TxnRead",
    "TxnWrite",
]


@dataclass(frozen=True, slots=True)
class Record:
    """One stored version of a key (etcd's ``mvccpb.KeyValue`` as kept in the backend).

    A tombstone keeps only the key; its other fields are zero.
    """

    key: bytes
    value: bytes = b""
    create_revision: int = 0
    mod_revision: int = 0
    version: int = 0
    lease: int = 0

    def to_pb(self) -> _pb.kv.KeyValue:
        """Return the record as an ``mvccpb.KeyValue`` message."""
        return _pb.kv.KeyValue(
            key=self.key,
            value=self.value,
            create_revision=self.create_revision,
            mod_revision=self.mod_revision,
            version=self.version,
            lease=self.lease,
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One change of history: a put (``tombstone`` False) or a delete of ``record.key``."""

    rev: Revision
    record: Record
    tombstone: bool


@dataclass(slots=True)
class RangeResult:
    """What a range read found.

    Attributes:
        records: the key-values, in key order (empty for a count-only read).
        count: how many keys the range holds (regardless of the limit).
        rev: the revision the read was served at (the store's current one).
    """

    records: list[Record]
    count: int
    rev: int


class Lessor(Protocol):
    """What the store needs from the lease registry (a later issue fills it in)."""

    def lookup(self, lease_id: int) -> bool:
        """Return whether the lease exists."""

    def lease_of(self, key: bytes) -> int:
        """Return the lease ``key`` is attached to, or 0."""

    def attach(self, lease_id: int, key: bytes) -> None:
        """Attach ``key`` to the lease."""

    def detach(self, lease_id: int, key: bytes) -> None:
        """Detach ``key`` from the lease."""


class NoLessor:
    """The lease registry before leases exist: no lease is ever found."""

    def lookup(self, lease_id: int) -> bool:
        """Return False: no lease has been granted."""
        return False

    def lease_of(self, key: bytes) -> int:
        """Return 0: no key has a lease."""
        return 0

    def attach(self, lease_id: int, key: bytes) -> None:
        """Do nothing (never reached: an unknown lease is refused first)."""

    def detach(self, lease_id: int, key: bytes) -> None:
        """Do nothing."""


class Store:
    """The MVCC store: revisions, the key index, stored changes and compaction.

    Attributes:
        current_revision: the revision of the last committed write (1 when empty).
        compact_revision: the main revision of the last compaction (-1 before any).
        lessor: the lease registry puts check and attach keys to.
    """

    def __init__(self, lessor: Lessor | None = None) -> None:
        self.current_revision = 1
        self.compact_revision = -1
        self.lessor: Lessor = lessor if lessor is not None else NoLessor()
        self.index = TreeIndex()
        self._records: dict[Revision, Change] = {}
        self._log: list[Revision] = []  # every stored revision, in order
        #: called with each committed txn's changes, after the revision moved (for watchers).
        self.listeners: list[Callable[[list[Change]], None]] = []

    def read(self) -> TxnRead:
        """Open a read at the current revision."""
        return TxnRead(self)

    def write(self) -> TxnWrite:
        """Open a write txn; its changes commit as one revision on :meth:`TxnWrite.end`."""
        return TxnWrite(self)

    def record_at(self, rev: Revision) -> Record:
        """Return the stored version at ``rev`` (it must exist)."""
        return self._records[rev].record

    def changes(self, start: int, end: int) -> list[Change]:
        """Return the stored changes with ``start <= main revision < end``, in order.

        As etcd's watchable store, reading from the compaction revision itself is allowed
        (what compaction kept of it is returned); reading from before it is not.

        Raises:
            CompactedError: ``start`` is below the compaction revision (history is gone).
        """
        if start < self.compact_revision:
            raise CompactedError()
        lo = bisect.bisect_left(self._log, Revision(start, 0))
        hi = bisect.bisect_left(self._log, Revision(end, 0))
        return [self._records[r] for r in self._log[lo:hi]]

    def _store(self, change: Change) -> None:
        self._records[change.rev] = change
        self._log.append(change.rev)

    def _unstore(self, change: Change) -> None:
        del self._records[change.rev]
        if self._log and self._log[-1] == change.rev:
            self._log.pop()
        else:
            self._log.remove(change.rev)

    def _commit(self, changes: list[Change]) -> None:
        self.current_revision += 1
        for listener in list(self.listeners):
            listener(changes)

    def compact(self, rev: int) -> None:
        """Drop history at or below ``rev`` except each key's newest live version.

        Raises:
            CompactedError: ``rev`` is at or below the last compaction.
            FutureRevisionError: ``rev`` is above the current revision.
        """
        if rev <= self.compact_revision:
            raise CompactedError()
        if rev > self.current_revision:
            raise FutureRevisionError()
        self.compact_revision = rev
        keep = self.index.compact(rev)
        cut = bisect.bisect_left(self._log, Revision(rev + 1, 0))
        head = []
        for r in self._log[:cut]:
            if r in keep:
                head.append(r)
            else:
                del self._records[r]
        self._log[:cut] = head

    def hash_by_rev(self, rev: int) -> tuple[int, int, int]:
        """Hash the stored changes up to ``rev`` as etcd's ``HashByRev`` (CRC-32C).

        Args:
            rev: the revision to hash up to (0: the current one).

        Returns:
            (hash, current revision, compact revision).

        Raises:
            CompactedError: ``rev`` is at or below the compaction revision.
            FutureRevisionError: ``rev`` is above the current revision.
        """
        compact_rev, current = self.compact_revision, self.current_revision
        if 0 < rev <= compact_rev:
            raise CompactedError()
        if rev > current:
            raise FutureRevisionError()
        rev = rev or current
        keep = self.index.keep(rev)
        crc = crc32c(b"key")
        for r in self._log:
            if r.main > rev:
                break
            if r.main <= compact_rev and keep and r not in keep:
                continue
            change = self._records[r]
            crc = crc32c(revision_bytes(r, tombstone=change.tombstone), crc)
            crc = crc32c(change.record.to_pb().SerializeToString(), crc)
        return crc, current, compact_rev

    def size_estimate(self) -> tuple[int, int]:
        """Return plausible (database size, size in use) in bytes, in 4 KiB pages as bbolt's.

        A fresh etcd reports about 24 KiB on disk and 16 KiB in use; stored changes add to both.
        """
        data = sum(len(c.record.key) + len(c.record.value) + 64 for c in self._records.values())
        pages = -(-data // 4096) * 4096
        return 24576 + pages, 16384 + pages


class TxnRead:
    """A read of the store at its current revision (etcd's ``storeTxnRead``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.first_rev = store.compact_revision
        self.rev = store.current_revision

    def range(
        self,
        key: bytes,
        end: bytes | None,
        *,
        rev: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult:
        """Read ``[key, end)`` (``end`` None: the one key; ``b""``: to the end) at ``rev``.

        Args:
            key: the range start.
            end: the range end.
            rev: the revision to read at (0: this txn's revision).
            limit: return at most this many records (0: all).
            count_only: only count the keys.

        Returns:
            The records, the count of matching keys and the revision served.

        Raises:
            FutureRevisionError: ``rev`` is newer than the txn's revision.
            CompactedError: ``rev`` is older than the compaction revision.
        """
        return _range_keys(self.store, key, end, self.rev, rev, limit, count_only)


def _range_keys(
    store: Store, key: bytes, end: bytes | None, cur: int, rev: int, limit: int, count_only: bool
) -> RangeResult:
    if rev > cur:
        raise FutureRevisionError()
    if rev <= 0:
        rev = cur
    if rev < store.compact_revision:
        raise CompactedError()
    if count_only:
        return RangeResult([], store.index.count(key, end, rev), cur)
    pairs, total = store.index.revisions(key, end, rev, limit)
    return RangeResult([store.record_at(r) for _, r in pairs], total, cur)


class TxnWrite(TxnRead):
    """A write txn: every change lands at ``begin revision + 1`` (etcd's ``storeTxnWrite``).

    Reads inside the txn see its earlier changes. :meth:`end` commits (or, with no change,
    leaves the revision as it was).
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.begin_rev = store.current_revision
        self.changes: list[Change] = []
        # per change: (key, lease it had before, lease it has after), to undo on abort
        self._leases: list[tuple[bytes, int, int]] = []
        self._ended = False

    def range(
        self,
        key: bytes,
        end: bytes | None,
        *,
        rev: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult:
        """Read as :meth:`TxnRead.range`, seeing this txn's changes."""
        cur = self.begin_rev + 1 if self.changes else self.begin_rev
        return _range_keys(self.store, key, end, cur, rev, limit, count_only)

    def put(self, key: bytes, value: bytes, lease: int) -> int:
        """Write ``key`` = ``value`` with ``lease`` (0: none); return the txn's new revision."""
        store = self.store
        rev = self.begin_rev + 1
        created, version, old_lease = rev, 0, 0
        ki = store.index.key_index(key)
        if ki is not None:
            try:
                _, created_rev, version = ki.get(rev)
                created = created_rev.main
                old_lease = store.lessor.lease_of(key)
            except LookupError:
                pass
        idx = Revision(rev, len(self.changes))
        record = Record(key, value, created, rev, version + 1, lease)
        change = Change(idx, record, tombstone=False)
        store._store(change)
        store.index.put(key, idx)
        self.changes.append(change)
        if old_lease:
            store.lessor.detach(old_lease, key)
        if lease:
            store.lessor.attach(lease, key)
        self._leases.append((key, old_lease, lease))
        return rev

    def delete_range(self, key: bytes, end: bytes | None) -> tuple[int, int]:
        """Delete the live keys of ``[key, end)``.

        Returns:
            (number deleted, revision): the revision is the txn's new one when anything
            changed in this txn so far, else the current one.
        """
        cur = self.begin_rev + 1 if self.changes else self.begin_rev
        pairs, _ = self.store.index.revisions(key, end, cur, 0)
        for k, _ in pairs:
            self._delete(k)
        if pairs or self.changes:
            return len(pairs), self.begin_rev + 1
        return 0, self.begin_rev

    def _delete(self, key: bytes) -> None:
        store = self.store
        idx = Revision(self.begin_rev + 1, len(self.changes))
        change = Change(idx, Record(key), tombstone=True)
        store._store(change)
        store.index.tombstone(key, idx)
        self.changes.append(change)
        lease = store.lessor.lease_of(key)
        if lease:
            store.lessor.detach(lease, key)
        self._leases.append((key, lease, 0))

    def abort(self) -> None:
        """Abandon the txn: take back every change it made; the revision stays.

        etcd never needs this (it checks a txn before applying it, and crashes if an apply
        still fails); the reference server answers with the error and leaves no trace.
        """
        if self._ended:
            return
        self._ended = True
        store = self.store
        for change, (key, before, after) in zip(
            reversed(self.changes), reversed(self._leases), strict=True
        ):
            store._unstore(change)
            store.index.undo(key, change.rev, tombstone=change.tombstone)
            if after:
                store.lessor.detach(after, key)
            if before:
                store.lessor.attach(before, key)
        self.changes.clear()
        self._leases.clear()

    def end(self) -> None:
        """Commit the txn: the store's revision moves on by one if anything changed."""
        if self._ended:
            return
        self._ended = True
        if self.changes:
            self.store._commit(self.changes)
