"""Shared worker plumbing for the benchmark harness (issue 5): standard library only.

Every ``bench/workers/<client>_worker.py`` runs ONE workload once in its client's own venv and
prints, as its LAST stdout line, one JSON object (see ``bench/README.md``):

- ``{"ok": true, "metrics": {...}}``
- ``{"ok": false, "unsupported": "why"}``
- ``{"ok": false, "error": "Type: message"}``

This module owns the command line (``--endpoint``, ``--workload``, ``--params``), the
workload defaults, the result printing, latency percentiles, RSS and thread readers, the
lag timestamps of workload 6, the stdin protocol of workload 8, and the loading of the
generated gRPC stubs without importing ``etcd3py`` itself (for the raw workers and the writer).
It must stay importable with only the standard library: workers of other clients import it.

A worker is typically::

    from _common import run_worker

    def put_seq(p: dict) -> dict: ...

    if __name__ == "__main__":
        run_worker({"put_seq": put_seq, ...}, unsupported={"resume": "why"})
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import struct
import sys
import threading
import time
import traceback
import types
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULTS",
    "REPO_ROOT",
    "WORKLOADS",
    "Deadline",
    "WorkerArgs",
    "atimed_calls",
    "check_range",
    "emit",
    "emit_event",
    "latency_metrics",
    "live_rate",
    "lag_stamp",
    "lag_value",
    "load_stubs",
    "os_threads",
    "params_for",
    "parse_args",
    "percentile",
    "prefix_range_end",
    "py_threads",
    "read_stdin_json",
    "rss_kb",
    "run_worker",
    "stamp_age_ms",
    "timed_calls",
]

REPO_ROOT = Path(__file__).resolve().parents[2]

WORKLOADS = (
    "put_seq",
    "get_seq",
    "put_concurrent",
    "range_decode",
    "watch_replay",
    "watch_live",
    "many_watches",
    "resume",
)

# The full-size parameters of each workload (the harness divides counts by 10 for --quick).
DEFAULTS: dict[str, dict[str, Any]] = {
    "put_seq": {"prefix": "/bench/put_seq/", "count": 5000, "value_size": 256},
    "get_seq": {"key": "/bench/get_seq/key", "count": 5000},
    "put_concurrent": {
        "prefix": "/bench/put_concurrent/",
        "count": 20000,
        "concurrency": 8,
        "value_size": 256,
    },
    "range_decode": {"prefix": "/bench/range/", "keys": 10000},
    "watch_replay": {"prefix": "/bench/replay/", "start_rev": 1, "events": 200000},
    "watch_live": {"prefix": "/bench/live/", "count": 20000, "writer": []},
    "many_watches": {"prefix": "/bench/many/", "watches": 1000},
    "resume": {"prefix": "/bench/resume/", "watches": 1000, "backend": "etcd"},
}
DEFAULT_DEADLINE_S = 120.0
RESUME_DEADLINE_S = 20.0

# ---- command line and results ------------------------------------------------------------


class WorkerArgs(argparse.Namespace):
    """The parsed worker command line.

    Attributes:
        endpoint: ``127.0.0.1:PORT``.
        workload: one of WORKLOADS.
        params: the workload's parameters (defaults merged with ``--params``), plus
            ``endpoint`` and ``deadline_s``.
    """

    endpoint: str
    workload: str
    params: dict[str, Any]


def params_for(workload: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the workload's default parameters updated with ``given``.

    Args:
        workload: one of WORKLOADS.
        given: parameters that override the defaults.

    Returns:
        A new dict; ``deadline_s`` is always present.

    Raises:
        KeyError: an unknown workload.
    """
    params = dict(DEFAULTS[workload])
    params["deadline_s"] = RESUME_DEADLINE_S if workload == "resume" else DEFAULT_DEADLINE_S
    params.update(given or {})
    return params


