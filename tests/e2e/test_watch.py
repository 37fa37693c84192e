"""End-to-end watch tests on every backend: options, events, cancel, contexts, callbacks, scale.

Every watch starts from an explicit revision (the one after a read) so no write can race the
watch's creation; every wait is bounded by ``WatchChan.get(timeout)`` or an event's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, Context, Event, EventType, WatchChan, WatchResponse
from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    ClientClosedError,
    CompactedError,
    DeadlineExceededError,
    EmptyKeyError,
    InvalidArgumentError,
)
from tests.backends import Backend, EtcdProcess, distro_binary, free_ports
from tests.faces import view

pytestmark = pytest.mark.both_faces

WAIT = 10.0  # seconds any single expected response may take


def next_rev(client: Client, prefix: str) -> int:
    """The revision the next write will get."""
    return client.get(prefix + "\0").header.revision + 1


def take_events(
    chan: WatchChan, count: int, timeout: float = WAIT, within: str | None = None
) -> list[Event]:
    """Read responses until ``count`` events came; fail on an error or a timeout.

    With ``within``, only events on keys under that prefix count: a from-key watch on a
    shared cluster also sees other tests' keys.
    """
    events: list[Event] = []
    mine = b"" if within is None else within.encode()  # b"" starts every key
    deadline = time.monotonic() + timeout
    while len(events) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(events)} of {count} events came"
        resp = chan.get(remaining)
        assert resp is not None, f"watch ended or timed out after {len(events)} events"
        assert resp.err() is None, resp.err()
        events.extend(e for e in resp.events if e.kv.key.startswith(mine))
    assert len(events) == count, [e.kv.key for e in events]
    return events


def take_until_error(
    chan: WatchChan, error: type[BaseException], timeout: float = WAIT
) -> list[WatchResponse]:
    """Read every response until the iteration raises ``error``; return the responses.

    The last one must carry that error in ``err()`` (the error rule: the last response says
    why, the next iteration raises it).
    """
    out: list[WatchResponse] = []
    deadline = time.monotonic() + timeout
    with pytest.raises(error) as raised:
        while True:
            assert time.monotonic() < deadline, f"watch did not end; got {out}"
            resp = chan.get(deadline - time.monotonic())
            if resp is not None:
                out.append(resp)
    assert chan.done
    assert out and out[-1].err() is raised.value, (out, raised.value)
    assert all(r.err() is None for r in out[:-1])
    with pytest.raises(error):  # every later take raises again
        chan.get(0)
    return out


def no_more_events(chan: WatchChan, client: Client, sentinel_key: str) -> None:
    """Check nothing else is pending: a write to ``sentinel_key`` is the very next event."""
    client.put(sentinel_key, "end")
    (event,) = take_events(chan, 1)
    assert event.kv.key == sentinel_key.encode()


def keys(events: list[Event]) -> list[bytes]:
    return [e.kv.key for e in events]


# ---- options -------------------------------------------------------------------------------


def test_key_events_and_kinds(client: Client, prefix: str) -> None:
    key = prefix + "k"
    rev = next_rev(client, prefix)
    with client.watch(key, rev=rev) as chan:
        written = [client.put(key, "1").header.revision, client.put(key, "2").header.revision]
        written.append(client.delete(key).header.revision)
        client.put(prefix + "other", "x")
        written.append(client.put(key, "3").header.revision)
        events = take_events(chan, 4)
    put, delete = EventType.PUT, EventType.DELETE
    assert [e.type for e in events] == [put, put, delete, put]
    assert [e.kv.value for e in events] == [b"1", b"2", b"", b"3"]
    assert [e.is_create() for e in events] == [True, False, False, True]
    assert [e.is_modify() for e in events] == [False, True, False, False]
    # the revisions of the writes (on a shared cluster, other tests' writes come between)
    assert [e.kv.mod_revision for e in events] == written and written[0] >= rev
    assert all(e.prev_kv is None for e in events)


@pytest.mark.parametrize(
    ("opts", "inside", "outside"),
    [
        ({"prefix": True}, ["d/", "d/a", "d/b/c"], ["c", "e", "d"]),
        ({"range_end": "d/m"}, ["d/", "d/a", "d/l"], ["d/m", "d/z", "c"]),
        ({"from_key": True}, ["d/", "d/z", "zz"], ["c", "a"]),
    ],
    ids=["prefix", "range_end", "from_key"],
)
def test_range_options(
    client: Client, prefix: str, opts: dict[str, Any], inside: list[str], outside: list[str]
) -> None:
    if "range_end" in opts:
        opts = {"range_end": prefix + opts["range_end"]}
    rev = next_rev(client, prefix)
    chan = client.watch(prefix + "d/", rev=rev, **opts)
    try:
        for name in outside + inside:
            client.put(prefix + name, name)
        events = take_events(chan, len(inside), within=prefix)
        assert keys(events) == [(prefix + n).encode() for n in inside]
        if "from_key" not in opts:
            no_more_events(chan, client, prefix + inside[-1])
    finally:
        chan.close()


def test_replay_from_revision(client: Client, prefix: str) -> None:
    revs = [client.put(prefix + "a", str(i)).header.revision for i in range(1, 6)]
    with client.watch(prefix + "a", rev=revs[2]) as chan:
        events = take_events(chan, 3)
    assert [e.kv.value for e in events] == [b"3", b"4", b"5"]
    assert [e.kv.mod_revision for e in events] == revs[2:]


def test_prev_kv(client: Client, prefix: str) -> None:
    key = prefix + "p"
    rev = next_rev(client, prefix)
    with client.watch(key, rev=rev, prev_kv=True) as chan:
        client.put(key, "old")
        client.put(key, "new")
        client.delete(key)
        events = take_events(chan, 3)
    assert events[0].prev_kv is None
    assert events[1].prev_kv is not None and events[1].prev_kv.value == b"old"
    assert events[2].prev_kv is not None and events[2].prev_kv.value == b"new"


@pytest.mark.parametrize(
    ("flag", "kept"), [("filter_put", EventType.DELETE), ("filter_delete", EventType.PUT)]
)
def test_filters(client: Client, prefix: str, flag: str, kept: EventType) -> None:
    rev = next_rev(client, prefix)
    with client.watch(prefix, prefix=True, rev=rev, **{flag: True}) as chan:  # type: ignore[misc]
        for i in range(3):
            client.put(prefix + f"k{i}", "v")
            client.delete(prefix + f"k{i}")
        events = take_events(chan, 3)
    assert [e.type for e in events] == [kept] * 3
    assert keys(events) == [(prefix + f"k{i}").encode() for i in range(3)]


def test_created_notify(client: Client, prefix: str) -> None:
    head = next_rev(client, prefix) - 1
    with client.watch(prefix + "c", created_notify=True) as chan:
        first = chan.get(WAIT)
        assert first is not None and first.created and not first.events
        assert first.err() is None and not first.is_progress_notify()
        assert first.header.revision >= head
        client.put(prefix + "c", "v")
        assert keys(take_events(chan, 1)) == [(prefix + "c").encode()]


def test_fragment_large_values(client: Client, prefix: str) -> None:
    value = b"x" * (1024 * 1024)  # three of them exceed etcd's 1.5 MiB request limit together
    rev = next_rev(client, prefix)
    for i in range(3):
        client.put(prefix + f"big{i}", value)
    with client.watch(prefix, prefix=True, rev=rev, fragment=True) as chan:
        events = take_events(chan, 3, timeout=30)
    assert [len(e.kv.value) for e in events] == [len(value)] * 3
    assert keys(events) == [(prefix + f"big{i}").encode() for i in range(3)]


def test_bad_arguments_are_refused_at_the_call(client: Client, prefix: str) -> None:
    with pytest.raises(EmptyKeyError):
        client.watch("")
    with pytest.raises(InvalidArgumentError):
        client.watch(prefix, prefix=True, from_key=True)
    with pytest.raises(InvalidArgumentError):
        client.watch(prefix, rev=-1)
    with pytest.raises(ArgumentTypeError):
        client.watch(prefix, prev_kv="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        client.watch(prefix, bogus=True)  # type: ignore[call-arg]
    with pytest.raises(ArgumentTypeError):
        client.watch(123)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        client.add_watch_callback(prefix, "not callable")  # type: ignore[arg-type]
    assert client.watcher.stream_count == 0  # type: ignore[attr-defined]


# ---- ends ----------------------------------------------------------------------------------


def test_close_one_watch_of_many(client: Client, prefix: str) -> None:
    rev = next_rev(client, prefix)
    chans = [client.watch(prefix + f"w{i}", rev=rev) for i in range(3)]
    try:
        chans[1].close()
        assert list(chans[1]) == []
        for i in range(3):
            client.put(prefix + f"w{i}", "v")
        assert keys(take_events(chans[0], 1)) == [(prefix + "w0").encode()]
        assert keys(take_events(chans[2], 1)) == [(prefix + "w2").encode()]
        assert client.watcher.stream_count == 1  # type: ignore[attr-defined]
    finally:
        for chan in chans:
            chan.close()


def test_context_cancel_ends_all_its_watches(client: Client, prefix: str) -> None:
    ctx = Context.background().with_cancel()
    rev = next_rev(client, prefix)
    chans = [client.watch(prefix + f"c{i}", rev=rev, ctx=ctx) for i in range(3)]
    other = client.watch(prefix + "c0", rev=rev)
    try:
        client.put(prefix + "c0", "v")
        take_events(chans[0], 1)
        ctx.cancel()
        for chan in chans:
            take_until_error(chan, CanceledError)
        client.put(prefix + "c0", "w")
        assert len(take_events(other, 2)) == 2  # another context's watch goes on
    finally:
        other.close()


def test_context_deadline_ends_watches(client: Client, prefix: str) -> None:
    ctx = Context.background().with_timeout(0.5)
    chan = client.watch(prefix + "d", ctx=ctx)
    take_until_error(chan, DeadlineExceededError)


def test_two_contexts_two_streams(client: Client, prefix: str) -> None:
    ctx_a, ctx_b = Context.background().with_cancel(), Context.background().with_cancel()
    rev = next_rev(client, prefix)
    a1 = client.watch(prefix + "x", rev=rev, ctx=ctx_a)
    a2 = client.watch(prefix + "y", rev=rev, ctx=ctx_a)
    b1 = client.watch(prefix + "x", rev=rev, ctx=ctx_b)
    assert client.watcher.stream_count == 2  # type: ignore[attr-defined]
    client.put(prefix + "x", "1")
    client.put(prefix + "y", "2")
    assert len(take_events(a1, 1)) == len(take_events(a2, 1)) == len(take_events(b1, 1)) == 1
    ctx_a.cancel()
    ctx_b.cancel()
    take_until_error(a1, CanceledError)
    take_until_error(b1, CanceledError)


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
def test_compacted_start_revision(client: Client, prefix: str) -> None:
    first = client.put(prefix + "k", "1").header.revision
    last = client.put(prefix + "k", "2").header.revision
    client.put(prefix + "k", "3")
    client.compact(last)
    with client.watch(prefix + "k", rev=first) as chan:
        responses = take_until_error(chan, CompactedError)
    assert responses[-1].compact_revision >= last


def watch_runners(face: str, request: pytest.FixtureRequest) -> list[str]:
    """The watch streams' threads (sync face) or unfinished tasks (asyncio face) still there."""
    if face == "aio":

        def tasks() -> list[str]:
            return [t.get_name() for t in asyncio.all_tasks() if not t.done()]

        names: list[str] = request.getfixturevalue("aio_portal").call(tasks)
    else:
        names = [t.name for t in threading.enumerate()]
    return [name for name in names if name.startswith("etcd3py-watch")]


