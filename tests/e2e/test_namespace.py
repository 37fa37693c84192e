"""End-to-end namespace tests on every backend: KV, txn, escapes, watches, with_namespace.

Each test's namespace lives under its own ``prefix``; keys "outside" are the neighbours of
the namespace inside that prefix (the namespace prefix itself, the key just after the
namespace, a sibling), so an escape shows up as a changed or visible outside key.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Compare, EventType, Op, WatchChan, WatchResponse, namespace
from etcd3py._responses import DeleteResponse, GetResponse, PutResponse, TxnResponse
from etcd3py.aio import Client as AioClient
from etcd3py.aio import namespace as aio_namespace
from etcd3py.aio.watch import GrpcWatcher as AioGrpcWatcher
from etcd3py.errors import ClientClosedError, EmptyKeyError
from etcd3py.models import KeyValue
from etcd3py.op import OpType
from etcd3py.watch import Event, GrpcWatcher
from tests.faces import view

pytestmark = pytest.mark.both_faces

WAIT = 10.0


class Wrappers:
    """``namespace.new_kv``, ``new_watcher`` and ``new_lease`` of the test's face: the asyncio
    ones wrap the asyncio objects behind the views and are viewed in turn."""

    def __init__(self, portal: Any) -> None:
        self._portal = portal

    def __getattr__(self, name: str) -> Callable[[Any, str], Any]:
        if self._portal is None:
            return getattr(namespace, name)  # type: ignore[no-any-return]
        wrap = getattr(aio_namespace, name)
        return lambda parent, prefix: view(wrap(parent.aio_target, prefix), self._portal)


@pytest.fixture
def wrappers(face: str, request: pytest.FixtureRequest) -> Wrappers:
    return Wrappers(request.getfixturevalue("aio_portal") if face == "aio" else None)


def client_class(face: str) -> tuple[type, type]:
    """The client and gRPC watcher classes of ``face`` (to check what a view stands for)."""
    return (AioClient, AioGrpcWatcher) if face == "aio" else (Client, GrpcWatcher)


def keys(kvs: list[KeyValue]) -> list[bytes]:
    return [kv.key for kv in kvs]


def snapshot(client: Client, prefix: str) -> dict[bytes, bytes]:
    """Every key under the test's prefix, read without any namespace."""
    return {kv.key: kv.value for kv in client.get(prefix, prefix=True).kvs}


def next_rev(client: Client, prefix: str) -> int:
    return client.get(prefix + "\0").header.revision + 1


def take_events(chan: WatchChan, count: int) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + WAIT
    while len(events) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(events)} of {count} events came"
        resp = chan.get(remaining)
        assert resp is not None and resp.err() is None, resp
        events.extend(resp.events)
    assert len(events) == count
    return events


def test_put_get_delete_inside_the_namespace(client: Client, prefix: str, wrappers: Any) -> None:
    ns = prefix + "app/"
    kv = wrappers.new_kv(client.kv, ns)
    client.put(prefix + "outside", "o")
    put = kv.put("a", "1")
    assert put.prev_kv is None
    assert client.get(ns + "a").kvs[0].value == b"1"
    again = kv.put("a", "2", prev_kv=True)
    assert again.prev_kv is not None and again.prev_kv.key == b"a"
    assert again.prev_kv.value == b"1"
    kv.put("b/c", "3")
    got = kv.get("", prefix=True)
    assert keys(got.kvs) == [b"a", b"b/c"] and got.count == 2
    assert keys(kv.get("b", prefix=True).kvs) == [b"b/c"]
    assert keys(kv.get("a", range_end="b").kvs) == [b"a"]
    assert keys(kv.get("a", from_key=True, keys_only=True).kvs) == [b"a", b"b/c"]
    assert kv.get("", prefix=True, count_only=True).count == 2
    deleted = kv.delete("a", prev_kv=True)
    assert deleted.deleted == 1 and keys(deleted.prev_kvs) == [b"a"]
    assert snapshot(client, prefix) == {
        (ns + "b/c").encode(): b"3",
        (prefix + "outside").encode(): b"o",
    }


