"""Benchmark worker for aetcd (PyPI ``aetcd`` 1.0.0), an asyncio client over ``grpc.aio``.

Runs in ``bench/.venvs/aetcd``. Every workload uses the client's public API and result objects
on one ``aetcd.Client`` in one event loop: ``put`` (``rtypes.Put``), ``get`` (``rtypes.Get``),
``get_prefix`` (``rtypes.GetRange``, which keeps the protobuf ``kvs`` and wraps each in a
``KeyValue`` as it is iterated) and ``watch`` / ``watch_prefix(..., start_revision=)``, async
iterators of ``rtypes.Event``.

What the client does (read from its source): one ``grpc.aio`` channel; one ``Watcher`` per
client with one task reading one Watch stream; ``watch`` enqueues one create request and waits
for its ``created`` response under the watcher's lock (one create in flight at a time), and
gives each watch its own ``asyncio.Queue``; each event becomes an ``rtypes.Event`` copying
every field of the key-value into a ``KeyValue`` and is passed through an awaited callback and
the queue. When the stream fails, the error is delivered to every watch, the watches are
dropped and the reading task ends: watches are not resumed (workload 8 reports what it got).
There is no public callback API (``Watcher.add_callback`` is marked internal), so workloads 7
and 8 consume each watch in its own task.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aetcd
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

__all__: list[str] = []

Params = dict[str, Any]


def _client(p: Params) -> aetcd.Client:
    host, _, port = p["endpoint"].rpartition(":")
    return aetcd.Client(host=host, port=int(port))


async def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential ``put``."""
    value = b"v" * p["value_size"]
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), value)
        return await atimed_calls(
            p["count"], p["deadline_s"], lambda i: etcd.put(workload_key(p["prefix"], i), value)
        )


async def get_seq(p: Params) -> dict[str, Any]:
    """Workload 2: sequential ``get`` of one key, reading its value."""
    key = p["key"].encode()
    async with _client(p) as etcd:
        await etcd.get(key)

        async def get(_: int) -> bytes:
            return (await etcd.get(key)).value

        return await atimed_calls(p["count"], p["deadline_s"], get)


async def put_concurrent(p: Params) -> dict[str, Any]:
    """Workload 3: ``put`` from ``concurrency`` tasks sharing one client."""
    value = b"v" * p["value_size"]
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), value)
        return await aconcurrent_calls(
            p["count"],
            p["concurrency"],
            p["deadline_s"],
            lambda i: etcd.put(workload_key(p["prefix"], i), value),
        )


async def range_decode(p: Params) -> dict[str, Any]:
    """Workload 4: ``get_prefix`` (a ``GetRange``), then touch every ``KeyValue``."""
    async with _client(p) as etcd:
        await etcd.get((p["prefix"] + "warm").encode())
        t0 = time.perf_counter()
        result = await etcd.get_prefix(p["prefix"].encode())
        t1 = time.perf_counter()
        total, keys = 0, 0
        for kv in result:  # GetRange wraps each protobuf kv in a KeyValue here
            total += len(kv.key) + len(kv.value)
            keys += 1
        t2 = time.perf_counter()
    check_range(keys, total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": keys}


async def watch_replay(p: Params) -> dict[str, Any]:
    """Workload 5: ``watch_prefix`` from ``start_rev`` until ``events`` events arrived."""
    want, seen = p["events"], 0
    deadline = Deadline(p["deadline_s"])
    async with _client(p) as etcd:
        start = time.perf_counter()
        watch = await etcd.watch_prefix(p["prefix"].encode(), start_revision=p["start_rev"])

        async def consume() -> None:
            nonlocal seen
            async for event in watch:
                _ = event.kv.key
                seen += 1
                if seen >= want:
                    return

        await bounded(consume(), deadline.remaining())
        elapsed = time.perf_counter() - start
        await watch.cancel()
    return {"events_per_s": seen / elapsed, "seconds": elapsed, "events": seen}


async def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: one ``watch_prefix`` while the writer process puts."""
    live, deadline = LiveLags(), Deadline(p["deadline_s"])
    async with _client(p) as etcd:
        watch = await etcd.watch_prefix(p["prefix"].encode())  # returns once created

        async def consume() -> None:
            async for event in watch:
                if live.add((event.kv.value,)) >= p["count"]:
                    return

        writer = await start_writer(p["writer"])
        try:
            await bounded(consume(), deadline.remaining())
        finally:
            rate = await writer_result(writer, deadline.remaining() + 10)
        await watch.cancel()
    return live.metrics(rate)


async def _consume(watch: Any, tally: AioTally) -> None:
    """Count one watch's events until it ends or fails."""
    try:
        async for event in watch:
            tally.add_events((event.kv.key,))
    except Exception:  # the stream broke (workload 8): this client does not resume
        tally.failed()


async def _watch_all(
    etcd: aetcd.Client, p: Params, tally: AioTally, tasks: list[asyncio.Task[None]]
) -> float:
    """One ``watch`` per key, each awaited until created, and one consumer task per watch."""
    deadline = Deadline(p["deadline_s"])
    start = time.perf_counter()
    for i in range(p["watches"]):
        watch = await etcd.watch(workload_key(p["prefix"], i))
        tasks.append(asyncio.create_task(_consume(watch, tally)))
        if deadline.passed():
            raise TimeoutError(f"{i + 1}/{p['watches']} watches created in time")
    return time.perf_counter() - start


async def many_watches(p: Params) -> dict[str, Any]:
    """Workload 7: one watch per key; creation time, RSS, threads, delivery."""
    n = p["watches"]
    tally, tasks = AioTally(n), []
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), b"x")
        before = footprint()
        try:
            create_s = await _watch_all(etcd, p, tally, tasks)
            after = footprint()
            start = time.perf_counter()
            for i in range(n):
                await etcd.put(workload_key(p["prefix"], i), b"x")
            await tally.wait_events(p["deadline_s"])
            deliver_s = time.perf_counter() - start
        finally:
            await cancel_tasks(tasks)
    return many_watches_metrics(n, before, after, create_s, deliver_s, tally.events)


async def resume(p: Params) -> dict[str, Any]:
    """Workload 8: the watches across a broken connection; reports what arrived."""
    tally, tasks = AioTally(p["watches"]), []
    async with _client(p) as etcd:
        resp = await etcd.put((p["prefix"] + "warm").encode(), b"x")
        try:
            await _watch_all(etcd, p, tally, tasks)
            emit_event("ready", revision=resp.header.revision)
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
