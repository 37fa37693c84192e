"""Benchmark worker for etcd3py's asyncio face (``etcd3py.aio.Client``): workloads 1-9.

Runs in ``bench/.venvs/etcd3py`` (this repo installed editable), the sync worker's venv. Each
workload is one ``async with Client(...)`` in a fresh event loop, written as a user would:
``await client.put`` / ``client.get``; ``put_concurrent`` runs ``concurrency`` tasks on one
client; one watch is a watch object (``async with client.watch(...)`` or ``await
client.watch(...)``, then ``async for``); many watches are callbacks (``await
client.add_watch_callback(..., created_notify=True, wait=False)`` on a client with
``watch_create_window=256``, as the sync worker does). ``soak`` writes its cycles with
``async with client.watch(...)`` and ``async with client.keep_alive(...)``, and counts the
event loop's tasks besides RSS and threads. See ``bench/README.md`` for the workloads and
``_common.py`` for the command line.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    AioTally,
    Deadline,
    LiveLags,
    SoakSnapshot,
    aconcurrent_calls,
    asettle,
    asoak_cycles,
    async_handlers,
    atimed_calls,
    bounded,
    check_range,
    emit_event,
    footprint,
    many_watches_metrics,
    os_threads,
    py_threads,
    read_stdin_json,
    rss_kb,
    run_worker,
    soak_metrics,
    start_writer,
    workload_functions,
    workload_key,
    writer_result,
)

from etcd3py import WatchResponse
from etcd3py.aio import Client, WatchHandle
from etcd3py.aio.lease import GrpcLease
from etcd3py.aio.watch import GrpcWatcher

Params = dict[str, Any]

#: Creates in flight per watch stream for workloads 7 and 8 (the sync worker's setting).
CREATE_WINDOW = 256


def _client(p: Params, *, create_window: int = 1) -> Client:
    return Client(endpoints=[p["endpoint"]], watch_create_window=create_window)


async def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential ``await client.put``."""
    value = b"v" * p["value_size"]
    keys = [workload_key(p["prefix"], i) for i in range(p["count"])]
    async with _client(p) as client:
        await client.put(p["prefix"] + "warm", value)
        return await atimed_calls(len(keys), p["deadline_s"], lambda i: client.put(keys[i], value))


async def get_seq(p: Params) -> dict[str, Any]:
    """Workload 2: sequential ``await client.get`` of one key, reading its value."""
    key = p["key"]
    async with _client(p) as client:
        await client.get(key)

        async def get(_: int) -> bytes:
            return (await client.get(key)).kvs[0].value

        return await atimed_calls(p["count"], p["deadline_s"], get)


async def put_concurrent(p: Params) -> dict[str, Any]:
    """Workload 3: ``await client.put`` from ``concurrency`` tasks sharing one client."""
    value = b"v" * p["value_size"]
    async with _client(p) as client:
        await client.put(p["prefix"] + "warm", value)
        return await aconcurrent_calls(
            p["count"],
            p["concurrency"],
            p["deadline_s"],
            lambda i: client.put(workload_key(p["prefix"], i), value),
        )