def test_do_and_nested_txn(client: Client, prefix: str, wrappers: Any) -> None:
    ns = prefix + "n/"
    kv = wrappers.new_kv(client.kv, ns)
    client.put(ns + "k", "v")
    client.put(prefix + "k", "outside")  # the same relative key outside the namespace
    inner = Op.txn(
        [Compare.value("k") == "v"],
        [Op.get("", prefix=True), Op.delete("gone", prev_kv=True)],
        [Op.put("never", "x")],
    )
    kv.put("gone", "g")
    resp = (
        kv.txn()
        .if_(Compare.version("k") > 0, Compare.create_revision("", prefix=True) > 0)
        .then(Op.put("k", "w", prev_kv=True), inner)
        .else_(Op.put("wrong", "x"))
        .commit()
    )
    assert resp.succeeded
    put, nested = resp.responses
    assert isinstance(put, PutResponse) and put.prev_kv is not None
    assert (put.prev_kv.key, put.prev_kv.value) == (b"k", b"v")
    # etcd evaluates nested compares on the state before the txn: k was "v".
    assert isinstance(nested, TxnResponse) and nested.succeeded
    rng, dele = nested.responses
    assert isinstance(rng, GetResponse) and keys(rng.kvs) == [b"gone", b"k"]
    assert isinstance(dele, DeleteResponse) and keys(dele.prev_kvs) == [b"gone"]
    assert client.get(prefix + "k").kvs[0].value == b"outside"
    got = kv.do(Op.get("k"))
    assert isinstance(got, GetResponse) and (got.kvs[0].key, got.kvs[0].value) == (b"k", b"w")
    # Both compares fail now: the else-branches run, nested too.
    resp2 = kv.txn().if_(Compare.value("k") == "v").else_(inner).commit()
    assert not resp2.succeeded
    (nested2,) = resp2.responses
    assert isinstance(nested2, TxnResponse) and not nested2.succeeded
    (never,) = nested2.responses
    assert isinstance(never, PutResponse)
    assert keys(kv.get("", prefix=True).kvs) == [b"k", b"never"]
    with pytest.raises(EmptyKeyError):
        kv.do(Op(OpType.GET))


def outside_keys(prefix: str) -> list[str]:
    """Neighbours of the namespace prefix + "ns/": the prefix itself, just before, just after."""
    return [
        prefix + "ns/",
        prefix + "ns",
        prefix + "ns.",
        prefix + "ns0",
        prefix + "nt",
        prefix + "z",
    ]


@pytest.mark.parametrize(
    "escape",
    [
        {"prefix": True},
        {"from_key": True},
        {"range_end": "\0"},
        {"range_end": b"\0"},
    ],
    ids=["empty-prefix", "empty-from_key", "range_end-str-nul", "range_end-bytes-nul"],
)
def test_escapes_stay_inside(
    client: Client, prefix: str, escape: dict[str, object], wrappers: Any
) -> None:
    ns = prefix + "ns/"
    kv = wrappers.new_kv(client.kv, ns)
    for key in outside_keys(prefix):
        client.put(key, "outside")
    kv.put("a", "1")
    kv.put("\xff", "2")
    key = "a" if "range_end" in escape else ""
    got = kv.get(key, **escape)  # type: ignore[arg-type]
    inside = [b"a", "\xff".encode()]
    assert keys(got.kvs) == inside and got.count == 2
    before = snapshot(client, prefix)
    deleted = kv.delete(key, prev_kv=True, **escape)  # type: ignore[arg-type]
    assert deleted.deleted == 2 and keys(deleted.prev_kvs) == inside
    after = snapshot(client, prefix)
    assert set(before) - set(after) == {ns.encode() + k for k in inside}
    for key_out in outside_keys(prefix):
        assert after[key_out.encode()] == b"outside"
    txn = kv.txn().if_(Compare.version("", prefix=True) == 0).then(Op.get("", prefix=True)).commit()
    assert txn.succeeded, "every key of the namespace is gone; outside keys do not count"


def test_keys_equal_to_the_prefix_are_not_inside(
    client: Client, prefix: str, wrappers: Any
) -> None:
    ns = prefix + "ns/"
    kv = wrappers.new_kv(client.kv, ns)
    client.put(ns, "the prefix itself")
    assert kv.get("", prefix=True).count == 0
    assert kv.get("", from_key=True).count == 0
    assert kv.delete("", prefix=True).deleted == 0
    txn = kv.txn().if_(Compare.version("", prefix=True) == 0).commit()
    assert txn.succeeded
    assert client.get(ns).kvs[0].value == b"the prefix itself"
    with pytest.raises(EmptyKeyError):
        kv.put("", "v")
    with pytest.raises(EmptyKeyError):
        kv.get("")


