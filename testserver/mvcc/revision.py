"""Revisions of the reference store: a main revision per write txn and a sub revision per change.

Mirrors etcd's ``server/mvcc/revision.go``: a revision orders as the pair (main, sub), and its
17-byte backend form (main big-endian, ``_``, sub big-endian, plus ``t`` for a tombstone) is
what etcd hashes in HashKV, so the reference server can compute the same hash.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Revision", "revision_bytes"]


class Revision(NamedTuple):
    """One change's place in history: ``main`` is the txn's revision, ``sub`` the change's index.

    Attributes:
        main: the store revision of the write txn that made the change.
        sub: the position of the change inside that txn (0 for its first change).
    """

    main: int
    sub: int = 0


def revision_bytes(rev: Revision, *, tombstone: bool = False) -> bytes:
    """Return the backend key etcd stores a change under.

    Args:
        rev: the change's revision.
        tombstone: whether the change is a deletion (etcd appends a ``t``).

    Returns:
        ``main`` as 8 big-endian bytes, ``_``, ``sub`` as 8 big-endian bytes (and ``t``).
    """
    raw = rev.main.to_bytes(8, "big", signed=True) + b"_" + rev.sub.to_bytes(8, "big", signed=True)
    return raw + b"t" if tombstone else raw
