"""Benchmark worker for the raw ``grpc.aio`` stubs: the asyncio floor, with no client code.

Runs in ``bench/.venvs/raw`` like ``raw_sync_worker.py``. Unary calls are awaited on one
``grpc.aio`` channel; ``put_concurrent`` runs ``concurrency`` tasks on it; a watch is a bare
``Watch`` stream-stream call (``write`` one create per watch, ``read`` responses), with no
resume logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Deadline,
    atimed_calls,
    check_range,
    emit_event,
    lag_stamp,
    live_rate,
    load_stubs,
    os_threads,
    percentile,
    prefix_range_end,
    read_stdin_json,
    rss_kb,
    run_worker,
)

rpc, rpc_grpc = load_stubs()
Params = dict[str, Any]
OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def _channel(p: Params) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(p["endpoint"], options=OPTIONS)


async def _put_seq(p: Params) -> dict[str, Any]:
    value = b"v" * p["value_size"]
    keys = [f"{p['prefix']}{i:06d}".encode() for i in range(p["count"])]
    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=value))
        return await atimed_calls(
            len(keys), p["deadline_s"], lambda i: stub.Put(rpc.PutRequest(key=keys[i], value=value))
        )


async def _get_seq(p: Params) -> dict[str, Any]:
    key = p["key"].encode()
    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Range(rpc.RangeRequest(key=key))

        async def get(_: int) -> bytes:
            return (await stub.Range(rpc.RangeRequest(key=key))).kvs[0].value

        return await atimed_calls(p["count"], p["deadline_s"], get)


async def _put_concurrent(p: Params) -> dict[str, Any]:
    value = b"v" * p["value_size"]
    tasks, count = p["concurrency"], p["count"]
    deadline = Deadline(p["deadline_s"])
    done = [0] * tasks

    async def run(t: int, stub: Any) -> None:
        for i in range(t, count, tasks):
            await stub.Put(rpc.PutRequest(key=f"{p['prefix']}{i:06d}".encode(), value=value))
            done[t] += 1
            if deadline.passed():
                return

    async with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        await stub.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=value))
        start = time.perf_counter()
        await asyncio.gather(*(run(t, stub) for t in range(tasks)))
        elapsed = time.perf_counter() - start
    return {"ops_per_s": sum(done) / elapsed}


async def _range_decode(p: Params) -> dict[str, Any]:
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


async def _watch_replay(p: Params) -> dict[str, Any]:
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


async def _watch_live(p: Params) -> dict[str, Any]:
    want, seen, first = p["count"], 0, 0.0
    lags: list[float] = []
    deadline = Deadline(p["deadline_s"])
    async with _channel(p) as ch:
        call = await _prefix_call(ch, p, 0)
        proc = await asyncio.create_subprocess_exec(*p["writer"], stdout=asyncio.subprocess.PIPE)
        start = time.perf_counter()
        try:
            while seen < want and not deadline.passed():
                resp = await asyncio.wait_for(call.read(), deadline.remaining() + 0.01)
                if resp is grpc.aio.EOF:
                    break
                now = time.time()
                if resp.events and not first:
                    first = time.perf_counter()
                for ev in resp.events:
                    lags.append(now - lag_stamp(ev.kv.value))
                seen += len(resp.events)
            elapsed = time.perf_counter() - start
        finally:
            call.cancel()
            out, _ = await asyncio.wait_for(proc.communicate(), deadline.remaining() + 10)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    return {
        "events_per_s": live_rate(seen, first, start + elapsed),
        "writer_ops_per_s": float(json.loads(lines[-1])["ops_per_s"]) if lines else 0.0,
        "max_lag_ms": max(lags) * 1e3 if lags else None,
        "p99_lag_ms": percentile(lags, 0.99) * 1e3 if lags else None,
        "delivered": seen,
    }


class _Tally:
    """Reads one stream in a task: counts created responses and events per key."""

    def __init__(self, call: Any, watches: int) -> None:
        self.call, self.watches = call, watches
        self.created = 0
        self.all_created = asyncio.Event()
        self.per_key: dict[bytes, int] = {}
        self.events = 0
        self.last_event = 0.0
        self.all_events = asyncio.Event()
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                resp = await self.call.read()
                if resp is grpc.aio.EOF:
                    return
                if resp.created:
                    self.created += 1
                    if self.created >= self.watches:
                        self.all_created.set()
                for ev in resp.events:
                    self.per_key[ev.kv.key] = self.per_key.get(ev.kv.key, 0) + 1
                if resp.events:
                    self.events += len(resp.events)
                    self.last_event = time.time()
                    if len(self.per_key) >= self.watches:
                        self.all_events.set()
        except (grpc.RpcError, asyncio.CancelledError):
            pass  # the stream broke (workload 8) or was cancelled: no resume here
        finally:
            self.all_created.set()
            self.all_events.set()


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


async def _watch_all(ch: grpc.aio.Channel, p: Params) -> tuple[Any, _Tally, float]:
    """One stream; every create request written at once; wait for every created response."""
    n = p["watches"]
    call = rpc_grpc.WatchStub(ch).Watch()
    tally = _Tally(call, n)
    start = time.perf_counter()
    for i in range(n):
        await call.write(_create(f"{p['prefix']}{i:06d}".encode()))
    await _wait(tally.all_created, p["deadline_s"])
    if tally.created < n:
        raise TimeoutError(f"{tally.created}/{n} watches created")
    return call, tally, time.perf_counter() - start


async def _many_watches(p: Params) -> dict[str, Any]:
    n = p["watches"]
    async with _channel(p) as ch:
        kv = rpc_grpc.KVStub(ch)
        await kv.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=b"x"))
        rss0, threads0 = rss_kb(), os_threads()
        call, tally, create_s = await _watch_all(ch, p)
        rss1, threads1 = rss_kb(), os_threads()
        start = time.perf_counter()
        for i in range(n):
            await kv.Put(rpc.PutRequest(key=f"{p['prefix']}{i:06d}".encode(), value=b"x"))
        await _wait(tally.all_events, p["deadline_s"])
        deliver_s = time.perf_counter() - start
        call.cancel()
    return {
        "create_s": create_s,
        "rss_kb_per_watch": (rss1 - rss0) / n,
        "os_threads_before": threads0,
        "os_threads_after": threads1,
        "deliver_s": deliver_s,
        "delivered": tally.events,
    }


async def _resume(p: Params) -> dict[str, Any]:
    async with _channel(p) as ch:
        kv = rpc_grpc.KVStub(ch)
        resp = await kv.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=b"x"))
        call, tally, _ = await _watch_all(ch, p)
        emit_event("ready", revision=resp.header.revision)
        loop = asyncio.get_running_loop()
        msg = await loop.run_in_executor(None, read_stdin_json, p.get("wait_s", 120.0))
        if msg is None:
            raise TimeoutError("no 'written' line from the harness")
        await _wait(tally.all_events, p["deadline_s"])
        call.cancel()
    seen = len(tally.per_key)
    return {
        "resume_s": tally.last_event - msg["t0"] if tally.events else None,
        "delivered": tally.events,
        "lost": msg["written"] - seen,
        "duplicated": tally.events - seen,
    }


ASYNC = {
    "put_seq": _put_seq,
    "get_seq": _get_seq,
    "put_concurrent": _put_concurrent,
    "range_decode": _range_decode,
    "watch_replay": _watch_replay,
    "watch_live": _watch_live,
    "many_watches": _many_watches,
    "resume": _resume,
}


def _sync(name: str) -> Any:
    def handler(p: Params) -> dict[str, Any]:
        return asyncio.run(ASYNC[name](p))

    return handler


HANDLERS = {name: _sync(name) for name in ASYNC}

if __name__ == "__main__":
    sys.exit(run_worker(HANDLERS))
