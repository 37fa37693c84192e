"""Benchmark worker for etcd3aio (PyPI ``etcd3aio`` 0.3.0), an asyncio client over ``grpc.aio``.

Runs in ``bench/.venvs/etcd3aio``. Every workload uses the client's public API on one
``Etcd3Client`` in one event loop: ``client.kv.put`` / ``client.kv.get`` (the protobuf
``PutResponse`` / ``RangeResponse``; a prefix is ``range_end=prefix_range_end(prefix)``) and
``client.watch.watch(key, range_end=, start_revision=)``, an async generator of protobuf
``WatchResponse``.

What the client does (read from its source): one ``grpc.aio`` channel (``ipv4:`` target,
round robin, gRPC keepalives); every unary call retried on UNAVAILABLE / DEADLINE_EXCEEDED
with backoff; each ``watch`` generator opens its OWN Watch stream (one create request, then
the stream is read by whoever iterates the generator), so many watches are many streams, read
here by one consumer task per watch (there is no callback API). On UNAVAILABLE the generator
reopens its stream after a backoff (0.25 s doubling to 5 s) from the last response's header
revision + 1, so workload 8 measures a resuming client.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    AioTally,
    Deadline,
    LiveLags,
    aconcurrent_calls,
    async_handlers,
    atimed_calls,
    bounded,
    cancel_tasks,
    check_range,
    emit_event,
    footprint,
    many_watches_metrics,
    read_stdin_json,
    run_worker,
    start_writer,
    workload_functions,
    workload_key,
    writer_result,
)
from etcd3aio import Etcd3Client, prefix_range_end

__all__: list[str] = []

Params = dict[str, Any]


def _client(p: Params) -> Etcd3Client:
    return Etcd3Client([p["endpoint"]])


async def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential ``kv.put``."""
    value = b"v" * p["value_size"]
    async with _client(p) as etcd:
        kv = etcd.kv
        await kv.put(p["prefix"] + "warm", value)
        return await atimed_calls(
            p["count"], p["deadline_s"], lambda i: kv.put(workload_key(p["prefix"], i), value)
        )


async def get_seq(p: Params) -> dict[str, Any]:
    """Workload 2: sequential ``kv.get`` of one key, reading its value."""
    key = p["key"].encode()
    async with _client(p) as etcd:
        kv = etcd.kv
        await kv.get(key)

        async def get(_: int) -> bytes:
            return (await kv.get(key)).kvs[0].value

        return await atimed_calls(p["count"], p["deadline_s"], get)


async def put_concurrent(p: Params) -> dict[str, Any]:
    """Workload 3: ``kv.put`` from ``concurrency`` tasks sharing one client."""
    value = b"v" * p["value_size"]
    async with _client(p) as etcd:
        await etcd.kv.put(p["prefix"] + "warm", value)
        return await aconcurrent_calls(
            p["count"],
            p["concurrency"],
            p["deadline_s"],
            lambda i: etcd.kv.put(workload_key(p["prefix"], i), value),
        )


