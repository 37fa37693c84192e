"""The watchable store alone: synced/unsynced groups, replay batches, compaction, filters, sinks.

No gRPC and no event loop: the replay passes are run by hand with ``sync_watchers()``, so every
step is deterministic.
"""

from __future__ import annotations

import random

import pytest

from testserver.mvcc.interval_tree import IntervalTree
from testserver.mvcc.store import Change, Store
from testserver.mvcc.watchable_store import WatchableStore
from testserver.mvcc.watcher_group import Watcher, WatcherGroup


class Sink:
    """A WatchSink that records what it is sent; refuses event responses beyond ``capacity``."""

    def __init__(self, capacity: int = 10**9) -> None:
        self.capacity = capacity
        self.sent: list[tuple[int, list[Change], int, int]] = []
        self.synced: list[int] = []

    def send(
        self, watcher: Watcher, events: list[Change], revision: int, compact_revision: int = 0
    ) -> bool:
        if events and len(self.sent) >= self.capacity:
            return False
        self.sent.append((watcher.watch_id, list(events), revision, compact_revision))
        return True

    def has_room(self) -> bool:
        return len(self.sent) < self.capacity

    def watcher_synced(self, watcher: Watcher) -> None:
        self.synced.append(watcher.watch_id)

    def events(self, wid: int = 0) -> list[tuple[str, bytes, int]]:
        """Return (type, key, main revision) of every event sent to ``wid``, in order."""
        return [
            ("DELETE" if c.tombstone else "PUT", c.record.key, c.rev.main)
            for w, evs, _, _ in self.sent
            if w == wid
            for c in evs
        ]


def put(store: Store, *pairs: tuple[bytes, bytes]) -> int:
    tx = store.write()
    for key, value in pairs:
        tx.put(key, value, 0)
    tx.end()
    return store.current_revision


def delete(store: Store, key: bytes, end: bytes | None = None) -> int:
    tx = store.write()
    tx.delete_range(key, end)
    tx.end()
    return store.current_revision


def sync_all(ws: WatchableStore, max_passes: int = 1000) -> int:
    """Run replay passes until nothing is unsynced; return how many passes it took."""
    for n in range(1, max_passes + 1):
        if ws.sync_watchers() == 0:
            return n
    raise AssertionError("watchers still unsynced")


def test_synced_watcher_gets_each_txn_as_one_response_in_sub_revision_order() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink()
    w = ws.watch(b"a", b"b", 0, 0, sink)
    assert ws.is_synced(w) and w.min_rev == 2
    rev = put(store, (b"a/2", b"x"), (b"a/1", b"y"), (b"zz", b"no"))
    assert sink.sent == [(0, sink.sent[0][1], rev, 0)]
    assert [(c.record.key, c.rev.sub) for c in sink.sent[0][1]] == [(b"a/2", 0), (b"a/1", 1)]
    delete(store, b"a/1")
    assert sink.events() == [("PUT", b"a/2", 2), ("PUT", b"a/1", 2), ("DELETE", b"a/1", 3)]


def test_key_prefix_and_from_key_watchers_see_only_their_keys() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink()
    ws.watch(b"k", None, 0, 0, sink)  # one key
    ws.watch(b"k", b"l", 0, 1, sink)  # prefix k
    ws.watch(b"m", b"", 0, 2, sink)  # from m on
    for key in (b"j", b"k", b"k1", b"l", b"m", b"\xff"):
        put(store, (key, b"v"))
    assert [k for _, k, _ in sink.events(0)] == [b"k"]
    assert [k for _, k, _ in sink.events(1)] == [b"k", b"k1"]
    assert [k for _, k, _ in sink.events(2)] == [b"m", b"\xff"]


def test_future_start_revision_waits_for_that_revision() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink()
    w = ws.watch(b"k", None, 5, 0, sink)
    assert ws.is_synced(w) and w.min_rev == 5
    for i in range(6):
        put(store, (b"k", b"%d" % i))
    assert [r for _, _, r in sink.events()] == [5, 6, 7]


