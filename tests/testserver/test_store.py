"""The MVCC store alone (testserver.mvcc.store): revisions, generations, history, compaction."""

from __future__ import annotations

import pytest

from etcd3py.errors import CompactedError, FutureRevisionError
from testserver.mvcc.revision import Revision
from testserver.mvcc.store import Change, Store


def put(store: Store, key: bytes, value: bytes = b"v", lease: int = 0) -> int:
    txn = store.write()
    rev = txn.put(key, value, lease)
    txn.end()
    return rev


def delete(store: Store, key: bytes, end: bytes | None = None) -> tuple[int, int]:
    txn = store.write()
    result = txn.delete_range(key, end)
    txn.end()
    return result


def test_an_empty_store_is_at_revision_1() -> None:
    store = Store()
    assert store.current_revision == 1
    assert store.compact_revision == -1
    rr = store.read().range(b"a", b"")
    assert (rr.records, rr.count, rr.rev) == ([], 0, 1)


def test_each_write_txn_is_one_revision_with_sub_revisions() -> None:
    store = Store()
    assert put(store, b"a") == 2
    txn = store.write()
    assert txn.put(b"b", b"1", 0) == 3
    assert txn.put(b"c", b"2", 0) == 3
    assert [c.rev for c in txn.changes] == [Revision(3, 0), Revision(3, 1)]
    assert txn.range(b"b", None).records[0].value == b"1"  # the txn sees its own write
    assert store.read().range(b"b", None).records == []  # others do not, yet
    txn.end()
    assert store.current_revision == 3


def test_versions_and_generations() -> None:
    store = Store()
    put(store, b"k", b"1")
    put(store, b"k", b"2")
    rec = store.read().range(b"k", None).records[0]
    assert (rec.create_revision, rec.mod_revision, rec.version) == (2, 3, 2)
    assert delete(store, b"k") == (1, 4)
    assert store.read().range(b"k", None).count == 0
    put(store, b"k", b"3")
    rec = store.read().range(b"k", None).records[0]
    assert (rec.create_revision, rec.mod_revision, rec.version) == (5, 5, 1)
    old = store.read().range(b"k", None, rev=3).records[0]
    assert (old.value, old.version) == (b"2", 2)


def test_a_txn_without_changes_keeps_the_revision() -> None:
    store = Store()
    put(store, b"a")
    assert delete(store, b"nothing") == (0, 2)
    txn = store.write()
    txn.range(b"a", None)
    txn.end()
    assert store.current_revision == 2


def test_delete_after_a_write_in_the_same_txn_reports_the_new_revision() -> None:
    store = Store()
    txn = store.write()
    txn.put(b"a", b"1", 0)
    assert txn.delete_range(b"zzz", None) == (0, 2)
    txn.end()


def test_ranges() -> None:
    store = Store()
    for key in (b"a", b"b", b"c", b"d"):
        put(store, key)
    read = store.read()
    assert [r.key for r in read.range(b"b", b"d").records] == [b"b", b"c"]
    assert [r.key for r in read.range(b"b", b"").records] == [b"b", b"c", b"d"]
    assert [r.key for r in read.range(b"\x00", b"").records] == [b"a", b"b", b"c", b"d"]
    assert read.range(b"d", b"a").records == []
    limited = read.range(b"a", b"", limit=2)
    assert ([r.key for r in limited.records], limited.count) == ([b"a", b"b"], 4)
    counted = read.range(b"a", b"", count_only=True)
    assert (counted.records, counted.count) == ([], 4)


def test_reads_out_of_range() -> None:
    store = Store()
    for i in range(5):
        put(store, b"k", b"%d" % i)
    with pytest.raises(FutureRevisionError):
        store.read().range(b"k", None, rev=7)
    store.compact(4)
    with pytest.raises(CompactedError):
        store.read().range(b"k", None, rev=3)
    assert store.read().range(b"k", None, rev=4).records[0].value == b"2"


def test_compaction_keeps_the_latest_version_at_or_below_it() -> None:
    store = Store()
    put(store, b"a", b"1")  # 2
    put(store, b"a", b"2")  # 3
    put(store, b"b", b"1")  # 4
    delete(store, b"b")  # 5
    put(store, b"a", b"3")  # 6
    store.compact(5)
    assert store.compact_revision == 5
    assert [r.main for r in store._log] == [3, 6]  # b's generation went with its tombstone
    assert store.index.key_index(b"b") is None
    assert store.read().range(b"a", None, rev=5).records[0].value == b"2"


def test_compaction_errors() -> None:
    store = Store()
    put(store, b"a")
    with pytest.raises(FutureRevisionError):
        store.compact(3)
    store.compact(2)
    with pytest.raises(CompactedError):
        store.compact(2)
    with pytest.raises(CompactedError):
        store.compact(1)


def test_history_and_listeners() -> None:
    store = Store()
    seen: list[list[Change]] = []
    store.listeners.append(seen.append)
    put(store, b"a", b"1")
    txn = store.write()
    txn.put(b"b", b"2", 0)
    txn.delete_range(b"a", None)
    txn.end()
    assert [[(c.rev.main, c.record.key, c.tombstone) for c in batch] for batch in seen] == [
        [(2, b"a", False)],
        [(3, b"b", False), (3, b"a", True)],
    ]
    assert [c.rev for c in store.changes(3, 4)] == [Revision(3, 0), Revision(3, 1)]
    store.compact(3)
    assert [c.rev for c in store.changes(3, 4)] == [Revision(3, 0)]  # a's tombstone went
    with pytest.raises(CompactedError):
        store.changes(2, 4)


def test_hash_by_rev_checks_its_revision() -> None:
    store = Store()
    put(store, b"a")
    put(store, b"a", b"x")
    before = store.hash_by_rev(2)
    assert before[1:] == (3, -1)
    assert store.hash_by_rev(0)[0] != before[0]
    with pytest.raises(FutureRevisionError):
        store.hash_by_rev(4)
    store.compact(2)
    with pytest.raises(CompactedError):
        store.hash_by_rev(2)