def test_namespace_prefix_ending_in_ff(client: Client, prefix: str, wrappers: Any) -> None:
    ns = prefix.encode() + b"x\xff"
    kv = wrappers.new_kv(client.kv, ns)
    outside = [prefix.encode() + k for k in (b"y", b"y\x00", b"x", b"x\xfe\xff", b"x\xff")]
    for key in outside:
        client.put(key, "outside")
    kv.put(b"a", "1")
    kv.put(b"\xff\xff", "2")
    assert keys(kv.get("", prefix=True).kvs) == [b"a", b"\xff\xff"]
    assert keys(kv.get(b"\xff", prefix=True).kvs) == [b"\xff\xff"]
    assert keys(kv.get(b"b", from_key=True).kvs) == [b"\xff\xff"]
    assert kv.delete("", from_key=True).deleted == 2
    after = snapshot(client, prefix)
    assert sorted(after) == sorted(outside)


def test_two_namespaces_are_isolated(client: Client, prefix: str, wrappers: Any) -> None:
    one = wrappers.new_kv(client.kv, prefix + "one/")
    two = wrappers.new_kv(client.kv, prefix + "two/")
    one.put("k", "1")
    two.put("k", "2")
    assert one.get("k").kvs[0].value == b"1"
    assert two.get("k").kvs[0].value == b"2"
    assert one.delete("", prefix=True).deleted == 1
    assert two.get("", prefix=True).count == 1
    nested = wrappers.new_kv(one, "inner/")
    nested.put("x", "3")
    assert keys(one.get("", prefix=True).kvs) == [b"inner/x"]
    assert client.get(prefix + "one/inner/x").kvs[0].value == b"3"


def test_watch_inside_the_namespace(client: Client, prefix: str, wrappers: Any) -> None:
    ns = prefix + "w/"
    watcher = wrappers.new_watcher(client.watcher, ns)
    rev = next_rev(client, prefix)
    with watcher.watch("", prefix=True, rev=rev, prev_kv=True) as chan:
        client.put(prefix + "w", "the prefix's neighbour")
        client.put(ns, "the prefix itself")
        client.put(ns + "a", "1")
        client.put(prefix + "x/a", "elsewhere")
        client.put(ns + "a", "2")
        client.delete(ns + "a")
        client.put(prefix + "w0", "just after")
        events = take_events(chan, 3)
    assert [(e.type, e.kv.key) for e in events] == [
        (EventType.PUT, b"a"),
        (EventType.PUT, b"a"),
        (EventType.DELETE, b"a"),
    ]
    second = events[1].prev_kv
    assert second is not None and (second.key, second.value) == (b"a", b"1")
    assert chan.done


def test_watch_single_key_and_callbacks(client: Client, prefix: str, wrappers: Any) -> None:
    ns = prefix + "cb/"
    watcher = wrappers.new_watcher(client.watcher, ns)
    rev = next_rev(client, prefix)
    seen: list[tuple[bytes, bytes]] = []
    done = threading.Event()

    def on_response(resp: object) -> None:
        for ev in getattr(resp, "events", []):
            seen.append((ev.kv.key, ev.kv.value))
            if len(seen) == 2:
                done.set()

    handle = watcher.add_watch_callback("k", on_response, rev=rev)
    chan = watcher.watch("k", rev=rev)
    try:
        client.put(ns + "k2", "not this key")
        client.put(ns + "k", "1")
        client.put(prefix + "k", "outside")
        client.put(ns + "k", "2")
        assert done.wait(WAIT)
        assert seen == [(b"k", b"1"), (b"k", b"2")]
        assert [(e.kv.key, e.kv.value) for e in take_events(chan, 2)] == seen
    finally:
        handle.close()
        chan.close()


def test_closing_the_namespace_watcher_spares_the_parent(
    client: Client, prefix: str, wrappers: Any
) -> None:
    watcher = wrappers.new_watcher(client.watcher, prefix + "a/")
    rev = next_rev(client, prefix)
    ns_chan = watcher.watch("", prefix=True, rev=rev)
    parent_chan = client.watch(prefix, prefix=True, rev=rev)
    watcher.close()
    assert ns_chan.get(WAIT) is None and ns_chan.done
    with pytest.raises(ClientClosedError):
        watcher.watch("k")
    client.put(prefix + "a/k", "v")
    (event,) = take_events(parent_chan, 1)
    assert event.kv.key == (prefix + "a/k").encode()
    parent_chan.close()


