"""Benchmark worker for the raw sync gRPC stubs: the Python floor, with no client code around.

Runs in ``bench/.venvs/raw`` (grpcio and protobuf only); the generated etcdserverpb modules
are loaded from the repo without importing ``etcd3py`` (``_common.load_stubs``). Unary calls
go through one ``grpc.insecure_channel``; a watch is a bare ``Watch`` stream: one create
request per watch, events counted, and no resume logic, so workload 8 reports what a client
without resume gets.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Deadline,
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
    timed_calls,
    workload_key,
)

rpc, rpc_grpc = load_stubs()
Params = dict[str, Any]
OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def _channel(p: Params) -> grpc.Channel:
    return grpc.insecure_channel(p["endpoint"], options=OPTIONS)


def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential Put calls."""
    value = b"v" * p["value_size"]
    keys = [workload_key(p["prefix"], i) for i in range(p["count"])]
    with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        stub.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=value))
        return timed_calls(
            len(keys), p["deadline_s"], lambda i: stub.Put(rpc.PutRequest(key=keys[i], value=value))
        )


def get_seq(p: Params) -> dict[str, Any]:
    """Workload 2: sequential Range calls of one key, reading its value."""
    key = p["key"].encode()
    with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        stub.Range(rpc.RangeRequest(key=key))
        request = rpc.RangeRequest(key=key)
        return timed_calls(p["count"], p["deadline_s"], lambda _: stub.Range(request).kvs[0].value)


