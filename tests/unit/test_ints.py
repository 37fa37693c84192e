"""Integer arguments: one rule for types and ranges, lease IDs from grant responses."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from etcd3py._ints import INT64_MAX, check_int, lease_id
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError


@dataclass
class _Grant:
    id: int


def test_check_int_accepts_the_int64_range() -> None:
    assert check_int("rev", 0) == 0
    assert check_int("rev", INT64_MAX) == INT64_MAX


@pytest.mark.parametrize("bad", [2**63, 2**64, -1])
def test_check_int_refuses_what_the_field_cannot_hold(bad: int) -> None:
    with pytest.raises(InvalidArgumentError, match="rev"):
        check_int("rev", bad)


@pytest.mark.parametrize("bad", [True, 1.0, "1", None])
def test_check_int_refuses_other_types(bad: object) -> None:
    with pytest.raises(ArgumentTypeError, match="rev must be an int"):
        check_int("rev", bad)
    with pytest.raises(TypeError):  # also Python's own
        check_int("rev", bad)


def test_lease_id_takes_an_int_or_anything_with_an_id() -> None:
    assert lease_id(7) == 7
    assert lease_id(_Grant(id=42)) == 42
    with pytest.raises(ArgumentTypeError, match="grant response"):
        lease_id("42")
    with pytest.raises(InvalidArgumentError):
        lease_id(_Grant(id=-1))
    with pytest.raises(InvalidArgumentError):
        lease_id(2**63)
