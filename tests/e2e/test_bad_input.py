"""Bad input end to end: each is refused with its typed error, and stored data stays intact."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, Compare, Op, _pb
from etcd3py.errors import (
    ArgumentTypeError,
    EmptyKeyError,
    EtcdError,
    InvalidArgumentError,
    LeaseProvidedError,
    RequestTooLargeError,
    ValueProvidedError,
)
from tests.faces import AioView
from tests.unit.test_op import BAD_DELETES, BAD_GETS, BAD_PUTS

pytestmark = pytest.mark.both_faces

MIB = 1024 * 1024


def _transport(client: Any) -> Any:
    """The client's transport; of the asyncio face, a blocking view of its AioTransport."""
    if isinstance(client, AioView):
        return AioView(client.aio_target._transport, client._portal)
    return client._transport


@pytest.fixture
def guarded(client: Client, prefix: str) -> Iterator[tuple[Client, str]]:
    """A key written before the test; after it, the key must be exactly as written."""
    key = prefix + "guard"
    rev = client.put(key, "intact").header.revision
    yield client, prefix
    kvs = client.get(prefix, prefix=True).kvs
    assert [(kv.key, kv.value, kv.mod_revision) for kv in kvs] == [(key.encode(), b"intact", rev)]


def _guard_key(prefix: str) -> str:
    return prefix + "guard"


@pytest.mark.parametrize(("key", "opts", "exc", "text"), BAD_GETS)
def test_bad_get(
    guarded: tuple[Client, str], key: object, opts: dict[str, Any], exc: type[Exception], text: str
) -> None:
    client, _ = guarded
    with pytest.raises(exc, match=text):
        client.get(key, **opts)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "value", "opts", "exc", "text"), BAD_PUTS)
def test_bad_put(
    guarded: tuple[Client, str],
    key: object,
    value: object,
    opts: dict[str, Any],
    exc: type[Exception],
    text: str,
) -> None:
    client, prefix = guarded
    with pytest.raises(exc, match=text):
        client.put(key, value, **opts)  # type: ignore[arg-type]
    # The same bad options aimed at the guarded key itself change nothing either.
    if isinstance(key, str) and key:
        with pytest.raises(exc, match=text):
            client.put(_guard_key(prefix), value, **opts)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "opts", "exc", "text"), BAD_DELETES)
def test_bad_delete(
    guarded: tuple[Client, str], key: object, opts: dict[str, Any], exc: type[Exception], text: str
) -> None:
    client, prefix = guarded
    with pytest.raises(exc, match=text):
        client.delete(key, **opts)  # type: ignore[arg-type]
    if key:
        with pytest.raises(exc, match=text):
            client.delete(_guard_key(prefix), **opts)  # type: ignore[arg-type]


BAD_TXNS: list[tuple[str, Callable[[Client, str], object], type[Exception]]] = [
    ("empty-compare-key", lambda c, p: c.txn().if_(Compare.value("") == "x"), EmptyKeyError),
    ("str-version", lambda c, p: c.txn().if_(Compare.version(p) == "1"), ArgumentTypeError),
    ("not-an-op", lambda c, p: c.txn().then("put"), ArgumentTypeError),  # type: ignore[arg-type]
    ("then-twice", lambda c, p: c.txn().then().then(Op.delete(p + "guard")), InvalidArgumentError),
    ("if-after-then", lambda c, p: c.txn().then().if_(), InvalidArgumentError),
    ("bad-nested-op", lambda c, p: c.txn().then(Op.delete(p, limit=1)), TypeError),  # type: ignore[call-arg]
    (
        "if-on-a-compare",  # `if Compare.value(k) == "x": txn.then(...)` was always true
        lambda c, p: c.txn().then(Op.delete(p + "guard")) if Compare.value(p) == "x" else None,
        TypeError,
    ),
    ("compare-in-a-list", lambda c, p: Compare.version(p) in [1, 2], TypeError),
]


