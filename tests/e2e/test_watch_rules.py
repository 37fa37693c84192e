"""End-to-end tests of the watch rules of issue 9, on every backend.

* Errors never pass silently: a watch ended by anything but its owner's ``close()`` yields
  its last response with ``err()`` set and the next iteration raises that error; a callback
  watch gets that last response; only the owner's ``close()`` ends an iteration cleanly.
* A dropped ``WatchChan`` is cancelled on the server once it is garbage collected.
* ``add_watch_callback`` from "now" returns once the server registered the watch
  (``wait=False`` keeps the non-blocking form).
* ``Client.request_progress`` forwards to ``client.watcher.request_progress``.
"""

from __future__ import annotations

import gc
import inspect
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context, WatchResponse
from etcd3py.errors import (
    CanceledError,
    ClientClosedError,
    CompactedError,
    DeadlineExceededError,
    EtcdError,
)
from etcd3py.watch import GrpcWatcher, Watcher
from tests.backends import Backend

pytestmark = pytest.mark.both_faces

WAIT = 10.0


def next_rev(client: Client, prefix: str) -> int:
    return client.get(prefix + "\0").header.revision + 1


def eventually(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``check`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def server_watchers(backend: Backend) -> int:
    """How many watchers the server holds: etcd's gauge, or the reference server's groups."""
    if backend.server is not None:
        store = backend.server.watchable
        return len(store.synced) + len(store.unsynced)
    url = f"http://{backend.endpoints[0]}/metrics"
    with urllib.request.urlopen(url, timeout=WAIT) as page:
        text = page.read().decode()
    for line in text.splitlines():
        # etcd 3.5.1 and 3.4.23 both export this gauge (etcd_mvcc_watcher_total is later)
        if line.startswith("etcd_debugging_mvcc_watcher_total "):
            return int(float(line.split()[1]))
    raise AssertionError("etcd serves no etcd_debugging_mvcc_watcher_total metric")


def grpc_watcher(client: Client) -> GrpcWatcher:
    """The client's watcher, checked to be the gRPC one of its face (compared by name: the
    asyncio face's is ``etcd3py.aio.watch.GrpcWatcher`` behind a blocking view)."""
    watcher = client.watcher
    target = getattr(watcher, "aio_target", watcher)
    assert type(target).__name__ == GrpcWatcher.__name__, target
    return watcher


# ---- errors never pass silently -----------------------------------------------------------


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
def test_a_loop_ignoring_err_ends_with_the_error(client: Client, prefix: str) -> None:
    first = client.put(prefix + "k", "1").header.revision
    last = client.put(prefix + "k", "2").header.revision
    client.compact(last)
    seen: list[WatchResponse] = []
    with pytest.raises(CompactedError), client.watch(prefix + "k", rev=first) as chan:
        for resp in chan:  # never looks at err()
            seen.append(resp)
    assert len(seen) == 1 and isinstance(seen[0].err(), CompactedError)


@pytest.mark.parametrize("how", ["cancel", "deadline"])
def test_context_end_raises_at_the_next_iteration(client: Client, prefix: str, how: str) -> None:
    ctx = Context.background().with_cancel() if how == "cancel" else Context.background()
    if how == "deadline":
        ctx = ctx.with_timeout(0.5)
    error = CanceledError if how == "cancel" else DeadlineExceededError
    chan = client.watch(prefix + "k", ctx=ctx)
    if how == "cancel":
        threading.Timer(0.2, ctx.cancel).start()
    seen: list[WatchResponse] = []
    with pytest.raises(error):
        for resp in chan:
            seen.append(resp)
    assert seen and isinstance(seen[-1].err(), error)


def test_client_close_raises_in_a_blocked_loop(
    backend: Backend, prefix: str, new_client: Callable[..., Any]
) -> None:
    client = new_client(endpoints=backend.endpoints)
    chan = client.watch(prefix + "k")
    outcome: list[BaseException | None] = []

    def loop() -> None:
        try:
            for _ in chan:
                pass
            outcome.append(None)
        except EtcdError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.2)
    client.close()
    thread.join(WAIT)
    assert len(outcome) == 1 and isinstance(outcome[0], ClientClosedError)


def test_only_the_owners_close_ends_cleanly(client: Client, prefix: str) -> None:
    chan = client.watch(prefix + "k")
    ended: list[str] = []

    def loop() -> None:
        for _ in chan:
            pass
        ended.append("clean")

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.2)
    chan.close()
    thread.join(WAIT)
    assert ended == ["clean"] and chan.done
    assert chan.get(0) is None and list(chan) == []


def test_close_after_the_error_ends_cleanly(client: Client, prefix: str) -> None:
    ctx = Context.background().with_cancel()
    chan = client.watch(prefix + "k", ctx=ctx)
    ctx.cancel()
    last = chan.get(WAIT)
    assert last is not None and isinstance(last.err(), CanceledError)
    chan.close()  # the owner closes instead of taking the end: nothing is raised
    assert chan.get(0) is None and list(chan) == []


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
@pytest.mark.parametrize("how", ["cancel", "client-close", "compacted"])
def test_a_callback_gets_the_last_response_with_err(
    backend: Backend, prefix: str, how: str, new_client: Callable[..., Any]
) -> None:
    got: list[WatchResponse] = []
    with new_client(endpoints=backend.endpoints) as client:
        ctx = Context.background().with_cancel()
        rev = 0
        if how == "compacted":
            rev = client.put(prefix + "k", "1").header.revision
            client.compact(client.put(prefix + "k", "2").header.revision)
        handle = client.add_watch_callback(prefix + "k", got.append, ctx=ctx, rev=rev)
        if how == "cancel":
            ctx.cancel()
        elif how == "client-close":
            client.close()
        assert handle.wait(WAIT)
    error = {"cancel": CanceledError, "client-close": ClientClosedError}.get(how, CompactedError)
    assert got and isinstance(got[-1].err(), error)
    assert all(r.err() is None for r in got[:-1])


def test_a_closed_callback_watch_gets_no_error(client: Client, prefix: str) -> None:
    got: list[WatchResponse] = []
    handle = client.add_watch_callback(prefix + "k", got.append)
    handle.close()
    assert handle.wait(WAIT)
    assert got == []


# ---- dropped iterators are cancelled --------------------------------------------------------


@pytest.mark.cluster_wide  # counts every watcher of the member: alone on a shared cluster
def test_dropped_chans_are_cancelled_on_the_server(
    new_client: Callable[..., Client], backend: Backend, prefix: str
) -> None:
    client = new_client(endpoints=backend.endpoints[:1])  # the member whose gauge is read
    rev = client.put(prefix + "k", "v").header.revision
    anchor = client.watch(prefix + "anchor")  # keeps the stream open: only the 50 must go
    watcher = grpc_watcher(client)
    baseline = server_watchers(backend)
    for _ in range(50):
        for resp in client.watch(prefix + "k", rev=rev):
            assert resp.events
            break
        gc.collect()
    eventually(lambda: watcher.watch_count == 1, f"{watcher.watch_count} live watches")
    eventually(
        lambda: server_watchers(backend) <= baseline,
        f"the server holds {server_watchers(backend)} watchers, {baseline} before",
    )
    client.put(prefix + "anchor", "still here")
    still = anchor.get(WAIT)
    assert still is not None and still.events
    anchor.close()
    eventually(lambda: watcher.stream_count == 0, "the idle stream closes")


def test_a_chan_in_a_reference_cycle_is_cancelled_by_gc(client: Client, prefix: str) -> None:
    watcher = grpc_watcher(client)

    class Holder:
        pass

    holder = Holder()
    holder.chan = client.watch(prefix + "k")  # type: ignore[attr-defined]
    holder.me = holder  # type: ignore[attr-defined]
    assert watcher.watch_count == 1
    del holder
    gc.collect()
    eventually(lambda: watcher.watch_count == 0, "the dropped watch is still live")
    eventually(lambda: watcher.stream_count == 0, "the idle stream closes")


@pytest.mark.sync_face_only  # the sync stream's lock: the asyncio face has no lock nor thread
def test_a_chan_dropped_under_the_streams_lock_does_not_deadlock(
    client: Client, prefix: str
) -> None:
    # The finalizer may run on any thread, e.g. one holding the stream's lock when the GC
    # strikes: it must only queue the watch, and the stream's own threads cancel it later.
    watcher = grpc_watcher(client)
    chan = client.watch(prefix + "k")
    registry = watcher._registry
    assert registry is not None
    (stream,) = registry._running
    with stream._lock:
        del chan
        gc.collect()
    eventually(lambda: watcher.watch_count == 0, "the dropped watch is still live")


def test_callback_handles_live_until_closed(client: Client, prefix: str) -> None:
    got = threading.Event()
    client.add_watch_callback(prefix + "k", lambda resp: got.set())  # the handle is dropped
    gc.collect()
    client.put(prefix + "k", "v")
    assert got.wait(WAIT), "a dropped handle's watch goes on until close()"
    assert grpc_watcher(client).watch_count == 1


# ---- add_watch_callback from now ---------------------------------------------------------


def test_add_watch_callback_from_now_never_misses_an_immediate_put(
    client: Client, prefix: str
) -> None:
    for i in range(40):
        key = f"{prefix}now/{i}"
        seen = threading.Event()

        def on_response(resp: WatchResponse, seen: threading.Event = seen) -> None:
            if resp.events:
                seen.set()

        handle = client.add_watch_callback(key, on_response)
        client.put(key, str(i))
        assert seen.wait(WAIT), f"the put right after add_watch_callback was missed ({i})"
        handle.close()


def test_add_watch_callback_wait_false_returns_before_registration(
    client: Client, prefix: str
) -> None:
    created = threading.Semaphore(0)
    handles = [
        client.add_watch_callback(
            prefix + f"k{i}",
            lambda resp: created.release() if resp.created else None,
            wait=False,
            created_notify=True,
        )
        for i in range(200)
    ]
    assert all(created.acquire(timeout=WAIT) for _ in handles)
    for handle in handles:
        handle.close()
    with pytest.raises(TypeError):
        client.add_watch_callback(prefix, lambda r: None, wait="no")  # type: ignore[arg-type]


# ---- request_progress on the client ------------------------------------------------------


def test_client_request_progress_forwards(client: Client, prefix: str) -> None:
    forwarded = inspect.signature(Client.request_progress)
    assert forwarded == inspect.signature(Watcher.request_progress)
    ctx = Context.background().with_cancel()
    with client.watch(prefix + "k", ctx=ctx) as chan:
        head = client.put(prefix + "other", "v").header.revision
        progress = None
        deadline = time.monotonic() + WAIT
        while progress is None and time.monotonic() < deadline:
            client.request_progress(ctx=ctx)
            resp = chan.get(1.0)
            if resp is not None and resp.is_progress_notify() and resp.header.revision >= head:
                progress = resp
        assert progress is not None
    ctx.cancel()


# ---- timeout= on a watch ---------------------------------------------------------------------


def test_a_watch_timeout_ends_it_with_deadline_exceeded(client: Client, prefix: str) -> None:
    from etcd3py.context import _TIMER

    before = _TIMER.pending()
    chan = client.watch(prefix, prefix=True, rev=next_rev(client, prefix), timeout=0.5)
    last = chan.get(WAIT)
    assert last is not None and isinstance(last.err(), DeadlineExceededError)
    with pytest.raises(DeadlineExceededError):
        next(iter(chan))
    got: list[WatchResponse] = []
    ended = threading.Event()

    def callback(resp: WatchResponse) -> None:
        got.append(resp)
        if resp.err() is not None:
            ended.set()

    handle = client.add_watch_callback(prefix, callback, prefix=True, timeout=0.5)
    assert ended.wait(WAIT)
    assert isinstance(got[-1].err(), DeadlineExceededError)
    handle.close()
    eventually(lambda: _TIMER.pending() <= before, "the timed watches' deadlines gone")


def test_a_timed_watch_closed_early_takes_its_deadline_with_it(client: Client, prefix: str) -> None:
    from etcd3py.context import _TIMER

    before = _TIMER.pending()
    chans = [client.watch(prefix + "k", timeout=3600) for _ in range(5)]
    assert _TIMER.pending() >= before + 5
    client.put(prefix + "k", "v")
    for chan in chans:
        resp = chan.get(WAIT)
        assert resp is not None and [ev.kv.value for ev in resp.events] == [b"v"]
        chan.close()
    # each had a stream of its own: it idles out, and its context is cancelled with it
    eventually(lambda: _TIMER.pending() <= before, "the deadlines of closed watches gone")