def put_concurrent(p: Params) -> dict[str, Any]:
    """Workload 3: Put calls from ``concurrency`` threads sharing one channel and stub."""
    value = b"v" * p["value_size"]
    threads, count = p["concurrency"], p["count"]
    deadline = Deadline(p["deadline_s"])
    done = [0] * threads
    errors: list[BaseException] = []

    def run(t: int, stub: Any) -> None:
        try:
            for i in range(t, count, threads):
                stub.Put(rpc.PutRequest(key=workload_key(p["prefix"], i), value=value))
                done[t] += 1
                if deadline.passed():
                    return
        except BaseException as exc:  # reported below
            errors.append(exc)

    with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        stub.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=value))
        workers = [threading.Thread(target=run, args=(t, stub)) for t in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return {"ops_per_s": sum(done) / elapsed}


def range_decode(p: Params) -> dict[str, Any]:
    """Workload 4: one Range of ``keys`` keys; time to the message, then to touch every byte."""
    key = p["prefix"].encode()
    with _channel(p) as ch:
        stub = rpc_grpc.KVStub(ch)
        stub.Range(rpc.RangeRequest(key=key + b"warm"))
        t0 = time.perf_counter()
        resp = stub.Range(rpc.RangeRequest(key=key, range_end=prefix_range_end(key)))
        t1 = time.perf_counter()
        total = 0
        for kv in resp.kvs:
            total += len(kv.key) + len(kv.value)
        t2 = time.perf_counter()
    check_range(len(resp.kvs), total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": len(resp.kvs)}


class _Stream:
    """A bare Watch stream: requests are fed from a queue; ``close`` ends and cancels it."""

    def __init__(self, ch: grpc.Channel, deadline_s: float) -> None:
        self.requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.deadline = Deadline(deadline_s)
        self.call = rpc_grpc.WatchStub(ch).Watch(self._iter())

    def _iter(self) -> Iterator[Any]:
        while True:
            try:
                req = self.requests.get(timeout=max(0.01, self.deadline.remaining()))
            except queue.Empty:
                return
            if req is None:
                return
            yield req

    def create(self, key: bytes, range_end: bytes = b"", start_revision: int = 0) -> None:
        """Send one create request."""
        create = rpc.WatchCreateRequest(key=key, range_end=range_end, start_revision=start_revision)
        self.requests.put(rpc.WatchRequest(create_request=create))

    def close(self) -> None:
        """Stop sending and cancel the call."""
        self.requests.put(None)
        self.call.cancel()


def _prefix_stream(ch: grpc.Channel, p: Params, rev: int) -> _Stream:
    """Open a stream with one prefix watch and wait for its created response."""
    key = p["prefix"].encode()
    stream = _Stream(ch, p["deadline_s"])
    stream.create(key, prefix_range_end(key), rev)
    first = next(stream.call)
    if not first.created:
        raise RuntimeError(f"first watch response is not created: {first}")
    return stream


def watch_replay(p: Params) -> dict[str, Any]:
    """Workload 5: replay the prefix from ``start_rev`` until ``events`` events arrived."""
    want, seen = p["events"], 0
    deadline = Deadline(p["deadline_s"])
    with _channel(p) as ch:
        start = time.perf_counter()
        stream = _prefix_stream(ch, p, p["start_rev"])
        try:
            for resp in stream.call:
                for ev in resp.events:
                    _ = ev.kv.key
                seen += len(resp.events)
                if seen >= want or deadline.passed():
                    break
            elapsed = time.perf_counter() - start
        finally:
            stream.close()
    return {"events_per_s": seen / elapsed, "seconds": elapsed, "events": seen}


def _writer_rate(proc: subprocess.Popen[str], timeout: float) -> float:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return float(json.loads(lines[-1])["ops_per_s"]) if lines else 0.0


def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: one prefix watch while the writer process puts ``count`` stamped keys."""
    want, seen, first = p["count"], 0, 0.0
    lags: list[float] = []
    deadline = Deadline(p["deadline_s"])
    with _channel(p) as ch:
        stream = _prefix_stream(ch, p, 0)
        proc = subprocess.Popen(p["writer"], stdout=subprocess.PIPE, text=True)
        start = time.perf_counter()
        try:
            for resp in stream.call:
                now = time.time()
                if resp.events and not first:
                    first = time.perf_counter()
                for ev in resp.events:
                    lags.append(now - lag_stamp(ev.kv.value))
                seen += len(resp.events)
                if seen >= want or deadline.passed():
                    break
            elapsed = time.perf_counter() - start
        finally:
            stream.close()
            rate = _writer_rate(proc, deadline.remaining() + 10)
    return {
        "events_per_s": live_rate(seen, first, start + elapsed),
        "writer_ops_per_s": rate,
        "max_lag_ms": max(lags) * 1e3 if lags else None,
        "p99_lag_ms": percentile(lags, 0.99) * 1e3 if lags else None,
        "delivered": seen,
    }


class _Tally:
    """Reads one stream on a thread: counts created responses and events per key."""

    def __init__(self, stream: _Stream, watches: int) -> None:
        self.stream, self.watches = stream, watches
        self.created = 0
        self.all_created = threading.Event()
        self.per_key: dict[bytes, int] = {}
        self.events = 0
        self.last_event = 0.0
        self.all_events = threading.Event()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for resp in self.stream.call:
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
        except grpc.RpcError:
            pass  # the stream broke (workload 8) or was cancelled: no resume here
        finally:
            self.ended.set()
            self.all_created.set()
            self.all_events.set()


def _watch_all(ch: grpc.Channel, p: Params) -> tuple[_Stream, _Tally, float]:
    """One stream; every create request sent at once; wait for every created response."""
    n = p["watches"]
    stream = _Stream(ch, p["deadline_s"] + p.get("wait_s", 0.0) + 60.0)
    tally = _Tally(stream, n)
    start = time.perf_counter()
    for i in range(n):
        stream.create(workload_key(p["prefix"], i))
    tally.all_created.wait(p["deadline_s"])
    if tally.created < n:
        raise TimeoutError(f"{tally.created}/{n} watches created")
    return stream, tally, time.perf_counter() - start


def many_watches(p: Params) -> dict[str, Any]:
    """Workload 7: one watch per key on one stream; creation time, RSS, threads, delivery."""
    n = p["watches"]
    with _channel(p) as ch:
        kv = rpc_grpc.KVStub(ch)
        kv.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=b"x"))
        rss0, threads0 = rss_kb(), os_threads()
        stream, tally, create_s = _watch_all(ch, p)
        rss1, threads1 = rss_kb(), os_threads()
        start = time.perf_counter()
        for i in range(n):
            kv.Put(rpc.PutRequest(key=workload_key(p["prefix"], i), value=b"x"))
        tally.all_events.wait(p["deadline_s"])
        deliver_s = time.perf_counter() - start
        stream.close()
    return {
        "create_s": create_s,
        "rss_kb_per_watch": (rss1 - rss0) / n,
        "os_threads_before": threads0,
        "os_threads_after": threads1,
        "deliver_s": deliver_s,
        "delivered": tally.events,
    }


def resume(p: Params) -> dict[str, Any]:
    """Workload 8: a bare stream across a broken connection reports what it got."""
    with _channel(p) as ch:
        kv = rpc_grpc.KVStub(ch)
        resp = kv.Put(rpc.PutRequest(key=(p["prefix"] + "warm").encode(), value=b"x"))
        stream, tally, _ = _watch_all(ch, p)
        emit_event("ready", revision=resp.header.revision)
        msg = read_stdin_json(p.get("wait_s", 120.0))
        if msg is None:
            raise TimeoutError("no 'written' line from the harness")
        tally.all_events.wait(p["deadline_s"])
        seen, events, last = len(tally.per_key), tally.events, tally.last_event
        stream.close()
    return {
        "resume_s": last - msg["t0"] if events else None,
        "delivered": events,
        "lost": msg["written"] - seen,
        "duplicated": events - seen,
    }


HANDLERS = {
    "put_seq": put_seq,
    "get_seq": get_seq,
    "put_concurrent": put_concurrent,
    "range_decode": range_decode,
    "watch_replay": watch_replay,
    "watch_live": watch_live,
    "many_watches": many_watches,
    "resume": resume,
}

if __name__ == "__main__":
    sys.exit(run_worker(HANDLERS))
