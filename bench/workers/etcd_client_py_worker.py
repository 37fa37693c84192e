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
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import etcd_client
from _common import (
    Deadline,
    atimed_calls,
    check_range,
    emit_event,
    lag_stamp,
    live_rate,
    os_threads,
    percentile,
    read_stdin_json,
    rss_kb,
    run_worker,
)

__all__: list[str] = []

Params = dict[str, Any]
UNSUPPORTED = {
    "watch_replay": "no start revision: Communicator.watch_prefix(key, once, ready_event, "
    "cleanup_event) cannot watch from a past revision",
}


def _key(p: Params, i: int) -> bytes:
    return f"{p['prefix']}{i:06d}".encode()


def _client(p: Params) -> Any:
    return etcd_client.Client([f"http://{p['endpoint']}"]).connect()


def _sync(fn: Callable[[Params], Awaitable[dict[str, Any]]]) -> Callable[[Params], dict]:
    """Run an async workload in a fresh event loop."""

    def run(p: Params) -> dict[str, Any]:
        return asyncio.run(fn(p))

    return run


async def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential ``put``."""
    value = b"v" * p["value_size"]
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), value)
        return await atimed_calls(
            p["count"], p["deadline_s"], lambda i: etcd.put(_key(p, i), value)
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
    tasks, count = p["concurrency"], p["count"]
    deadline = Deadline(p["deadline_s"])
    done = [0] * tasks

    async def run(t: int, etcd: Any) -> None:
        for i in range(t, count, tasks):
            await etcd.put(_key(p, i), value)
            done[t] += 1
            if deadline.passed():
                return

    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), value)
        start = time.perf_counter()
        await asyncio.gather(*(run(t, etcd) for t in range(tasks)))
        elapsed = time.perf_counter() - start
    return {"ops_per_s": sum(done) / elapsed}


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


def _writer_rate(proc: subprocess.Popen[str], timeout: float) -> float:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return float(json.loads(lines[-1])["ops_per_s"]) if lines else 0.0


async def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: one ``watch_prefix`` while the writer process puts."""
    want = p["count"]
    lags: list[float] = []
    marks = {"first": 0.0, "last": 0.0}
    deadline = Deadline(p["deadline_s"])
    async with _client(p) as etcd:
        ready = etcd_client.CondVar()
        watch = etcd.watch_prefix(p["prefix"].encode(), ready_event=ready)

        async def consume() -> None:
            async for event in watch:
                lags.append(time.time() - lag_stamp(event.value))
                marks["last"] = time.perf_counter()
                marks["first"] = marks["first"] or marks["last"]
                if len(lags) >= want:
                    return

        task = asyncio.create_task(consume())  # the first __anext__ creates the watch
        await asyncio.wait_for(ready.wait(), deadline.remaining())
        proc = subprocess.Popen(p["writer"], stdout=subprocess.PIPE, text=True)
        try:
            await asyncio.wait_for(task, deadline.remaining())
        except asyncio.TimeoutError:
            pass
        finally:
            rate = await asyncio.to_thread(_writer_rate, proc, deadline.remaining() + 10)
    seen = len(lags)
    return {
        "events_per_s": live_rate(seen, marks["first"], marks["last"]),
        "writer_ops_per_s": rate,
        "max_lag_ms": max(lags) * 1e3 if lags else None,
        "p99_lag_ms": percentile(lags, 0.99) * 1e3 if lags else None,
        "delivered": seen,
    }


class _Tally:
    """Consumes many watches, one task each, counting events per key."""

    def __init__(self, want_keys: int) -> None:
        self.want_keys = want_keys
        self.per_key: dict[bytes, int] = {}
        self.events = 0
        self.errors = 0
        self.last_event = 0.0
        self.done = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def consume(self, watch: Any) -> None:
        """Count one watch's events until it ends or fails."""
        try:
            async for event in watch:
                key = event.key
                self.per_key[key] = self.per_key.get(key, 0) + 1
                self.events += 1
                self.last_event = time.time()
                if len(self.per_key) >= self.want_keys:
                    self.done.set()
        except Exception:  # the stream broke (workload 8): this client does not resume
            self.errors += 1

    async def wait(self, timeout_s: float) -> None:
        """Wait until every key had an event, or the timeout."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout_s)

    def stop(self) -> None:
        """Cancel the consumer tasks."""
        for task in self.tasks:
            task.cancel()


async def _watch_all(etcd: Any, p: Params, tally: _Tally) -> float:
    """One watch per key, all started at once (one consumer task each); wait until created."""
    start = time.perf_counter()
    readies = []
    for i in range(p["watches"]):
        ready = etcd_client.CondVar()
        watch = etcd.watch(_key(p, i), ready_event=ready)
        tally.tasks.append(asyncio.create_task(tally.consume(watch)))
        readies.append(ready.wait())
    await asyncio.wait_for(asyncio.gather(*readies), p["deadline_s"])
    return time.perf_counter() - start


async def many_watches(p: Params) -> dict[str, Any]:
    """Workload 7: one watch per key; creation time, RSS, threads, delivery."""
    n = p["watches"]
    tally = _Tally(n)
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), b"x")
        rss0, threads0 = rss_kb(), os_threads()
        create_s = await _watch_all(etcd, p, tally)
        rss1, threads1 = rss_kb(), os_threads()
        start = time.perf_counter()
        for i in range(n):
            await etcd.put(_key(p, i), b"x")
        await tally.wait(p["deadline_s"])
        deliver_s = time.perf_counter() - start
        tally.stop()
    return {
        "create_s": create_s,
        "rss_kb_per_watch": (rss1 - rss0) / n,
        "os_threads_before": threads0,
        "os_threads_after": threads1,
        "deliver_s": deliver_s,
        "delivered": tally.events,
    }


async def resume(p: Params) -> dict[str, Any]:
    """Workload 8: the watches across a broken connection; reports what arrived."""
    tally = _Tally(p["watches"])
    async with _client(p) as etcd:
        await etcd.put((p["prefix"] + "warm").encode(), b"x")
        await _watch_all(etcd, p, tally)
        emit_event("ready", revision=None)  # put returns no header: no revision to report
        msg = await asyncio.to_thread(read_stdin_json, p.get("wait_s", 120.0))
        if msg is None:
            raise TimeoutError("no 'written' line from the harness")
        await tally.wait(p["deadline_s"])
        seen, events, last = len(tally.per_key), tally.events, tally.last_event
        tally.stop()
    return {
        "resume_s": last - msg["t0"] if events else None,
        "delivered": events,
        "lost": msg["written"] - seen,
        "duplicated": events - seen,
        "stream_errors": tally.errors,
    }


HANDLERS = {
    "put_seq": _sync(put_seq),
    "get_seq": _sync(get_seq),
    "put_concurrent": _sync(put_concurrent),
    "range_decode": _sync(range_decode),
    "watch_live": _sync(watch_live),
    "many_watches": _sync(many_watches),
    "resume": _sync(resume),
}

if __name__ == "__main__":
    sys.exit(run_worker(HANDLERS, unsupported=UNSUPPORTED))