def test_unsynced_watcher_replays_in_batches_then_moves_to_synced() -> None:
    store = Store()
    for i in range(35):
        put(store, (b"k", b"%d" % i))  # revisions 2..36
    ws = WatchableStore(store, batch_revs=10)
    sink = Sink()
    w = ws.watch(b"k", None, 2, 0, sink)
    assert not ws.is_synced(w) and len(ws.unsynced) == 1
    assert sync_all(ws) == 4
    assert [len(evs) for _, evs, _, _ in sink.sent] == [10, 10, 10, 5]
    assert {rev for _, _, rev, _ in sink.sent} == {36}  # etcd: the replay's current revision
    assert ws.is_synced(w) and w.min_rev == 37 and sink.synced == [0]
    put(store, (b"k", b"live"))
    assert [r for _, _, r in sink.events()] == list(range(2, 38))


def test_replay_pass_takes_a_limited_number_of_watchers() -> None:
    store = Store()
    put(store, (b"k", b"v"))
    ws = WatchableStore(store, watchers_per_sync=2)
    sink = Sink()
    for i in range(5):
        ws.watch(b"k", None, 1, i, sink)
    assert ws.sync_watchers() == 3
    assert ws.sync_watchers() == 1
    assert ws.sync_watchers() == 0
    assert sorted(w for w, _, _, _ in sink.sent) == [0, 1, 2, 3, 4]


def test_replay_of_watchers_with_different_start_revisions() -> None:
    store = Store()
    for i in range(20):
        put(store, (b"a" if i % 2 else b"b", b"%d" % i))
    ws = WatchableStore(store, batch_revs=3)
    sink = Sink()
    ws.watch(b"a", None, 10, 0, sink)
    ws.watch(b"a", b"c", 4, 1, sink)
    ws.watch(b"c", None, 2, 2, sink)  # never written: synced with nothing sent
    sync_all(ws)
    history = [(("PUT", c.record.key, c.rev.main)) for c in store.changes(2, 22)]
    assert sink.events(0) == [e for e in history if e[1] == b"a" and e[2] >= 10]
    assert sink.events(1) == [e for e in history if e[2] >= 4]
    assert sink.events(2) == []
    assert len(ws.synced) == 3 and not len(ws.unsynced)


def test_compacted_start_revision_gets_compact_revision_and_is_dropped() -> None:
    store = Store()
    for i in range(10):
        put(store, (b"k", b"%d" % i))
    store.compact(6)
    ws = WatchableStore(store)
    sink = Sink()
    old = ws.watch(b"k", None, 3, 0, sink)
    at = ws.watch(b"k", None, 6, 1, sink)  # the compaction revision itself is still readable
    sync_all(ws)
    assert sink.sent[0] == (0, [], 0, 6)
    assert old.compacted and old not in ws.synced and old not in ws.unsynced
    assert [r for _, _, r in sink.events(1)] == [6, 7, 8, 9, 10, 11]
    assert ws.is_synced(at)


def test_filters_drop_puts_or_deletes_and_send_nothing_when_all_are_filtered() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink()
    ws.watch(b"k", None, 0, 0, sink, no_put=True)
    ws.watch(b"k", None, 0, 1, sink, no_delete=True)
    put(store, (b"k", b"1"))
    delete(store, b"k")
    assert sink.events(0) == [("DELETE", b"k", 3)]
    assert sink.events(1) == [("PUT", b"k", 2)]
    assert len(sink.sent) == 2  # the fully filtered responses were not sent


def test_full_sink_turns_a_synced_watcher_unsynced_and_nothing_is_lost() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink(capacity=2)
    w = ws.watch(b"k", None, 0, 0, sink)
    for i in range(6):
        put(store, (b"k", b"%d" % i))  # revisions 2..7: the third is refused
    assert not ws.is_synced(w) and w.min_rev == 4
    assert ws.sync_watchers() == 1  # still full: nothing chosen
    sink.capacity = 100
    sync_all(ws)
    put(store, (b"k", b"last"))
    assert [r for _, _, r in sink.events()] == [2, 3, 4, 5, 6, 7, 8]