def test_client_close_ends_watches(
    backend: Backend,
    prefix: str,
    new_client: Callable[..., Any],
    face: str,
    request: pytest.FixtureRequest,
) -> None:
    client = new_client(endpoints=backend.endpoints)
    chan = client.watch(prefix + "k")
    assert watch_runners(face, request)
    client.close()
    take_until_error(chan, ClientClosedError)
    with pytest.raises(ClientClosedError):
        client.watch(prefix + "k")
    assert not watch_runners(face, request)


# ---- progress ------------------------------------------------------------------------------


def test_request_progress(client: Client, prefix: str) -> None:
    with client.watch(prefix + "k", created_notify=True) as chan:
        assert chan.get(WAIT) is not None  # created: the watcher is synced
        head = client.put(prefix + "other", "v").header.revision
        deadline = time.monotonic() + WAIT
        progress = None
        for _ in range(50):  # a notification may come before the put is seen; ask again
            client.watcher.request_progress()
            resp = chan.get(max(deadline - time.monotonic(), 0.01))
            assert resp is not None and resp.err() is None
            if resp.is_progress_notify() and resp.header.revision >= head:
                progress = resp
                break
        assert progress is not None and not progress.events


@contextlib.contextmanager
def progress_endpoint(backend: Backend) -> Iterator[str]:
    """A private server sending progress notifications every 0.5 s (etcd's default: 10 min)."""
    if not backend.is_real:
        from testserver import Server

        if "progress_interval" not in inspect.signature(Server).parameters:
            pytest.skip("the reference server has no progress_interval setting yet")
        with Server(progress_interval=0.5) as server:  # type: ignore[call-arg]
            yield server.endpoint
        return
    cport, pport = free_ports(2)
    member = EtcdProcess(distro_binary("etcd"), client_port=cport, peer_port=pport)
    base_args = member.args
    extra = "--experimental-watch-progress-notify-interval=500ms"
    member.args = lambda: [*base_args(), extra]  # type: ignore[method-assign]
    try:
        member.start()
        member.wait_serving()
        yield member.endpoint
    finally:
        member.remove()


