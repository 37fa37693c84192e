"""Watch create/cancel cycles leave nothing behind, on every backend.

The mechanism only, with small counts: after the cycles the client's threads are back to
their baseline, and the watcher's internal tables (streams, subscriptions, the mux's maps
and queues, the context's done-callbacks) hold no trace of the watches that came and went.
``bench/leak_figures.py`` runs 100,000 cycles and reports RSS and threads; no figure (time
or memory) is asserted here.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context
from etcd3py.watch import GrpcWatcher

pytestmark = pytest.mark.both_faces

WAIT = 10.0


def eventually(check: Callable[[], bool], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what()
        time.sleep(0.05)


def internal_sizes(client: Client, face: str, request: pytest.FixtureRequest) -> dict[str, int]:
    """The size of every table the watcher keeps per stream and per watch (read on the
    asyncio face's loop for an asyncio client, under the sync face's locks for a sync one)."""
    watcher = client.watcher
    target = getattr(watcher, "aio_target", watcher)
    assert type(target).__name__ == GrpcWatcher.__name__, target
    if face == "aio":
        portal = request.getfixturevalue("aio_portal")
        return portal.call(_sizes, target, contextlib.nullcontext)  # type: ignore[no-any-return]
    return _sizes(target, lambda lock: lock)


def _sizes(watcher: Any, locked: Callable[[Any], Any]) -> dict[str, int]:
    sizes = {
        "ctx_callbacks": len(Context.background()._callbacks),
        "finalizers": len(weakref.finalize._registry),  # type: ignore[attr-defined]
    }
    registry = watcher._registry
    if registry is None:
        return sizes
    with locked(getattr(registry, "_lock", None)):
        streams = list(registry._running)
        sizes.update(streams=len(registry._streams), running=len(streams))
    if hasattr(registry, "_tasks"):  # the asyncio face: its stream and dispatcher tasks
        sizes["tasks"] = len(registry._tasks)
    for stream in streams:
        with locked(getattr(stream, "_lock", None)):
            mux = stream._mux
            dropped = getattr(stream, "_dropped", None)  # the sync face's finalizer queue
            for name, size in (
                ("awaiting", len(stream._awaiting)),
                ("dropped", 0 if dropped is None else dropped.qsize()),
                ("mux_watches", len(mux._watches)),
                ("mux_queue", len(mux._queue)),
                ("mux_pending", len(mux._pending)),
                ("mux_by_server_id", len(mux._by_server_id)),
                ("mux_cancelled", len(mux._cancelled)),
                ("mux_fragments", len(mux._fragments)),
            ):
                sizes[name] = sizes.get(name, 0) + size
    return sizes


# Counters of the whole process (other tests' leftovers may shrink them meanwhile): they must
# not grow. Every other table is the watcher's own and must come back exactly.
_GLOBAL = ("ctx_callbacks", "finalizers")


def settled_to(sizes: dict[str, int], baseline: dict[str, int]) -> bool:
    """Whether the watcher's tables are back to ``baseline`` (the global ones no larger)."""
    own = {k: v for k, v in sizes.items() if k not in _GLOBAL}
    own_before = {k: v for k, v in baseline.items() if k not in _GLOBAL}
    return own == own_before and all(sizes[k] <= baseline[k] for k in _GLOBAL)


def test_cycles_on_a_shared_stream_leave_nothing(
    client: Client, prefix: str, face: str, request: pytest.FixtureRequest
) -> None:
    anchor = client.watch(prefix + "anchor")  # keeps one stream open across the cycles
    key = prefix + "k"
    got: list[object] = []
    client.add_watch_callback(key, got.append).close()  # the dispatcher thread exists now
    threads = threading.active_count()
    eventually(  # the first callback watch's cancel answered: the tables at rest
        lambda: internal_sizes(client, face, request)["mux_cancelled"] == 0,
        lambda: f"a cancel still in flight: {internal_sizes(client, face, request)}",
    )
    settled = internal_sizes(client, face, request)
    for i in range(2000):
        if i % 2:
            client.watch(key).close()
        else:
            client.add_watch_callback(key, got.append).close()
    eventually(
        lambda: settled_to(internal_sizes(client, face, request), settled),
        lambda: f"tables {internal_sizes(client, face, request)}, were {settled}",
    )
    assert threading.active_count() <= threads
    assert got == []  # closed watches never called back
    client.put(key, "v")
    client.put(prefix + "anchor", "v")
    resp = anchor.get(WAIT)
    assert resp is not None and resp.events, "the stream still serves its live watch"
    anchor.close()


def test_cycles_with_a_stream_each_leave_nothing(
    client: Client, prefix: str, face: str, request: pytest.FixtureRequest
) -> None:
    client.get(prefix)  # the channel is connected before the baseline
    watcher = client.watcher
    threads = threading.active_count()
    baseline = internal_sizes(client, face, request)
    for _ in range(300):
        with client.watch(prefix + "k"):
            pass  # the only watch: its close makes the stream idle, and it ends
    eventually(lambda: watcher.stream_count == 0, lambda: "an idle stream stays open")
    eventually(
        lambda: threading.active_count() <= threads,
        lambda: f"{threading.active_count()} threads, {threads} before",
    )
    after = internal_sizes(client, face, request)
    idle = {**baseline, "streams": 0, "running": 0, **({"tasks": 0} if face == "aio" else {})}
    assert settled_to(after, idle) or settled_to(after, baseline), (after, baseline)
