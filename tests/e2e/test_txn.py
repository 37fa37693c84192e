"""Transactions end to end: compares of every target and operator, branches, nesting, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Compare, Op
from etcd3py.compare import Cmp, CompareOperand
from etcd3py.errors import DuplicateKeyError, TooManyOpsError
from etcd3py.kv import DeleteResponse, GetResponse, PutResponse
from etcd3py.txn import TxnResponse

pytestmark = pytest.mark.both_faces

OPERATORS: dict[str, Callable[[CompareOperand, Any], Cmp]] = {
    "==": lambda t, v: t == v,
    "!=": lambda t, v: t != v,
    "<": lambda t, v: t < v,
    ">": lambda t, v: t > v,
}


def _holds(client: Client, cmp: Cmp) -> bool:
    # with no op, etcd serves a txn as a serializable read (from the member's own store,
    # possibly behind on a cluster); a get makes it linearizable
    return client.txn().if_(cmp).then(Op.get(cmp.key)).commit().succeeded


@pytest.mark.parametrize("op", list(OPERATORS))
def test_compare_each_target_with_each_operator(client: Client, prefix: str, op: str) -> None:
    key = prefix + "k"
    create = client.put(key, "m").header.revision
    mod = client.put(key, "m").header.revision  # version 2
    apply = OPERATORS[op]
    # (target, value equal to the key's, a smaller one, a larger one)
    cases: list[tuple[CompareOperand, object, object, object]] = [
        (Compare.value(key), b"m", b"a", b"z"),
        (Compare.version(key), 2, 1, 3),
        (Compare.create_revision(key), create, create - 1, create + 1),
        (Compare.mod_revision(key), mod, mod - 1, mod + 1),
        (Compare.lease(key), 0, -1, 1),
    ]
    expect = {"==": (True, False, False), "!=": (False, True, True)}
    expect["<"] = (False, False, True)  # key's field < operand
    expect[">"] = (False, True, False)
    for target, equal, smaller, larger in cases:
        got = tuple(_holds(client, apply(target, v)) for v in (equal, smaller, larger))
        assert got == expect[op], (target, op)


def test_compare_missing_key_version_and_create_are_zero(client: Client, prefix: str) -> None:
    assert _holds(client, Compare.version(prefix + "none") == 0)
    assert _holds(client, Compare.create_revision(prefix + "none") == 0)


def test_compare_over_prefix_and_range(client: Client, prefix: str) -> None:
    client.put(prefix + "a", "1")
    client.put(prefix + "b", "1")
    client.put(prefix + "c", "2")
    assert _holds(client, Compare.version(prefix, prefix=True) > 0)
    assert _holds(client, Compare.value(prefix + "a", range_end=prefix + "c") == "1")
    assert not _holds(client, Compare.value(prefix, prefix=True) == "1")
    assert _holds(client, Compare.value(prefix, prefix=True) != "3")


def test_then_and_else_branches_with_typed_responses(client: Client, prefix: str) -> None:
    k = prefix + "k"
    resp = (
        client.txn()
        .if_(Compare.version(k) == 0)
        .then(Op.put(k, "1"), Op.get(k), Op.delete(prefix + "none"))
        .else_(Op.get(k))
        .commit()
    )
    assert resp.succeeded
    put, get, deleted = resp.responses
    assert isinstance(put, PutResponse) and put.header.revision == resp.header.revision
    assert isinstance(get, GetResponse) and get.kvs[0].value == b"1"
    assert isinstance(deleted, DeleteResponse) and deleted.deleted == 0
    again = client.txn().if_(Compare.version(k) == 0).then(Op.put(k, "2")).else_(Op.get(k)).commit()
    assert not again.succeeded
    (only,) = again.responses
    assert isinstance(only, GetResponse) and only.kvs[0].value == b"1"


def test_empty_txn_succeeds(client: Client) -> None:
    resp = client.txn().commit()
    assert resp.succeeded and resp.responses == []


def test_nested_txn(client: Client, prefix: str) -> None:
    a, b = prefix + "a", prefix + "b"
    client.put(a, "x")
    inner = Op.txn([Compare.value(a) == "x"], [Op.put(b, "from-inner"), Op.get(a)], [Op.get(b)])
    resp = client.txn().if_(Compare.version(a) > 0).then(inner, Op.get(a, keys_only=True)).commit()
    assert resp.succeeded
    nested, get = resp.responses
    assert isinstance(nested, TxnResponse) and nested.succeeded
    assert isinstance(nested.responses[0], PutResponse)
    assert isinstance(get, GetResponse) and get.kvs[0].value == b""
    assert client.get(b).kvs[0].value == b"from-inner"


def test_txn_through_do_and_op(client: Client, prefix: str) -> None:
    txn = client.txn().then(Op.put(prefix + "k", "v"))
    resp = client.do(txn.op())
    assert isinstance(resp, TxnResponse) and resp.succeeded
    assert client.get(prefix + "k").kvs[0].value == b"v"


def test_too_many_ops_is_refused_and_nothing_written(client: Client, prefix: str) -> None:
    client.put(prefix + "orig", "v")
    ops = [Op.put(f"{prefix}k{i}", "v") for i in range(129)]
    with pytest.raises(TooManyOpsError, match="too many operations in txn request"):
        client.txn().then(*ops).commit()
    assert client.get(prefix + "k", prefix=True).count == 0
    assert client.get(prefix + "orig").kvs[0].value == b"v"
    assert client.txn().then(*ops[:128]).commit().succeeded  # the default --max-txn-ops


@pytest.mark.parametrize(
    "then",
    [
        lambda p: [Op.put(p + "k", "1"), Op.put(p + "k", "2")],
        lambda p: [Op.put(p + "k", "1"), Op.delete(p + "k")],
        lambda p: [Op.delete(p, prefix=True), Op.put(p + "k", "1")],
        lambda p: [Op.put(p + "k", "1"), Op.txn([], [Op.put(p + "k", "2")], [])],
    ],
    ids=["put-put", "put-delete", "delete-range-put", "put-nested-put"],
)
def test_duplicate_key_is_refused_and_nothing_written(
    client: Client, prefix: str, then: Callable[[str], list[Op]]
) -> None:
    client.put(prefix + "k", "orig")
    with pytest.raises(DuplicateKeyError, match="duplicate key given in txn request"):
        client.txn().then(*then(prefix)).commit()
    kv = client.get(prefix + "k").kvs[0]
    assert (kv.value, kv.version) == (b"orig", 1)


def test_same_key_in_then_and_else_is_allowed(client: Client, prefix: str) -> None:
    k = prefix + "k"
    resp = (
        client.txn()
        .if_(Compare.version(k) == 0)
        .then(Op.put(k, "a"))
        .else_(Op.put(k, "b"))
        .commit()
    )
    assert resp.succeeded
