"""The compare DSL: targets, operators, ranges and type checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcd3py import Compare, Op, _pb
from etcd3py._ints import INT64_MAX, INT64_MIN
from etcd3py.compare import Cmp, CompareOperand, CompareResult, CompareTarget
from etcd3py.errors import ArgumentTypeError, EmptyKeyError, InvalidArgumentError

OPERATORS: list[tuple[Callable[[CompareOperand, Any], Cmp], CompareResult]] = [
    (lambda t, v: t == v, CompareResult.EQUAL),
    (lambda t, v: t != v, CompareResult.NOT_EQUAL),
    (lambda t, v: t < v, CompareResult.LESS),
    (lambda t, v: t > v, CompareResult.GREATER),
]
TARGETS: list[tuple[Callable[..., CompareOperand], CompareTarget, str, object]] = [
    (Compare.value, CompareTarget.VALUE, "value", b"v"),
    (Compare.version, CompareTarget.VERSION, "version", 2),
    (Compare.create_revision, CompareTarget.CREATE, "create_revision", 3),
    (Compare.mod_revision, CompareTarget.MOD, "mod_revision", 4),
    (Compare.lease, CompareTarget.LEASE, "lease", 5),
]


@pytest.mark.parametrize(("factory", "target", "field", "operand"), TARGETS)
@pytest.mark.parametrize(("apply", "result"), OPERATORS)
def test_each_target_and_operator_builds_a_cmp(
    factory: Callable[..., CompareOperand],
    target: CompareTarget,
    field: str,
    operand: object,
    apply: Callable[[CompareOperand, Any], Cmp],
    result: CompareResult,
) -> None:
    cmp = apply(factory("/k"), operand)
    assert cmp == Cmp(target, result, b"/k", operand)  # type: ignore[arg-type]
    msg = cmp.to_pb()
    assert (msg.target, msg.result, msg.key, msg.range_end) == (target, result, b"/k", b"")
    assert msg.WhichOneof("target_union") == field
    assert getattr(msg, field) == operand


def test_value_compare_takes_str_and_ranges() -> None:
    assert (Compare.value("k") == "é").operand == "é".encode()
    assert Compare.value("/p/", prefix=True).range_end == b"/p0"
    assert Compare.version("a", range_end="c").range_end == b"c"
    everything = Compare.version("", prefix=True) > 0
    assert (everything.key, everything.range_end) == (b"\0", b"\0")


def test_cmps_are_frozen_and_targets_unhashable() -> None:
    cmp = Compare.version("k") == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cmp.operand = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(Compare.version("k"))
    assert isinstance(cmp.to_pb(), _pb.rpc.Compare)


@pytest.mark.parametrize(
    ("build", "exc"),
    [
        (lambda: Compare.version("k") == "1", ArgumentTypeError),
        (lambda: Compare.version("k") == True, ArgumentTypeError),  # noqa: E712
        (lambda: Compare.mod_revision("k") > 1.5, ArgumentTypeError),
        (lambda: Compare.lease("k") == None, ArgumentTypeError),  # noqa: E711
        (lambda: Compare.value("k") == 1, ArgumentTypeError),
        (lambda: Compare.value(1), ArgumentTypeError),
        (lambda: Compare.value(""), EmptyKeyError),
        (lambda: Compare.value("k", prefix=True, range_end="z"), InvalidArgumentError),
        (lambda: Compare.value("k", prefix="yes"), ArgumentTypeError),
        (lambda: Compare.value("k", range_end=3), ArgumentTypeError),
    ],
)
def test_bad_compares_are_refused(build: Callable[[], object], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        build()


# ---- a compare is not a bool ------------------------------------------------------------


def test_a_compare_has_no_truth_value() -> None:
    cmp = Compare.value("k") == "x"
    with pytest.raises(TypeError, match=r"pass it to a transaction") as info:
        if cmp:
            pass
    assert "txn" in str(info.value)
    with pytest.raises(TypeError, match="pass it to a transaction"):
        bool(Compare.version("k") > 0)
    with pytest.raises(TypeError, match="pass it to a transaction"):
        assert not (Compare.mod_revision("k") != 3)  # noqa: SIM202


def test_membership_of_a_target_is_refused() -> None:
    with pytest.raises(TypeError, match="pass it to a transaction"):
        Compare.version("k") in [1, 2]  # noqa: B015
    with pytest.raises(TypeError, match="pass it to a transaction"):
        Compare.value("k") in ("a", "b")  # noqa: B015


def test_a_target_alone_has_no_truth_value() -> None:
    with pytest.raises(TypeError, match=r"==, !=, < or >"):
        bool(Compare.value("k"))


def test_cmps_stay_hashable_and_comparable() -> None:
    a, b = Compare.version("k") == 1, Compare.version("k") == 1
    other = Compare.version("k") == 2
    assert a == b and a != other  # dataclass equality: a plain bool
    assert len({a, b, other}) == 2
    assert a in [other, b] and other not in (a, b)
    assert {a: 1}[b] == 1
    assert Op.txn([a], []) == Op.txn([b], []) and Op.txn([a], []) != Op.txn([other], [])


# ---- operands: int64 for the int targets, typed errors that name no private type ---------

INT_TARGETS = [t for t in TARGETS if t[1] is not CompareTarget.VALUE]


@pytest.mark.parametrize(("factory", "target", "field", "operand"), INT_TARGETS)
@given(value=st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_any_int64_operand_is_sent(
    factory: Callable[..., CompareOperand],
    target: CompareTarget,
    field: str,
    operand: object,
    value: int,
) -> None:
    assert getattr((factory("k") == value).to_pb(), field) == value


@pytest.mark.parametrize(("factory", "target", "field", "operand"), INT_TARGETS)
@pytest.mark.parametrize(("apply", "result"), OPERATORS)
@given(value=st.integers(max_value=INT64_MIN - 1) | st.integers(min_value=INT64_MAX + 1))
def test_an_out_of_range_operand_is_invalid_argument(
    factory: Callable[..., CompareOperand],
    target: CompareTarget,
    field: str,
    operand: object,
    apply: Callable[[CompareOperand, Any], Cmp],
    result: CompareResult,
    value: int,
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        apply(factory("k"), value)
    assert type(info.value) is InvalidArgumentError
    assert f"{target.name.lower()} compare" in str(info.value) or field in str(info.value)


@pytest.mark.parametrize(("factory", "target", "field", "operand"), TARGETS)
def test_messages_name_no_private_type(
    factory: Callable[..., CompareOperand], target: CompareTarget, field: str, operand: object
) -> None:
    for other in (factory("j"), factory("j") == operand, object()):
        with pytest.raises(ArgumentTypeError) as info:
            factory("k") == other  # noqa: B015
        text = str(info.value)
        for private in ("CompareOperand", "Cmp", "CompareTarget", "_pb", "etcdserverpb"):
            assert private not in text, text
