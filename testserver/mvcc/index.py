"""The ordered key index of the reference store, as etcd's ``server/mvcc/index.go``.

Keys are kept in a sorted list searched with :mod:`bisect`, each with its :class:`KeyIndex`.
A range is ``[key, end)``; ``end=None`` means the single key ``key`` and ``end=b""`` means
"to the end of the key space" (the store turns a request's ``"\\0"`` range end into ``b""``,
as etcd's ``mkGteRange`` does).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from testserver.mvcc.key_index import KeyIndex, RevisionNotFound
from testserver.mvcc.revision import Revision

__all__ = ["TreeIndex"]


class TreeIndex:
    """Every key the store has history for, in byte order."""

    def __init__(self) -> None:
        self._keys: list[bytes] = []
        self._by_key: dict[bytes, KeyIndex] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def key_index(self, key: bytes) -> KeyIndex | None:
        """Return the history of ``key``, or None when the index has none."""
        return self._by_key.get(key)

    def put(self, key: bytes, rev: Revision) -> None:
        """Record a put of ``key`` at ``rev``."""
        ki = self._by_key.get(key)
        if ki is None:
            ki = KeyIndex(key)
            self._by_key[key] = ki
            bisect.insort(self._keys, key)
        ki.put(rev)

    def undo(self, key: bytes, rev: Revision, *, tombstone: bool) -> None:
        """Take back the newest change of ``key`` (an abandoned txn's); drop a key left empty."""
        ki = self._by_key[key]
        ki.undo(rev, tombstone=tombstone)
        if ki.is_empty():
            del self._by_key[key]
            del self._keys[bisect.bisect_left(self._keys, key)]

    def tombstone(self, key: bytes, rev: Revision) -> None:
        """Record a delete of ``key`` at ``rev``.

        Raises:
            RevisionNotFound: the key does not exist.
        """
        ki = self._by_key.get(key)
        if ki is None:
            raise RevisionNotFound(key)
        ki.tombstone(rev)

    def get(self, key: bytes, at_rev: int) -> tuple[Revision, Revision, int]:
        """Return (modified, created, version) of ``key`` at ``at_rev``.

        Raises:
            RevisionNotFound: the key did not exist then.
        """
        ki = self._by_key.get(key)
        if ki is None:
            raise RevisionNotFound(key)
        return ki.get(at_rev)

    def visit(self, key: bytes, end: bytes) -> Iterator[KeyIndex]:
        """Yield the key indexes in ``[key, end)`` in order; ``end=b""`` means no upper bound."""
        start = bisect.bisect_left(self._keys, key)
        stop = len(self._keys) if not end else bisect.bisect_left(self._keys, end)
        for i in range(start, max(start, stop)):
            yield self._by_key[self._keys[i]]

    def revisions(
        self, key: bytes, end: bytes | None, at_rev: int, limit: int
    ) -> tuple[list[tuple[bytes, Revision]], int]:
        """Return the live keys in the range at ``at_rev`` with their revisions, and their count.

        Args:
            key: the range start (or the single key when ``end`` is None).
            end: the range end; None for a single key, ``b""`` for no upper bound.
            at_rev: the main revision to read at.
            limit: at most this many pairs are returned (0: all); the count counts them all.

        Returns:
            ([(key, modified revision)...], total number of live keys in the range).
        """
        if end is None:
            try:
                mod, _, _ = self.get(key, at_rev)
            except RevisionNotFound:
                return [], 0
            return [(key, mod)], 1
        found: list[tuple[bytes, Revision]] = []
        total = 0
        for ki in self.visit(key, end):
            try:
                mod, _, _ = ki.get(at_rev)
            except RevisionNotFound:
                continue
            if limit <= 0 or len(found) < limit:
                found.append((ki.key, mod))
            total += 1
        return found, total

    def count(self, key: bytes, end: bytes | None, at_rev: int) -> int:
        """Return how many keys of the range exist at ``at_rev``."""
        return self.revisions(key, end, at_rev, 1)[1]

    def range_since(self, key: bytes, end: bytes | None, rev: int) -> list[Revision]:
        """Return every change in the range from main revision ``rev`` on, in revision order.

        Per key, a txn that changed it more than once contributes only its last change.
        """
        if end is None:
            ki = self._by_key.get(key)
            return ki.since(rev) if ki is not None else []
        revs: list[Revision] = []
        for ki in self.visit(key, end):
            revs.extend(ki.since(rev))
        revs.sort()
        return revs

    def compact(self, rev: int) -> set[Revision]:
        """Compact every key at ``rev``; drop keys left without history.

        Returns:
            The revisions at or below ``rev`` that stay (each key's newest live one).
        """
        available: set[Revision] = set()
        emptied: list[bytes] = []
        for key in self._keys:
            ki = self._by_key[key]
            ki.compact(rev, available)
            if ki.is_empty():
                emptied.append(key)
        if emptied:
            gone = set(emptied)
            self._keys = [k for k in self._keys if k not in gone]
            for key in emptied:
                del self._by_key[key]
        return available

    def keep(self, rev: int) -> set[Revision]:
        """Return the revisions a compaction at ``rev`` would keep, changing nothing."""
        available: set[Revision] = set()
        for key in self._keys:
            self._by_key[key].keep(rev, available)
        return available