# Integers the wire cannot hold: refused at the call, exactly InvalidArgumentError (never
# protobuf's ValueError), with a message that names the argument and no private type.
OUT_OF_RANGE: list[tuple[str, Callable[[Client, str], object], str]] = [
    ("get-rev", lambda c, p: c.get(p + "guard", rev=2**63), "rev"),
    ("get-limit-negative", lambda c, p: c.get(p, prefix=True, limit=-1), "limit"),
    ("get-limit-too-large", lambda c, p: c.get(p, prefix=True, limit=2**63), "limit"),
    ("get-min-mod", lambda c, p: c.get(p, prefix=True, min_mod_revision=2**64), "min_mod_revision"),
    ("put-lease", lambda c, p: c.put(p + "guard", "x", lease=2**63), "lease"),
    ("put-lease-negative", lambda c, p: c.put(p + "guard", "x", lease=-5), "lease"),
    ("compact-rev", lambda c, p: c.compact(2**63), "rev"),
    ("compact-rev-negative", lambda c, p: c.compact(-1), "rev"),
    (
        "compare-version",
        lambda c, p: (
            c.txn().if_(Compare.version(p + "guard") == 2**63).then(Op.delete(p + "guard"))
        ),
        "version compare",
    ),
    (
        "compare-mod-revision",
        lambda c, p: c.txn().if_(Compare.mod_revision(p + "guard") < -(2**63) - 1),
        "mod_revision compare",
    ),
    (
        "nested-op-rev",
        lambda c, p: c.txn().then(Op.get(p, rev=2**63), Op.delete(p + "guard")).commit(),
        "rev",
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "names"), OUT_OF_RANGE, ids=[n for n, _, _ in OUT_OF_RANGE]
)
def test_out_of_range_integers_are_refused_at_the_call(
    guarded: tuple[Client, str], name: str, call: Callable[[Client, str], object], names: str
) -> None:
    client, prefix = guarded
    with pytest.raises(InvalidArgumentError) as info:
        call(client, prefix)
    assert type(info.value) is InvalidArgumentError
    text = str(info.value)
    assert names in text and "out of range" not in text.lower()
    for private in ("CompareOperand", "Cmp", "_pb", "etcdserverpb", "RangeRequest"):
        assert private not in text


@pytest.mark.parametrize(("name", "build", "exc"), BAD_TXNS, ids=[n for n, _, _ in BAD_TXNS])
def test_bad_txn(
    guarded: tuple[Client, str],
    name: str,
    build: Callable[[Client, str], object],
    exc: type[Exception],
) -> None:
    client, prefix = guarded
    with pytest.raises(exc):
        build(client, prefix)


@pytest.mark.parametrize(
    ("request_", "exc"),
    [
        (_pb.rpc.RangeRequest(key=b""), EmptyKeyError),
        (_pb.rpc.PutRequest(key=b""), EmptyKeyError),
        (_pb.rpc.DeleteRangeRequest(key=b""), EmptyKeyError),
        (_pb.rpc.PutRequest(key=b"/x", value=b"v", ignore_value=True), ValueProvidedError),
        (_pb.rpc.PutRequest(key=b"/x", lease=1, ignore_lease=True), LeaseProvidedError),
    ],
    ids=["range-empty", "put-empty", "delete-empty", "value-provided", "lease-provided"],
)
def test_server_refuses_what_the_client_refuses(
    guarded: tuple[Client, str], request_: Any, exc: type[EtcdError]
) -> None:
    """Sent raw (skipping the client's checks), the server answers with the same typed error."""
    client, prefix = guarded
    t = _transport(client)
    method = {
        _pb.rpc.RangeRequest: t.kv.Range,
        _pb.rpc.PutRequest: t.kv.Put,
        _pb.rpc.DeleteRangeRequest: t.kv.DeleteRange,
    }[type(request_)]
    if request_.key:
        request_.key = (prefix + "guard").encode()
    with pytest.raises(exc) as info:
        t.call(method, request_)
    assert str(info.value) == exc.etcd_message


def test_value_over_the_server_limit_is_request_too_large(guarded: tuple[Client, str]) -> None:
    client, prefix = guarded
    with pytest.raises(RequestTooLargeError, match="etcdserver: request is too large") as info:
        client.put(prefix + "guard", b"x" * (MIB + MIB // 2 + 1024))
    assert info.value.code.name == "INVALID_ARGUMENT"


def test_value_over_the_grpc_limit_is_request_too_large(guarded: tuple[Client, str]) -> None:
    client, prefix = guarded
    with pytest.raises(RequestTooLargeError) as info:
        client.put(prefix + "guard", b"x" * (2 * MIB + 1))
    assert info.value.code.name == "RESOURCE_EXHAUSTED"
    with pytest.raises(RequestTooLargeError):
        client.txn().then(Op.put(prefix + "guard", b"y" * (2 * MIB))).commit()


def test_a_value_under_the_limit_is_stored(client: Client, prefix: str) -> None:
    big = b"z" * (MIB + MIB // 4)
    client.put(prefix + "big", big)
    assert client.get(prefix + "big").kvs[0].value == big
