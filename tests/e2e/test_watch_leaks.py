"""Watch create/cancel cycles leave nothing behind, on every backend.

The mechanism only, with small counts: after the cycles the client's threads are back to
their baseline, and the watcher's internal tables (streams, subscriptions, the mux's maps
and queues, the context's done-callbacks) hold no trace of the watches that came and went.
``bench/leak_figures.py`` runs 100,000 cycles and reports RSS and threads; no figure (time
or memory) is asserted here.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

from etcd3py import Client, Context
from etcd3py.watch import GrpcWatcher

WAIT = 10.0


def eventually(check: Callable[[], bool], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what()
        time.sleep(0.05)


def internal_sizes(client: Client) -> dict[str, int]:
    """The size of every table the watcher keeps per stream and per watch."""
    watcher = client.watcher
    assert isinstance(watcher, GrpcWatcher)
    sizes = {
        "ctx_callbacks": len(Context.background()._callbacks),
        "finalizers": len(weakref.finalize._registry),  # type: ignore[attr-defined]
    }
    registry = watcher._registry
    if registry is None:
        return sizes
    with registry._lock:
        streams = list(registry._running)
        sizes.update(streams=len(registry._streams), running=len(streams))
    for stream in streams:
        with stream._lock:
            mux = stream._mux
            for name, size in (
                ("subs", len(stream._subs)),
                ("awaiting", len(stream._awaiting)),
                ("dropped", stream._dropped.qsize()),
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


def test_cycles_on_a_shared_stream_leave_nothing(client: Client, prefix: str) -> None:
    anchor = client.watch(prefix + "anchor")  # keeps one stream open across the cycles
    key = prefix + "k"
    got: list[object] = []
    client.add_watch_callback(key, got.append).close()  # the dispatcher thread exists now
    threads = threading.active_count()
    settled = internal_sizes(client)
    for i in range(2000):
        if i % 2:
            client.watch(key).close()
        else:
            client.add_watch_callback(key, got.append).close()
    eventually(
        lambda: settled_to(internal_sizes(client), settled),
        lambda: f"tables {internal_sizes(client)}, were {settled}",
    )
    assert threading.active_count() <= threads
    assert got == []  # closed watches never called back
    client.put(key, "v")
    client.put(prefix + "anchor", "v")
    resp = anchor.get(WAIT)
    assert resp is not None and resp.events, "the stream still serves its live watch"
    anchor.close()


def test_cycles_with_a_stream_each_leave_nothing(client: Client, prefix: str) -> None:
    client.get(prefix)  # the channel is connected before the baseline
    watcher = client.watcher
    assert isinstance(watcher, GrpcWatcher)
    threads = threading.active_count()
    baseline = internal_sizes(client)
    for _ in range(300):
        with client.watch(prefix + "k"):
            pass  # the only watch: its close makes the stream idle, and it ends
    eventually(lambda: watcher.stream_count == 0, lambda: "an idle stream stays open")
    eventually(
        lambda: threading.active_count() <= threads,
        lambda: f"{threading.active_count()} threads, {threads} before",
    )
    after = internal_sizes(client)
    idle = {**baseline, "streams": 0, "running": 0}
    assert settled_to(after, idle) or settled_to(after, baseline), (after, baseline)
