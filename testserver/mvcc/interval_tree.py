"""An interval tree over byte-string keys, for the range watchers of the watchable store.

etcd keeps range watchers in ``pkg/adt``'s interval tree; this is a treap (a binary search tree
kept balanced by random priorities) ordered by ``(start, end)``, each node carrying the largest
end of its subtree so that a stabbing query ("which intervals hold this key?") visits only
O(log n + answers) nodes. Intervals are half-open ``[start, end)``; an end of ``None`` means
"no upper bound" (a from-key watch). Each distinct interval holds one value.
"""

from __future__ import annotations

import random
from typing import Generic, TypeVar

__all__ = ["IntervalTree"]

V = TypeVar("V")


def _end_above(end: bytes | None, point: bytes) -> bool:
    """Return whether an interval ending at ``end`` reaches past ``point``."""
    return end is None or end > point


def _max_end(a: bytes | None, b: bytes | None) -> bytes | None:
    if a is None or b is None:
        return None
    return a if a > b else b


def _order(start: bytes, end: bytes | None) -> tuple[bytes, int, bytes]:
    return (start, 1, b"") if end is None else (start, 0, end)


class _Node(Generic[V]):
    __slots__ = ("end", "left", "max_end", "order", "prio", "right", "start", "value")

    def __init__(self, start: bytes, end: bytes | None, value: V, prio: float) -> None:
        self.start = start
        self.end = end
        self.order = _order(start, end)
        self.value = value
        self.prio = prio
        self.left: _Node[V] | None = None
        self.right: _Node[V] | None = None
        self.max_end: bytes | None = end

    def update(self) -> None:
        m = self.end
        if self.left is not None:
            m = _max_end(m, self.left.max_end)
        if self.right is not None:
            m = _max_end(m, self.right.max_end)
        self.max_end = m


def _split(
    node: _Node[V] | None, order: tuple[bytes, int, bytes]
) -> tuple[_Node[V] | None, _Node[V] | None]:
    """Split into (nodes ordered before ``order``, nodes at or after it)."""
    if node is None:
        return None, None
    if node.order < order:
        left, right = _split(node.right, order)
        node.right = left
        node.update()
        return node, right
    left, right = _split(node.left, order)
    node.left = right
    node.update()
    return left, node


def _merge(a: _Node[V] | None, b: _Node[V] | None) -> _Node[V] | None:
    """Join two treaps where every node of ``a`` orders before every node of ``b``."""
    if a is None:
        return b
    if b is None:
        return a
    if a.prio > b.prio:
        a.right = _merge(a.right, b)
        a.update()
        return a
    b.left = _merge(a, b.left)
    b.update()
    return b


def _stab(node: _Node[V] | None, point: bytes, out: list[V]) -> None:
    while node is not None and _end_above(node.max_end, point):
        _stab(node.left, point, out)
        if node.start > point:
            return  # this node and its right subtree start after the point
        if _end_above(node.end, point):
            out.append(node.value)
        node = node.right


class IntervalTree(Generic[V]):
    """Distinct half-open byte intervals ``[start, end)``, each with a value.

    Args:
        seed: the seed of the random priorities (the shape, never the answers, depends on it).
    """

    def __init__(self, seed: int = 0) -> None:
        self._root: _Node[V] | None = None
        self._len = 0
        self._rnd = random.Random(seed)

    def __len__(self) -> int:
        return self._len

    def find(self, start: bytes, end: bytes | None) -> V | None:
        """Return the value of exactly the interval ``[start, end)``, or None."""
        order = _order(start, end)
        node = self._root
        while node is not None:
            if order == node.order:
                return node.value
            node = node.left if order < node.order else node.right
        return None

    def insert(self, start: bytes, end: bytes | None, value: V) -> None:
        """Add the interval ``[start, end)`` with ``value`` (replacing the value if present)."""
        order = _order(start, end)
        left, rest = _split(self._root, order)
        mid, right = _split(rest, (order[0], order[1], order[2] + b"\x00"))
        if mid is not None:
            mid.value = value
        else:
            mid = _Node(start, end, value, self._rnd.random())
            self._len += 1
        self._root = _merge(_merge(left, mid), right)

    def delete(self, start: bytes, end: bytes | None) -> bool:
        """Remove the interval ``[start, end)``; return whether it was there."""
        order = _order(start, end)
        left, rest = _split(self._root, order)
        mid, right = _split(rest, (order[0], order[1], order[2] + b"\x00"))
        self._root = _merge(left, right)
        if mid is None:
            return False
        self._len -= 1
        return True

    def stab(self, point: bytes) -> list[V]:
        """Return the values of every interval holding ``point``, in interval order."""
        out: list[V] = []
        _stab(self._root, point, out)
        return out

    def intersects(self, point: bytes) -> bool:
        """Return whether any interval holds ``point``."""
        return bool(self.stab(point))
