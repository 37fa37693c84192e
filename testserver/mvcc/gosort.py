"""Go 1.16's ``sort.Sort``, so that ties order exactly as etcd 3.5.1 (built with Go 1.16) does.

etcd sorts range results with ``sort.Sort``, which is not stable: keys with equal sort values
come out in an order set by Go's quicksort (introsort with a shell-sort pass below 13
elements). Python's stable sort would order such ties differently, so the reference server
reimplements that algorithm (its behaviour, written from the algorithm's description) over
a list and a ``less(a, b)`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["go_sort"]

T = TypeVar("T")


class _Sorter(Generic[T]):
    __slots__ = ("data", "less_items")

    def __init__(self, data: list[T], less: Callable[[T, T], bool]) -> None:
        self.data = data
        self.less_items = less

    def less(self, i: int, j: int) -> bool:
        return self.less_items(self.data[i], self.data[j])

    def swap(self, i: int, j: int) -> None:
        d = self.data
        d[i], d[j] = d[j], d[i]

    def insertion_sort(self, a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and self.less(j, j - 1):
                self.swap(j, j - 1)
                j -= 1

    def sift_down(self, lo: int, hi: int, first: int) -> None:
        root = lo
        while True:
            child = 2 * root + 1
            if child >= hi:
                return
            if child + 1 < hi and self.less(first + child, first + child + 1):
                child += 1
            if not self.less(first + root, first + child):
                return
            self.swap(first + root, first + child)
            root = child

    def heap_sort(self, a: int, b: int) -> None:
        first, hi = a, b - a
        for i in range((hi - 1) // 2, -1, -1):
            self.sift_down(i, hi, first)
        for i in range(hi - 1, -1, -1):
            self.swap(first, first + i)
            self.sift_down(0, i, first)

    def median_of_three(self, m1: int, m0: int, m2: int) -> None:
        if self.less(m1, m0):
            self.swap(m1, m0)
        if self.less(m2, m1):
            self.swap(m2, m1)
            if self.less(m1, m0):
                self.swap(m1, m0)

    def do_pivot(self, lo: int, hi: int) -> tuple[int, int]:
        m = (lo + hi) >> 1
        if hi - lo > 40:
            s = (hi - lo) // 8
            self.median_of_three(lo, lo + s, lo + 2 * s)
            self.median_of_three(m, m - s, m + s)
            self.median_of_three(hi - 1, hi - 1 - s, hi - 1 - 2 * s)
        self.median_of_three(lo, m, hi - 1)
        pivot, a, c = lo, lo + 1, hi - 1
        while a < c and self.less(a, pivot):
            a += 1
        b = a
        while True:
            while b < c and not self.less(pivot, b):
                b += 1
            while b < c and self.less(pivot, c - 1):
                c -= 1
            if b >= c:
                break
            self.swap(b, c - 1)
            b += 1
            c -= 1
        protect = hi - c < 5
        if not protect and hi - c < (hi - lo) // 4:
            dups = 0
            if not self.less(pivot, hi - 1):
                self.swap(c, hi - 1)
                c += 1
                dups += 1
            if not self.less(b - 1, pivot):
                b -= 1
                dups += 1
            if not self.less(m, pivot):
                self.swap(m, b - 1)
                b -= 1
                dups += 1
            protect = dups > 1
        if protect:
            b, a = self._gather_equal(a, b, pivot)
        self.swap(pivot, b - 1)
        return b - 1, c

    def _gather_equal(self, a: int, b: int, pivot: int) -> tuple[int, int]:
        while True:
            while a < b and not self.less(b - 1, pivot):
                b -= 1
            while a < b and self.less(a, pivot):
                a += 1
            if a >= b:
                return b, a
            self.swap(a, b - 1)
            a += 1
            b -= 1

    def quick_sort(self, a: int, b: int, max_depth: int) -> None:
        while b - a > 12:
            if max_depth == 0:
                self.heap_sort(a, b)
                return
            max_depth -= 1
            mlo, mhi = self.do_pivot(a, b)
            if mlo - a < b - mhi:
                self.quick_sort(a, mlo, max_depth)
                a = mhi
            else:
                self.quick_sort(mhi, b, max_depth)
                b = mlo
        if b - a > 1:
            for i in range(a + 6, b):  # one shell-sort pass with gap 6
                if self.less(i, i - 6):
                    self.swap(i, i - 6)
            self.insertion_sort(a, b)


def go_sort(data: list[T], less: Callable[[T, T], bool]) -> None:
    """Sort ``data`` in place exactly as Go 1.16's ``sort.Sort`` would.

    Args:
        data: the list to sort.
        less: ``less(x, y)`` is True when ``x`` must come before ``y``.
    """
    n = len(data)
    depth = 0
    i = n
    while i > 0:
        depth += 1
        i >>= 1
    _Sorter(data, less).quick_sort(0, n, depth * 2)
