"""Benchmark worker for python-etcd3 (PyPI ``etcd3`` 0.12.0), a threaded sync client.

Runs in ``bench/.venvs/python_etcd3``. Every workload uses the client's own public API and
result objects: ``put``, ``get`` (``(value, KVMetadata)``), ``get_prefix`` (a generator of
``(value, KVMetadata)`` tuples) and the callback watches ``add_watch_prefix_callback(...,
start_revision=)`` / ``add_watch_callback``, which run on the client's one watch thread.

What the client does (read from its source): one ``grpc.insecure_channel``; one ``Watcher`` per
client with one daemon thread reading one Watch stream; ``add_watch_callback`` sends one create
request and blocks until its ``created`` response (one create in flight at a time), so N
watches cost N round trips; each event is wrapped in a ``PutEvent`` whose attributes proxy the
protobuf event. When the stream breaks, every callback receives the error and is dropped and a
new, empty stream is opened: watches are not resumed (workload 8 reports what it got).

``make_handlers`` takes the client module, so ``etcd_sdk_python_worker.py`` (``pyetcd``, a fork
with the same API) runs the same workloads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Deadline,
    check_range,
    emit_event,
    lag_stamp,
    live_rate,
    os_threads,
    percentile,
    read_stdin_json,
    rss_kb,
    run_worker,
    timed_calls,
    workload_key,
)

__all__ = ["make_handlers"]

Params = dict[str, Any]
Handler = Callable[[Params], dict[str, Any]]


def _writer_rate(proc: subprocess.Popen[str], timeout: float) -> float:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return float(json.loads(lines[-1])["ops_per_s"]) if lines else 0.0


def _join_watch_threads(timeout_s: float = 2.0) -> None:
    """Wait for the client's watch thread to end after ``close`` (no output at shutdown)."""
    for thread in threading.enumerate():
        if thread.name.startswith("etcd3_watch_"):
            thread.join(timeout_s)


class _Tally:
    """Counts events per key from watch callbacks (called on the client's watch thread)."""

    def __init__(self, want_keys: int) -> None:
        self.want_keys = want_keys
        self.per_key: dict[bytes, int] = {}
        self.events = 0
        self.errors = 0
        self.last_event = 0.0
        self.done = threading.Event()
        self.lock = threading.Lock()

    def callback(self, resp: Any) -> None:
        """A watch callback: a WatchResponse, or an exception when the stream broke."""
        if isinstance(resp, BaseException):
            with self.lock:
                self.errors += 1
            return
        now = time.time()
        with self.lock:
            for ev in resp.events:
                self.per_key[ev.key] = self.per_key.get(ev.key, 0) + 1
            self.events += len(resp.events)
            if resp.events:
                self.last_event = now
            if len(self.per_key) >= self.want_keys:
                self.done.set()


