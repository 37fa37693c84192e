"""The common get and put (no option) skip the op: the same request, the same errors."""

from __future__ import annotations

import inspect

import pytest

from etcd3py import Op
from etcd3py._calls import kv as calls
from etcd3py.errors import ArgumentTypeError, EmptyKeyError
from etcd3py.kv import KV
from etcd3py.models import SortTarget
from etcd3py.op import _get_op, _plain_get, _plain_put, _put_op


def _defaults(method: str) -> tuple[object, ...]:
    params = inspect.signature(getattr(KV, method)).parameters.values()
    return tuple(
        p.default for p in params if p.kind is p.KEYWORD_ONLY and p.name not in ("timeout", "ctx")
    )


GET_DEFAULTS = _defaults("get")
PUT_DEFAULTS = _defaults("put")
KEYS = ["k", b"k", bytearray(b"k"), memoryview(b"\x00\xff"), "ключ", b"\x00"]


def test_the_tuples_follow_the_signatures() -> None:
    assert len(GET_DEFAULTS) == 14 and len(PUT_DEFAULTS) == 4


@pytest.mark.parametrize("key", KEYS)
def test_a_plain_get_sends_what_its_op_sends(key: object) -> None:
    raw = _plain_get(key, GET_DEFAULTS)  # type: ignore[arg-type]
    assert raw is not None
    assert calls.get_key(raw).request == calls.do(Op.get(key)).request  # type: ignore[arg-type]
    assert _get_op(key, GET_DEFAULTS) == Op.get(key)  # type: ignore[arg-type]
    assert calls.get_key(raw).repeatable and calls.get_key(raw).wrap is calls.do(Op.get("k")).wrap


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("value", ["v", b"", bytearray(b"v"), "значение"])
def test_a_plain_put_sends_what_its_op_sends(key: object, value: object) -> None:
    plain = _plain_put(key, value, PUT_DEFAULTS)  # type: ignore[arg-type]
    assert plain is not None
    op = Op.put(key, value)  # type: ignore[arg-type]
    assert calls.put_value(*plain).request == calls.do(op).request
    assert _put_op(key, value, PUT_DEFAULTS) == op  # type: ignore[arg-type]
    assert not calls.put_value(*plain).repeatable


def test_an_option_set_takes_the_op_path() -> None:
    limited = list(GET_DEFAULTS)
    limited[4] = 5  # limit
    assert _plain_get("k", tuple(limited)) is None
    sorted_ = list(GET_DEFAULTS)
    sorted_[5] = SortTarget.MOD  # sort_target
    assert _plain_get("k", tuple(sorted_)) is None
    assert _plain_put("k", "v", (7, False, False, False)) is None  # lease
    assert _plain_put("k", "v", (0, True, False, False)) is None  # prev_kv


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [("", "v", EmptyKeyError), (1, "v", ArgumentTypeError), ("k", 1, ArgumentTypeError)],
)
def test_the_plain_path_refuses_what_the_op_refuses(
    key: object, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error) as by_op:
        Op.put(key, value)  # type: ignore[arg-type]
    with pytest.raises(error) as plain:
        _plain_put(key, value, PUT_DEFAULTS)  # type: ignore[arg-type]
    assert str(plain.value) == str(by_op.value)
    if value == "v":
        with pytest.raises(error) as get_by_op:
            Op.get(key)  # type: ignore[arg-type]
        with pytest.raises(error) as get_plain:
            _plain_get(key, GET_DEFAULTS)  # type: ignore[arg-type]
        assert str(get_plain.value) == str(get_by_op.value)
