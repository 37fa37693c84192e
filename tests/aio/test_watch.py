"""The asyncio Watch on every backend: options, registration, ends, callbacks, cancellation,
scale (one task per stream, none per watch)."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from etcd3py import Context, EventType, WatchResponse
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py.aio.watch import GrpcWatcher, WatchChan
from etcd3py.config import Config, parse_endpoints
from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    ClientClosedError,
    CompactedError,
    DeadlineExceededError,
    EmptyKeyError,
    InvalidArgumentError,
)
from tests.aio.helpers_watch import (
    WAIT,
    delete,
    keys,
    next_rev,
    put,
    take_events,
    take_until_error,
)
from tests.backends import Backend
from tests.e2e.test_watch import progress_endpoint


@pytest.fixture
async def watcher(aio_transport: AioTransport) -> AsyncIterator[GrpcWatcher]:
    w = GrpcWatcher(aio_transport)
    try:
        yield w
    finally:
        await w.close()


async def eventually(check: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not check():
        assert loop.time() < deadline, what
        await asyncio.sleep(0.01)


async def idle(watcher: GrpcWatcher) -> None:
    """Nothing registered left: no live watch, and every stream task ended."""
    await eventually(lambda: watcher.watch_count == 0, "a watch is still live")
    await eventually(lambda: watcher.stream_count == 0, "a stream is still open")
    registry = watcher._registry
    assert registry is not None
    await eventually(lambda: not registry._running, "a stream still runs")
    await eventually(lambda: not registry._tasks, "a stream or dispatcher task still runs")


# ---- options -------------------------------------------------------------------------------


async def test_key_events_and_kinds(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    t, key = aio_transport, prefix + "k"
    rev = await next_rev(t, prefix)
    async with watcher.watch(key, rev=rev) as chan:
        written = [await put(t, key, "1"), await put(t, key, "2"), await delete(t, key)]
        await put(t, prefix + "other", "x")
        written.append(await put(t, key, "3"))
        events = await take_events(chan, 4)
    put_, del_ = EventType.PUT, EventType.DELETE
    assert [e.type for e in events] == [put_, put_, del_, put_]
    assert [e.kv.value for e in events] == [b"1", b"2", b"", b"3"]
    assert [e.is_create() for e in events] == [True, False, False, True]
    # the revisions of the writes (on a shared cluster, other tests' writes come between)
    assert [e.kv.mod_revision for e in events] == written and written[0] >= rev
    assert all(e.prev_kv is None for e in events)
    await idle(watcher)


@pytest.mark.parametrize(
    ("opts", "inside", "outside"),
    [
        ({"prefix": True}, ["d/", "d/a", "d/b/c"], ["c", "e", "d"]),
        ({"range_end": "d/m"}, ["d/", "d/a", "d/l"], ["d/m", "d/z", "c"]),
        ({"from_key": True}, ["d/", "d/z", "zz"], ["c", "a"]),
    ],
    ids=["prefix", "range_end", "from_key"],
)
async def test_range_options(
    watcher: GrpcWatcher,
    aio_transport: AioTransport,
    prefix: str,
    opts: dict[str, Any],
    inside: list[str],
    outside: list[str],
) -> None:
    if "range_end" in opts:
        opts = {"range_end": prefix + opts["range_end"]}
    rev = await next_rev(aio_transport, prefix)
    async with watcher.watch(prefix + "d/", rev=rev, **opts) as chan:
        for name in outside + inside:
            await put(aio_transport, prefix + name, name)
        events = await take_events(chan, len(inside), within=prefix)
        assert keys(events) == [(prefix + n).encode() for n in inside]


async def test_replay_from_revision(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    revs = [await put(aio_transport, prefix + "a", str(i)) for i in range(1, 6)]
    # a fixed start: iterated at once, never awaited
    chan = watcher.watch(prefix + "a", rev=revs[2])
    values = []
    async for resp in chan:
        values += [e.kv.value for e in resp.events]
        if len(values) == 3:
            await chan.close()
    assert values == [b"3", b"4", b"5"] and chan.done and chan.err() is None


async def test_prev_kv(watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str) -> None:
    key = prefix + "p"
    rev = await next_rev(aio_transport, prefix)
    async with watcher.watch(key, rev=rev, prev_kv=True) as chan:
        await put(aio_transport, key, "old")
        await put(aio_transport, key, "new")
        await delete(aio_transport, key)
        events = await take_events(chan, 3)
    assert events[0].prev_kv is None
    assert [e.prev_kv.value for e in events[1:] if e.prev_kv] == [b"old", b"new"]


@pytest.mark.parametrize(
    ("flag", "kept"), [("filter_put", EventType.DELETE), ("filter_delete", EventType.PUT)]
)
async def test_filters(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str, flag: str, kept: EventType
) -> None:
    rev = await next_rev(aio_transport, prefix)
    async with watcher.watch(prefix, prefix=True, rev=rev, **{flag: True}) as chan:  # type: ignore[arg-type]
        for i in range(3):
            await put(aio_transport, prefix + f"k{i}")
            await delete(aio_transport, prefix + f"k{i}")
        events = await take_events(chan, 3)
    assert [e.type for e in events] == [kept] * 3
    assert keys(events) == [(prefix + f"k{i}").encode() for i in range(3)]


async def test_created_notify_and_awaited_registration(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    head = await next_rev(aio_transport, prefix) - 1
    chan = await watcher.watch(prefix + "c", created_notify=True)
    try:
        first = await chan.get(WAIT)
        assert first is not None and first.created and not first.events
        assert first.err() is None and first.header.revision >= head
        await put(aio_transport, prefix + "c")
        assert keys(await take_events(chan, 1)) == [(prefix + "c").encode()]
    finally:
        await chan.close()


async def test_from_now_sees_a_write_made_right_after_registration(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    for i in range(10):  # awaited and entered: both wait for the server's `created`
        key = f"{prefix}now/{i}"
        if i % 2:
            chan = await watcher.watch(key)
        else:
            chan = await watcher.watch(key).__aenter__()
        await put(aio_transport, key, str(i))
        (event,) = await take_events(chan, 1)
        assert event.kv.value == str(i).encode()
        await chan.close()
    await idle(watcher)


async def test_from_now_iterated_without_awaiting_and_metadata(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    # never awaited nor entered: the first iteration's first response is the `created`
    ctx = Context.background().with_require_leader().with_metadata(("x-test", "aio"))
    chan = watcher.watch(prefix + "k", created_notify=True, ctx=ctx)
    async for resp in chan:
        if resp.created:
            await put(aio_transport, prefix + "k", "after")
        elif resp.events:
            assert [e.kv.value for e in resp.events] == [b"after"]
            break
    assert watcher.stream_count == 1 and watcher.watch_count == 1
    await chan.close()
    await idle(watcher)


async def test_fragment_large_values(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    value = b"x" * (1024 * 1024)  # three of them exceed etcd's 1.5 MiB request limit together
    rev = await next_rev(aio_transport, prefix)
    for i in range(3):
        await put(aio_transport, prefix + f"big{i}", value)
    async with watcher.watch(prefix, prefix=True, rev=rev, fragment=True) as chan:
        events = await take_events(chan, 3, timeout=30)
    assert [len(e.kv.value) for e in events] == [len(value)] * 3


async def test_bad_arguments_are_refused_at_the_call(watcher: GrpcWatcher, prefix: str) -> None:
    with pytest.raises(EmptyKeyError):
        watcher.watch("")
    with pytest.raises(InvalidArgumentError):
        watcher.watch(prefix, prefix=True, from_key=True)
    with pytest.raises(InvalidArgumentError):
        watcher.watch(prefix, rev=-1)
    with pytest.raises(ArgumentTypeError):
        watcher.watch(prefix, prev_kv="yes")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        watcher.watch(prefix, ctx="ctx")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        await watcher.add_watch_callback(prefix, "not callable")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        await watcher.request_progress("ctx")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        GrpcWatcher(watcher._transport, buffer_limit=0)
    assert watcher.stream_count == 0 and watcher.watch_count == 0


# ---- progress ------------------------------------------------------------------------------


async def test_request_progress(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    async with watcher.watch(prefix + "k", created_notify=True) as chan:
        assert await chan.get(WAIT) is not None  # created: the watcher is synced
        head = await put(aio_transport, prefix + "other")
        progress = None
        for _ in range(50):  # a notification may come before the put is seen; ask again
            await watcher.request_progress()
            resp = await chan.get(WAIT)
            assert resp is not None and resp.err() is None
            if resp.is_progress_notify() and resp.header.revision >= head:
                progress = resp
                break
        assert progress is not None and not progress.events
    await watcher.request_progress(Context.background().with_cancel())  # no stream: nothing


async def test_progress_notify(backend: Backend, prefix: str) -> None:
    with progress_endpoint(backend) as endpoint:
        transport = AioTransport(Config(endpoints=parse_endpoints([endpoint])))
        await transport.start()
        w = GrpcWatcher(transport)
        try:
            async with w.watch(prefix + "k", progress_notify=True) as chan:
                resp = None
                for _ in range(20):  # the first response may be another notice
                    resp = await chan.get(WAIT)
                    if resp is None or resp.is_progress_notify():
                        break
                assert resp is not None and resp.is_progress_notify() and resp.err() is None
        finally:
            await w.close()
            await transport.close()


# ---- ends ----------------------------------------------------------------------------------


async def test_close_one_watch_of_many_and_close_during_iteration(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    rev = await next_rev(aio_transport, prefix)
    chans = [watcher.watch(prefix + f"w{i}", rev=rev) for i in range(3)]
    got: list[WatchResponse] = []

    async def iterate() -> None:
        async for resp in chans[1]:
            got.append(resp)

    reader = asyncio.create_task(iterate())
    await asyncio.sleep(0.05)
    await chans[1].close()  # the blocked iteration ends cleanly
    await asyncio.wait_for(reader, WAIT)
    assert got == [] and chans[1].done and chans[1].err() is None
    for i in range(3):
        await put(aio_transport, prefix + f"w{i}")
    assert keys(await take_events(chans[0], 1)) == [(prefix + "w0").encode()]
    assert keys(await take_events(chans[2], 1)) == [(prefix + "w2").encode()]
    assert watcher.stream_count == 1 and watcher.watch_count == 2
    for chan in chans:
        await chan.close()
    await idle(watcher)


async def test_context_cancel_from_another_thread_ends_its_watches(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    ctx = Context.background().with_cancel()
    rev = await next_rev(aio_transport, prefix)
    chans = [watcher.watch(prefix + f"c{i}", rev=rev, ctx=ctx) for i in range(3)]
    other = watcher.watch(prefix + "c0", rev=rev)
    assert watcher.stream_count == 2
    await put(aio_transport, prefix + "c0")
    await take_events(chans[0], 1)
    threading.Thread(target=ctx.cancel).start()
    for chan in chans:
        await take_until_error(chan, CanceledError)
    await put(aio_transport, prefix + "c0", "w")
    assert len(await take_events(other, 2)) == 2  # another context's watch goes on
    await other.close()
    await idle(watcher)


async def test_deadlines_end_watches(watcher: GrpcWatcher, prefix: str) -> None:
    await take_until_error(await watcher.watch(prefix + "d", timeout=0.3), DeadlineExceededError)
    ctx = Context.background().with_timeout(0.3)
    await take_until_error(watcher.watch(prefix + "d", ctx=ctx), DeadlineExceededError)
    await idle(watcher)


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
async def test_compacted_start_revision(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    first = await put(aio_transport, prefix + "k", "1")
    last = await put(aio_transport, prefix + "k", "2")
    await put(aio_transport, prefix + "k", "3")
    await aio_transport.run(kv_calls.compact(last, False))
    chan = watcher.watch(prefix + "k", rev=first)
    responses = await take_until_error(chan, CompactedError)
    assert responses[-1].compact_revision >= last
    await chan.close()  # after the error: ends cleanly, nothing left
    await idle(watcher)


async def test_watcher_close_ends_watches(watcher: GrpcWatcher, prefix: str) -> None:
    chan = await watcher.watch(prefix + "k")
    handle = await watcher.add_watch_callback(prefix + "k", lambda resp: None)
    await watcher.close()
    await take_until_error(chan, ClientClosedError)
    assert await handle.wait(WAIT) and handle.done
    with pytest.raises(ClientClosedError):
        watcher.watch(prefix + "k")
    with pytest.raises(ClientClosedError):
        await watcher.request_progress()
    assert watcher.stream_count == 0 and watcher.watch_count == 0


# ---- callbacks -----------------------------------------------------------------------------


async def test_callbacks_plain_and_async_in_order(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    seen: list[tuple[str, bytes]] = []

    def plain(resp: WatchResponse) -> None:
        seen.extend(("plain", e.kv.value) for e in resp.events)

    async def awaited(resp: WatchResponse) -> None:
        await asyncio.sleep(0)
        seen.extend(("async", e.kv.value) for e in resp.events)

    rev = await next_rev(aio_transport, prefix)
    h1 = await watcher.add_watch_callback(prefix + "k", plain, rev=rev)
    h2 = await watcher.add_watch_callback(prefix + "k", awaited, rev=rev)
    for i in range(10):
        await put(aio_transport, prefix + "k", str(i))
    # either watch's last callback may run last (the server answers them in either order)
    await eventually(lambda: len(seen) >= 20, "callbacks behind")
    values = [str(i).encode() for i in range(10)]
    assert [v for who, v in seen if who == "plain"] == values
    assert [v for who, v in seen if who == "async"] == values
    assert not await h1.wait(0.01) and not h1.done
    await h1.close()
    await h2.close()
    assert not h1.done  # closed by its owner: no end to run
    await idle(watcher)


async def test_callback_from_now_and_exception_logged(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str, caplog: Any
) -> None:
    values: list[bytes] = []
    after = asyncio.Event()

    async def flaky(resp: WatchResponse) -> None:
        values.extend(ev.kv.value for ev in resp.events)
        if b"after" in values:
            after.set()
        elif values:
            raise RuntimeError("callback failure")

    with caplog.at_level(logging.ERROR, logger="etcd3py"):
        handle = await watcher.add_watch_callback(prefix + "k", flaky)  # registered on return
        await put(aio_transport, prefix + "k", "boom")
        await put(aio_transport, prefix + "k", "after")
        await asyncio.wait_for(after.wait(), WAIT)
    assert values == [b"boom", b"after"]
    assert any("callback" in r.getMessage() for r in caplog.records)
    await handle.close()
    await idle(watcher)


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
async def test_a_callback_gets_the_last_response_with_err(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    got: list[WatchResponse] = []
    first = await put(aio_transport, prefix + "k", "1")
    last = await put(aio_transport, prefix + "k", "2")
    await aio_transport.run(kv_calls.compact(last, False))
    handle = await watcher.add_watch_callback(prefix + "k", got.append, rev=first)
    assert await handle.wait(WAIT) and handle.done
    assert isinstance(got[-1].err(), CompactedError)
    await idle(watcher)


async def test_a_callback_may_close_its_handle_and_the_watcher(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    handles = []
    closed = asyncio.Event()

    async def closing(resp: WatchResponse) -> None:
        if resp.events:
            await handles[0].close()  # its own watch
            await watcher.close()  # every watch: the dispatcher does not wait for itself
            closed.set()

    rev = await next_rev(aio_transport, prefix)
    handles.append(await watcher.add_watch_callback(prefix + "k", closing, rev=rev))
    other = watcher.watch(prefix + "other", rev=rev)
    await put(aio_transport, prefix + "k")
    await asyncio.wait_for(closed.wait(), WAIT)
    await take_until_error(other, ClientClosedError)
    await idle(watcher)


# ---- cancellation and drops ----------------------------------------------------------------


async def test_cancel_while_awaiting_registration_leaves_nothing(
    watcher: GrpcWatcher, prefix: str
) -> None:
    ctx = Context.background().with_cancel()
    chans = [watcher.watch(prefix + f"k{i}", ctx=ctx) for i in range(20)]
    waiter = asyncio.create_task(chans[-1].__aenter__())  # the last of the creation queue
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert chans[-1].done and chans[-1].err() is None
    for chan in chans[:-1]:
        await chan
    assert watcher.watch_count == 19
    callback = asyncio.create_task(watcher.add_watch_callback(prefix + "cb", print, ctx=ctx))
    await asyncio.sleep(0)
    callback.cancel()
    with pytest.raises(asyncio.CancelledError):
        await callback
    assert watcher.watch_count == 19
    for chan in chans:
        await chan.close()
    await idle(watcher)


async def test_cancel_while_iterating_cancels_that_watch_only(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    rev = await next_rev(aio_transport, prefix)
    a, b = watcher.watch(prefix + "a", rev=rev), watcher.watch(prefix + "b", rev=rev)

    async def iterate(chan: WatchChan) -> None:
        async for _ in chan:
            pass

    reader = asyncio.create_task(iterate(a))
    await asyncio.sleep(0.05)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert a.done and watcher.watch_count == 1
    await put(aio_transport, prefix + "a")
    await put(aio_transport, prefix + "b")
    assert keys(await take_events(b, 1)) == [(prefix + "b").encode()]
    with pytest.raises(TimeoutError):  # a timeout around a get cancels that watch too
        async with asyncio.timeout(0.05):
            await b.get()
    assert b.done and watcher.watch_count == 0
    await idle(watcher)


async def test_a_watch_closed_before_its_stream_opened(watcher: GrpcWatcher, prefix: str) -> None:
    chan = watcher.watch(prefix + "k")
    await chan.close()  # the stream task has not run yet: it never opens a call
    assert chan.done and chan.err() is None and watcher.watch_count == 0
    with pytest.raises(StopAsyncIteration):
        await chan.__anext__()
    await idle(watcher)


async def test_a_dropped_chan_is_cancelled_on_the_server(watcher: GrpcWatcher, prefix: str) -> None:
    chan = await watcher.watch(prefix + "k")
    keep = await watcher.watch(prefix + "k")
    assert watcher.watch_count == 2
    del chan
    gc.collect()
    await eventually(lambda: watcher.watch_count == 1, "the dropped watch is still live")
    await keep.close()
    await idle(watcher)


# ---- scale ---------------------------------------------------------------------------------

N_WATCHES = 1000


async def test_1000_watches_one_stream_no_task_per_watch(
    watcher: GrpcWatcher, aio_transport: AioTransport, prefix: str
) -> None:
    watches = [(prefix + f"k{i}", False) for i in range(800)]
    watches += [(prefix + f"p{i}/", True) for i in range(200)]
    writes = [prefix + f"k{i}" for i in range(800)]
    writes += [prefix + f"p{i}/{j}" for i in range(200) for j in range(2)]
    ctx = Context.background().with_cancel()
    rev = await next_rev(aio_transport, prefix)
    tasks_before = len(asyncio.all_tasks())
    chans = [watcher.watch(k, prefix=p, rev=rev, ctx=ctx) for k, p in watches]
    await asyncio.gather(*(put(aio_transport, w) for w in writes[:500]))
    await asyncio.gather(*(put(aio_transport, w) for w in writes[500:]))
    assert len(asyncio.all_tasks()) - tasks_before <= 3  # the stream, gRPC's request consumer
    assert watcher.stream_count == 1 and watcher.watch_count == N_WATCHES
    for chan, (key, is_prefix) in zip(chans, watches, strict=True):
        want = sorted(w for w in writes if (w.startswith(key) if is_prefix else w == key))
        got = await take_events(chan, len(want), timeout=60)
        assert sorted(e.kv.key.decode() for e in got) == want
    ctx.cancel()
    await take_until_error(chans[0], CanceledError)
    await idle(watcher)


async def test_closing_the_transport_first_ends_the_watches(backend: Backend, prefix: str) -> None:
    transport = AioTransport(Config(endpoints=parse_endpoints(backend.endpoints)))
    await transport.start()
    w = GrpcWatcher(transport)
    chan = await w.watch(prefix + "k")
    await transport.close()  # the channel goes first: the stream ends, its watch with it
    with pytest.raises(ClientClosedError):
        async for _ in chan:
            pass
    assert chan.done and isinstance(chan.err(), ClientClosedError)
    with pytest.raises(ClientClosedError):
        w.watch(prefix + "k")
    await w.close()
    await idle(w)
