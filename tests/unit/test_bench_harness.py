"""The benchmark harness's pure parts: rotation, medians, ratios, tables, cases, worker plumbing.

No server and no subprocess: these run in ``make test`` in well under a second.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.harness import cli, report, runner, venvs, workloads

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "workers"))
import _common


def ok(**metrics: float | None) -> dict[str, object]:
    return {"ok": True, "metrics": metrics}


def test_rotation_gives_every_client_every_position() -> None:
    clients = ["a", "b", "c"]
    orders = [report.rotated(clients, r) for r in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert report.rotated(clients, 4) == ["b", "c", "a"]
    assert {order.index("a") for order in orders} == {0, 1, 2}
    assert report.rotated([], 2) == []


def test_median_skips_failures_and_none() -> None:
    samples = [
        ok(ops_per_s=10.0, resume_s=None),
        ok(ops_per_s=30.0, resume_s=2.0),
        {"ok": False, "error": "Boom: x"},
        ok(ops_per_s=20.0, resume_s=None, flag=True),
    ]
    assert report.median_metrics(samples) == {"ops_per_s": 20.0, "resume_s": 2.0}
    assert report.median_metrics([ok(a=1.0), ok(a=2.0)]) == {"a": 1.5}
    assert report.median_metrics([]) == {}


def test_ratio_is_above_one_when_better() -> None:
    assert report.ratio(200.0, 100.0, "higher") == 2.0
    assert report.ratio(50.0, 100.0, "higher") == 0.5
    assert report.ratio(0.5, 1.0, "lower") == 2.0
    assert report.ratio(2.0, 1.0, "lower") == 0.5
    assert report.ratio(None, 1.0, "lower") is None
    assert report.ratio(1.0, None, "higher") is None
    assert report.ratio(0.0, 1.0, "lower") is None
    assert report.ratio(3.0, 1.0, "") is None


def test_ratios_against_raw_sync() -> None:
    cols = report.COLUMNS["put_seq"]
    medians = {
        "raw_sync": {"ops_per_s": 1000.0, "p50_ms": 1.0, "p99_ms": 2.0},
        "etcd3py": {"ops_per_s": 900.0, "p50_ms": 1.25, "p99_ms": 1.0},
    }
    got = report.ratios(medians, cols)
    assert got["raw_sync"] == {"ops_per_s": 1.0, "p50_ms": 1.0, "p99_ms": 1.0}
    assert got["etcd3py"] == pytest.approx({"ops_per_s": 0.9, "p50_ms": 0.8, "p99_ms": 2.0})
    assert report.ratios({"etcd3py": medians["etcd3py"]}, cols) == {"etcd3py": {}}


@pytest.mark.parametrize(
    ("value", "text"),
    [(12345.6, "12,346"), (150.0, "150"), (8.0, "8"), (2.5, "2.50"), (0.01234, "0.0123"),
     (0.0, "0")],
)  # fmt: skip
def test_format_number(value: float, text: str) -> None:
    assert report.format_number(value) == text


def test_cell() -> None:
    assert report.cell(None, None) == "-"
    assert report.cell(1234.0, 0.981) == "1,234 (0.98x)"
    assert report.cell(7.0, None) == "7"


def test_markdown_table_rows_medians_ratios_and_failures() -> None:
    cols = report.COLUMNS["put_concurrent"]
    samples = {
        "raw_sync": [ok(ops_per_s=100.0), ok(ops_per_s=300.0), ok(ops_per_s=200.0)],
        "etcd3py": [ok(ops_per_s=250.0), {"ok": False, "error": "X: y"}, ok(ops_per_s=150.0)],
        "aetcd": [{"ok": False, "unsupported": "no | threads"}],
        "broken": [{"ok": False, "error": "unavailable: pip said no"}],
    }
    table = report.markdown_table(cols, ["raw_sync", "etcd3py", "aetcd", "broken", "x"], samples)
    lines = table.splitlines()
    assert lines[0] == "| client | vs | ops/s | runs ok |"
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| raw_sync | raw_sync | 200 (1.00x) | 3/3 |"
    assert lines[3] == "| etcd3py | raw_sync | 200 (1.00x) | 2/3 |"
    assert lines[4] == "| aetcd | raw_aio | unsupported: no \\| threads | 0/1 |"
    assert lines[5] == "| broken | raw_sync | failed: unavailable: pip said no | 0/1 |"
    assert lines[6] == "| x | raw_sync | not run | 0/0 |"


def test_markdown_table_fills_every_column_of_a_failed_row() -> None:
    cols = report.COLUMNS["resume"]
    table = report.markdown_table(cols, ["c"], {"c": [{"ok": False, "error": "E: m"}]})
    assert table.splitlines()[2].count("|") == len(cols) + 4


def test_summarize_has_medians_and_ratios() -> None:
    samples = {"raw_sync": [ok(events_per_s=10.0)], "etcd3py": [ok(events_per_s=20.0)]}
    got = report.summarize("watch_replay", ["raw_sync", "etcd3py"], samples)
    assert got["medians"]["etcd3py"] == {"events_per_s": 20.0}
    assert got["ratios"]["etcd3py"] == {"events_per_s": 2.0}
    assert got["baselines"] == {"raw_sync": "raw_sync", "etcd3py": "raw_sync"}


def test_asyncio_clients_are_compared_to_raw_aio() -> None:
    assert report.baseline("etcd3py") == report.baseline("raw_aio") == "raw_sync"
    assert {report.baseline(c) for c in report.AIO_CLIENTS} == {"raw_aio"}
    assert set(venvs.CLIENTS) >= report.AIO_CLIENTS
    cols = report.COLUMNS["put_seq"]
    medians = {
        "raw_sync": {"ops_per_s": 1000.0, "p50_ms": 1.0, "p99_ms": 2.0, "cpu_us": 100.0},
        "raw_aio": {"ops_per_s": 800.0, "p50_ms": 1.25, "p99_ms": 2.0, "cpu_us": 125.0},
        "etcd3py": {"ops_per_s": 900.0, "p50_ms": 1.0, "p99_ms": 2.0, "cpu_us": 110.0},
        "etcd3py_aio": {"ops_per_s": 400.0, "p50_ms": 2.5, "p99_ms": 1.0, "cpu_us": 250.0},
    }
    got = report.ratios(medians, cols)
    assert got["raw_aio"] == pytest.approx(
        {"ops_per_s": 0.8, "p50_ms": 0.8, "p99_ms": 1.0, "cpu_us": 0.8}
    )
    assert got["etcd3py"]["ops_per_s"] == pytest.approx(0.9)
    assert got["etcd3py_aio"] == pytest.approx(
        {"ops_per_s": 0.5, "p50_ms": 0.5, "p99_ms": 2.0, "cpu_us": 0.5}  # CPU: lower is better
    )
    del medians["raw_aio"]  # raw_aio not run: no ratio for the asyncio rows
    assert report.ratios(medians, cols)["etcd3py_aio"] == {}
    samples = {c: [ok(**m)] for c, m in medians.items()}
    row = report.markdown_table(cols, ["raw_aio", "etcd3py_aio"], samples).splitlines()
    assert row[2] == "| raw_aio | raw_sync | not run |  |  |  | 0/0 |"
    assert row[3] == "| etcd3py_aio | raw_aio | 400 | 2.50 | 1 | 250 | 1/1 |"


def test_every_client_has_a_worker_and_a_requirements_file() -> None:
    for client in venvs.CLIENTS:
        assert venvs.worker_path(client).is_file(), client
        name = venvs.VENV_OF.get(client, client)
        assert (venvs.REQUIREMENTS / f"{name}.txt").is_file(), client
    assert venvs.VENV_OF["etcd3py_aio"] == "etcd3py"


def test_every_workload_has_columns_and_defaults() -> None:
    names = {case.workload for case in workloads.cases()}
    assert names == set(report.COLUMNS) == set(_common.WORKLOADS) == set(_common.DEFAULTS)


def test_quick_divides_counts_by_ten() -> None:
    full = {c.name: c for c in workloads.cases()}
    quick = {c.name: c for c in workloads.cases(quick=True)}
    assert full["put_seq"].params["count"] == 5000
    assert quick["put_seq"].params["count"] == 500
    assert quick["put_concurrent"].params["concurrency"] == 8
    assert quick["watch_replay"].params["events"] == 20000
    assert set(full) - set(quick) == {"many_watches_10000"}
    assert quick["many_watches_1000"].params["watches"] == 1000
    assert quick["many_watches_100"].params["watches"] == 100
    assert full["resume"].params["deadline_s"] == 20.0
    assert quick["resume"].params == {"watches": 100, "deadline_s": 5.0}


def test_select_cases_by_case_or_workload() -> None:
    assert [c.name for c in cli.select_cases(["put_seq"], False)] == ["put_seq"]
    assert [c.name for c in cli.select_cases(["many_watches"], False)] == [
        "many_watches_1000",
        "many_watches_10000",
    ]
    assert len(cli.select_cases([], False)) == len(workloads.cases())
    assert cli.select_cases(["nope"], False) == []


def test_parse_args_defaults_and_unknown_client() -> None:
    args = cli.parse_args([])
    assert args.reps is None and args.backend == "etcd" and args.clients[0] == report.BASELINE
    reps = {case.name: cli.case_reps(case, args.reps) for case in workloads.cases()}
    kv = ("put_seq", "get_seq", "put_concurrent", "range_decode")
    assert all(reps[name] == 5 for name in kv) and reps["watch_replay"] == 3
    assert {cli.case_reps(case, 2) for case in workloads.cases()} == {2}  # --reps sets all
    assert cli.parse_args(["--clients", "etcd3py,raw_sync"]).clients == ["etcd3py", "raw_sync"]
    assert cli.parse_args(["--quick"]).reps == 1
    assert cli.parse_args(["--quick", "--reps", "3"]).reps == 3
    with pytest.raises(SystemExit):
        cli.parse_args(["--reps", "0"])
    with pytest.raises(SystemExit):
        cli.parse_args(["--clients", "nosuch"])


def test_last_json_takes_the_last_result_line() -> None:
    out = 'log\n{"ok": true, "metrics": {"a": 1}}\n{"event": "ready"}\nnot json {\n'
    assert runner.last_json(out) == {"ok": True, "metrics": {"a": 1}}
    assert runner.last_json("nothing\n") is None


def test_worker_common_percentiles_and_latencies() -> None:
    values = [float(i) for i in range(1, 101)]
    assert _common.percentile(values, 0.5) == 50.0
    assert _common.percentile(values, 0.99) == 99.0
    assert _common.percentile([3.0], 0.99) == 3.0
    with pytest.raises(ValueError):
        _common.percentile([], 0.5)
    got = _common.latency_metrics([0.001, 0.002, 0.003, 0.004], 0.01)
    assert got == pytest.approx({"ops_per_s": 400.0, "p50_ms": 2.0, "p99_ms": 4.0})


def test_worker_common_stamps_ranges_and_params() -> None:
    value = _common.lag_value(256)
    assert len(value) == 256
    assert _common.stamp_age_ms(value, now=_common.lag_stamp(value) + 0.5) == pytest.approx(500.0)
    assert _common.prefix_range_end(b"/a/") == b"/a0"
    assert _common.prefix_range_end(b"a\xff") == b"b"
    assert _common.prefix_range_end(b"\xff") == b"\0"
    assert _common.live_rate(101, 1.0, 2.0) == 100.0
    assert _common.live_rate(1, 1.0, 2.0) == 0.0
    params = _common.params_for("resume", {"watches": 5})
    assert params["watches"] == 5 and params["deadline_s"] == 20.0
    args = _common.parse_args(
        ["--endpoint", "127.0.0.1:1", "--workload", "put_seq", "--params", json.dumps({"count": 3})]
    )
    assert args.params["count"] == 3 and args.params["endpoint"] == "127.0.0.1:1"
    _common.check_range(2, 10, {"keys": 2, "expect_bytes": 10})
    with pytest.raises(ValueError):
        _common.check_range(2, 11, {"keys": 2, "expect_bytes": 10})


def test_run_worker_reports_unsupported_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--endpoint", "e", "--workload", "resume"]

    def boom(p: dict[str, object]) -> dict[str, object]:
        raise RuntimeError("no server")

    assert _common.run_worker({}, {"resume": "no resume"}, argv) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "ok": False,
        "unsupported": "no resume",
    }
    assert _common.run_worker({"resume": boom}, None, argv) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "ok": False,
        "error": "RuntimeError: no server",
    }
    assert _common.run_worker({"resume": lambda p: {"x": p["watches"]}}, None, argv) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "ok": True,
        "metrics": {"x": 1000},
    }


def test_worker_common_metrics_of_workloads_6_to_8() -> None:
    assert _common.writer_ops_per_s('start\n{"ops_per_s": 12.5}\n') == 12.5
    assert _common.writer_ops_per_s("crashed\n") == 0.0
    live = _common.live_metrics([0.001, 0.003, 0.002], 1.0, 2.0, 99.0)
    assert live == pytest.approx(
        {"events_per_s": 2.0, "writer_ops_per_s": 99.0, "max_lag_ms": 3.0, "p99_lag_ms": 3.0,
         "delivered": 3}
    )  # fmt: skip
    assert _common.live_metrics([], 0.0, 0.0, 5.0)["max_lag_ms"] is None
    many = _common.many_watches_metrics(10, (1000, 7), (1020, 9), 0.5, 0.25, 10)
    assert many == {
        "create_s": 0.5, "rss_kb_per_watch": 2.0, "os_threads_before": 7,
        "os_threads_after": 9, "deliver_s": 0.25, "delivered": 10,
    }  # fmt: skip
    got = _common.resume_metrics({"written": 5, "t0": 100.0}, 4, 6, 101.5)
    assert got == {"resume_s": 1.5, "delivered": 6, "lost": 1, "duplicated": 2}
    assert _common.resume_metrics({"written": 5, "t0": 1.0}, 0, 0, 0.0)["resume_s"] is None


def test_worker_common_live_lags_record_first_and_last() -> None:
    live = _common.LiveLags()
    assert live.add(()) == 0 and live.first == 0.0
    assert live.add([_common.lag_value(), _common.lag_value()]) == 2
    first = live.first
    assert first > 0 and live.last == first
    assert live.add([_common.lag_value()]) == 3
    assert live.first == first and live.last >= first
    assert live.metrics(1.0)["delivered"] == 3


async def test_worker_common_aio_tally_counts_and_waits() -> None:
    tally = _common.AioTally(2)
    with pytest.raises(TimeoutError, match="1/2 watches created"):
        tally.created()
        await tally.wait_created(0.01)
    tally.created()
    await tally.wait_created(1.0)
    tally.add_events(k for k in (b"a",))
    tally.add_events(())
    tally.add_events([b"a", b"b"])
    await tally.wait_events(1.0)
    assert (tally.events, tally.per_key) == (3, {b"a": 2, b"b": 1})
    got = tally.resume_metrics({"written": 3, "t0": tally.last_event - 1.0})
    assert got == pytest.approx(
        {"resume_s": 1.0, "delivered": 3, "lost": 1, "duplicated": 1, "stream_errors": 0}
    )
    ended = _common.AioTally(5)
    ended.failed()
    ended.ended()  # the one stream broke: the waits return at once
    await ended.wait_events(60.0)
    with pytest.raises(TimeoutError, match="0/5"):
        await ended.wait_created(60.0)
    assert ended.stream_errors == 1


async def test_worker_common_concurrent_calls_and_bounded() -> None:
    seen: list[int] = []

    async def call(i: int) -> None:
        seen.append(i)
        await asyncio.sleep(0)

    got = await _common.aconcurrent_calls(10, 3, 60.0, call)
    assert sorted(seen) == list(range(10)) and got["ops_per_s"] > 0
    assert seen[:3] == [0, 1, 2]  # the tasks interleave
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cancelled.set()

    await _common.bounded(forever(), 0.01)
    assert cancelled.is_set()
    task = asyncio.ensure_future(asyncio.sleep(60))
    await _common.cancel_tasks([task])
    assert task.cancelled()


def test_worker_common_async_handlers_and_workload_functions() -> None:
    async def put_seq(p: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"n": p["count"]}

    def helper() -> None: ...

    found = _common.workload_functions({"put_seq": put_seq, "helper": helper, "x": 1})
    assert found == {"put_seq": put_seq}
    assert _common.async_handlers(found)["put_seq"]({"count": 3}) == {"n": 3}
