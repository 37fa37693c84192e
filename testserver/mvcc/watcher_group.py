"""Watchers and groups of watchers, as etcd's ``server/mvcc/watcher_group.go``.

A :class:`Watcher` is one watch as the store sees it: a key or range, the lowest revision it
still accepts, its filters and the sink its responses go to. A :class:`WatcherGroup` finds
the watchers of a key quickly: single-key watchers in a dict, range watchers in an
:class:`~testserver.mvcc.interval_tree.IntervalTree`, so that routing an event never scans
every watcher. :class:`EventBatch` collects the events of one watcher during a replay, up to
a number of distinct revisions (etcd's ``watchBatchMaxRevs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from testserver.mvcc.interval_tree import IntervalTree
from testserver.mvcc.store import Change

if TYPE_CHECKING:
    from collections.abc import Iterator

    from testserver.mvcc.watchable_store import WatchSink

__all__ = ["EventBatch", "WATCH_BATCH_MAX_REVS", "Watcher", "WatcherGroup"]

#: the most distinct revisions one replay response carries (etcd's ``watchBatchMaxRevs``).
WATCH_BATCH_MAX_REVS = 1000

_WatcherSet = dict["Watcher", None]  # an insertion-ordered set


@dataclass(eq=False, slots=True)
class Watcher:
    """One watch registered in the store (compared by identity).

    Attributes:
        key: the watched key, or the start of the watched range.
        end: None for the single key; ``b""`` for every key from ``key`` on; else the range end.
        min_rev: the lowest main revision the watcher still accepts (all before it were sent).
        watch_id: the id its stream gave it.
        sink: where its responses go.
        no_put: drop put events (filter NOPUT).
        no_delete: drop delete events (filter NODELETE).
        compacted: the watcher was dropped because history before ``min_rev`` is compacted.
        canceled: the watcher was cancelled; nothing more is sent for it.
    """

    key: bytes
    end: bytes | None
    min_rev: int
    watch_id: int
    sink: WatchSink
    no_put: bool = False
    no_delete: bool = False
    compacted: bool = False
    canceled: bool = False

    def wants(self, change: Change) -> bool:
        """Return whether the filters let ``change`` through."""
        return not (self.no_delete if change.tombstone else self.no_put)


@dataclass(slots=True)
class EventBatch:
    """The events of one watcher in one replay pass, capped by distinct revisions.

    Attributes:
        events: the changes, in revision order.
        revs: how many distinct main revisions the batch holds.
        more_rev: the first revision left out because the batch was full (0: nothing was).
        max_revs: the cap on distinct revisions.
    """

    events: list[Change] = field(default_factory=list)
    revs: int = 0
    more_rev: int = 0
    max_revs: int = WATCH_BATCH_MAX_REVS

    def add(self, change: Change) -> None:
        """Append ``change`` unless the batch is full (then remember where to go on)."""
        if self.revs > self.max_revs:
            return
        if not self.events:
            self.revs = 1
            self.events.append(change)
            return
        if change.rev.main > self.events[-1].rev.main:
            self.revs += 1
            if self.revs > self.max_revs:
                self.more_rev = change.rev.main
                return
        self.events.append(change)


class WatcherGroup:
    """A set of watchers indexed by the keys they watch."""

    def __init__(self) -> None:
        self.watchers: _WatcherSet = {}
        self._keys: dict[bytes, _WatcherSet] = {}
        self._ranges: IntervalTree[_WatcherSet] = IntervalTree()

    def __len__(self) -> int:
        return len(self.watchers)

    def __contains__(self, watcher: Watcher) -> bool:
        return watcher in self.watchers

    def __iter__(self) -> Iterator[Watcher]:
        return iter(list(self.watchers))

    def add(self, watcher: Watcher) -> None:
        """Put ``watcher`` in the group.

        Raises:
            ValueError: it is already there.
        """
        if watcher in self.watchers:
            raise ValueError("watcher added twice")
        self.watchers[watcher] = None
        if watcher.end is None:
            self._keys.setdefault(watcher.key, {})[watcher] = None
            return
        end = watcher.end or None
        found = self._ranges.find(watcher.key, end)
        if found is not None:
            found[watcher] = None
        else:
            self._ranges.insert(watcher.key, end, {watcher: None})

    def delete(self, watcher: Watcher) -> bool:
        """Take ``watcher`` out of the group; return whether it was there."""
        if watcher not in self.watchers:
            return False
        del self.watchers[watcher]
        if watcher.end is None:
            same = self._keys[watcher.key]
            del same[watcher]
            if not same:
                del self._keys[watcher.key]
            return True
        end = watcher.end or None
        found = self._ranges.find(watcher.key, end)
        if found is not None:
            del found[watcher]
            if not found:
                self._ranges.delete(watcher.key, end)
        return True

    def contains_key(self, key: bytes) -> bool:
        """Return whether some watcher of the group watches ``key``."""
        return key in self._keys or self._ranges.intersects(key)

    def watchers_for(self, key: bytes) -> list[Watcher]:
        """Return every watcher of the group that watches ``key``."""
        ranges = self._ranges.stab(key) if len(self._ranges) else []
        same = self._keys.get(key)
        if not ranges:
            return list(same) if same else []
        out: list[Watcher] = list(same) if same else []
        for ws in ranges:
            out.extend(ws)
        return out
