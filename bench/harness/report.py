"""The pure figures of the harness: rotation order, medians, ratios to raw stubs, Markdown tables.

No I/O and no servers here, so that ``tests/unit/test_bench_harness.py`` checks it all fast.
A *sample* is what one worker run gave: ``{"ok": True, "metrics": {...}}``,
``{"ok": False, "unsupported": why}`` or ``{"ok": False, "error": msg}``. A client the
harness does not run a case with (:attr:`bench.harness.workloads.Case.clients`) has no
samples and its row says "not applicable".

Each client's ratios are to the raw stubs of its own face (:func:`baseline`): a sync client's
to raw sync stubs, an asyncio client's to raw ``grpc.aio`` stubs, whose own row is compared to
raw sync (what asyncio itself costs or gains at the floor).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from typing import Any

__all__ = [
    "AIO_BASELINE",
    "AIO_CLIENTS",
    "BASELINE",
    "COLUMNS",
    "NOT_APPLICABLE",
    "Column",
    "baseline",
    "cell",
    "format_number",
    "markdown_table",
    "median_metrics",
    "ratio",
    "ratios",
    "rotated",
    "summarize",
]

BASELINE = "raw_sync"
AIO_BASELINE = "raw_aio"
#: The asyncio clients: their ratios are to ``raw_aio``.
AIO_CLIENTS = frozenset({"etcd3py_aio", "aetcd", "etcd_client_py", "etcd3aio"})
Sample = Mapping[str, Any]


class Column:
    """One metric shown in a workload's table.

    Args:
        metric: the metric's key in the worker's result.
        title: the column heading.
        better: ``"higher"`` or ``"lower"`` for a figure compared to the baseline (a ratio is
            shown beside it, > 1 always meaning better), or ``""`` for a plain count.
    """

    def __init__(self, metric: str, title: str, better: str = "") -> None:
        self.metric, self.title, self.better = metric, title, better

    def __repr__(self) -> str:
        return f"Column({self.metric!r}, {self.title!r}, {self.better!r})"


COLUMNS: dict[str, list[Column]] = {
    "put_seq": [
        Column("ops_per_s", "ops/s", "higher"),
        Column("p50_ms", "p50 ms", "lower"),
        Column("p99_ms", "p99 ms", "lower"),
        Column("cpu_us", "CPU µs/call", "lower"),
    ],
    "get_seq": [
        Column("ops_per_s", "ops/s", "higher"),
        Column("p50_ms", "p50 ms", "lower"),
        Column("p99_ms", "p99 ms", "lower"),
        Column("cpu_us", "CPU µs/call", "lower"),
    ],
    "put_concurrent": [Column("ops_per_s", "ops/s", "higher")],
    "range_decode": [
        Column("decode_s", "decode s", "lower"),
        Column("touch_s", "touch s", "lower"),
        Column("keys", "keys"),
    ],
    "watch_replay": [Column("events_per_s", "events/s", "higher"), Column("events", "events")],
    "watch_live": [
        Column("events_per_s", "events/s", "higher"),
        Column("writer_ops_per_s", "writer ops/s"),
        Column("max_lag_ms", "max lag ms", "lower"),
        Column("p99_lag_ms", "p99 lag ms", "lower"),
        Column("delivered", "delivered"),
    ],
    "many_watches": [
        Column("create_s", "create s", "lower"),
        Column("rss_kb_per_watch", "RSS KB/watch", "lower"),
        Column("os_threads_before", "threads before"),
        Column("os_threads_after", "threads after"),
        Column("deliver_s", "deliver s", "lower"),
        Column("delivered", "delivered"),
    ],
    "resume": [
        Column("resume_s", "resume s", "lower"),
        Column("delivered", "delivered"),
        Column("lost", "lost"),
        Column("duplicated", "duplicated"),
    ],
    # etcd3py's clients alone run it (no baseline runs): plain figures, no ratios.
    "soak": [
        Column("watch_cycles_per_s", "watch cycles/s"),
        Column("lease_cycles_per_s", "lease cycles/s"),
        Column("rss_kb_before", "RSS before KB"),
        Column("rss_growth_kb", "RSS growth KB"),
        Column("threads_before", "OS threads before"),
        Column("threads_after", "OS threads after"),
        Column("py_threads_before", "Python threads before"),
        Column("py_threads_after", "Python threads after"),
        Column("tasks_before", "tasks before"),
        Column("tasks_after", "tasks after"),
        Column("watch_cycles", "watch cycles"),
        Column("lease_cycles", "lease cycles"),
    ],
}

NOT_APPLICABLE = "not applicable"


def baseline(client: str) -> str:
    """Return the client whose medians ``client``'s ratios divide: raw_aio or raw_sync."""
    return AIO_BASELINE if client in AIO_CLIENTS else BASELINE


