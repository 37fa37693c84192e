"""Benchmark worker for etcd3py: every workload 1-9 through the public API only.

Runs in ``bench/.venvs/etcd3py`` (this repo installed editable). One ``Client``; watches are
iterators (``client.watch``) for one watch, callbacks (``add_watch_callback`` with
``created_notify=True``) for many; ``put_concurrent`` shares one Client among threads.
``soak`` reads the watch and keep-alive counts of the client's gRPC watcher and lease
(``watch_count``, ``lease.driver.streams()``) to know when the client has settled.
See ``bench/README.md`` for the workloads and ``_common.py`` for the command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Deadline,
    SoakSnapshot,
    check_range,
    emit_event,
    lag_stamp,
    live_rate,
    os_threads,
    percentile,
    py_threads,
    read_stdin_json,
    rss_kb,
    run_worker,
    settle,
    soak_cycles,
    soak_metrics,
    timed_calls,
    workload_key,
)

from etcd3py import Client, WatchResponse
from etcd3py.lease import GrpcLease
from etcd3py.watch import GrpcWatcher

Params = dict[str, Any]


#: Creates in flight per watch stream for the many-watch workloads (7 and 8): etcd3py's
#: documented setting for programs with thousands of watches (the default, 1, is clientv3's).
CREATE_WINDOW = 256


def _client(p: Params, *, create_window: int = 1) -> Client:
    return Client(endpoints=[p["endpoint"]], watch_create_window=create_window)


def put_seq(p: Params) -> dict[str, Any]:
    """Workload 1: sequential puts of ``count`` values."""
    value = b"v" * p["value_size"]
    keys = [workload_key(p["prefix"], i) for i in range(p["count"])]
    with _client(p) as client:
        client.put(p["prefix"] + "warm", value)
        return timed_calls(len(keys), p["deadline_s"], lambda i: client.put(keys[i], value))


def get_seq(p: Params) -> dict[str, Any]:
    """Workload 2: ``count`` gets of one existing key, reading its value."""
    key = p["key"]
    with _client(p) as client:
        client.get(key)
        return timed_calls(p["count"], p["deadline_s"], lambda _: client.get(key).kvs[0].value)


def put_concurrent(p: Params) -> dict[str, Any]:
    """Workload 3: ``count`` puts from ``concurrency`` threads sharing one Client."""
    value = b"v" * p["value_size"]
    threads, count = p["concurrency"], p["count"]
    deadline = Deadline(p["deadline_s"])
    done = [0] * threads
    errors: list[BaseException] = []

    def run(t: int, client: Client) -> None:
        try:
            for i in range(t, count, threads):
                client.put(workload_key(p["prefix"], i), value)
                done[t] += 1
                if deadline.passed():
                    return
        except BaseException as exc:  # reported below
            errors.append(exc)

    with _client(p) as client:
        client.put(p["prefix"] + "warm", value)
        workers = [threading.Thread(target=run, args=(t, client)) for t in range(threads)]
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
    """Workload 4: one get of ``keys`` keys; time to results, then to touch every byte."""
    with _client(p) as client:
        client.get(p["prefix"] + "warm")
        t0 = time.perf_counter()
        resp = client.get(p["prefix"], prefix=True)
        t1 = time.perf_counter()
        total = 0
        for kv in resp.kvs:
            total += len(kv.key) + len(kv.value)
        t2 = time.perf_counter()
    n = len(resp.kvs)
    check_range(n, total, p)
    return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": n}


def watch_replay(p: Params) -> dict[str, Any]:
    """Workload 5: replay a prefix from ``start_rev`` until ``events`` events arrived."""
    want, seen = p["events"], 0
    deadline = Deadline(p["deadline_s"])
    with _client(p) as client:
        client.get(p["prefix"] + "warm")
        start = time.perf_counter()
        with client.watch(p["prefix"], prefix=True, rev=p["start_rev"]) as chan:
            for resp in chan:
                for ev in resp.events:
                    _ = ev.kv.key
                seen += len(resp.events)
                if seen >= want or deadline.passed():
                    break
        elapsed = time.perf_counter() - start
    return {"events_per_s": seen / elapsed, "seconds": elapsed, "events": seen}


def _writer_result(proc: subprocess.Popen[str], timeout: float) -> float:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return float(json.loads(lines[-1])["ops_per_s"]) if lines else 0.0


def watch_live(p: Params) -> dict[str, Any]:
    """Workload 6: one prefix watch while the writer process puts ``count`` stamped keys."""
    want, seen, first = p["count"], 0, 0.0
    lags: list[float] = []
    deadline = Deadline(p["deadline_s"])
    with _client(p) as client:
        chan = client.watch(p["prefix"], prefix=True)  # returns once created
        proc = subprocess.Popen(p["writer"], stdout=subprocess.PIPE, text=True)
        start = time.perf_counter()
        try:
            for resp in chan:
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
            chan.close()
            writer_rate = _writer_result(proc, deadline.remaining() + 10)
    return {
        "events_per_s": live_rate(seen, first, start + elapsed),
        "writer_ops_per_s": writer_rate,
        "max_lag_ms": max(lags) * 1e3 if lags else None,
        "p99_lag_ms": percentile(lags, 0.99) * 1e3 if lags else None,
        "delivered": seen,
    }


class _Counter:
    """Counts created responses and events per key from callbacks (dispatcher thread)."""

    def __init__(self, watches: int) -> None:
        self.watches = watches
        self.lock = threading.Lock()
        self.created = 0
        self.all_created = threading.Event()
        self.per_key: dict[bytes, int] = {}
        self.events = 0
        self.last_event = 0.0
        self.expected_events = watches
        self.all_events = threading.Event()

    def __call__(self, resp: WatchResponse) -> None:
        with self.lock:
            if resp.created:
                self.created += 1
                if self.created >= self.watches:
                    self.all_created.set()
            if resp.events:
                for ev in resp.events:
                    key = ev.kv.key
                    self.per_key[key] = self.per_key.get(key, 0) + 1
                self.events += len(resp.events)
                self.last_event = time.time()
                if len(self.per_key) >= self.expected_events:
                    self.all_events.set()


def _watch_all(client: Client, p: Params, counter: _Counter) -> tuple[list[Any], float]:
    start = time.perf_counter()
    handles = [
        client.add_watch_callback(
            workload_key(p["prefix"], i), counter, created_notify=True, wait=False
        )
        for i in range(p["watches"])
    ]
    if not counter.all_created.wait(p["deadline_s"]):
        raise TimeoutError(f"{counter.created}/{p['watches']} watches created in time")
    return handles, time.perf_counter() - start


def many_watches(p: Params) -> dict[str, Any]:
    """Workload 7: one callback watch per key; creation time, RSS, threads, delivery."""
    n = p["watches"]
    counter = _Counter(n)
    with _client(p, create_window=CREATE_WINDOW) as client:
        client.put(p["prefix"] + "warm", b"x")  # channel up before measuring
        rss0, threads0 = rss_kb(), os_threads()
        handles, create_s = _watch_all(client, p, counter)
        rss1, threads1 = rss_kb(), os_threads()
        start = time.perf_counter()
        for i in range(n):
            client.put(workload_key(p["prefix"], i), b"x")
        counter.all_events.wait(p["deadline_s"])
        deliver_s = time.perf_counter() - start
        for h in handles:
            h.close()
    return {
        "create_s": create_s,
        "rss_kb_per_watch": (rss1 - rss0) / n,
        "os_threads_before": threads0,
        "os_threads_after": threads1,
        "deliver_s": deliver_s,
        "delivered": counter.events,
    }


def resume(p: Params) -> dict[str, Any]:
    """Workload 8: watches across a broken connection; time to every event, lost, duplicated."""
    n = p["watches"]
    counter = _Counter(n)
    with _client(p, create_window=CREATE_WINDOW) as client:
        rev = client.put(p["prefix"] + "warm", b"x").header.revision
        handles, _ = _watch_all(client, p, counter)
        emit_event("ready", revision=rev)
        msg = read_stdin_json(p.get("wait_s", 120.0))
        if msg is None:
            raise TimeoutError("no 'written' line from the harness")
        counter.all_events.wait(p["deadline_s"])
        with counter.lock:
            seen, events, last = len(counter.per_key), counter.events, counter.last_event
        for h in handles:
            h.close()
    return {
        "resume_s": last - msg["t0"] if events else None,
        "delivered": events,
        "lost": msg["written"] - seen,
        "duplicated": events - seen,
    }


#: Seconds a soak lease cycle waits for its keep-alive's first renewal.
RENEWAL_WAIT_S = 10.0
#: Watches that stay open across the soak (one anchor, so the watch stream stays up).
ANCHORS = 1


def _grpc_parts(client: Client) -> tuple[GrpcWatcher, GrpcLease]:
    watcher, lease = client.watcher, client.lease
    if not isinstance(watcher, GrpcWatcher) or not isinstance(lease, GrpcLease):
        raise TypeError(f"soak needs the gRPC watcher and lease, not {watcher!r}, {lease!r}")
    return watcher, lease


def _quiet(client: Client, threads: int | None) -> Callable[[], bool]:
    """Return whether the client is at rest: only the anchor watch, no keep-alive stream, and
    (when given) no more Python threads than ``threads`` (a closed stream's end a moment
    later; gRPC's C-core pool may keep an OS thread more, so OS threads are not waited for)."""
    watcher, lease = _grpc_parts(client)

    def quiet() -> bool:
        return (
            watcher.watch_count <= ANCHORS
            and not lease.driver.streams()
            and (threads is None or py_threads() <= threads)
        )

    return quiet


def _watch_cycle(client: Client, prefix: str) -> Callable[[int], None]:
    """One watch cycle: a watch from now (``watch`` returns once it is created), closed."""

    def one(i: int) -> None:
        client.watch(workload_key(prefix, i)).close()

    return one


def _lease_cycle(client: Client, ttl: int) -> Callable[[int], None]:
    """One lease cycle: grant, keep alive until the first renewal, stop, revoke."""

    def one(i: int) -> None:
        lease = client.grant(ttl)
        with client.keep_alive(lease) as ka:
            if ka.get(RENEWAL_WAIT_S) is None:
                raise TimeoutError(f"no renewal of lease {lease.id} in {RENEWAL_WAIT_S}s: {ka!r}")
        client.revoke(lease)

    return one


def soak(p: Params) -> dict[str, Any]:
    """Workload 9: watch create/close cycles, then lease grant/keep-alive/revoke cycles, on
    one client with an anchor watch open; RSS and threads after a warm-up and after each
    phase, each time once the client settled."""
    deadline_s = p["deadline_s"]
    with _client(p) as client:
        watch_one = _watch_cycle(client, p["prefix"])
        lease_one = _lease_cycle(client, p["lease_ttl"])
        rss_start = rss_kb()
        with client.watch(p["prefix"] + "anchor"):
            soak_cycles(p["warmup_watch_cycles"], deadline_s, watch_one)
            soak_cycles(p["warmup_lease_cycles"], deadline_s, lease_one)
            settle(_quiet(client, None))
            before = SoakSnapshot.take()
            watch = soak_cycles(p["watch_cycles"], deadline_s, watch_one)
            settle(_quiet(client, before.py_threads))
            after_watch = SoakSnapshot.take()
            lease = soak_cycles(p["lease_cycles"], deadline_s, lease_one)
            settle(_quiet(client, before.py_threads))
            after_lease = SoakSnapshot.take()
            watcher, grpc_lease = _grpc_parts(client)
            live = {
                "watches_live_after": watcher.watch_count,
                "keepalive_streams_after": len(grpc_lease.driver.streams()),
            }
    return {**soak_metrics(rss_start, before, watch, after_watch, lease, after_lease), **live}


HANDLERS = {
    "put_seq": put_seq,
    "get_seq": get_seq,
    "put_concurrent": put_concurrent,
    "range_decode": range_decode,
    "watch_replay": watch_replay,
    "watch_live": watch_live,
    "many_watches": many_watches,
    "resume": resume,
    "soak": soak,
}

if __name__ == "__main__":
    sys.exit(run_worker(HANDLERS))
