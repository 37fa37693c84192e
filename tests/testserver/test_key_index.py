"""One key's generations (testserver.mvcc.key_index), on etcd's own worked example."""

from __future__ import annotations

import pytest

from testserver.mvcc.key_index import KeyIndex, RevisionNotFound
from testserver.mvcc.revision import Revision, revision_bytes


def example() -> KeyIndex:
    """put(1) put(2) delete(3) put(4) delete(5): generations {1,2,3t} {4,5t} {}."""
    ki = KeyIndex(b"foo")
    ki.put(Revision(1))
    ki.put(Revision(2))
    ki.tombstone(Revision(3))
    ki.put(Revision(4))
    ki.tombstone(Revision(5))
    return ki


def revs(ki: KeyIndex) -> list[list[int]]:
    return [[r.main for r in g.revs] for g in ki.generations]


def test_generations_of_the_example() -> None:
    assert revs(example()) == [[1, 2, 3], [4, 5], []]


@pytest.mark.parametrize(
    ("at", "expected"),
    [(1, (1, 1, 1)), (2, (2, 1, 2)), (4, (4, 4, 1)), (6, None), (3, None), (5, None), (0, None)],
)
def test_get_at_revision(at: int, expected: tuple[int, int, int] | None) -> None:
    ki = example()
    if expected is None:
        with pytest.raises(RevisionNotFound):
            ki.get(at)
        return
    mod, created, version = ki.get(at)
    assert (mod.main, created.main, version) == expected


def test_tombstone_of_a_deleted_key_is_refused() -> None:
    with pytest.raises(RevisionNotFound):
        example().tombstone(Revision(6))


def test_put_must_move_forward() -> None:
    ki = example()
    with pytest.raises(ValueError):
        ki.put(Revision(5))


@pytest.mark.parametrize(
    ("at", "expected", "kept"),
    [
        (2, [[2, 3], [4, 5], []], {2}),
        (3, [[4, 5], []], set()),
        (4, [[4, 5], []], {4}),
        (5, [[]], set()),
        (6, [[]], set()),
    ],
)
def test_compact(at: int, expected: list[list[int]], kept: set[int]) -> None:
    ki = example()
    available: set[Revision] = set()
    ki.compact(at, available)
    assert revs(ki) == expected
    assert {r.main for r in available} == kept


def test_compaction_keeps_versions_counting() -> None:
    ki = KeyIndex(b"k")
    for main in (1, 2, 3):
        ki.put(Revision(main))
    ki.compact(2, set())
    assert ki.get(3)[2] == 3
    assert ki.get(2)[2] == 2
    with pytest.raises(RevisionNotFound):
        ki.get(1)


def test_keep_changes_nothing() -> None:
    ki = example()
    available: set[Revision] = set()
    ki.keep(4, available)
    assert available == {Revision(4)}
    assert revs(ki) == [[1, 2, 3], [4, 5], []]


def test_since_returns_last_change_per_main_revision() -> None:
    ki = KeyIndex(b"k")
    ki.put(Revision(2, 0))
    ki.put(Revision(3, 0))
    ki.put(Revision(3, 1))
    ki.tombstone(Revision(4, 0))
    ki.put(Revision(5, 0))
    assert ki.since(3) == [Revision(3, 1), Revision(4, 0), Revision(5, 0)]
    assert ki.since(1) == [Revision(2), Revision(3, 1), Revision(4), Revision(5)]


def test_revision_bytes_match_etcd_layout() -> None:
    assert revision_bytes(Revision(1, 2)) == bytes(7) + b"\x01_" + bytes(7) + b"\x02"
    assert revision_bytes(Revision(1, 2), tombstone=True).endswith(b"\x02t")