def test_cancel_and_progress() -> None:
    store = Store()
    put(store, (b"k", b"v"))
    ws = WatchableStore(store)
    sink = Sink()
    synced = ws.watch(b"k", None, 0, 0, sink)
    behind = ws.watch(b"k", None, 1, 1, sink)
    assert ws.progress(synced) and sink.sent == [(0, [], 2, 0)]
    assert not ws.progress(behind)
    ws.cancel(synced)
    ws.cancel(behind)
    assert synced.canceled and not len(ws.synced) and not len(ws.unsynced)
    put(store, (b"k", b"again"))
    assert ws.sync_watchers() == 0 and len(sink.sent) == 1


def test_close_stops_listening() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink()
    ws.watch(b"k", None, 0, 0, sink)
    ws.close()
    put(store, (b"k", b"v"))
    assert sink.sent == []


def test_ten_thousand_key_watchers_each_get_exactly_their_event() -> None:
    store = Store()
    ws = WatchableStore(store)
    sink = Sink()
    for i in range(10_000):
        ws.watch(b"w/%05d" % i, None, 0, i, sink)
    for i in range(0, 10_000, 7):
        put(store, (b"w/%05d" % i, b"x"))
    assert len(sink.sent) == len(range(0, 10_000, 7))
    for wid, events, _, _ in sink.sent:
        assert [c.record.key for c in events] == [b"w/%05d" % wid]


def test_watcher_group_routes_keys_like_a_linear_scan() -> None:
    rnd = random.Random(7)
    keys = [bytes([rnd.randrange(97, 101)]) * rnd.randrange(1, 3) for _ in range(40)]
    group = WatcherGroup()
    sink = Sink()
    watchers = []
    for i in range(300):
        key = rnd.choice(keys)
        r = rnd.random()
        end = None if r < 0.3 else b"" if r < 0.4 else key + bytes([rnd.randrange(0, 256)])
        w = Watcher(key, end, 0, i, sink)
        watchers.append(w)
        group.add(w)
    for w in rnd.sample(watchers, 120):
        assert group.delete(w)
        watchers.remove(w)
    assert not group.delete(Watcher(b"x", None, 0, -1, sink))
    for probe in [*keys, b"", b"a\x00", b"zz", b"\xff"]:
        expect = {
            w.watch_id
            for w in watchers
            if (w.end is None and probe == w.key)
            or (w.end is not None and w.key <= probe and (w.end == b"" or probe < w.end))
        }
        assert {w.watch_id for w in group.watchers_for(probe)} == expect
        assert group.contains_key(probe) == bool(expect)
    with pytest.raises(ValueError):
        group.add(watchers[0])


def test_interval_tree_against_brute_force() -> None:
    rnd = random.Random(3)
    tree: IntervalTree[int] = IntervalTree()
    live: dict[tuple[bytes, bytes | None], int] = {}

    def rand_key() -> bytes:
        return bytes(rnd.randrange(0, 4) for _ in range(rnd.randrange(0, 3)))

    for step in range(3000):
        start = rand_key()
        end = None if rnd.random() < 0.1 else start + b"\x00" + rand_key()
        if rnd.random() < 0.6:
            tree.insert(start, end, step)
            live[(start, end)] = step
        else:
            assert tree.delete(start, end) == ((start, end) in live)
            live.pop((start, end), None)
        assert len(tree) == len(live)
        assert tree.find(start, end) == live.get((start, end))
        point = rand_key()
        expect = sorted(v for (s, e), v in live.items() if s <= point and (e is None or point < e))
        assert sorted(tree.stab(point)) == expect
        assert tree.intersects(point) == bool(expect)