class _Workloads:
    """The eight workloads over one client module (``etcd3`` or its fork ``pyetcd``)."""

    def __init__(self, mod: types.ModuleType) -> None:
        self.mod = mod

    def _client(self, p: Params) -> Any:
        host, _, port = p["endpoint"].rpartition(":")
        return self.mod.client(host=host, port=int(port))

    def put_seq(self, p: Params) -> dict[str, Any]:
        """Workload 1: sequential ``put``."""
        value = b"v" * p["value_size"]
        with self._client(p) as etcd:
            etcd.put(p["prefix"] + "warm", value)
            return timed_calls(
                p["count"], p["deadline_s"], lambda i: etcd.put(workload_key(p["prefix"], i), value)
            )

    def get_seq(self, p: Params) -> dict[str, Any]:
        """Workload 2: sequential ``get`` of one key, reading its value."""
        key = p["key"]
        with self._client(p) as etcd:
            etcd.get(key)

            def get(_: int) -> bytes:
                value, _meta = etcd.get(key)
                if value is None:
                    raise KeyError(f"{key} not found")
                return bytes(value)

            return timed_calls(p["count"], p["deadline_s"], get)

    def put_concurrent(self, p: Params) -> dict[str, Any]:
        """Workload 3: ``put`` from ``concurrency`` threads sharing one client."""
        value = b"v" * p["value_size"]
        threads, count = p["concurrency"], p["count"]
        deadline = Deadline(p["deadline_s"])
        done = [0] * threads
        errors: list[BaseException] = []

        def run(t: int, etcd: Any) -> None:
            try:
                for i in range(t, count, threads):
                    etcd.put(workload_key(p["prefix"], i), value)
                    done[t] += 1
                    if deadline.passed():
                        return
            except BaseException as exc:  # reported below
                errors.append(exc)

        with self._client(p) as etcd:
            etcd.put(p["prefix"] + "warm", value)
            workers = [threading.Thread(target=run, args=(t, etcd)) for t in range(threads)]
            start = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - start
        if errors:
            raise errors[0]
        return {"ops_per_s": sum(done) / elapsed}

    def range_decode(self, p: Params) -> dict[str, Any]:
        """Workload 4: ``get_prefix`` into its ``(value, KVMetadata)`` tuples, then touch them."""
        with self._client(p) as etcd:
            etcd.get(p["prefix"] + "warm")
            t0 = time.perf_counter()
            # get_prefix returns a generator: the result objects exist once it is consumed.
            items = list(etcd.get_prefix(p["prefix"]))
            t1 = time.perf_counter()
            total = 0
            for value, meta in items:
                total += len(meta.key) + len(value)
            t2 = time.perf_counter()
        check_range(len(items), total, p)
        return {"decode_s": t1 - t0, "touch_s": t2 - t1, "keys": len(items)}

    def watch_replay(self, p: Params) -> dict[str, Any]:
        """Workload 5: a prefix watch callback from ``start_rev`` until ``events`` arrived."""
        want = p["events"]
        seen = [0]
        done = threading.Event()
        errors: list[BaseException] = []

        def callback(resp: Any) -> None:
            if isinstance(resp, BaseException):
                errors.append(resp)
                done.set()
                return
            for ev in resp.events:
                _ = ev.key
            seen[0] += len(resp.events)
            if seen[0] >= want:
                done.set()

        with self._client(p) as etcd:
            start = time.perf_counter()
            wid = etcd.add_watch_prefix_callback(
                p["prefix"], callback, start_revision=p["start_rev"]
            )
            done.wait(p["deadline_s"])
            elapsed = time.perf_counter() - start
            etcd.cancel_watch(wid)
        _join_watch_threads()
        if errors:
            raise errors[0]
        return {"events_per_s": seen[0] / elapsed, "seconds": elapsed, "events": seen[0]}

    def watch_live(self, p: Params) -> dict[str, Any]:
        """Workload 6: one prefix watch callback while the writer process puts."""
        want = p["count"]
        lags: list[float] = []
        marks = {"first": 0.0, "last": 0.0}
        done = threading.Event()

        def callback(resp: Any) -> None:
            if isinstance(resp, BaseException):
                done.set()
                return
            now = time.time()
            for ev in resp.events:
                lags.append(now - lag_stamp(ev.value))
            if resp.events:
                marks["last"] = time.perf_counter()
                marks["first"] = marks["first"] or marks["last"]
            if len(lags) >= want:
                done.set()

        deadline = Deadline(p["deadline_s"])
        with self._client(p) as etcd:
            wid = etcd.add_watch_prefix_callback(p["prefix"], callback)  # returns once created
            proc = subprocess.Popen(p["writer"], stdout=subprocess.PIPE, text=True)
            try:
                done.wait(deadline.remaining())
            finally:
                rate = _writer_rate(proc, deadline.remaining() + 10)
            etcd.cancel_watch(wid)
        _join_watch_threads()
        seen = len(lags)
        return {
            "events_per_s": live_rate(seen, marks["first"], marks["last"]),
            "writer_ops_per_s": rate,
            "max_lag_ms": max(lags) * 1e3 if lags else None,
            "p99_lag_ms": percentile(lags, 0.99) * 1e3 if lags else None,
            "delivered": seen,
        }

    def _watch_all(self, etcd: Any, p: Params, tally: _Tally) -> float:
        """One callback watch per key; each call returns once its watch is created."""
        deadline = Deadline(p["deadline_s"])
        start = time.perf_counter()
        for i in range(p["watches"]):
            etcd.add_watch_callback(workload_key(p["prefix"], i), tally.callback)
            if deadline.passed():
                raise TimeoutError(f"{i + 1}/{p['watches']} watches created in time")
        return time.perf_counter() - start

    def many_watches(self, p: Params) -> dict[str, Any]:
        """Workload 7: one watch per key; creation time, RSS, threads, delivery."""
        n = p["watches"]
        tally = _Tally(n)
        with self._client(p) as etcd:
            etcd.put(p["prefix"] + "warm", b"x")
            rss0, threads0 = rss_kb(), os_threads()
            create_s = self._watch_all(etcd, p, tally)
            rss1, threads1 = rss_kb(), os_threads()
            start = time.perf_counter()
            for i in range(n):
                etcd.put(workload_key(p["prefix"], i), b"x")
            tally.done.wait(p["deadline_s"])
            deliver_s = time.perf_counter() - start
        _join_watch_threads()
        return {
            "create_s": create_s,
            "rss_kb_per_watch": (rss1 - rss0) / n,
            "os_threads_before": threads0,
            "os_threads_after": threads1,
            "deliver_s": deliver_s,
            "delivered": tally.events,
        }

    def resume(self, p: Params) -> dict[str, Any]:
        """Workload 8: the watches across a broken connection; reports what arrived."""
        tally = _Tally(p["watches"])
        with self._client(p) as etcd:
            resp = etcd.put(p["prefix"] + "warm", b"x")
            self._watch_all(etcd, p, tally)
            emit_event("ready", revision=resp.header.revision)
            msg = read_stdin_json(p.get("wait_s", 120.0))
            if msg is None:
                raise TimeoutError("no 'written' line from the harness")
            tally.done.wait(p["deadline_s"])
            with tally.lock:
                seen, events, last = len(tally.per_key), tally.events, tally.last_event
        _join_watch_threads()
        return {
            "resume_s": last - msg["t0"] if events else None,
            "delivered": events,
            "lost": msg["written"] - seen,
            "duplicated": events - seen,
            "stream_errors": tally.errors,
        }


