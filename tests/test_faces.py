"""The two faces cannot drift: every public name of the sync client has its asyncio twin.

For each pair of classes (the clients, each concern, the watch chan, the keep-alive, the
txn, the namespace wrappers, the recipes), every public method of the sync class exists on
the asyncio one with the same parameters (names, kinds, defaults and annotations), and the
methods that talk to the server are coroutine functions there. The forwarding methods of
both clients are generated from the concerns (``tests/test_forwarding.py``); this test holds
the concerns of the two faces together.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

#: sync class -> its asyncio twin, as "module:Class".
PAIRS = {
    "etcd3py.client:Client": "etcd3py.aio.client:Client",
    "etcd3py.kv:KV": "etcd3py.aio.kv:KV",
    "etcd3py.kv:GrpcKV": "etcd3py.aio.kv:GrpcKV",
    "etcd3py.txn:Txn": "etcd3py.aio.txn:Txn",
    "etcd3py.watch:Watcher": "etcd3py.aio.watch:Watcher",
    "etcd3py.watch:GrpcWatcher": "etcd3py.aio.watch:GrpcWatcher",
    "etcd3py.watch:WatchChan": "etcd3py.aio.watch:WatchChan",
    "etcd3py.watch:WatchHandle": "etcd3py.aio.watch:WatchHandle",
    "etcd3py.lease:Lease": "etcd3py.aio.lease:Lease",
    "etcd3py.lease:GrpcLease": "etcd3py.aio.lease:GrpcLease",
    "etcd3py.lease:KeepAlive": "etcd3py.aio.lease:KeepAlive",
    "etcd3py.cluster:Cluster": "etcd3py.aio.cluster:Cluster",
    "etcd3py.maintenance:Maintenance": "etcd3py.aio.maintenance:Maintenance",
    "etcd3py.auth:Auth": "etcd3py.aio.auth:Auth",
    "etcd3py.namespace._kv:NamespaceKV": "etcd3py.aio.namespace._kv:NamespaceKV",
    "etcd3py.namespace._watch:NamespaceWatcher": "etcd3py.aio.namespace._watch:NamespaceWatcher",
    "etcd3py.namespace._lease:NamespaceLease": "etcd3py.aio.namespace._lease:NamespaceLease",
    "etcd3py.namespace._client:NamespacedClient": "etcd3py.aio.namespace._client:NamespacedClient",
    "etcd3py.concurrency.session:Session": "etcd3py.aio.concurrency.session:Session",
    "etcd3py.concurrency.mutex:Mutex": "etcd3py.aio.concurrency.mutex:Mutex",
    "etcd3py.concurrency.election:Election": "etcd3py.aio.concurrency.election:Election",
    "etcd3py.concurrency.election:Observer": "etcd3py.aio.concurrency.election:Observer",
    "etcd3py.concurrency.stm:STM": "etcd3py.aio.concurrency.stm:STM",
}

#: Methods whose sync form blocks but which do no I/O in the asyncio face (they return an
#: object at once: a builder, a chan, a keep-alive, a namespaced client).
NO_IO = {"txn", "watch", "open_watch", "keep_alive", "with_namespace", "observe", "follow"}

#: Sync methods that have another form in the asyncio face (its protocol's own).
FACE_PROTOCOL = {"__enter__", "__exit__", "__iter__", "__next__"}

#: Parameters whose annotation names a type of the face (a callback that may be async).
FACE_TYPED = {("add_watch_callback", "callback")}


def _load(spec: str) -> type:
    module, name = spec.split(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{spec} is missing: {exc}")
    assert isinstance(cls, type)
    return cls


def _public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    }


def _talks(method: object) -> bool:
    """Whether a sync method talks to the server: it takes a ``ctx`` (or is ``close``)."""
    if not inspect.isfunction(method):
        return False
    return "ctx" in inspect.signature(method).parameters


@pytest.mark.parametrize(("sync_spec", "aio_spec"), sorted(PAIRS.items()), ids=sorted(PAIRS))
def test_the_asyncio_twin_has_every_method_with_the_same_parameters(
    sync_spec: str, aio_spec: str
) -> None:
    sync_cls, aio_cls = _load(sync_spec), _load(aio_spec)
    theirs = _public(aio_cls)
    problems = []
    for name, method in _public(sync_cls).items():
        if name in FACE_PROTOCOL:
            continue
        twin = theirs.get(name)
        if twin is None:
            problems.append(f"{name}: missing")
            continue
        if isinstance(method, property) or isinstance(twin, property):
            if type(method) is not type(twin):
                problems.append(f"{name}: a property in one face only")
            continue
        ours_sig, twin_sig = inspect.signature(method), inspect.signature(twin)  # type: ignore[arg-type]
        ours_params = list(ours_sig.parameters.values())
        twin_params = list(twin_sig.parameters.values())
        if [(p.name, p.kind, p.default) for p in ours_params] != [
            (p.name, p.kind, p.default) for p in twin_params
        ]:
            problems.append(f"{name}: {ours_sig} != {twin_sig}")
            continue
        for ours, twin_param in zip(ours_params, twin_params, strict=True):
            if (name, ours.name) in FACE_TYPED:
                continue
            if ours.annotation != twin_param.annotation:
                problems.append(
                    f"{name}({ours.name}): {ours.annotation} != {twin_param.annotation}"
                )
        if _talks(method) and name not in NO_IO and not inspect.iscoroutinefunction(twin):
            problems.append(f"{name}: talks to the server, so must be a coroutine function")
    assert problems == [], f"{aio_spec} differs from {sync_spec}"


#: The asyncio objects whose close() ends tasks or streams, so must be awaited.
CLOSED_BY_AWAIT = [
    "etcd3py.aio.client:Client",
    "etcd3py.aio.watch:Watcher",
    "etcd3py.aio.watch:GrpcWatcher",
    "etcd3py.aio.watch:WatchChan",
    "etcd3py.aio.watch:WatchHandle",
    "etcd3py.aio.lease:Lease",
    "etcd3py.aio.lease:GrpcLease",
    "etcd3py.aio.lease:KeepAlive",
]


@pytest.mark.parametrize("aio_spec", CLOSED_BY_AWAIT)
def test_closing_an_asyncio_object_is_a_coroutine(aio_spec: str) -> None:
    close = _load(aio_spec).close  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(close), f"{aio_spec}.close must be awaited"