async def range_decode(p: Params) -> dict[str, Any]:
    """Workload 4: a prefix ``kv.get`` (a protobuf ``RangeResponse``), then touch its kvs."""
    prefix = p["prefix"].encode()
    async with _client(p) as etcd:
        kv = etcd.kv
        await kv.get(prefix + b"warm")
        t0 = time.perf_counter()
        resp = await kv.get(prefix, range_end=prefix_range_end(prefix))
        t1 = time.perf_counter()
        total = 0
        for item in resp.kvs:
            total += len(item.key) + len(item.value)
        t2 = time.perf_counter()
    check_range(len(resp.kvs), total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": len(resp.kvs)}


def _watch_prefix(etcd: Etcd3Client, p: Params, rev: int = 0) -> AsyncIterator[Any]:
    prefix = p["prefix"].encode()
    return etcd.watch.watch(prefix, range_end=prefix_range_end(prefix), start_revision=rev)


async def watch_replay(p: Params) -> dict[str, Any]:
    """Workload 5: a prefix watch from ``start_rev`` until ``events`` events arrived."""
    want, seen = p["events"], 0
    deadline = Deadline(p["deadline_s"])
    async with _client(p) as etcd:
        start = time.perf_counter()
        watch = _watch_prefix(etcd, p, p["start_rev"])

        async def consume() -> None:
            nonlocal seen
            async for resp in watch:
                for ev in resp.events:
                    _ = ev.kv.key
                seen += len(resp.events)
                if seen >= want:
                    return

        await bounded(consume(), deadline.remaining())
        elapsed = time.perf_counter() - start
        await watch.aclose()
    return {"events_per_s": seen / elapsed, "seconds": elapsed, "events": seen}


async def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: one prefix watch (its created response awaited) while the writer puts."""
    live, deadline = LiveLags(), Deadline(p["deadline_s"])
    async with _client(p) as etcd:
        watch = _watch_prefix(etcd, p)
        first = await asyncio.wait_for(watch.__anext__(), deadline.remaining())
        if not first.created:
            raise RuntimeError(f"first watch response is not created: {first}")

        async def consume() -> None:
            async for resp in watch:
                if live.add(ev.kv.value for ev in resp.events) >= p["count"]:
                    return

        writer = await start_writer(p["writer"])
        try:
            await bounded(consume(), deadline.remaining())
        finally:
            await watch.aclose()
            rate = await writer_result(writer, deadline.remaining() + 10)
    return live.metrics(rate)


async def _consume(watch: AsyncIterator[Any], tally: AioTally) -> None:
    """Count one watch's created response and events until it ends or fails."""
    try:
        async for resp in watch:
            if resp.created:
                tally.created()
            if resp.events:
                tally.add_events(ev.kv.key for ev in resp.events)
    except Exception:  # a non-transient stream error ends this watch
        tally.failed()


async def _watch_all(
    etcd: Etcd3Client, p: Params, tally: AioTally, tasks: list[asyncio.Task[None]]
) -> float:
    """One watch per key, each read by its own task; wait until every one is created."""
    start = time.perf_counter()
    for i in range(p["watches"]):
        tasks.append(
            asyncio.create_task(_consume(etcd.watch.watch(workload_key(p["prefix"], i)), tally))
        )
    await tally.wait_created(p["deadline_s"])
    return time.perf_counter() - start


async def many_watches(p: Params) -> dict[str, Any]:
    """Workload 7: one watch (one stream) per key; creation time, RSS, threads, delivery."""
    n = p["watches"]
    tally, tasks = AioTally(n), []
    async with _client(p) as etcd:
        await etcd.kv.put(p["prefix"] + "warm", b"x")
        before = footprint()
        try:
            create_s = await _watch_all(etcd, p, tally, tasks)
            after = footprint()
            start = time.perf_counter()
            for i in range(n):
                await etcd.kv.put(workload_key(p["prefix"], i), b"x")
            await tally.wait_events(p["deadline_s"])
            deliver_s = time.perf_counter() - start
        finally:
            await cancel_tasks(tasks)
    return many_watches_metrics(n, before, after, create_s, deliver_s, tally.events)


async def resume(p: Params) -> dict[str, Any]:
    """Workload 8: the watches across a broken connection; time to every event, lost, dups."""
    tally, tasks = AioTally(p["watches"]), []
    async with _client(p) as etcd:
        rev = (await etcd.kv.put(p["prefix"] + "warm", b"x")).header.revision
        try:
            await _watch_all(etcd, p, tally, tasks)
            emit_event("ready", revision=rev)
            msg = await asyncio.to_thread(read_stdin_json, p.get("wait_s", 120.0))
            if msg is None:
                raise TimeoutError("no 'written' line from the harness")
            await tally.wait_events(p["deadline_s"])
        finally:
            await cancel_tasks(tasks)
    return tally.resume_metrics(msg)


WORKLOADS = workload_functions(globals())

if __name__ == "__main__":
    sys.exit(run_worker(async_handlers(WORKLOADS)))
