"""Op building: the request each Op sends, and every bad input refused before sending."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcd3py import Compare, Op, SortOrder, SortTarget, _pb
from etcd3py._ints import INT64_MAX
from etcd3py.errors import (
    ArgumentTypeError,
    EmptyKeyError,
    InvalidArgumentError,
    LeaseProvidedError,
    ValueProvidedError,
)
from etcd3py.lease import LeaseGrantResponse
from etcd3py.op import GetOptions, OpType


def test_get_builds_every_range_field() -> None:
    op = Op.get(
        "/a",
        range_end="/z",
        rev=7,
        limit=3,
        sort_target=SortTarget.MOD,
        sort_order=SortOrder.DESCEND,
        keys_only=True,
        count_only=True,
        serializable=True,
        min_mod_revision=1,
        max_mod_revision=9,
        min_create_revision=2,
        max_create_revision=8,
    )
    req = op.to_range_request()
    assert req == _pb.rpc.RangeRequest(
        key=b"/a",
        range_end=b"/z",
        revision=7,
        limit=3,
        sort_target=_pb.rpc.RangeRequest.MOD,
        sort_order=_pb.rpc.RangeRequest.DESCEND,
        keys_only=True,
        count_only=True,
        serializable=True,
        min_mod_revision=1,
        max_mod_revision=9,
        min_create_revision=2,
        max_create_revision=8,
    )


def test_every_get_option_is_declared_once() -> None:
    assert len(GetOptions.__annotations__) == 14  # + key = the 15 of clientv3's OpGet


@pytest.mark.parametrize(
    ("key", "opts", "start", "end"),
    [
        ("/p/", {"prefix": True}, b"/p/", b"/p0"),
        ("", {"prefix": True}, b"\0", b"\0"),
        ("/p/", {"from_key": True}, b"/p/", b"\0"),
        ("", {"from_key": True}, b"\0", b"\0"),
        (b"\xff", {"prefix": True}, b"\xff", b"\0"),
        ("a", {"range_end": b"c"}, b"a", b"c"),
        ("a", {}, b"a", b""),
    ],
)
def test_key_ranges(key: str | bytes, opts: dict[str, Any], start: bytes, end: bytes) -> None:
    for op in (Op.get(key, **opts), Op.delete(key, **opts)):
        assert (op.key, op.range_end) == (start, end)


def test_sort_by_key_ascending_is_sent_as_none_like_clientv3() -> None:
    req = Op.get("a", prefix=True, sort_order=SortOrder.ASCEND).to_range_request()
    assert req.sort_order == _pb.rpc.RangeRequest.NONE
    req = Op.get("a", prefix=True, sort_target=SortTarget.VALUE, sort_order=1).to_range_request()
    assert (req.sort_target, req.sort_order) == (_pb.rpc.RangeRequest.VALUE, 1)


def test_put_and_delete_requests() -> None:
    put = Op.put("k", "vé", lease=5, prev_kv=True)
    assert put.to_put_request() == _pb.rpc.PutRequest(
        key=b"k", value="vé".encode(), lease=5, prev_kv=True
    )
    ignore = Op.put("k", b"", ignore_value=True, ignore_lease=True).to_put_request()
    assert ignore.ignore_value and ignore.ignore_lease
    delete = Op.delete("k", prefix=True, prev_kv=True).to_delete_request()
    assert delete == _pb.rpc.DeleteRangeRequest(key=b"k", range_end=b"l", prev_kv=True)


def test_txn_request_nests_and_request_op_wraps_each_type() -> None:
    inner = Op.txn([Compare.version("a") > 0], [Op.get("a")], [Op.delete("a")])
    outer = Op.txn([Compare.value("b") == "x"], [Op.put("b", "y"), inner], [])
    req = outer.to_txn_request()
    assert len(req.compare) == 1 and req.compare[0].value == b"x"
    assert req.success[0].WhichOneof("request") == "request_put"
    assert req.success[1].request_txn.success[0].request_range.key == b"a"
    assert req.success[1].request_txn.failure[0].request_delete_range.key == b"a"
    assert outer.to_request_op().WhichOneof("request") == "request_txn"
    assert Op.get("a").to_request_op().WhichOneof("request") == "request_range"
    assert outer.type is OpType.TXN


def test_ops_are_frozen_and_comparable() -> None:
    import dataclasses

    assert Op.get("a", limit=1) == Op.get("a", limit=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Op.get("a").key = b"b"  # type: ignore[misc]
    assert Op.get("a", limit=2).option("limit") == 2
    assert Op.get("a").option("limit", 0) == 0


BAD_GETS: list[tuple[object, dict[str, Any], type[Exception], str]] = [
    (1, {}, ArgumentTypeError, "key must be str or bytes"),
    (None, {}, ArgumentTypeError, "key must be"),
    ("", {}, EmptyKeyError, "key is not provided"),
    ("", {"range_end": "b"}, EmptyKeyError, "key is not provided"),
    ("a", {"prefix": True, "from_key": True}, InvalidArgumentError, "prefix and from_key"),
    ("a", {"prefix": True, "range_end": "b"}, InvalidArgumentError, "range_end and prefix"),
    ("a", {"from_key": True, "range_end": "b"}, InvalidArgumentError, "range_end and from_key"),
    ("a", {"range_end": 5}, ArgumentTypeError, "range_end must be str or bytes"),
    ("a", {"rev": -1}, InvalidArgumentError, "rev must not be negative"),
    ("a", {"limit": -5}, InvalidArgumentError, "limit must not be negative"),
    ("a", {"rev": "3"}, ArgumentTypeError, "rev must be an int"),
    ("a", {"rev": True}, ArgumentTypeError, "rev must be an int"),
    ("a", {"limit": 1.0}, ArgumentTypeError, "limit must be an int"),
    ("a", {"min_mod_revision": -1}, InvalidArgumentError, "min_mod_revision"),
    ("a", {"max_create_revision": "x"}, ArgumentTypeError, "max_create_revision"),
    ("a", {"rev": 2**63}, InvalidArgumentError, "rev must be at most"),
    ("a", {"limit": 2**64}, InvalidArgumentError, "limit must be at most"),
    ("a", {"max_mod_revision": 2**63}, InvalidArgumentError, "max_mod_revision must be at most"),
    ("a", {"prefix": 1}, ArgumentTypeError, "prefix must be a bool"),
    ("a", {"keys_only": "yes"}, ArgumentTypeError, "keys_only must be a bool"),
    ("a", {"serializable": None}, ArgumentTypeError, "serializable must be a bool"),
    ("a", {"sort_target": 9}, InvalidArgumentError, "not a valid SortTarget"),
    ("a", {"sort_order": -1}, InvalidArgumentError, "not a valid SortOrder"),
    ("a", {"sort_order": "DESCEND"}, ArgumentTypeError, "sort_order must be a SortOrder"),
    ("a", {"sort_target": True}, ArgumentTypeError, "sort_target must be a SortTarget"),
    ("a", {"prev_kv": True}, TypeError, "unexpected keyword argument"),
    ("a", {"lease": 1}, TypeError, "unexpected keyword argument"),
    ("a", {"revision": 1}, TypeError, "unexpected keyword argument"),
]


@pytest.mark.parametrize(("key", "opts", "exc", "text"), BAD_GETS)
def test_bad_get_is_refused(
    key: object, opts: dict[str, Any], exc: type[Exception], text: str
) -> None:
    with pytest.raises(exc, match=text):
        Op.get(key, **opts)  # type: ignore[arg-type]


BAD_PUTS: list[tuple[object, object, dict[str, Any], type[Exception], str]] = [
    ("", "v", {}, EmptyKeyError, "key is not provided"),
    (b"", "v", {}, EmptyKeyError, "key is not provided"),
    (3, "v", {}, ArgumentTypeError, "key must be"),
    ("k", 3, {}, ArgumentTypeError, "value must be str or bytes"),
    ("k", None, {}, ArgumentTypeError, "value must be"),
    ("k", "v", {"ignore_value": True}, ValueProvidedError, "value is provided"),
    ("k", "", {"ignore_lease": True, "lease": 7}, LeaseProvidedError, "lease is provided"),
    ("k", "v", {"lease": -1}, InvalidArgumentError, "lease must not be negative"),
    ("k", "v", {"lease": 2**63}, InvalidArgumentError, "lease must be at most"),
    ("k", "v", {"lease": "7"}, ArgumentTypeError, "lease must be a lease ID"),
    ("k", "v", {"lease": True}, ArgumentTypeError, "lease must be a lease ID"),
    ("k", "v", {"prev_kv": "y"}, ArgumentTypeError, "prev_kv must be a bool"),
    ("k", "v", {"prefix": True}, TypeError, "unexpected keyword argument"),
    ("k", "v", {"rev": 1}, TypeError, "unexpected keyword argument"),
]


@pytest.mark.parametrize(("key", "value", "opts", "exc", "text"), BAD_PUTS)
def test_bad_put_is_refused(
    key: object, value: object, opts: dict[str, Any], exc: type[Exception], text: str
) -> None:
    with pytest.raises(exc, match=text):
        Op.put(key, value, **opts)  # type: ignore[arg-type]


BAD_DELETES: list[tuple[object, dict[str, Any], type[Exception], str]] = [
    ("", {}, EmptyKeyError, "key is not provided"),
    ("a", {"prefix": True, "from_key": True}, InvalidArgumentError, "prefix and from_key"),
    ("a", {"prefix": True, "range_end": "z"}, InvalidArgumentError, "range_end and prefix"),
    ("a", {"limit": 1}, TypeError, "unexpected keyword argument"),
    ("a", {"rev": 1}, TypeError, "unexpected keyword argument"),
    ("a", {"lease": 1}, TypeError, "unexpected keyword argument"),
    ("a", {"prev_kv": 1}, ArgumentTypeError, "prev_kv must be a bool"),
]


@pytest.mark.parametrize(("key", "opts", "exc", "text"), BAD_DELETES)
def test_bad_delete_is_refused(
    key: object, opts: dict[str, Any], exc: type[Exception], text: str
) -> None:
    with pytest.raises(exc, match=text):
        Op.delete(key, **opts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("compares", "then", "else_"),
    [
        (["not a cmp"], [], []),
        ([], [Op.get("a"), "put"], []),
        ([], [], [None]),
        ("abc", [], []),
        (5, [], []),
    ],
)
def test_bad_txn_is_refused(compares: Any, then: Any, else_: Any) -> None:
    with pytest.raises(ArgumentTypeError):
        Op.txn(compares, then, else_)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda: Op.txn([Compare.version("k")], []), "a compare target without ==, !=, < or >"),
        (lambda: Op.txn([Op.get("k")], []), "expected compares .*, not Op.get"),
        (lambda: Op.txn([], [Compare.version("k") == 1]), r"expected ops .*, not a compare$"),
        (lambda: Op.txn([], [], [b"put"]), r"expected ops .*, not bytes$"),
        (lambda: Op.txn(5, []), "expected an iterable of compares"),
    ],
)
def test_txn_messages_name_no_private_type(build: Any, text: str) -> None:
    with pytest.raises(ArgumentTypeError, match=text) as info:
        build()
    for private in ("CompareOperand", "Cmp", "OpType"):
        assert private not in str(info.value)


# ---- integers: every int option holds an int64, else InvalidArgumentError at the call -------

GET_INT_OPTIONS = sorted(n for n, t in get_type_hints(GetOptions).items() if t is int)


def test_every_int_option_is_covered() -> None:
    assert GET_INT_OPTIONS == [
        "limit",
        "max_create_revision",
        "max_mod_revision",
        "min_create_revision",
        "min_mod_revision",
        "rev",
    ]


def _field(option: str) -> str:
    return "revision" if option == "rev" else option


@pytest.mark.parametrize("option", GET_INT_OPTIONS)
@given(value=st.integers(min_value=0, max_value=INT64_MAX))
def test_any_int64_get_option_is_sent_as_given(option: str, value: int) -> None:
    req = Op.get("k", **{option: value}).to_range_request()  # type: ignore[misc]
    assert getattr(req, _field(option)) == value


@pytest.mark.parametrize("option", GET_INT_OPTIONS)
@given(value=st.integers(max_value=-1) | st.integers(min_value=INT64_MAX + 1))
def test_an_out_of_range_get_option_is_invalid_argument(option: str, value: int) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Op.get("k", **{option: value})  # type: ignore[misc]
    assert type(info.value) is InvalidArgumentError  # not a type error, not protobuf's
    assert option in str(info.value) and str(value) in str(info.value)


@given(value=st.integers(min_value=0, max_value=INT64_MAX))
def test_any_int64_lease_is_sent_as_given(value: int) -> None:
    assert Op.put("k", "v", lease=value).to_put_request().lease == value


@given(value=st.integers(max_value=-1) | st.integers(min_value=INT64_MAX + 1))
def test_an_out_of_range_lease_is_invalid_argument(value: int) -> None:
    for lease in (value, SimpleNamespace(id=value)):
        with pytest.raises(InvalidArgumentError) as info:
            Op.put("k", "v", lease=lease)  # type: ignore[typeddict-item]
        assert type(info.value) is InvalidArgumentError
        assert "lease" in str(info.value)


def test_put_takes_a_grant_response_as_its_lease() -> None:
    grant = LeaseGrantResponse(_pb.rpc.LeaseGrantResponse(ID=7587, TTL=10))
    op = Op.put("k", "v", lease=grant)
    assert op.option("lease") == 7587, "the op keeps the ID, not the response"
    assert op == Op.put("k", "v", lease=7587)
    assert op.to_put_request().lease == 7587
    with pytest.raises(LeaseProvidedError):
        Op.put("k", "", ignore_lease=True, lease=grant)
    no_lease = SimpleNamespace(id=0)
    assert Op.put("k", "", ignore_lease=True, lease=no_lease).to_put_request().lease == 0  # type: ignore[typeddict-item]


def test_argument_errors_are_pythons_own() -> None:
    """ArgumentTypeError is a TypeError, InvalidArgumentError a ValueError (API.md: Errors)."""
    with pytest.raises(TypeError):
        Op.get(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as info:
        Op.get("k", limit=-1)
    assert not isinstance(info.value, TypeError)
    with pytest.raises(TypeError):
        Op.put("k", "v", lease="7")  # type: ignore[typeddict-item]
    with pytest.raises(ValueError):
        Op.get("k", rev=2**63)
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(InvalidArgumentError, ValueError)