def test_with_namespace(client: Client, prefix: str, face: str) -> None:
    ns_client = client.with_namespace(prefix + "app/")
    assert isinstance(getattr(ns_client, "aio_target", ns_client), client_class(face)[0])
    rev = next_rev(client, prefix)
    with ns_client:
        ns_client.put("k", "v")
        assert ns_client.get("k").kvs[0].key == b"k"
        assert client.get(prefix + "app/k").kvs[0].value == b"v"
        chan = ns_client.watch("", prefix=True, rev=rev)
        (event,) = take_events(chan, 1)
        assert event.kv.key == b"k"
        deeper = ns_client.with_namespace("sub/")
        deeper.put("x", "y")
        assert keys(ns_client.get("", prefix=True).kvs) == [b"k", b"sub/x"]
        deeper.close()
        assert ns_client.member_list().members
        assert not ns_client.closed
    assert ns_client.closed and chan.get(WAIT) is None
    with pytest.raises(ClientClosedError):
        ns_client.get("k")
    with pytest.raises(ClientClosedError):
        ns_client.watch("k")
    with pytest.raises(ClientClosedError):
        ns_client.with_namespace("again/")
    assert not client.closed
    assert client.get(prefix + "app/k").kvs[0].value == b"v"


def test_lease_time_to_live_keys_are_stripped(client: Client, prefix: str, wrappers: Any) -> None:
    ns = prefix + "l/"
    lease = wrappers.new_lease(client.lease, ns)
    granted = lease.grant(60)
    try:
        client.put(ns + "a", "1", lease=granted.id)
        client.put(ns + "b/c", "2", lease=granted.id)
        client.put(ns, "the prefix itself", lease=granted.id)
        client.put(prefix + "outside", "3", lease=granted.id)
        ttl = lease.time_to_live(granted.id, keys=True)
        assert ttl.id == granted.id and 0 < ttl.ttl <= 60 and ttl.granted_ttl == 60
        assert sorted(ttl.keys) == [b"a", b"b/c"]
        assert len(client.time_to_live(granted.id, keys=True).keys) == 4
        assert lease.time_to_live(granted.id).keys == []
        assert granted.id in lease.leases().leases
        assert lease.keep_alive_once(granted.id).id == granted.id
    finally:
        lease.revoke(granted.id)
    assert client.get(prefix, prefix=True).count == 0, "revoke deleted every attached key"


def test_with_namespace_lease_and_close(client: Client, prefix: str) -> None:
    ns_client = client.with_namespace(prefix + "app/")
    granted = ns_client.grant(30)
    ns_client.put("k", "v", lease=granted.id)
    assert ns_client.time_to_live(granted.id, keys=True).keys == [b"k"]
    ns_keep = ns_client.keep_alive(granted.id)
    parent_keep = client.keep_alive(granted.id)
    first = next(ns_keep)
    assert first.id == granted.id and first.ttl > 0
    ns_client.close()
    assert ns_keep.wait(WAIT) and ns_keep.err() is None
    with pytest.raises(ClientClosedError):
        ns_client.grant(30)
    assert next(parent_keep).id == granted.id, "the parent's keep-alive goes on"
    parent_keep.close()
    client.revoke(granted.id)
    assert client.get(prefix + "app/k").count == 0


# ---- nested namespaces: each layer wraps the one below through its public interface -------


def nested_clients(client: Client, prefix: str) -> tuple[Client, Client]:
    """The namespace ``prefix + "a/"`` and, inside it, ``"b/"`` (so ``prefix + "a/b/"``)."""
    outer = client.with_namespace(prefix + "a/")
    return outer, outer.with_namespace("b/")


def test_nested_namespaces_kv_and_txn(client: Client, prefix: str, wrappers: Any) -> None:
    outer, inner = nested_clients(client, prefix)
    by_wrappers = wrappers.new_kv(wrappers.new_kv(client.kv, prefix + "a/"), "b/")
    client.put(prefix + "a/x", "outside the inner namespace")
    put = inner.put("x", "1")
    assert put.prev_kv is None
    assert client.get(prefix + "a/b/x").kvs[0].value == b"1"
    again = inner.put("x", "2", prev_kv=True)
    assert again.prev_kv is not None and again.prev_kv.key == b"x"
    assert keys(inner.get("", prefix=True).kvs) == [b"x"]
    assert keys(by_wrappers.get("", prefix=True).kvs) == [b"x"]
    assert keys(outer.get("", prefix=True).kvs) == [b"b/x", b"x"]
    txn = (
        inner.txn()
        .if_(Compare.value("x") == "2")
        .then(Op.get("x"), Op.put("y", "3", prev_kv=True), Op.txn([], [Op.get("", prefix=True)]))
        .commit()
    )
    assert txn.succeeded
    got, put_y, nested = txn.responses
    assert isinstance(got, GetResponse) and keys(got.kvs) == [b"x"]
    assert isinstance(put_y, PutResponse) and put_y.prev_kv is None
    assert isinstance(nested, TxnResponse)
    (rng,) = nested.responses
    assert isinstance(rng, GetResponse) and keys(rng.kvs) == [b"x", b"y"]
    deleted = by_wrappers.delete("", prefix=True, prev_kv=True)
    assert deleted.deleted == 2 and keys(deleted.prev_kvs) == [b"x", b"y"]
    assert snapshot(client, prefix) == {(prefix + "a/x").encode(): b"outside the inner namespace"}
    inner.close()
    outer.close()


