"""Key-range permission checks, as etcd 3.5.1's ``auth/range_perm_cache.go`` over ``pkg/adt``.

Keys compare as etcd's ``BytesAffineComparable``: plain byte order, except that the empty key
stands for +infinity (so a range end of ``b"\\0"``, "every key from here", becomes an empty end).
A permission with an empty range end covers one key (the interval ``[key, key + b"\\0")``).

A request for one key (empty range end) is allowed when any permission interval touches that
key; a request for a range is allowed when the union of the permission intervals covers the
whole range with no gap (etcd's ``intervalTree.Contains``). Note that etcd's watch turns a
"from key" range end ``b"\\0"`` into an empty one before checking, so such a watch is checked
as a single key: callers reproduce that by passing the empty end.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Interval", "compare_keys", "covers", "permission_interval"]


def compare_keys(a: bytes, b: bytes) -> int:
    """Compare two interval bounds as etcd's ``BytesAffineComparable`` (empty = +infinity).

    Args:
        a: one bound.
        b: the other bound.

    Returns:
        -1, 0 or 1.
    """
    if not a:
        return 0 if not b else 1
    if not b:
        return -1
    return (a > b) - (a < b)


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open key interval ``[begin, end)``; an empty ``end`` is +infinity.

    Attributes:
        begin: the first key.
        end: the first key past the interval (empty: no end).
    """

    begin: bytes
    end: bytes

    @classmethod
    def point(cls, key: bytes) -> Interval:
        """Return the interval holding only ``key``."""
        return cls(key, key + b"\x00")

    def intersects(self, other: Interval) -> bool:
        """Return whether the two intervals share a key (etcd's ``Interval.Compare == 0``)."""
        if compare_keys(self.begin, other.begin) < 0 and compare_keys(self.end, other.begin) <= 0:
            return False
        return compare_keys(self.begin, other.end) < 0


def permission_interval(key: bytes, range_end: bytes) -> Interval:
    """Return the interval a granted permission covers (etcd's ``getMergedPerms``).

    Args:
        key: the permission's key.
        range_end: its range end: empty for the one key, ``b"\\0"`` for every key from ``key``.

    Returns:
        The covered interval.
    """
    if not range_end:
        return Interval.point(key)
    return Interval(key, b"" if range_end == b"\x00" else range_end)


_begin_order = functools.cmp_to_key(compare_keys)


def covers(perms: Iterable[Interval], key: bytes, range_end: bytes) -> bool:
    """Return whether ``perms`` allow a request on ``[key, range_end)`` (etcd's checks).

    Args:
        perms: the user's intervals for one permission type (read or write).
        key: the request's key.
        range_end: the request's range end: empty for the single key, ``b"\\0"`` for every
            key from ``key``.

    Returns:
        True when allowed.
    """
    if not range_end:
        point = Interval.point(key)
        return any(point.intersects(p) for p in perms)
    want = Interval(key, b"" if range_end == b"\x00" else range_end)
    hits = sorted((p for p in perms if want.intersects(p)), key=lambda p: _begin_order(p.begin))
    if not hits:
        return False
    min_begin, max_end = hits[0].begin, hits[0].end
    for ivl in hits[1:]:
        if compare_keys(max_end, ivl.begin) < 0:
            return False  # a gap
        if compare_keys(ivl.end, max_end) > 0:
            max_end = ivl.end
    return compare_keys(max_end, want.end) >= 0 and compare_keys(min_begin, want.begin) <= 0
