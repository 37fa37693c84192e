"""Benchmark worker for etcd-client-py (PyPI ``etcd-client-py`` 0.5.1, module ``etcd_client``).

Runs in ``bench/.venvs/etcd_client_py``. The client is the Rust ``etcd-client`` crate (tonic,
tokio) bound to asyncio through PyO3: ``Client([url]).connect()`` gives a ``Communicator``
whose ``put`` returns nothing, ``get`` the value's ``bytes``, ``get_prefix`` a list of
``(key, value)`` bytes tuples, and ``watch`` / ``watch_prefix`` an async iterator of
``WatchEvent`` (``key``, ``value`` bytes).

What the client does (read from its source): a tokio runtime in the process (its own OS
threads); the communicator holds the Rust client in a ``tokio::sync::Mutex`` locked for the
whole of each call, so calls from several tasks on one communicator run one at a time; every
result is copied from Rust into new Python bytes (``get_prefix``: two copies of each kv, the
Rust ``to_owned`` and the Python bytes); each ``watch`` opens its own gRPC Watch stream,
created lazily by the first ``__anext__`` (``ready_event``, a ``CondVar``, says when it is
created) while holding the client's lock, and keeps every event it received in a list for the
watch's life. ``watch_prefix`` takes no start revision (the Rust crate has one; the binding
does not pass it), so workload 5 is unsupported. A broken stream raises in the iterator and
is not reopened: watches are not resumed (workload 8 reports what it got).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import etcd_client
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
UNSUPPORTED = {
    "watch_replay": "no start revision: Communicator.watch_prefix(key, once, ready_event, "
    "cleanup_event) cannot watch from a past revision",
}


def _client(p: Params) -> Any:
    return etcd_client.Client([f"http://{p['endpoint']}"]).connect()


async def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential ``put``."""
    value = b"v" * p["value_size"]
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), value)
        return await atimed_calls(
            p["count"], p["deadline_s"], lambda i: etcd.put(workload_key(p["prefix"], i), value)
        )


async def get_seq(p: Params) -> dict[str, Any]:
    """Workload 2: sequential ``get`` of one key (the value's bytes)."""
    key = p["key"].encode()
    async with _client(p) as etcd:
        await etcd.get(key)

        async def get(_: int) -> bytes:
            value = await etcd.get(key)
            if value is None:
                raise KeyError(f"{p['key']} not found")
            return bytes(value)

        return await atimed_calls(p["count"], p["deadline_s"], get)


async def put_concurrent(p: Params) -> dict[str, Any]:
    """Workload 3: ``put`` from ``concurrency`` tasks sharing one communicator."""
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
    """Workload 4: ``get_prefix`` (a list of ``(key, value)`` tuples), then touch them."""
    async with _client(p) as etcd:
        await etcd.get((p["prefix"] + "warm").encode())
        t0 = time.perf_counter()
        items = await etcd.get_prefix(p["prefix"].encode())
        t1 = time.perf_counter()
        total = 0
        for key, value in items:
            total += len(key) + len(value)
        t2 = time.perf_counter()
    check_range(len(items), total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": len(items)}


async def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: one ``watch_prefix`` while the writer process puts."""
    live, deadline = LiveLags(), Deadline(p["deadline_s"])
    async with _client(p) as etcd:
        ready = etcd_client.CondVar()
        watch = etcd.watch_prefix(p["prefix"].encode(), ready_event=ready)

        async def consume() -> None:
            async for event in watch:
                if live.add((event.value,)) >= p["count"]:
                    return

        task = asyncio.create_task(consume())  # the first __anext__ creates the watch
        await asyncio.wait_for(ready.wait(), deadline.remaining())
        writer = await start_writer(p["writer"])
        try:
            await bounded(task, deadline.remaining())
        finally:
            rate = await writer_result(writer, deadline.remaining() + 10)
    return live.metrics(rate)


async def _consume(watch: Any, tally: AioTally) -> None:
    """Count one watch's events until it ends or fails."""
    try:
        async for event in watch:
            tally.add_events((event.key,))
    except Exception:  # the stream broke (workload 8): this client does not resume
        tally.failed()


async def _watch_all(
    etcd: Any, p: Params, tally: AioTally, tasks: list[asyncio.Task[None]]
) -> float:
    """One watch per key, all started at once (one consumer task each); wait until created."""
    start = time.perf_counter()
    readies = []
    for i in range(p["watches"]):
        ready = etcd_client.CondVar()
        watch = etcd.watch(workload_key(p["prefix"], i), ready_event=ready)
        tasks.append(asyncio.create_task(_consume(watch, tally)))
        readies.append(ready.wait())
    await asyncio.wait_for(asyncio.gather(*readies), p["deadline_s"])
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
        await etcd.put((p["prefix"] + "warm").encode(), b"x")
        try:
            await _watch_all(etcd, p, tally, tasks)
            emit_event("ready", revision=None)  # put returns no header: no revision to report
            msg = await asyncio.to_thread(read_stdin_json, p.get("wait_s", 120.0))
            if msg is None:
                raise TimeoutError("no 'written' line from the harness")
            await tally.wait_events(p["deadline_s"])
        finally:
            await cancel_tasks(tasks)
    return tally.resume_metrics(msg)


WORKLOADS = workload_functions(globals())

if __name__ == "__main__":
    sys.exit(run_worker(async_handlers(WORKLOADS), unsupported=UNSUPPORTED))