def parse_args(argv: Sequence[str] | None = None) -> WorkerArgs:
    """Parse ``--endpoint E --workload W --params JSON``.

    Args:
        argv: the arguments (``sys.argv[1:]`` by default).

    Returns:
        The arguments; ``params`` holds the defaults merged with the JSON and the endpoint.
    """
    parser = argparse.ArgumentParser(description="run one benchmark workload once")
    parser.add_argument("--endpoint", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--workload", required=True, choices=WORKLOADS)
    parser.add_argument("--params", default="{}", help="JSON object of workload parameters")
    args = parser.parse_args(argv, namespace=WorkerArgs())
    raw = json.loads(args.params) if isinstance(args.params, str) else args.params
    args.params = params_for(args.workload, raw)
    args.params["endpoint"] = args.endpoint
    return args


def emit(result: Mapping[str, Any]) -> None:
    """Print one JSON result line and flush (the harness reads the last stdout line)."""
    sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def emit_event(event: str, **fields: Any) -> None:
    """Print an interactive progress line ``{"event": event, ...}`` (workload 8)."""
    emit({"event": event, **fields})


Handler = Callable[[dict[str, Any]], dict[str, Any]]


def run_worker(
    handlers: Mapping[str, Handler],
    unsupported: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """Parse the command line, run the workload's handler once and print its result.

    Args:
        handlers: workload name -> function taking the params and returning the metrics.
        unsupported: workload name -> why this client cannot do it.
        argv: the arguments (``sys.argv[1:]`` by default).

    Returns:
        0 (also when the workload failed: the failure is in the JSON line); the caller
        passes it to ``sys.exit``.
    """
    args = parse_args(argv)
    why = (unsupported or {}).get(args.workload)
    handler = handlers.get(args.workload)
    if why is not None or handler is None:
        emit({"ok": False, "unsupported": why or "workload not implemented by this worker"})
        return 0
    try:
        metrics = handler(args.params)
    except BaseException as exc:  # a failure is a result, reported in its table cell
        traceback.print_exc(file=sys.stderr)
        emit({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        return 0
    emit({"ok": True, "metrics": metrics})
    return 0


# ---- figures -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile (0..1) of ``values`` by the nearest-rank method.

    Raises:
        ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_metrics(latencies_s: Sequence[float], elapsed_s: float) -> dict[str, float]:
    """Return ``{ops_per_s, p50_ms, p99_ms}`` for sequential operations.

    Args:
        latencies_s: the duration of each operation, in seconds.
        elapsed_s: the wall time of the whole loop, in seconds.
    """
    return {
        "ops_per_s": len(latencies_s) / elapsed_s if elapsed_s > 0 else 0.0,
        "p50_ms": percentile(latencies_s, 0.50) * 1e3,
        "p99_ms": percentile(latencies_s, 0.99) * 1e3,
    }


def rss_kb() -> int:
    """Return the resident set size of this process in KiB (from /proc/self/statm)."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def os_threads() -> int:
    """Return the number of OS threads of this process (entries of /proc/self/task)."""
    return len(os.listdir("/proc/self/task"))


def py_threads() -> int:
    """Return ``threading.active_count()``."""
    return threading.active_count()


_STAMP = struct.Struct(">d")


def lag_value(size: int = 256) -> bytes:
    """Return a value that starts with ``time.time()`` as an 8-byte big-endian double.

    Args:
        size: the value's length, padded with ``b"x"``.
    """
    return _STAMP.pack(time.time()).ljust(size, b"x")


def lag_stamp(value: bytes) -> float:
    """Return the ``time.time()`` stamped at the start of a workload-6 value."""
    return float(_STAMP.unpack_from(value)[0])


def stamp_age_ms(value: bytes, now: float | None = None) -> float:
    """Return how many milliseconds ago the value was stamped (now defaults to time.time())."""
    return ((time.time() if now is None else now) - lag_stamp(value)) * 1e3


def check_range(keys: int, total_bytes: int, params: Mapping[str, Any]) -> None:
    """Check workload 4's result: ``keys`` kvs whose key and value lengths sum as expected.

    Args:
        keys: how many kvs came back.
        total_bytes: the sum of their key and value lengths.
        params: the workload params (``keys`` and, when the harness sets it, ``expect_bytes``).

    Raises:
        ValueError: the range is not what the harness wrote.
    """
    want = params.get("expect_bytes")
    if keys != params["keys"] or (want is not None and total_bytes != want):
        raise ValueError(
            f"range gave {keys} kvs / {total_bytes} bytes; want {params['keys']} / {want}"
        )


def live_rate(events: int, first_s: float, last_s: float) -> float:
    """Return workload 6's delivered rate: events over the time from the first to the last.

    The clock starts at the first event, not at the writer's spawn, so that the writer's
    start-up does not count against the watcher; the writer's own rate is timed the same way.

    Args:
        events: how many events arrived.
        first_s: ``time.perf_counter()`` when the first arrived.
        last_s: ``time.perf_counter()`` when the last arrived.
    """
    if events < 2 or last_s <= first_s:
        return 0.0
    return (events - 1) / (last_s - first_s)


def prefix_range_end(prefix: bytes) -> bytes:
    """Return the range end covering every key that starts with ``prefix`` (clientv3 rule)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\0"


class Deadline:
    """A time limit from now, for bounding loops.

    Args:
        seconds: how long from now.
    """

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Return the seconds left (0 when passed)."""
        return max(0.0, self.end - time.monotonic())

    def passed(self) -> bool:
        """Return True once the limit is reached."""
        return time.monotonic() >= self.end


def timed_calls(count: int, deadline_s: float, call: Callable[[int], object]) -> dict[str, float]:
    """Run ``call(i)`` for ``i`` in ``range(count)`` one after another, timing each (workloads
    1 and 2); stop early at the deadline.

    Returns:
        :func:`latency_metrics` of the calls made.
    """
    lat: list[float] = []
    deadline = Deadline(deadline_s)
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        call(i)
        lat.append(time.perf_counter() - t0)
        if deadline.passed():
            break
    return latency_metrics(lat, time.perf_counter() - start)


async def atimed_calls(
    count: int, deadline_s: float, call: Callable[[int], Awaitable[object]]
) -> dict[str, float]:
    """The asyncio form of :func:`timed_calls`: ``await call(i)`` one after another."""
    lat: list[float] = []
    deadline = Deadline(deadline_s)
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await call(i)
        lat.append(time.perf_counter() - t0)
        if deadline.passed():
            break
    return latency_metrics(lat, time.perf_counter() - start)


def read_stdin_json(timeout_s: float) -> dict[str, Any] | None:
    """Read one JSON line from stdin within ``timeout_s`` (workload 8); None on timeout or EOF."""
    ready, _, _ = select.select([sys.stdin], [], [], max(0.0, timeout_s))
    if not ready:
        return None
    line = sys.stdin.readline()
    if not line.strip():
        return None
    data = json.loads(line)
    return data if isinstance(data, dict) else None


# ---- generated stubs without etcd3py ----------------------------------------------------


def load_stubs() -> tuple[types.ModuleType, types.ModuleType]:
    """Import the generated etcdserverpb modules from the repo, without running etcd3py's init.

    The generated files import each other as ``etcd3py._gen...``; an empty ``etcd3py`` package
    pointing at the repo's folder is registered first (unless the real one is already
    imported), so only grpcio and protobuf are needed.

    Returns:
        ``(rpc_pb2, rpc_pb2_grpc)``.
    """
    if "etcd3py" not in sys.modules:
        shell = types.ModuleType("etcd3py")
        shell.__path__ = [str(REPO_ROOT / "etcd3py")]
        sys.modules["etcd3py"] = shell
    from etcd3py._gen.etcdserverpb import rpc_pb2, rpc_pb2_grpc

    return rpc_pb2, rpc_pb2_grpc