@pytest.mark.parametrize("how", ["with_namespace", "new_watcher"])
def test_nested_namespace_watches_strip_both_prefixes(
    client: Client, prefix: str, how: str, wrappers: Any
) -> None:
    outer, inner = nested_clients(client, prefix)
    if how == "with_namespace":
        watcher = inner.watcher
    else:
        watcher = wrappers.new_watcher(wrappers.new_watcher(client.watcher, prefix + "a/"), "b/")
    rev = next_rev(client, prefix)
    from_callback: list[tuple[bytes, bytes | None]] = []
    done = threading.Event()

    def on_response(resp: WatchResponse) -> None:
        assert resp.err() is None
        for ev in resp.events:
            from_callback.append((ev.kv.key, ev.prev_kv.key if ev.prev_kv else None))
        if len(from_callback) == 3:
            done.set()

    handle = watcher.add_watch_callback("", on_response, prefix=True, rev=rev, prev_kv=True)
    chan = watcher.watch("", prefix=True, rev=rev, prev_kv=True)
    now = watcher.watch("x")  # from now: both prefixes stripped on the get() path too
    try:
        client.put(prefix + "a/b/x", "1")
        client.put(prefix + "a/x", "outside the inner namespace")
        client.put(prefix + "a/b/x", "2")
        client.delete(prefix + "a/b/x")
        events = take_events(chan, 3)
        assert [(e.type, e.kv.key) for e in events] == [
            (EventType.PUT, b"x"),
            (EventType.PUT, b"x"),
            (EventType.DELETE, b"x"),
        ]
        prevs = [e.prev_kv.key if e.prev_kv else None for e in events]
        assert prevs == [None, b"x", b"x"]
        assert done.wait(WAIT)
        assert from_callback == [(e.kv.key, p) for e, p in zip(events, prevs, strict=True)]
        assert [e.kv.key for e in take_events(now, 3)] == [b"x", b"x", b"x"]
        client.put(prefix + "a/b/z", "3")
        for resp in chan:  # the iterator form (not get()) strips both prefixes as well
            if resp.events:
                assert [e.kv.key for e in resp.events] == [b"z"]
                break
    finally:
        handle.close()
        chan.close()
        now.close()
        inner.close()
        outer.close()


def test_nested_namespace_lease(client: Client, prefix: str, wrappers: Any) -> None:
    outer, inner = nested_clients(client, prefix)
    by_wrappers = wrappers.new_lease(wrappers.new_lease(client.lease, prefix + "a/"), "b/")
    granted = inner.grant(60)
    try:
        inner.put("x", "1", lease=granted.id)
        outer.put("y", "2", lease=granted.id)
        assert inner.time_to_live(granted.id, keys=True).keys == [b"x"]
        assert by_wrappers.time_to_live(granted.id, keys=True).keys == [b"x"]
        assert sorted(outer.time_to_live(granted.id, keys=True).keys) == [b"b/x", b"y"]
        assert granted.id in inner.leases().leases
        assert inner.keep_alive_once(granted.id).id == granted.id
    finally:
        inner.revoke(granted.id)
    assert client.get(prefix, prefix=True).count == 0
    inner.close()
    outer.close()


def test_a_dropped_nested_namespace_chan_is_cancelled(
    client: Client, prefix: str, face: str
) -> None:
    outer, inner = nested_clients(client, prefix)
    rev = inner.put("k", "v").header.revision
    for _ in range(5):
        for resp in inner.watch("k", rev=rev):
            assert [e.kv.key for e in resp.events] == [b"k"]
            break
    gc.collect()
    watcher = client.watcher
    assert isinstance(getattr(watcher, "aio_target", watcher), client_class(face)[1])
    deadline = time.monotonic() + WAIT
    while watcher.watch_count:
        assert time.monotonic() < deadline, f"{watcher.watch_count} dropped watches live"
        time.sleep(0.05)
    inner.close()
    outer.close()
