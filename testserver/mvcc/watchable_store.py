"""The watchable store of the reference server, as etcd's ``server/mvcc/watchable_store.go``.

It owns every watcher of the server in two :class:`WatcherGroup`\\ s:

* ``synced``: caught up with the store. The store's commit hook hands each committed txn's
  changes to the synced watchers of their keys, as one response per watcher (so a txn that
  touches several keys of a range watch arrives in one response, in sub-revision order).
* ``unsynced``: behind (a watch from an old revision, or one whose sink was full). A
  background asyncio task replays history to them in passes: each pass takes up to
  :data:`MAX_WATCHERS_PER_SYNC` of them, cancels those whose next revision is compacted (a
  response with ``compact_revision``), reads history from the lowest next revision and sends
  each watcher at most :data:`~testserver.mvcc.watcher_group.WATCH_BATCH_MAX_REVS` revisions
  of events; a watcher that got everything up to the current revision moves to ``synced``.

Responses go to each watcher's :class:`WatchSink` (the Watch service's stream). A sink that
is full refuses event responses: a synced watcher then moves to ``unsynced`` from the refused
revision and is replayed from history once the sink has room again (etcd keeps such
"victims" with their pending events instead; with a compaction in between, this store cancels
the watcher with ``compact_revision`` where etcd would not). Everything runs on the server's
one asyncio loop; without a running loop (unit tests), :meth:`WatchableStore.sync_watchers`
is called by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from testserver.mvcc.store import Change, Store
from testserver.mvcc.watcher_group import (
    WATCH_BATCH_MAX_REVS,
    EventBatch,
    Watcher,
    WatcherGroup,
)

__all__ = ["MAX_WATCHERS_PER_SYNC", "WatchSink", "WatchableStore"]

log = logging.getLogger(__name__)

#: how many unsynced watchers one replay pass takes (etcd's ``maxWatchersPerSync``).
MAX_WATCHERS_PER_SYNC = 512
_SCAN_CHUNK = 1024  # revisions of history read at a time during a replay pass
_IDLE_WAIT = 0.1  # seconds the replay task waits when every sink is full (etcd's 100 ms)


class WatchSink(Protocol):
    """Where a watcher's responses go (one per Watch stream)."""

    def send(
        self, watcher: Watcher, events: list[Change], revision: int, compact_revision: int = 0
    ) -> bool:
        """Queue a response for ``watcher``; return False when full (events are refused).

        ``events`` empty and ``compact_revision`` 0 is a progress notification;
        ``compact_revision`` set is the compaction cancel, which is never refused.
        """

    def has_room(self) -> bool:
        """Return whether an event response would be accepted now."""

    def watcher_synced(self, watcher: Watcher) -> None:
        """``watcher`` just moved to the synced group."""


