"""Shared worker plumbing for the benchmark harness (issue 5): standard library only.

Every ``bench/workers/<client>_worker.py`` runs ONE workload once in its client's own venv and
prints, as its LAST stdout line, one JSON object (see ``bench/README.md``):

- ``{"ok": true, "metrics": {...}}``
- ``{"ok": false, "unsupported": "why"}``
- ``{"ok": false, "error": "Type: message"}``

This module owns the command line (``--endpoint``, ``--workload``, ``--params``), the
workload defaults, the result printing, latency percentiles, RSS and thread readers, the
lag timestamps of workload 6, the stdin protocol of workload 8, the metrics of workloads 6-8,
the cycles, settling and metrics of workload 9 (:func:`soak_cycles`, :func:`settle`,
:func:`soak_metrics`), what asyncio workers share (:func:`async_handlers`,
:func:`atimed_calls`, the writer process of workload 6, :class:`AioTally` for workloads 7
and 8), and the loading of the generated gRPC stubs without importing ``etcd3py`` itself
(for the raw workers and the writer).
It must stay importable with only the standard library: workers of other clients import it.

A worker is typically::

    from _common import run_worker

    def put_seq(p: dict) -> dict: ...

    if __name__ == "__main__":
        run_worker({"put_seq": put_seq, ...}, unsupported={"resume": "why"})

and an asyncio one ``run_worker(async_handlers({"put_seq": aput_seq, ...}))``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import gc
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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULTS",
    "REPO_ROOT",
    "WORKLOADS",
    "AioTally",
    "Deadline",
    "LiveLags",
    "SoakPhase",
    "SoakSnapshot",
    "WorkerArgs",
    "aconcurrent_calls",
    "asettle",
    "asoak_cycles",
    "async_handlers",
    "atimed_calls",
    "bounded",
    "cancel_tasks",
    "check_range",
    "emit",
    "emit_event",
    "footprint",
    "latency_metrics",
    "live_metrics",
    "live_rate",
    "many_watches_metrics",
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
    "resume_metrics",
    "rss_kb",
    "run_worker",
    "settle",
    "soak_cycles",
    "soak_metrics",
    "stamp_age_ms",
    "start_writer",
    "thread_kinds",
    "timed_calls",
    "workload_functions",
    "writer_ops_per_s",
    "writer_result",
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
    "soak",
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
    "soak": {
        "prefix": "/bench/soak/",
        "watch_cycles": 100000,
        "lease_cycles": 10000,
        "warmup_watch_cycles": 1000,
        "warmup_lease_cycles": 100,
        "lease_ttl": 30,
    },
}
DEFAULT_DEADLINE_S = 120.0
RESUME_DEADLINE_S = 20.0
#: Workload 9 bounds each of its two phases by this, not the whole run.
SOAK_DEADLINE_S = 600.0
DEADLINES = {"resume": RESUME_DEADLINE_S, "soak": SOAK_DEADLINE_S}

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
    params["deadline_s"] = DEADLINES.get(workload, DEFAULT_DEADLINE_S)
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


def latency_metrics(
    latencies_s: Sequence[float], elapsed_s: float, cpu_s: float | None = None
) -> dict[str, float]:
    """Return ``{ops_per_s, p50_ms, p99_ms}`` for sequential operations, and ``cpu_us``
    (the worker process's CPU time per operation, every thread counted) when ``cpu_s`` is
    given: the figure the machine's noise moves least, since waiting costs no CPU.

    Args:
        latencies_s: the duration of each operation, in seconds.
        elapsed_s: the wall time of the whole loop, in seconds.
        cpu_s: the process CPU time (``time.process_time()``) the whole loop took.
    """
    metrics = {
        "ops_per_s": len(latencies_s) / elapsed_s if elapsed_s > 0 else 0.0,
        "p50_ms": percentile(latencies_s, 0.50) * 1e3,
        "p99_ms": percentile(latencies_s, 0.99) * 1e3,
    }
    if cpu_s is not None:
        metrics["cpu_us"] = cpu_s / len(latencies_s) * 1e6
    return metrics


def workload_key(prefix: str, i: int) -> bytes:
    """The ``i``-th key of a workload: ``prefix`` and six digits, as the harness writes the
    data a worker reads (``get_seq``, ``many_watches``, ``resume``) and as every worker names
    the keys it writes."""
    return f"{prefix}{i:06d}".encode()


def rss_kb() -> int:
    """Return the resident set size of this process in KiB (from /proc/self/statm)."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def os_threads() -> int:
    """Return the number of OS threads of this process (entries of /proc/self/task)."""
    return len(os.listdir("/proc/self/task"))


def thread_kinds() -> dict[str, int]:
    """Return this process's OS threads counted by name (``/proc/self/task/*/comm``:
    ``python`` for Python threads, gRPC's ``event_engine``, ``grpc_global_tim``...)."""
    kinds: dict[str, int] = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            kinds[name] = kinds.get(name, 0) + 1
    return dict(sorted(kinds.items()))


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
        :func:`latency_metrics` of the calls made, with their CPU time.
    """
    lat: list[float] = []
    deadline = Deadline(deadline_s)
    cpu0, start = time.process_time(), time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        call(i)
        lat.append(time.perf_counter() - t0)
        if deadline.passed():
            break
    return latency_metrics(lat, time.perf_counter() - start, time.process_time() - cpu0)


async def atimed_calls(
    count: int, deadline_s: float, call: Callable[[int], Awaitable[object]]
) -> dict[str, float]:
    """The asyncio form of :func:`timed_calls`: ``await call(i)`` one after another."""
    lat: list[float] = []
    deadline = Deadline(deadline_s)
    cpu0, start = time.process_time(), time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await call(i)
        lat.append(time.perf_counter() - t0)
        if deadline.passed():
            break
    return latency_metrics(lat, time.perf_counter() - start, time.process_time() - cpu0)


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


# ---- metrics of workloads 6-8 ------------------------------------------------------------


def live_metrics(
    lags_s: Sequence[float], first_s: float, last_s: float, writer_rate: float
) -> dict[str, Any]:
    """Return workload 6's metrics.

    Args:
        lags_s: each event's lag (arrival ``time.time()`` minus its stamp), in seconds.
        first_s: ``time.perf_counter()`` when the first event arrived.
        last_s: ``time.perf_counter()`` when the last arrived (or the loop ended).
        writer_rate: the writer's own ops/s (:func:`writer_ops_per_s`).
    """
    return {
        "events_per_s": live_rate(len(lags_s), first_s, last_s),
        "writer_ops_per_s": writer_rate,
        "max_lag_ms": max(lags_s) * 1e3 if lags_s else None,
        "p99_lag_ms": percentile(lags_s, 0.99) * 1e3 if lags_s else None,
        "delivered": len(lags_s),
    }


class LiveLags:
    """Workload 6's record: every event's lag, and when the first and the last arrived."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.first = 0.0
        self.last = 0.0

    def add(self, values: Iterable[bytes]) -> int:
        """Record the events of one response by their stamped values; return how many so far."""
        now, before = time.time(), len(self.lags)
        self.lags.extend(now - lag_stamp(value) for value in values)
        if len(self.lags) > before:
            self.last = time.perf_counter()
            self.first = self.first or self.last
        return len(self.lags)

    def metrics(self, writer_rate: float) -> dict[str, Any]:
        """Return :func:`live_metrics` of what was recorded."""
        return live_metrics(self.lags, self.first, self.last, writer_rate)


def footprint() -> tuple[int, int]:
    """Return ``(rss_kb(), os_threads())``: what workload 7 reads before and after creating."""
    return rss_kb(), os_threads()


def many_watches_metrics(
    watches: int,
    before: tuple[int, int],
    after: tuple[int, int],
    create_s: float,
    deliver_s: float,
    delivered: int,
) -> dict[str, Any]:
    """Return workload 7's metrics.

    Args:
        watches: how many watches were created.
        before: :func:`footprint` before creating them.
        after: :func:`footprint` once they were all created.
        create_s: seconds until every watch was created.
        deliver_s: seconds from the first put until every event arrived (or the wait ended).
        delivered: events received.
    """
    return {
        "create_s": create_s,
        "rss_kb_per_watch": (after[0] - before[0]) / watches,
        "os_threads_before": before[1],
        "os_threads_after": after[1],
        "deliver_s": deliver_s,
        "delivered": delivered,
    }


def resume_metrics(
    written: Mapping[str, Any], keys_seen: int, events: int, last_event: float
) -> dict[str, Any]:
    """Return workload 8's metrics.

    Args:
        written: the harness's ``{"written": N, "t0": time.time()}`` line.
        keys_seen: distinct keys that had an event.
        events: events received (a key seen twice is a duplicate).
        last_event: ``time.time()`` of the last event.
    """
    return {
        "resume_s": last_event - written["t0"] if events else None,
        "delivered": events,
        "lost": written["written"] - keys_seen,
        "duplicated": events - keys_seen,
    }


def writer_ops_per_s(stdout: str) -> float:
    """Return the ops/s that ``bench/writer.py`` printed as its last JSON line (0.0 if none)."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return float(json.loads(lines[-1])["ops_per_s"]) if lines else 0.0


# ---- asyncio workers ---------------------------------------------------------------------

AsyncHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def workload_functions(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Return the functions of ``namespace`` (a worker's ``globals()``) named after workloads."""
    return {name: namespace[name] for name in WORKLOADS if name in namespace}


def _run_async(workload: AsyncHandler, params: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(workload(params))


def async_handlers(workloads: Mapping[str, AsyncHandler]) -> dict[str, Handler]:
    """Return :func:`run_worker` handlers that each run an async workload in a new event loop."""
    return {name: functools.partial(_run_async, fn) for name, fn in workloads.items()}


async def aconcurrent_calls(
    count: int, tasks: int, deadline_s: float, call: Callable[[int], Awaitable[object]]
) -> dict[str, float]:
    """Workload 3 for asyncio clients: ``await call(i)`` for ``i`` in ``range(count)`` from
    ``tasks`` tasks (task ``t`` takes ``t``, ``t + tasks``, ...); stop at the deadline.

    Returns:
        ``{"ops_per_s": calls made / wall time}``.
    """
    deadline = Deadline(deadline_s)
    done = [0] * tasks

    async def run(t: int) -> None:
        for i in range(t, count, tasks):
            await call(i)
            done[t] += 1
            if deadline.passed():
                return

    start = time.perf_counter()
    await asyncio.gather(*(run(t) for t in range(tasks)))
    return {"ops_per_s": sum(done) / (time.perf_counter() - start)}


async def bounded(aw: Awaitable[object], timeout_s: float) -> None:
    """Await ``aw`` for at most ``timeout_s`` seconds; past that it is cancelled, no error."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(aw, timeout_s)


async def cancel_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel the tasks (consumers of workloads 7 and 8) and wait until they ended."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def start_writer(argv: Sequence[str]) -> asyncio.subprocess.Process:
    """Start workload 6's writer process (``params["writer"]``), its stdout piped."""
    return await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)


async def writer_result(proc: asyncio.subprocess.Process, timeout_s: float) -> float:
    """Wait for the writer started by :func:`start_writer` to end; return its ops/s."""
    out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    return writer_ops_per_s(out.decode())


class AioTally:
    """Watches created and events per key, counted on one event loop (workloads 7 and 8).

    Watch callbacks or consumer tasks call :meth:`created` for each created response and
    :meth:`add_events` with the keys of each response's events; the workload awaits
    :meth:`wait_created` and :meth:`wait_events`.

    Args:
        watches: how many watches (one per key) there are.
    """

    def __init__(self, watches: int) -> None:
        self.watches = watches
        self.created_count = 0
        self.per_key: dict[bytes, int] = {}
        self.events = 0
        self.last_event = 0.0
        self.stream_errors = 0
        self._all_created = asyncio.Event()
        self._all_events = asyncio.Event()

    def created(self) -> None:
        """Count one created watch."""
        self.created_count += 1
        if self.created_count >= self.watches:
            self._all_created.set()

    def add_events(self, keys: Iterable[bytes]) -> None:
        """Count the events of one response, given their keys (none: nothing counted)."""
        per_key, n = self.per_key, 0
        for key in keys:
            per_key[key] = per_key.get(key, 0) + 1
            n += 1
        if n:
            self.events += n
            self.last_event = time.time()
            if len(per_key) >= self.watches:
                self._all_events.set()

    def failed(self) -> None:
        """Count a watch or stream that ended with an error (the waits go on)."""
        self.stream_errors += 1

    def ended(self) -> None:
        """Every watch ended (their one stream broke): the waits return now."""
        self._all_created.set()
        self._all_events.set()

    async def wait_created(self, timeout_s: float) -> None:
        """Wait until every watch was created.

        Raises:
            TimeoutError: not all were created within ``timeout_s`` (or before they ended).
        """
        await bounded(self._all_created.wait(), timeout_s)
        if self.created_count < self.watches:
            raise TimeoutError(f"{self.created_count}/{self.watches} watches created")

    async def wait_events(self, timeout_s: float) -> None:
        """Wait until every key had an event, or ``timeout_s`` passed."""
        await bounded(self._all_events.wait(), timeout_s)

    def resume_metrics(self, written: Mapping[str, Any]) -> dict[str, Any]:
        """Return :func:`resume_metrics` of what was counted, with ``stream_errors``."""
        got = resume_metrics(written, len(self.per_key), self.events, self.last_event)
        return {**got, "stream_errors": self.stream_errors}


# ---- workload 9 (soak) ------------------------------------------------------------------

#: RSS samples taken along each soak phase (at every tenth of its cycles).
SOAK_CURVE_POINTS = 10
#: Seconds a soak worker waits at most for its client to settle after a phase.
SOAK_SETTLE_S = 10.0
#: Seconds the thread count (and task count) must hold still before a soak figure is taken.
SOAK_STEADY_S = 0.5
_SETTLE_POLL_S = 0.05


@dataclasses.dataclass
class SoakPhase:
    """One phase of workload 9, as run by :func:`soak_cycles` or :func:`asoak_cycles`.

    Attributes:
        cycles: the cycles done (fewer than asked only when the deadline passed).
        seconds: the wall time they took.
        curve: RSS in KiB after every tenth of the cycles asked.
    """

    cycles: int = 0
    seconds: float = 0.0
    curve: list[int] = dataclasses.field(default_factory=list)

    def rate(self) -> float:
        """Return the cycles per second (0.0 for an empty phase)."""
        return self.cycles / self.seconds if self.seconds > 0 else 0.0


def _curve_step(count: int) -> int:
    return max(count // SOAK_CURVE_POINTS, 1)


def soak_cycles(count: int, deadline_s: float, one: Callable[[int], object]) -> SoakPhase:
    """Run ``one(i)`` for ``i`` in ``range(count)``, sampling RSS along; stop at the deadline.

    Args:
        count: the cycles asked.
        deadline_s: the phase's time limit (checked between cycles).
        one: one cycle (a watch opened and closed, a lease granted, kept alive, revoked).
    """
    phase, step, deadline = SoakPhase(), _curve_step(count), Deadline(deadline_s)
    start = time.perf_counter()
    for i in range(count):
        one(i)
        phase.cycles += 1
        if phase.cycles % step == 0:
            phase.curve.append(rss_kb())
        if deadline.passed():
            break
    phase.seconds = time.perf_counter() - start
    return phase


async def asoak_cycles(
    count: int, deadline_s: float, one: Callable[[int], Awaitable[object]]
) -> SoakPhase:
    """The asyncio form of :func:`soak_cycles`: ``await one(i)`` one after another."""
    phase, step, deadline = SoakPhase(), _curve_step(count), Deadline(deadline_s)
    start = time.perf_counter()
    for i in range(count):
        await one(i)
        phase.cycles += 1
        if phase.cycles % step == 0:
            phase.curve.append(rss_kb())
        if deadline.passed():
            break
    phase.seconds = time.perf_counter() - start
    return phase


def settle(
    quiet: Callable[[], bool],
    level: Callable[[], object] = os_threads,
    timeout_s: float = SOAK_SETTLE_S,
) -> None:
    """Collect garbage, then wait until ``quiet()`` holds and ``level()`` (the OS threads by
    default) has not changed for :data:`SOAK_STEADY_S`, or ``timeout_s`` passed (no error).

    gRPC ends a closed call's threads a moment later (about 0.15 s here): a figure taken
    while one lingers would count it.

    Args:
        quiet: whether the client is back to its resting state (watches, streams, threads).
        level: what must hold still before the figures are taken.
        timeout_s: the longest wait.
    """
    gc.collect()
    steady = _Steady(level)
    deadline = Deadline(timeout_s)
    while not (steady.held() and quiet()) and not deadline.passed():
        time.sleep(_SETTLE_POLL_S)
    gc.collect()


async def asettle(
    quiet: Callable[[], bool],
    level: Callable[[], object] = os_threads,
    timeout_s: float = SOAK_SETTLE_S,
) -> None:
    """The asyncio form of :func:`settle`: the loop runs while it waits."""
    gc.collect()
    steady = _Steady(level)
    deadline = Deadline(timeout_s)
    while not (steady.held() and quiet()) and not deadline.passed():
        await asyncio.sleep(_SETTLE_POLL_S)
    gc.collect()


class _Steady:
    """Whether a level has held still for :data:`SOAK_STEADY_S` (read at each call)."""

    def __init__(self, level: Callable[[], object]) -> None:
        self.level = level
        self.value = level()
        self.since = time.monotonic()

    def held(self) -> bool:
        value = self.level()
        if value != self.value:
            self.value, self.since = value, time.monotonic()
        return time.monotonic() - self.since >= SOAK_STEADY_S


@dataclasses.dataclass(frozen=True)
class SoakSnapshot:
    """What workload 9 reads once its client is at rest.

    Attributes:
        rss_kb: :func:`rss_kb`.
        threads: :func:`os_threads`.
        kinds: :func:`thread_kinds` (which threads a change of ``threads`` is: gRPC's own
            ``event_engine`` pool may grow by a thread under load, and keeps it).
        py_threads: :func:`py_threads` (the client's own threads are Python threads).
    """

    rss_kb: int
    threads: int
    kinds: dict[str, int]
    py_threads: int

    @classmethod
    def take(cls) -> SoakSnapshot:
        """Read the process's figures now."""
        return cls(rss_kb(), os_threads(), thread_kinds(), py_threads())


def soak_metrics(
    rss_kb_start: int,
    before: SoakSnapshot,
    watch: SoakPhase,
    after_watch: SoakSnapshot,
    lease: SoakPhase,
    after_lease: SoakSnapshot,
) -> dict[str, Any]:
    """Return workload 9's metrics (an asyncio worker adds ``tasks_before``/``tasks_after``).

    Args:
        rss_kb_start: RSS before the warm-up.
        before: the snapshot after the warm-up, settled.
        watch: the watch phase.
        after_watch: the snapshot after it, settled.
        lease: the lease phase.
        after_lease: the snapshot after it, settled.
    """
    return {
        "watch_cycles": watch.cycles,
        "watch_s": watch.seconds,
        "watch_cycles_per_s": watch.rate(),
        "lease_cycles": lease.cycles,
        "lease_s": lease.seconds,
        "lease_cycles_per_s": lease.rate(),
        "rss_kb_start": rss_kb_start,
        "rss_kb_before": before.rss_kb,
        "rss_kb_after_watch": after_watch.rss_kb,
        "rss_kb_after_lease": after_lease.rss_kb,
        "rss_growth_kb": after_lease.rss_kb - before.rss_kb,
        "rss_kb_watch_curve": watch.curve,
        "rss_kb_lease_curve": lease.curve,
        "threads_before": before.threads,
        "threads_after_watch": after_watch.threads,
        "threads_after": after_lease.threads,
        "thread_kinds_before": before.kinds,
        "thread_kinds_after": after_lease.kinds,
        "py_threads_before": before.py_threads,
        "py_threads_after_watch": after_watch.py_threads,
        "py_threads_after": after_lease.py_threads,
    }


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
