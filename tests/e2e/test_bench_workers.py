"""Smoke test of etcd3py's benchmark workers (both faces): every workload, tiny, in process.

Each workload runs as the harness runs it (its data prepared by ``bench.harness.workloads``,
its params from ``run_params``) but with counts of a few dozen, in this process (so that this
checkout's etcd3py is the one measured), and its metrics are checked: every figure present,
every key, event and put accounted for. Workload 8 runs on the reference server only, whose
``drop_streams`` breaks the connections in process; the harness's side of its stdin protocol
is played by a stand-in for ``read_stdin_json``. Workload 9 (``soak``, both faces only) runs
a few hundred cycles and checks that the client came back to rest: every cycle done, the
same threads (and asyncio tasks) as before, only the anchor watch live, no keep-alive
stream (gRPC's ``event_engine`` pool alone may keep a thread it added under load). The
figures themselves are never asserted.
"""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.harness import report, venvs, workloads
from bench.harness.servers import BenchServer
from bench.workers._common import workload_key
from tests.backends import Backend

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "workers"))

# Counts small enough for a few seconds per workload; the watch workloads keep their shape.
SMALL = {
    "count": 24,
    "keys": 30,
    "events": 40,
    "watches": 12,
    "concurrency": 4,
    "watch_cycles": 200,
    "lease_cycles": 20,
    "warmup_watch_cycles": 20,
    "warmup_lease_cycles": 5,
}
#: The soak columns only the asyncio worker fills (the sync face has no event loop).
AIO_ONLY = {"tasks_before", "tasks_after"}
#: gRPC's own thread pool: it may add a thread under load (and keep it), the only OS
#: threads a soak may leave more of.
GRPC_POOL = "event_engine"
RESUME_WAIT_S = 5.0


def _cases() -> list[workloads.Case]:
    out = []
    for case in workloads.cases(quick=True):
        if case.name == "many_watches_1000":
            continue  # one many_watches case is enough
        params = {k: SMALL.get(k, v) for k, v in case.params.items()}
        if case.workload == "resume":
            params["deadline_s"] = RESUME_WAIT_S
        out.append(dataclasses.replace(case, params=params))
    return out


CASES = {case.workload: case for case in _cases()}


def _server(backend: Backend) -> BenchServer:
    return BenchServer(
        backend.name, backend.endpoints[0], backend.version, testserver=backend.server
    )


def _params(case: workloads.Case, srv: BenchServer, client: str) -> dict[str, Any]:
    shared = workloads.prepare(case, srv)
    params = workloads.run_params(case, shared, client, 0, srv)
    params["endpoint"] = srv.endpoint
    params["deadline_s"] = params.get("deadline_s", 30.0)
    return params