class WatchableStore:
    """Watchers over a :class:`~testserver.mvcc.store.Store`, synced and unsynced.

    Args:
        store: the store to watch (its commit listeners get this store's hook).
        batch_revs: the most distinct revisions one replay response carries.
        watchers_per_sync: the most unsynced watchers one replay pass takes.
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_revs: int = WATCH_BATCH_MAX_REVS,
        watchers_per_sync: int = MAX_WATCHERS_PER_SYNC,
    ) -> None:
        self.store = store
        self.synced = WatcherGroup()
        self.unsynced = WatcherGroup()
        self._batch_revs = batch_revs
        self._per_sync = watchers_per_sync
        self._worked = False
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        store.listeners.append(self._on_commit)

    def close(self) -> None:
        """Stop listening to the store and stop the replay task."""
        if self._on_commit in self.store.listeners:
            self.store.listeners.remove(self._on_commit)
        if self._task is not None:
            self._task.cancel()

    # ---- watchers --------------------------------------------------------------------------

    def watch(
        self,
        key: bytes,
        end: bytes | None,
        start_rev: int,
        watch_id: int,
        sink: WatchSink,
        *,
        no_put: bool = False,
        no_delete: bool = False,
    ) -> Watcher:
        """Register a watcher of ``key`` (``end``: None one key, ``b""`` from key, else range).

        A ``start_rev`` of 0 or above the current revision makes a synced watcher (waiting for
        that revision); an older one an unsynced watcher that the replay task catches up.

        Returns:
            The watcher (pass it to :meth:`cancel`).
        """
        cur = self.store.current_revision
        w = Watcher(key, end, start_rev, watch_id, sink, no_put=no_put, no_delete=no_delete)
        if start_rev == 0 or start_rev > cur:
            w.min_rev = max(cur + 1, start_rev)
            self.synced.add(w)
        else:
            self.unsynced.add(w)
            self._kick()
        return w

    def cancel(self, watcher: Watcher) -> None:
        """Remove ``watcher`` (a compacted or already cancelled one is left as it is)."""
        watcher.canceled = True
        if not self.unsynced.delete(watcher):
            self.synced.delete(watcher)

    def is_synced(self, watcher: Watcher) -> bool:
        """Return whether ``watcher`` is caught up with the store."""
        return watcher in self.synced

    def progress(self, watcher: Watcher) -> bool:
        """Send ``watcher`` an empty response at the current revision if it is synced.

        Returns:
            Whether it was synced (a full sink drops the notification silently, as etcd).
        """
        if watcher not in self.synced:
            return False
        watcher.sink.send(watcher, [], self.store.current_revision)
        return True

    # ---- synced watchers: the commit hook --------------------------------------------------

    def _on_commit(self, changes: list[Change]) -> None:
        if not len(self.synced):
            return
        rev = self.store.current_revision
        batches: dict[Watcher, list[Change]] = {}
        for change in changes:
            for w in self.synced.watchers_for(change.record.key):
                if change.rev.main >= w.min_rev:
                    batches.setdefault(w, []).append(change)
        for w, events in batches.items():
            if not self._send(w, events, rev):
                # the sink is full: replay from this revision once it has room
                self.synced.delete(w)
                w.min_rev = rev
                self.unsynced.add(w)
                self._kick()

    @staticmethod
    def _send(w: Watcher, events: list[Change], revision: int) -> bool:
        if w.no_put or w.no_delete:
            events = [e for e in events if w.wants(e)]
            if not events:
                return True  # everything filtered out: nothing to send
        return w.sink.send(w, events, revision)

    # ---- unsynced watchers: replay passes --------------------------------------------------

    def sync_watchers(self) -> int:
        """Run one replay pass over up to ``watchers_per_sync`` unsynced watchers.

        Returns:
            How many watchers are still unsynced.
        """
        self._worked = False
        chosen = self._choose()
        if chosen:
            cur = self.store.current_revision
            live = self._drop_compacted(chosen)
            if live:
                batches = self._scan(live, cur)
                for w in live:
                    self._deliver(w, batches.get(w), cur)
        return len(self.unsynced)

    def _choose(self) -> list[Watcher]:
        room: dict[int, bool] = {}
        out: list[Watcher] = []
        for w in self.unsynced.watchers:
            if len(out) >= self._per_sync:
                break
            key = id(w.sink)
            if key not in room:
                room[key] = w.sink.has_room()
            if room[key]:
                out.append(w)
        return out

    def _drop_compacted(self, chosen: list[Watcher]) -> list[Watcher]:
        compact = self.store.compact_revision
        live: list[Watcher] = []
        for w in chosen:
            if w.min_rev < compact:
                w.compacted = True
                self.unsynced.delete(w)
                w.sink.send(w, [], 0, compact)
                self._worked = True
            else:
                live.append(w)
        return live

    def _scan(self, live: list[Watcher], cur: int) -> dict[Watcher, EventBatch]:
        group = WatcherGroup()
        for w in live:
            group.add(w)
        batches: dict[Watcher, EventBatch] = {}
        full = 0
        lo = min(w.min_rev for w in live)
        while lo <= cur and full < len(live):
            hi = min(cur + 1, lo + _SCAN_CHUNK)
            for change in self.store.changes(lo, hi):
                for w in group.watchers_for(change.record.key):
                    if change.rev.main < w.min_rev:
                        continue
                    batch = batches.get(w)
                    if batch is None:
                        batch = batches[w] = EventBatch(max_revs=self._batch_revs)
                    elif batch.more_rev:
                        continue
                    batch.add(change)
                    if batch.more_rev:
                        full += 1
            lo = hi
        return batches

    def _deliver(self, w: Watcher, batch: EventBatch | None, cur: int) -> None:
        if batch is None:
            w.min_rev = cur + 1
            self._to_synced(w)
            return
        if not self._send(w, batch.events, cur):
            return  # the sink filled up meanwhile: stays unsynced, from the same revision
        self._worked = True
        if batch.more_rev:
            w.min_rev = batch.more_rev
            return
        w.min_rev = cur + 1
        self._to_synced(w)

    def _to_synced(self, w: Watcher) -> None:
        self.unsynced.delete(w)
        self.synced.add(w)
        self._worked = True
        w.sink.watcher_synced(w)

    # ---- the replay task -------------------------------------------------------------------

    def wake(self) -> None:
        """A sink has room again: let the replay task run (if there is anything to replay)."""
        if len(self.unsynced):
            self._kick()

    def _kick(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: driven by hand through sync_watchers()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._sync_loop(self._wake), name="watch-sync")
        elif self._wake is not None:
            self._wake.set()

    async def _sync_loop(self, wake: asyncio.Event) -> None:
        try:
            while len(self.unsynced):
                wake.clear()
                if not self.sync_watchers():
                    break
                if self._worked:
                    await asyncio.sleep(0)  # let writes and sends run between passes
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), _IDLE_WAIT)
        except Exception:
            log.exception("watch replay task failed")
            raise
