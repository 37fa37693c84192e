"""The asyncio Watch across broken streams: every event once, in order, or an error that ends
the watch; a slow consumer beside a fast one.

The watching transport dials the server through a :class:`~testserver.bridge.Bridge` (or
the reference server drops its streams and restarts, or a private etcd is SIGKILLed and
restarted on the same data dir and ports); the writing transport talks to the server directly
and logs the revision of every put, which is what each watch must have seen afterwards.
Half the watches are callbacks (plain), half iterators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from etcd3py import Op
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py.aio.watch import GrpcWatcher
from etcd3py.config import Config, parse_endpoints
from etcd3py.errors import CompactedError, PermissionDeniedError
from etcd3py.watch import Event, WatchResponse
from tests.aio.helpers_watch import WAIT, next_rev, put, take_events, take_until_error
from tests.backends import Backend, EtcdProcess, EtcdTools, free_ports
from tests.faults.test_auth_expiry import PREFIX, ROOT, TOKEN_TTL, USER, auth_endpoint
from testserver.bridge import Bridge

pytestmark = pytest.mark.faults

__all__ = ["auth_endpoint"]  # the fixture, shared with tests/faults/test_auth_expiry.py

N_KEYS = 50
N_WATCHES = 60  # 50 single keys, 10 group prefixes
N_PUTS = 600

Log = list[tuple[str, int]]  # (key, revision) of every put, in order
Break = Callable[[Log], Awaitable[None]]  # breaks the watch streams; may write (and log)


async def started(endpoint: str) -> AioTransport:
    transport = AioTransport(Config(endpoints=parse_endpoints([endpoint])))
    await transport.start()
    return transport


@pytest.fixture
def bridge(backend: Backend) -> Iterator[Bridge]:
    with Bridge(backend.endpoints[0]) as b:
        yield b


@pytest.fixture
async def bridged(bridge: Bridge) -> AsyncIterator[AioTransport]:
    transport = await started(bridge.endpoint)
    try:
        yield transport
    finally:
        await transport.close()


def layout(prefix: str) -> tuple[list[str], list[tuple[str, bool]]]:
    keys = [f"{prefix}g{i % 10}/k{i}" for i in range(N_KEYS)]
    return keys, [(k, False) for k in keys] + [(f"{prefix}g{g}/", True) for g in range(10)]


def expected(watches: list[tuple[str, bool]], log: Log) -> list[Log]:
    return [
        [(k, r) for k, r in log if (k.startswith(key) if is_prefix else k == key)]
        for key, is_prefix in watches
    ]


def pairs(events: list[Event]) -> Log:
    return [(e.kv.key.decode(), e.kv.mod_revision) for e in events]


async def run_resume(
    writer: AioTransport, watcher: GrpcWatcher, prefix: str, breaks: dict[int, Break]
) -> None:
    """Start the watches, write N_PUTS puts calling ``breaks[i]`` before put i, compare."""
    keys, watches = layout(prefix)
    rev = await next_rev(writer, prefix)
    got: list[Log] = [[] for _ in watches]
    errors: list[BaseException | None] = [None] * len(watches)

    def record(i: int) -> Callable[[WatchResponse], None]:
        def on_response(resp: WatchResponse) -> None:
            got[i].extend(pairs(list(resp.events)))
            errors[i] = errors[i] or resp.err()

        return on_response

    handles, chans = {}, {}
    for i, (key, is_prefix) in enumerate(watches):
        if i % 2:
            chans[i] = watcher.watch(key, prefix=is_prefix, rev=rev)
        else:
            handles[i] = await watcher.add_watch_callback(key, record(i), prefix=is_prefix, rev=rev)
    log: Log = []
    for n in range(N_PUTS):
        if n in breaks:
            await breaks[n](log)
        key = keys[(n * 7) % N_KEYS]
        log.append((key, await put(writer, key, str(n))))
    want = expected(watches, log)
    for i, chan in chans.items():
        got[i] = pairs(await take_events(chan, len(want[i]), timeout=60))
        await chan.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while any(len(got[i]) < len(want[i]) and errors[i] is None for i in handles):
        assert loop.time() < deadline, "callbacks behind"
        await asyncio.sleep(0.02)
    assert errors == [None] * len(watches)
    for i, w in enumerate(want):
        assert got[i] == w, f"watch {i} on {watches[i]}"
    for handle in handles.values():
        await handle.close()


@pytest.mark.parametrize("window", [1, 32], ids=["one-create", "pipelined-creates"])
async def test_resume_after_bridge_cuts(
    aio_transport: AioTransport, bridge: Bridge, bridged: AioTransport, prefix: str, window: int
) -> None:
    watcher = GrpcWatcher(bridged, create_window=window)

    async def cut(_log: Log) -> None:
        bridge.cut()

    try:
        await run_resume(aio_transport, watcher, prefix, {n: cut for n in (100, 300, 450)})
    finally:
        await watcher.close()
    assert bridge.accepted >= 4  # the client came back after each cut


async def test_resume_after_outages(
    aio_transport: AioTransport, bridge: Bridge, bridged: AioTransport, prefix: str
) -> None:
    async def outage(log: Log) -> None:
        with bridge.outage():
            for i in range(20):  # writes the watches miss while they are away
                key = prefix + f"g{i % 10}/k{i}"
                log.append((key, await put(aio_transport, key, "during")))
            await asyncio.sleep(0.3)  # the watcher tries and fails to reconnect meanwhile

    watcher = GrpcWatcher(bridged)
    try:
        await run_resume(aio_transport, watcher, prefix, {n: outage for n in (150, 400)})
    finally:
        await watcher.close()


@pytest.mark.testserver_only
async def test_resume_after_dropped_streams_and_restart(
    aio_transport: AioTransport, backend: Backend, prefix: str
) -> None:
    srv = backend.server
    assert srv is not None

    def doing(action: Callable[[], object]) -> Break:
        async def run(_log: Log) -> None:
            action()

        return run

    transport = await started(backend.endpoints[0])
    watcher = GrpcWatcher(transport)
    breaks = {100: doing(srv.drop_streams), 300: doing(srv.restart), 450: doing(srv.drop_streams)}
    try:
        await run_resume(aio_transport, watcher, prefix, breaks)
    finally:
        await watcher.close()
        await transport.close()


async def test_resume_after_etcd_killed(etcd_tools: EtcdTools) -> None:
    """A private etcd is SIGKILLed and restarted (same data dir and ports)."""
    cport, pport = free_ports(2)
    member = EtcdProcess(etcd_tools.etcd, client_port=cport, peer_port=pport)

    async def kill_and_restart(_log: Log) -> None:
        member.kill()
        member.start()
        await asyncio.to_thread(member.wait_serving)
        await writer.run(kv_calls.do(Op.get("/warm-up")))  # the writer reconnects

    try:
        member.start()
        member.wait_serving()
        writer = await started(member.endpoint)
        transport = await started(member.endpoint)
        watcher = GrpcWatcher(transport)
        try:
            await run_resume(writer, watcher, "/kill/", {300: kill_and_restart})
        finally:
            await watcher.close()
            await transport.close()
            await writer.close()
    finally:
        member.remove()


async def test_compaction_during_outage(
    aio_transport: AioTransport, bridge: Bridge, bridged: AioTransport, prefix: str
) -> None:
    """Watches behind the compaction end with CompactedError after their last response;
    the others resume."""
    t = aio_transport
    rev = await next_rev(t, prefix)
    watcher = GrpcWatcher(bridged)
    try:
        behind = [watcher.watch(prefix + f"a{i}", rev=rev) for i in range(5)]
        current = [watcher.watch(prefix + "b/", prefix=True, rev=rev) for i in range(5)]
        a_revs = [await put(t, prefix + f"a{i}") for i in range(5)]
        await put(t, prefix + "c")  # so that every a watch's next revision is compacted
        last = await put(t, prefix + "b/0")
        for i, chan in enumerate(behind):
            assert [e.kv.mod_revision for e in await take_events(chan, 1)] == [a_revs[i]]
        for chan in current:
            await take_events(chan, 1)
        with bridge.outage():
            await t.run(kv_calls.compact(last, False))  # the b/ watches are at the head
            await asyncio.sleep(0.3)
        after = await put(t, prefix + "b/1")
        for chan in behind:
            resp = await chan.get(WAIT)
            assert resp is not None and isinstance(resp.err(), CompactedError)
            assert not resp.events
            with pytest.raises(CompactedError):
                await chan.get(WAIT)
            assert chan.done and isinstance(chan.err(), CompactedError)
        for chan in current:
            assert [e.kv.mod_revision for e in await take_events(chan, 1)] == [after]
            await chan.close()
        assert watcher.watch_count == 0
    finally:
        await watcher.close()


async def test_slow_consumer_beside_fast_one(
    backend: Backend, aio_transport: AioTransport, prefix: str
) -> None:
    limit, n = 10, 200
    transport = await started(backend.endpoints[0])
    watcher = GrpcWatcher(transport, buffer_limit=limit)
    try:
        rev = await next_rev(aio_transport, prefix)
        fast = watcher.watch(prefix + "fast", rev=rev)
        slow = watcher.watch(prefix + "slow", rev=rev)
        fast_reader = asyncio.create_task(take_events(fast, n, timeout=60))
        peak = 0
        for i in range(n):
            await put(aio_transport, prefix + "fast", str(i))
            await put(aio_transport, prefix + "slow", str(i))
            peak = max(peak, slow._sub.buffered)
        fast_events = await fast_reader  # the fast watch kept up; the slow one was not read
        assert [e.kv.value for e in fast_events] == [str(i).encode() for i in range(n)]
        assert watcher.stream_count == 1
        assert peak <= limit + 1, peak  # the limit, plus the batch that crossed it
        slow_events = await take_events(slow, n, timeout=60)
        assert [e.kv.value for e in slow_events] == [str(i).encode() for i in range(n)]
        await fast.close()
        await slow.close()
    finally:
        await watcher.close()
        await transport.close()


async def test_watch_outlives_an_expired_token(auth_endpoint: str) -> None:
    """The resumed create meets an expired token: the stream refreshes it and resumes."""
    writer = AioTransport(
        Config(endpoints=parse_endpoints([auth_endpoint]), username=ROOT[0], password=ROOT[1])
    )
    await writer.start()
    with Bridge(auth_endpoint) as bridge:
        app = AioTransport(
            Config(endpoints=parse_endpoints([bridge.endpoint]), username=USER[0], password=USER[1])
        )
        await app.start()
        watcher = GrpcWatcher(app)
        try:
            rev = await next_rev(writer, PREFIX)
            chan = watcher.watch(PREFIX, prefix=True, rev=rev)
            written = [(PREFIX + f"a{i}", await put(writer, PREFIX + f"a{i}")) for i in range(5)]
            await asyncio.sleep(TOKEN_TTL + 1.0)  # the app makes no call: its token expires
            assert bridge.cut() >= 1  # the watch stream breaks, and comes back with it
            written += [(PREFIX + f"b{i}", await put(writer, PREFIX + f"b{i}")) for i in range(5)]
            assert pairs(await take_events(chan, len(written), timeout=30)) == written
            await chan.close()
        finally:
            await watcher.close()
            await app.close()
    await writer.close()


async def test_a_watch_refused_by_the_server_ends_with_its_typed_error(auth_endpoint: str) -> None:
    """A create refused for a permission (after one token refresh) ends that watch alone.

    The refused watch is made first: etcd 3.5.1 answers a refused create with ``watch_id``
    0 (the request's), which its send loop takes as the end of the stream's watch 0 and from
    then on withholds that watch's events (a server bug, both faces alike).
    """
    app = AioTransport(
        Config(endpoints=parse_endpoints([auth_endpoint]), username=USER[0], password=USER[1])
    )
    await app.start()
    watcher = GrpcWatcher(app)
    try:
        denied = watcher.watch("/elsewhere/k")
        allowed = await watcher.watch(PREFIX + "k")
        await take_until_error(denied, PermissionDeniedError)
        rev = await put(app, PREFIX + "k")
        assert pairs(await take_events(allowed, 1)) == [(PREFIX + "k", rev)]
        await allowed.close()
        assert watcher.watch_count == 0
    finally:
        await watcher.close()
        await app.close()
