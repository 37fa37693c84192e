"""The compare DSL: targets, operators, ranges and type checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Compare, _pb
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
