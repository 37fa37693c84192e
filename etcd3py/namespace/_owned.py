"""What a namespace wrapper opened, so that closing the wrapper ends exactly that.

Both faces' namespace watchers and leases keep the watches and keep-alives opened through
them in an :class:`Owned` set; closing the wrapper refuses new ones and hands back the open
ones for the face to close (blocking or awaited). Weak references: a watch or keep-alive the
caller dropped is not kept alive by its wrapper.
"""

from __future__ import annotations

import threading
import weakref
from typing import Generic, TypeVar

from etcd3py.errors import ClientClosedError

__all__ = ["Owned"]

_T = TypeVar("_T")


class Owned(Generic[_T]):
    """The open things of one wrapper, and whether the wrapper is closed. Thread-safe."""

    def __init__(self, what: str) -> None:
        """Start open and empty.

        Args:
            what: the wrapper, for the error (``"namespaced watcher"``).
        """
        self._what = what
        self._lock = threading.Lock()
        self._closed = False
        self._items: weakref.WeakSet[_T] = weakref.WeakSet()

    def check_open(self) -> None:
        """Raise if the wrapper was closed.

        Raises:
            ClientClosedError: it was.
        """
        with self._lock:
            if self._closed:
                raise ClientClosedError(f"etcd3py: the {self._what} is closed")

    def add(self, item: _T) -> bool:
        """Keep ``item``; ``False`` when the wrapper closed meanwhile (the caller closes it).

        Args:
            item: a watch chan, watch handle or keep-alive opened through the wrapper.

        Returns:
            Whether it is kept.
        """
        with self._lock:
            if self._closed:
                return False
            self._items.add(item)
            return True

    def refused(self) -> ClientClosedError:
        """The error for an item opened while the wrapper closed."""
        return ClientClosedError(f"etcd3py: the {self._what} is closed")

    def close(self) -> list[_T]:
        """Refuse new items and return the open ones, for the caller to close. Idempotent."""
        with self._lock:
            self._closed = True
            items = list(self._items)
            self._items.clear()
        return items