def _quiet_closed_channel(args: threading.ExceptHookArgs) -> None:
    """Print one line, not a traceback, when the watch thread dies on the closed channel.

    python-etcd3's watch thread reopens its stream forever; closing the client at the end of
    a watch workload makes that reopen raise ``ValueError`` on the closed channel.
    """
    if isinstance(args.exc_value, ValueError) and "closed" in str(args.exc_value).lower():
        print(f"watch thread ended: {args.exc_value}", file=sys.stderr)
        return
    threading.__excepthook__(args)


def make_handlers(mod: types.ModuleType) -> dict[str, Handler]:
    """Return the workload handlers for a python-etcd3-compatible client module.

    Args:
        mod: ``etcd3`` or ``pyetcd`` (its ``client(host=, port=)`` makes the client).

    Returns:
        workload name -> handler, for ``run_worker``.
    """
    w = _Workloads(mod)
    threading.excepthook = _quiet_closed_channel
    return {
        "put_seq": w.put_seq,
        "get_seq": w.get_seq,
        "put_concurrent": w.put_concurrent,
        "range_decode": w.range_decode,
        "watch_replay": w.watch_replay,
        "watch_live": w.watch_live,
        "many_watches": w.many_watches,
        "resume": w.resume,
    }


if __name__ == "__main__":
    import etcd3

    sys.exit(run_worker(make_handlers(etcd3)))