async def range_decode(p: Params) -> dict[str, Any]:
    """Workload 4: one prefix ``get``; time to the response, then to touch every byte."""
    async with _client(p) as client:
        await client.get(p["prefix"] + "warm")
        t0 = time.perf_counter()
        resp = await client.get(p["prefix"], prefix=True)
        t1 = time.perf_counter()
        total = 0
        for kv in resp.kvs:
            total += len(kv.key) + len(kv.value)
        t2 = time.perf_counter()
    n = len(resp.kvs)
    check_range(n, total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": n}


async def watch_replay(p: Params) -> dict[str, Any]:
    """Workload 5: ``async for`` over a prefix watch from ``start_rev`` until ``events``."""
    want, seen = p["events"], 0
    deadline = Deadline(p["deadline_s"])
    async with _client(p) as client:
        await client.get(p["prefix"] + "warm")
        start = time.perf_counter()
        async with client.watch(p["prefix"], prefix=True, rev=p["start_rev"]) as chan:

            async def consume() -> None:
                nonlocal seen
                async for resp in chan:
                    for ev in resp.events:
                        _ = ev.kv.key
                    seen += len(resp.events)
                    if seen >= want:
                        return

            await bounded(consume(), deadline.remaining())
        elapsed = time.perf_counter() - start
    return {"events_per_s": seen / elapsed, "seconds": elapsed, "events": seen}


async def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: ``async for`` over one prefix watch while the writer process puts."""
    live, deadline = LiveLags(), Deadline(p["deadline_s"])
    async with _client(p) as client:
        chan = await client.watch(p["prefix"], prefix=True)  # returns once registered

        async def consume() -> None:
            async for resp in chan:
                if live.add(ev.kv.value for ev in resp.events) >= p["count"]:
                    return

        writer = await start_writer(p["writer"])
        try:
            await bounded(consume(), deadline.remaining())
        finally:
            await chan.close()
            rate = await writer_result(writer, deadline.remaining() + 10)
    return live.metrics(rate)


def _counter(tally: AioTally) -> Any:
    """Return a watch callback that counts created responses and events in ``tally``."""

    def on_response(resp: WatchResponse) -> None:
        if resp.created:
            tally.created()
        if resp.events:
            tally.add_events(ev.kv.key for ev in resp.events)
        elif resp.err() is not None:
            tally.failed()

    return on_response


async def _watch_all(client: Client, p: Params, tally: AioTally) -> tuple[list[WatchHandle], float]:
    """One callback watch per key, created without waiting each; then wait for all."""
    callback = _counter(tally)
    start = time.perf_counter()
    handles = [
        await client.add_watch_callback(
            workload_key(p["prefix"], i), callback, created_notify=True, wait=False
        )
        for i in range(p["watches"])
    ]
    await tally.wait_created(p["deadline_s"])
    return handles, time.perf_counter() - start


async def many_watches(p: Params) -> dict[str, Any]:
    """Workload 7: one callback watch per key; creation time, RSS, threads, delivery."""
    n = p["watches"]
    tally = AioTally(n)
    async with _client(p, create_window=CREATE_WINDOW) as client:
        await client.put(p["prefix"] + "warm", b"x")  # channel up before measuring
        before = footprint()
        handles, create_s = await _watch_all(client, p, tally)
        after = footprint()
        start = time.perf_counter()
        for i in range(n):
            await client.put(workload_key(p["prefix"], i), b"x")
        await tally.wait_events(p["deadline_s"])
        deliver_s = time.perf_counter() - start
        for h in handles:
            await h.close()
    return many_watches_metrics(n, before, after, create_s, deliver_s, tally.events)


async def resume(p: Params) -> dict[str, Any]:
    """Workload 8: the watches across a broken connection; time to every event, lost, dups."""
    tally = AioTally(p["watches"])
    async with _client(p, create_window=CREATE_WINDOW) as client:
        rev = (await client.put(p["prefix"] + "warm", b"x")).header.revision
        handles, _ = await _watch_all(client, p, tally)
        emit_event("ready", revision=rev)
        msg = await asyncio.to_thread(read_stdin_json, p.get("wait_s", 120.0))
        if msg is None:
            raise TimeoutError("no 'written' line from the harness")
        await tally.wait_events(p["deadline_s"])
        result = tally.resume_metrics(msg)
        for h in handles:
            await h.close()
    return result


#: Seconds a soak lease cycle waits for its keep-alive's first renewal.
RENEWAL_WAIT_S = 10.0
#: Watches that stay open across the soak (one anchor, so the watch stream stays up).
ANCHORS = 1


def _grpc_parts(client: Client) -> tuple[GrpcWatcher, GrpcLease]:
    watcher, lease = client.watcher, client.lease
    if not isinstance(watcher, GrpcWatcher) or not isinstance(lease, GrpcLease):
        raise TypeError(f"soak needs the gRPC watcher and lease, not {watcher!r}, {lease!r}")
    return watcher, lease


def _level() -> tuple[int, int, int]:
    """Return the OS threads, the Python threads and the event loop's tasks (this one
    included): what must hold still before a figure is taken."""
    return os_threads(), py_threads(), len(asyncio.all_tasks())


def _quiet(client: Client, rest: tuple[int, int, int] | None) -> Callable[[], bool]:
    """Return whether the client is at rest: only the anchor watch, no keep-alive stream,
    and (when ``rest``, a :func:`_level`, is given) no more Python threads and tasks than
    then (gRPC's C-core pool may keep an OS thread more, so OS threads are not waited for)."""
    watcher, lease = _grpc_parts(client)

    def quiet() -> bool:
        if watcher.watch_count > ANCHORS or lease.driver.streams():
            return False
        _, threads, tasks = _level()
        return rest is None or (threads <= rest[1] and tasks <= rest[2])

    return quiet


def _watch_cycle(client: Client, prefix: str) -> Callable[[int], Awaitable[None]]:
    """One watch cycle: a watch from now, entered (registered), then left (closed)."""

    async def one(i: int) -> None:
        async with client.watch(workload_key(prefix, i)):
            pass

    return one


def _lease_cycle(client: Client, ttl: int) -> Callable[[int], Awaitable[None]]:
    """One lease cycle: grant, keep alive until the first renewal, stop, revoke."""

    async def one(i: int) -> None:
        lease = await client.grant(ttl)
        async with client.keep_alive(lease) as ka:
            if await ka.get(RENEWAL_WAIT_S) is None:
                raise TimeoutError(f"no renewal of lease {lease.id} in {RENEWAL_WAIT_S}s: {ka!r}")
        await client.revoke(lease)

    return one


async def soak(p: Params) -> dict[str, Any]:
    """Workload 9: watch create/close cycles, then lease grant/keep-alive/revoke cycles, on
    one client with an anchor watch open; RSS, threads and tasks after a warm-up and after
    each phase, each time once the client settled."""
    deadline_s = p["deadline_s"]
    async with _client(p) as client:
        watch_one = _watch_cycle(client, p["prefix"])
        lease_one = _lease_cycle(client, p["lease_ttl"])
        rss_start = rss_kb()
        async with client.watch(p["prefix"] + "anchor"):
            await asoak_cycles(p["warmup_watch_cycles"], deadline_s, watch_one)
            await asoak_cycles(p["warmup_lease_cycles"], deadline_s, lease_one)
            await asettle(_quiet(client, None), _level)
            before, rest = SoakSnapshot.take(), _level()
            watch = await asoak_cycles(p["watch_cycles"], deadline_s, watch_one)
            await asettle(_quiet(client, rest), _level)
            after_watch = SoakSnapshot.take()
            lease = await asoak_cycles(p["lease_cycles"], deadline_s, lease_one)
            await asettle(_quiet(client, rest), _level)
            after_lease, (_, _, tasks_after) = SoakSnapshot.take(), _level()
            watcher, grpc_lease = _grpc_parts(client)
            live = {
                "tasks_before": rest[2],
                "tasks_after": tasks_after,
                "watches_live_after": watcher.watch_count,
                "keepalive_streams_after": len(grpc_lease.driver.streams()),
            }
    return {**soak_metrics(rss_start, before, watch, after_watch, lease, after_lease), **live}


WORKLOADS = workload_functions(globals())

if __name__ == "__main__":
    sys.exit(run_worker(async_handlers(WORKLOADS)))