def _stand_in_harness(
    worker: ModuleType, srv: BenchServer, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replace the worker's stdin protocol of workload 8 by the harness's side of it."""

    def written(timeout_s: float) -> dict[str, Any]:
        t0 = srv.break_connections()
        n = params["watches"]
        srv.put_many([(workload_key(params["prefix"], i), b"x") for i in range(n)])
        return {"written": n, "t0": t0}

    monkeypatch.setattr(worker, "read_stdin_json", written)
    monkeypatch.setattr(worker, "emit_event", lambda *args, **fields: None)


def _check_soak(params: dict[str, Any], metrics: dict[str, Any], aio: bool) -> None:
    assert (metrics["watch_cycles"], metrics["lease_cycles"]) == (
        params["watch_cycles"],
        params["lease_cycles"],
    )
    assert metrics["watch_cycles_per_s"] > 0 and metrics["lease_cycles_per_s"] > 0
    assert metrics["py_threads_after_watch"] == metrics["py_threads_before"]
    assert metrics["py_threads_after"] == metrics["py_threads_before"]
    before, after = metrics["thread_kinds_before"], metrics["thread_kinds_after"]
    pool_growth = after.pop(GRPC_POOL, 0) - before.pop(GRPC_POOL, 0)
    assert after == before and pool_growth >= 0
    assert metrics["threads_after"] == metrics["threads_before"] + pool_growth
    if aio:
        assert metrics["tasks_after"] == metrics["tasks_before"]
    assert (metrics["watches_live_after"], metrics["keepalive_streams_after"]) == (1, 0)
    assert metrics["rss_growth_kb"] == metrics["rss_kb_after_lease"] - metrics["rss_kb_before"]
    assert len(metrics["rss_kb_watch_curve"]) == len(metrics["rss_kb_lease_curve"]) == 10
    assert min(metrics["rss_kb_watch_curve"] + metrics["rss_kb_lease_curve"]) > 0


def _check(workload: str, params: dict[str, Any], metrics: dict[str, Any], client: str) -> None:
    aio = client == "etcd3py_aio"
    for column in report.COLUMNS[workload]:
        if aio or column.metric not in AIO_ONLY:
            assert column.metric in metrics, (workload, column.metric, metrics)
    if workload in ("put_seq", "get_seq", "put_concurrent"):
        assert metrics["ops_per_s"] > 0
    elif workload == "range_decode":
        assert metrics["keys"] == params["keys"]
    elif workload == "watch_replay":
        assert metrics["events"] == params["events"]
    elif workload == "watch_live":
        assert metrics["delivered"] == params["count"]
        assert metrics["writer_ops_per_s"] > 0
    elif workload == "many_watches":
        assert metrics["delivered"] == params["watches"]
    elif workload == "soak":
        _check_soak(params, metrics, aio)
    else:
        assert (metrics["lost"], metrics["duplicated"]) == (0, 0)
        assert metrics["delivered"] == params["watches"]


def _setup(
    workload: str, backend: Backend, client: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[ModuleType, BenchServer, dict[str, Any]]:
    if workload == "resume" and backend.server is None:
        pytest.skip("workload 8 breaks connections in process: reference server only")
    worker = importlib.import_module(f"{client}_worker")
    srv = _server(backend)
    params = _params(CASES[workload], srv, client)
    if workload == "resume":
        _stand_in_harness(worker, srv, params, monkeypatch)
    return worker, srv, params


@pytest.mark.parametrize("workload", list(CASES))
def test_sync_worker_runs_the_workload(
    workload: str, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, srv, params = _setup(workload, backend, "etcd3py", monkeypatch)
    try:
        _check(workload, params, worker.HANDLERS[workload](params), "etcd3py")
    finally:
        srv.close()


@pytest.mark.parametrize("workload", list(CASES))
async def test_aio_worker_runs_the_workload(
    workload: str, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, srv, params = _setup(workload, backend, "etcd3py_aio", monkeypatch)
    try:
        _check(workload, params, await worker.WORKLOADS[workload](params), "etcd3py_aio")
    finally:
        srv.close()


@pytest.mark.testserver_only
def test_the_overhead_bench_measures_every_case_in_both_faces() -> None:
    overhead = importlib.import_module("bench.overhead")
    figures = overhead.measure(calls=200, rounds=1)
    assert set(figures) == {"raw get", "sync get", "sync put", "raw aio get", "aio get", "aio put"}
    assert all(us > 0 for us in figures.values())


INSTRUCTIONS = importlib.import_module("bench.instructions")


@pytest.fixture
def instructions_endpoint(backend: Backend) -> str:
    """The backend's endpoint, with the value the instructions bench's gets read written."""
    INSTRUCTIONS.write_value(backend.endpoints[0])
    return backend.endpoints[0]


@pytest.mark.parametrize(
    "case", [case for case in INSTRUCTIONS.CASES if case not in INSTRUCTIONS.PEER_CASES]
)
def test_the_instructions_bench_runs_every_case(case: str, instructions_endpoint: str) -> None:
    """Each counted process's calls run (without valgrind, which the report needs only), in
    this process: every case but the other clients', whose libraries are in their own venvs."""
    INSTRUCTIONS.run_case(case, instructions_endpoint, 20)


@pytest.mark.parametrize("case", INSTRUCTIONS.PEER_CASES)
def test_the_instructions_bench_runs_every_peer_case_in_its_venv(
    case: str, instructions_endpoint: str
) -> None:
    """Another client's counted process runs with its venv's python and never imports etcd3py
    (nor the reference server) from this repo."""
    client = case.rsplit("_", 1)[0]
    if not (venvs.VENVS / client).is_dir():
        pytest.skip(f"no bench/.venvs/{client}: `python -m bench.harness` builds it")
    python, *args = INSTRUCTIONS.child_argv(case, instructions_endpoint, 20)
    done = subprocess.run(
        [python, "-X", "importtime", *args],
        cwd=venvs.REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines}
    assert not imported & {"etcd3py", "testserver"}, "the peer's process imported this repo"


def test_the_instructions_report_gives_each_case_over_its_floor() -> None:
    report = importlib.import_module("bench.instructions").report(
        {"raw_get": 200_000.0, "get": 250_000.0, "own_floor": 4_000.0, "own_get": 54_000.0}
    )
    assert "| get | 250.0 | +50.0 k (1.25x) |" in report
    assert "| own_get | 54.0 | +50.0 k |" in report
    assert "| raw_get | 200.0 |  |" in report


def test_the_instructions_report_gives_each_peer_case_over_its_faces_raw_stub() -> None:
    figures = {"raw_put": 200_000.0, "python_etcd3_put": 300_000.0}
    report = INSTRUCTIONS.report(figures | {"aio_raw_put": 100_000.0, "aetcd_put": 150_000.0})
    assert "| aetcd_put | 150.0 | +50.0 k (1.50x) |" in report
    assert "| python_etcd3_put | 300.0 | +100.0 k (1.50x) |" in report


@pytest.mark.parametrize("face", ["sync", "aio"])
def test_the_watch_memory_bench_gives_the_heap_per_watch(face: str, backend: Backend) -> None:
    watch_memory = importlib.import_module("bench.watch_memory")
    diffs = watch_memory.measure(backend.endpoints[0], face, 50)
    table = watch_memory.report(diffs, 50, 5)
    total = sum(diff.size_diff for diff in diffs) / 50
    assert total > 100, table  # a watch holds at least its records and its key
    assert "every line" in table and len(table.splitlines()) == 2 + min(5, len(diffs)) + 1
