"""Benchmark worker for the raw ``grpc.aio`` stubs: the asyncio floor, with no client code.

Runs in ``bench/.venvs/raw`` like ``raw_sync_worker.py``. Unary calls are awaited on one
``grpc.aio`` channel; ``put_concurrent`` runs ``concurrency`` tasks on it; a watch is a bare
``Watch`` stream-stream call (``write`` one create per watch, ``read`` responses), with no
resume logic.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    AioTally,
    Deadline,
    LiveLags,
    aconcurrent_calls,
    async_handlers,
    atimed_calls,
    check_range,
    emit_event,
    footprint,
    load_stubs,
    many_watches_metrics,
    prefix_range_end,
    read_stdin_json,
    run_worker,
    start_writer,
    workload_functions,
    workload_key,
    writer_result,
)

rpc, rpc_grpc = load_stubs()
Params = dict[str, Any]
OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def _channel(p: Params) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(p["endpoint"], options=OPTIONS)


async def put_seq(p: Params) -> dict[str, Any]:
    value = b"v" * p["value_size"]
    keys = [workload_key(p["prefix"], i) for i in range(p["count"])]
    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=value))
        return await atimed_calls(
            len(keys), p["deadline_s"], lambda i: stub.Put(rpc.PutRequest(key=keys[i], value=value))
        )


async def get_seq(p: Params) -> dict[str, Any]:
    key = p["key"].encode()
    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Range(rpc.RangeRequest(key=key))

        async def get(_: int) -> bytes:
            return (await stub.Range(rpc.RangeRequest(key=key))).kvs[0].value

        return await atimed_calls(p["count"], p["deadline_s"], get)


async def put_concurrent(p: Params) -> dict[str, Any]:
    value = b"v" * p["value_size"]
    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=value))
        return await aconcurrent_calls(
            p["count"],
            p["concurrency"],
            p["deadline_s"],
            lambda i: stub.Put(rpc.PutRequest(key=workload_key(p["prefix"], i), value=value)),
        )


async def range_decode(p: Params) -> dict[str, Any]:
    key = p["prefix"].encode()
    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Range(rpc.RangeRequest(key=key + b"warm"))
        t0 = time.perf_counter()
        resp = await stub.Range(rpc.RangeRequest(key=key, range_end=prefix_range_end(key)))
        t1 = time.perf_counter()
        total = 0
        for kv in resp.kvs:
            total += len(kv.key) + len(kv.value)
        t2 = time.perf_counter()
    check_range(len(resp.kvs), total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": len(resp.kvs)}


def _create(key: bytes, range_end: bytes = b"", rev: int = 0) -> Any:
    create = rpc.WatchCreateRequest(key=key, range_end=range_end, start_revision=rev)
    return rpc.WatchRequest(create_request=create)


async def _prefix_call(ch: grpc.aio.Channel, p: Params, rev: int) -> Any:
    key = p["prefix"].encode()
    call = rpc_grpc.WatchStub(ch).Watch()
    await call.write(_create(key, prefix_range_end(key), rev))
    first = await call.read()
    if first is grpc.aio.EOF or not first.created:
        raise RuntimeError(f"first watch response is not created: {first}")
    return call


async def watch_replay(p: Params) -> dict[str, Any]:
    want, seen = p["events"], 0
    deadline = Deadline(p["deadline_s"])
    async with _channel(p) as ch:
        start = time.perf_counter()
        call = await _prefix_call(ch, p, p["start_rev"])
        while seen < want and not deadline.passed():
            resp = await asyncio.wait_for(call.read(), deadline.remaining() + 0.01)
            if resp is grpc.aio.EOF:
                break
            for ev in resp.events:
                _ = ev.kv.key
            seen += len(resp.events)
        elapsed = time.perf_counter() - start
        call.cancel()
    return {"events_per_s": seen / elapsed, "seconds": elapsed, "events": seen}


async def watch_live(p: Params) -> dict[str, Any]:
    live, deadline = LiveLags(), Deadline(p["deadline_s"])
    async with _channel(p) as ch:
        call = await _prefix_call(ch, p, 0)
        writer = await start_writer(p["writer"])
        try:
            while len(live.lags) < p["count"] and not deadline.passed():
                resp = await asyncio.wait_for(call.read(), deadline.remaining() + 0.01)
                if resp is grpc.aio.EOF:
                    break
                live.add(ev.kv.value for ev in resp.events)
        finally:
            call.cancel()
            rate = await writer_result(writer, deadline.remaining() + 10)
    return live.metrics(rate)


async def _read_all(call: Any, tally: AioTally) -> None:
    """Read one stream in a task: count created responses and events per key."""
    try:
        while True:
            resp = await call.read()
            if resp is grpc.aio.EOF:
                return
            if resp.created:
                tally.created()
            if resp.events:
                tally.add_events(ev.kv.key for ev in resp.events)
    except (grpc.RpcError, asyncio.CancelledError):
        tally.failed()  # the stream broke (workload 8) or was cancelled: no resume here
    finally:
        tally.ended()


async def _watch_all(
    ch: grpc.aio.Channel, p: Params, tally: AioTally
) -> tuple[Any, asyncio.Task[None], float]:
    """One stream; every create request written at once; wait for every created response."""
    call = rpc_grpc.WatchStub(ch).Watch()
    reader = asyncio.ensure_future(_read_all(call, tally))
    start = time.perf_counter()
    for i in range(p["watches"]):
        await call.write(_create(workload_key(p["prefix"], i)))
    await tally.wait_created(p["deadline_s"])
    return call, reader, time.perf_counter() - start


async def many_watches(p: Params) -> dict[str, Any]:
    n = p["watches"]
    tally = AioTally(n)
    async with _channel(p) as ch:
        kv = rpc_grpc.KVStub(ch)
        await kv.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=b"x"))
        before = footprint()
        call, reader, create_s = await _watch_all(ch, p, tally)
        after = footprint()
        start = time.perf_counter()
        for i in range(n):
            await kv.Put(rpc.PutRequest(key=workload_key(p["prefix"], i), value=b"x"))
        await tally.wait_events(p["deadline_s"])
        deliver_s = time.perf_counter() - start
        call.cancel()
        await reader
    return many_watches_metrics(n, before, after, create_s, deliver_s, tally.events)


async def resume(p: Params) -> dict[str, Any]:
    tally = AioTally(p["watches"])
    async with _channel(p) as ch:
        kv = rpc_grpc.KVStub(ch)
        resp = await kv.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=b"x"))
        call, reader, _ = await _watch_all(ch, p, tally)
        emit_event("ready", revision=resp.header.revision)
        loop = asyncio.get_running_loop()
        msg = await loop.run_in_executor(None, read_stdin_json, p.get("wait_s", 120.0))
        if msg is None:
            raise TimeoutError("no 'written' line from the harness")
        await tally.wait_events(p["deadline_s"])
        call.cancel()
        await reader
    return tally.resume_metrics(msg)


WORKLOADS = workload_functions(globals())


if __name__ == "__main__":
    sys.exit(run_worker(async_handlers(WORKLOADS)))