def test_progress_notify(backend: Backend, prefix: str, new_client: Callable[..., Any]) -> None:
    with contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(progress_endpoint(backend))
        cli = stack.enter_context(new_client(endpoints=[endpoint]))
        chan = stack.enter_context(cli.watch(prefix + "k", progress_notify=True))
        resp = None
        for _ in range(20):  # the first response may be another notice
            resp = chan.get(WAIT)
            if resp is None or resp.is_progress_notify():
                break
        assert resp is not None and resp.is_progress_notify() and resp.err() is None


# ---- callbacks -----------------------------------------------------------------------------


def _runner_name() -> str:
    """The task running the caller in an event loop (the asyncio face's dispatcher), else
    the thread (the sync face's dispatcher thread)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        task = None
    return task.get_name() if task is not None else threading.current_thread().name


def test_callbacks_in_order_on_a_dispatcher_thread(client: Client, prefix: str) -> None:
    # The sync face's dispatcher is a thread, the asyncio face's a task of the loop: both are
    # named after their stream with "-callbacks".
    seen: list[tuple[bytes, str]] = []
    done = threading.Event()

    def on_response(resp: WatchResponse) -> None:
        for ev in resp.events:
            seen.append((ev.kv.value, _runner_name()))
        if len(seen) >= 20:
            done.set()

    rev = next_rev(client, prefix)
    handle = client.add_watch_callback(prefix + "k", on_response, rev=rev)
    for i in range(20):
        client.put(prefix + "k", str(i))
    assert done.wait(WAIT)
    handle.close()
    assert [v for v, _ in seen] == [str(i).encode() for i in range(20)]
    runners = {name for _, name in seen}
    assert len(runners) == 1 and runners.pop().endswith("-callbacks")


def test_callback_creates_and_closes_watches(
    client: Client, prefix: str, face: str, request: pytest.FixtureRequest
) -> None:
    done = threading.Event()
    children: list[Any] = []
    got: list[bytes] = []
    rev = next_rev(client, prefix)

    def child(resp: WatchResponse) -> None:
        got.extend(e.kv.value for e in resp.events)
        if got:
            children[0].close()  # a callback closing its own watch
            done.set()

    def parent(resp: WatchResponse) -> None:
        if resp.events and not children:
            children.append(client.add_watch_callback(prefix + "child", child, rev=rev))

    # The asyncio face runs callbacks on its loop: they await the asyncio client itself
    # (async callbacks), the blocking view being for the test's thread only.
    async def aio_child(resp: WatchResponse) -> None:
        got.extend(e.kv.value for e in resp.events)
        if got:
            await children[0].aio_target.close()
            done.set()

    async def aio_parent(resp: WatchResponse) -> None:
        if resp.events and not children:
            aio = client.aio_target  # type: ignore[attr-defined]
            handle = await aio.add_watch_callback(prefix + "child", aio_child, rev=rev)
            children.append(view(handle, request.getfixturevalue("aio_portal")))

    on_parent = aio_parent if face == "aio" else parent
    handle = client.add_watch_callback(prefix + "parent", on_parent, rev=rev)
    client.put(prefix + "child", "c1")
    client.put(prefix + "parent", "p")
    assert done.wait(WAIT)
    assert got == [b"c1"]
    assert children[0].wait(WAIT)
    handle.close()


def test_callback_exception_is_logged_and_watch_goes_on(
    client: Client, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    values: list[bytes] = []
    raised, done = threading.Event(), threading.Event()

    def flaky(resp: WatchResponse) -> None:
        values.extend(ev.kv.value for ev in resp.events)
        if b"after" in values:
            done.set()
        if b"boom" in values and not raised.is_set():
            raised.set()
            raise RuntimeError("callback failure")

    rev = next_rev(client, prefix)
    with caplog.at_level(logging.ERROR, logger="etcd3py"):
        handle = client.add_watch_callback(prefix + "k", flaky, rev=rev)
        client.put(prefix + "k", "boom")
        assert raised.wait(WAIT)
        client.put(prefix + "k", "after")
        assert done.wait(WAIT)
    handle.close()
    assert values == [b"boom", b"after"]
    assert any("callback" in r.getMessage() for r in caplog.records)


# ---- scale ---------------------------------------------------------------------------------

N_WATCHES = 1000


def _scale_layout(prefix: str) -> tuple[list[tuple[str, bool]], list[str]]:
    """800 single keys and 200 prefixes (each over 2 keys); the keys written."""
    watches = [(prefix + f"k{i}", False) for i in range(800)]
    watches += [(prefix + f"p{i}/", True) for i in range(200)]
    writes = [prefix + f"k{i}" for i in range(800)]
    writes += [prefix + f"p{i}/{j}" for i in range(200) for j in range(2)]
    return watches, writes


def _expected(watch: tuple[str, bool], writes: list[str]) -> list[str]:
    key, is_prefix = watch
    return [w for w in writes if (w.startswith(key) if is_prefix else w == key)]


def test_1000_watches_as_iterators(client: Client, prefix: str) -> None:
    watches, writes = _scale_layout(prefix)
    ctx = Context.background().with_cancel()
    rev = next_rev(client, prefix)
    chans = [client.watch(k, prefix=p, rev=rev, ctx=ctx) for k, p in watches]
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def consume(indexes: range) -> None:
        try:
            for i in indexes:
                want = len(_expected(watches[i], writes))
                results[i] = [e.kv.key.decode() for e in take_events(chans[i], want, 60)]
        except BaseException as exc:
            errors.append(exc)

    consumers = [threading.Thread(target=consume, args=(range(i, N_WATCHES, 4),)) for i in range(4)]
    for t in consumers:
        t.start()
    for w in writes:
        client.put(w, "v")
    for t in consumers:
        t.join(90)
    assert not errors, errors[0]
    assert client.watcher.stream_count == 1  # type: ignore[attr-defined]
    for i, watch in enumerate(watches):
        assert results[i] == _expected(watch, writes)
    ctx.cancel()


def test_1000_watches_as_callbacks(client: Client, prefix: str) -> None:
    watches, writes = _scale_layout(prefix)
    ctx = Context.background().with_cancel()
    rev = next_rev(client, prefix)
    seen: dict[int, list[str]] = {i: [] for i in range(N_WATCHES)}
    remaining = [len(writes)]  # every write is seen by exactly one watch
    all_seen = threading.Event()
    lock = threading.Lock()

    def make(i: int) -> Any:
        def callback(resp: WatchResponse) -> None:
            seen[i].extend(e.kv.key.decode() for e in resp.events)
            with lock:
                remaining[0] -= len(resp.events)
                if remaining[0] == 0:
                    all_seen.set()

        return callback

    threads_before = threading.active_count()
    handles = [
        client.add_watch_callback(k, make(i), prefix=p, rev=rev, ctx=ctx)
        for i, (k, p) in enumerate(watches)
    ]
    for w in writes:
        client.put(w, "v")
    assert all_seen.wait(90), f"{remaining[0]} events missing"
    assert threading.active_count() - threads_before <= 4  # reader, gRPC's sender, dispatcher
    for i, watch in enumerate(watches):
        assert seen[i] == _expected(watch, writes)
    ctx.cancel()
    assert all(h.wait(WAIT) for h in handles)


def test_watch_from_now_sees_a_write_made_right_after_it_returns(
    client: Client, prefix: str
) -> None:
    # watch() with rev=0 returns once the server registered the watch (clientv3's rule),
    # so a put issued the moment it returns is never missed; repeated to catch a race.
    for i in range(25):
        key = f"{prefix}now/{i}"
        with client.watch(key) as chan:
            client.put(key, str(i))
            (event,) = take_events(chan, 1)
            assert event.kv.value == str(i).encode()


def test_pipelined_creates_from_now(
    backend: Backend, prefix: str, new_client: Callable[..., Any]
) -> None:
    """300 "from now" watches with 64 creates in flight: each sees exactly its own write."""
    n = 300
    seen: dict[int, list[str]] = {i: [] for i in range(n)}
    created = threading.Semaphore(0)
    delivered = threading.Semaphore(0)

    def make(i: int) -> Any:
        def callback(resp: WatchResponse) -> None:
            if resp.created:
                created.release()
            seen[i].extend(e.kv.key.decode() for e in resp.events)
            for _ in resp.events:
                delivered.release()

        return callback

    with new_client(endpoints=backend.endpoints, watch_create_window=64) as client:
        handles = [
            client.add_watch_callback(prefix + f"k{i}", make(i), created_notify=True, wait=False)
            for i in range(n)
        ]
        assert all(created.acquire(timeout=30) for _ in range(n))
        for i in range(n):
            client.put(prefix + f"k{i}", "v")
        assert all(delivered.acquire(timeout=30) for _ in range(n))
        assert seen == {i: [prefix + f"k{i}"] for i in range(n)}
        for handle in handles:
            handle.close()