def rotated(clients: Sequence[str], rep: int) -> list[str]:
    """Return the client order of repetition ``rep``: the list rotated left by ``rep``."""
    if not clients:
        return []
    k = rep % len(clients)
    return [*clients[k:], *clients[:k]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def median_metrics(samples: Sequence[Sample]) -> dict[str, float]:
    """Return the median of every numeric metric over the successful samples.

    A metric that is None in some samples (e.g. ``resume_s`` when nothing arrived) takes the
    median of the others; one that is None in all is left out.
    """
    values: dict[str, list[float]] = {}
    for sample in samples:
        if not sample.get("ok"):
            continue
        for key, value in sample["metrics"].items():
            number = _number(value)
            if number is not None:
                values.setdefault(key, []).append(number)
    return {key: statistics.median(vals) for key, vals in values.items()}


def ratio(value: float | None, base: float | None, better: str) -> float | None:
    """Return the ratio of ``value`` to the baseline's ``base`` such that > 1 means better.

    Args:
        value: the client's median.
        base: the baseline's median (raw sync's, or raw aio's for an asyncio client).
        better: ``"higher"`` (value / base) or ``"lower"`` (base / value).

    Returns:
        The ratio, or None when it cannot be formed (a missing or zero figure).
    """
    if value is None or base is None or better not in ("higher", "lower"):
        return None
    num, den = (value, base) if better == "higher" else (base, value)
    return num / den if den > 0 else None


def ratios(
    medians: Mapping[str, Mapping[str, float]], columns: Sequence[Column]
) -> dict[str, dict[str, float]]:
    """Return every client's ratios to its :func:`baseline` for the ratioed columns.

    A client whose baseline has no medians (not selected, or failed) gets no ratios.
    """
    out: dict[str, dict[str, float]] = {}
    for client, figures in medians.items():
        base = medians.get(baseline(client), {})
        row = {}
        for col in columns:
            r = ratio(figures.get(col.metric), base.get(col.metric), col.better)
            if r is not None:
                row[col.metric] = r
        out[client] = row
    return out


def format_number(value: float) -> str:
    """Format a figure with about three significant digits (integers above 100)."""
    magnitude = abs(value)
    if magnitude >= 100 or (value == int(value) and magnitude >= 1):
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def cell(value: float | None, rel: float | None) -> str:
    """Format one table cell: the median and, when there is one, its ratio (``1,234 (0.98x)``)."""
    if value is None:
        return "-"
    text = format_number(value)
    return text if rel is None else f"{text} ({rel:.2f}x)"


def _failure(samples: Sequence[Sample]) -> str | None:
    """Return the text of a client's row when no sample succeeded."""
    if any(s.get("ok") for s in samples):
        return None
    for s in samples:
        if s.get("unsupported"):
            return f"unsupported: {s['unsupported']}"
    for s in samples:
        if s.get("error"):
            return f"failed: {s['error']}"
    return "no result"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:160]


def markdown_table(
    columns: Sequence[Column],
    clients: Sequence[str],
    samples: Mapping[str, Sequence[Sample]],
    *,
    not_applicable: Collection[str] = (),
) -> str:
    """Return one workload's Markdown table: a row per client (its baseline in ``vs``), a
    cell per metric.

    Args:
        columns: the workload's columns.
        clients: the rows, in order.
        samples: client -> its samples (a client without samples shows "not run").
        not_applicable: the clients that do not run this workload: their row says so
            and ``runs ok`` is ``-``.
    """
    medians = {c: median_metrics(samples.get(c, ())) for c in clients}
    rel = ratios(medians, columns)
    head = ["client", "vs", *(c.title for c in columns), "runs ok"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for client in clients:
        got = samples.get(client, ())
        failure = _failure(got) if got else "not run"
        ok = f"{sum(1 for s in got if s.get('ok'))}/{len(got)}"
        if client in not_applicable:
            failure, ok = NOT_APPLICABLE, "-"
        if failure is not None:
            cells = [_escape(failure), *([""] * (len(columns) - 1))]
        else:
            cells = [
                cell(medians[client].get(col.metric), rel[client].get(col.metric))
                for col in columns
            ]
        lines.append("| " + " | ".join([client, baseline(client), *cells, ok]) + " |")
    return "\n".join(lines)


def summarize(
    workload: str, clients: Sequence[str], samples: Mapping[str, Sequence[Sample]]
) -> dict[str, Any]:
    """Return the JSON summary of one case: medians, ratios and each ratio's baseline."""
    columns = COLUMNS[workload]
    medians = {c: median_metrics(samples.get(c, ())) for c in clients}
    return {
        "medians": medians,
        "ratios": ratios(medians, columns),
        "baselines": {c: baseline(c) for c in clients},
    }
