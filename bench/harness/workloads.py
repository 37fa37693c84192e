"""The benchmark cases: each workload's parameters, its data written once, per-run params.

A *case* is one workload with its sizes (workload 7 is two cases: 1,000 and 10,000 watches),
run by every client or, for a workload only some workers implement (9, ``soak``), by those.
``prepare`` writes what the workers read (the key of workload 2, the 10,000 keys of 4, the
200,000-event history of 5) once per run; ``run_params`` gives each (client, repetition) its
own key prefix so that no run sees another's keys or events.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from bench.harness.servers import BenchServer

__all__ = ["ETCD3PY_CLIENTS", "Case", "cases", "prepare", "run_params"]

REPO = Path(__file__).resolve().parents[2]
WRITER = REPO / "bench" / "writer.py"
VALUE_SIZE = 256
TXN_PUTS = 10  # puts per txn in workload 5's history
#: The clients of workload 9 (``soak``): etcd3py's two faces; no other worker implements it.
ETCD3PY_CLIENTS = frozenset({"etcd3py", "etcd3py_aio"})


@dataclasses.dataclass(frozen=True)
class Case:
    """One workload at one size.

    Attributes:
        name: the case's name in tables, JSON and ``--only`` (e.g. ``many_watches_10000``).
        workload: the worker's workload name.
        params: the full-size parameters (``--quick`` divides the counts by 10).
        timeout_s: the subprocess time limit of one worker run.
        clients: the clients that run it (None: every client); the others' rows say
            "not applicable".
        reps: its repetitions when ``--reps`` is not given (None: the harness's default).
    """

    name: str
    workload: str
    params: dict[str, Any]
    timeout_s: float = 240.0
    clients: frozenset[str] | None = None
    reps: int | None = None

    def runs(self, client: str) -> bool:
        """Return whether ``client`` runs this case (False: not applicable to it)."""
        return self.clients is None or client in self.clients


COUNT_KEYS = (
    "count",
    "keys",
    "events",
    "watches",
    "watch_cycles",
    "lease_cycles",
    "warmup_watch_cycles",
    "warmup_lease_cycles",
)
# A client that does not resume waits its whole deadline in workload 8: shorter when quick.
QUICK_RESUME_DEADLINE_S = 5.0
#: Repetitions of the KV workloads in a full run: the noisiest on a 2-core machine.
KV_REPS = 5
#: Workload 9's time limit: its worker bounds each phase by 600 s (``SOAK_DEADLINE_S``).
SOAK_TIMEOUT_S = 1500.0


def cases(quick: bool = False) -> list[Case]:
    """Return every case in run order; with ``quick`` the counts are divided by 10.

    Quick also gives workload 8 a 5 s wait instead of 20 s.
    """
    full = [
        Case("put_seq", "put_seq", {"count": 5000, "value_size": VALUE_SIZE}, reps=KV_REPS),
        Case("get_seq", "get_seq", {"count": 5000}, reps=KV_REPS),
        Case(
            "put_concurrent",
            "put_concurrent",
            {"count": 20000, "concurrency": 8, "value_size": VALUE_SIZE},
            reps=KV_REPS,
        ),
        Case("range_decode", "range_decode", {"keys": 10000}, reps=KV_REPS),
        Case("watch_replay", "watch_replay", {"events": 200000}),
        Case("watch_live", "watch_live", {"count": 20000}),
        Case("many_watches_1000", "many_watches", {"watches": 1000}),
        Case("many_watches_10000", "many_watches", {"watches": 10000}),
        Case("resume", "resume", {"watches": 1000, "deadline_s": 20.0}, timeout_s=300.0),
        Case(
            "soak",
            "soak",
            {
                "watch_cycles": 100000,
                "warmup_watch_cycles": 1000,
                "lease_cycles": 10000,
                "warmup_lease_cycles": 100,
                "lease_ttl": 30,
            },
            timeout_s=SOAK_TIMEOUT_S,
            clients=ETCD3PY_CLIENTS,
        ),
    ]
    if not quick:
        return full
    out = []
    for case in full:
        params = {k: v // 10 if k in COUNT_KEYS else v for k, v in case.params.items()}
        if case.workload == "resume":
            params["deadline_s"] = QUICK_RESUME_DEADLINE_S
        name = case.name if case.workload != "many_watches" else f"many_watches_{params['watches']}"
        out.append(dataclasses.replace(case, name=name, params=params))
    return out


def prepare(case: Case, server: BenchServer) -> dict[str, Any]:
    """Write the data the case's workers read; return the params they all share.

    Args:
        case: the case.
        server: where to write.

    Returns:
        Extra params (``key``, ``prefix``, ``start_rev``, ``expect_bytes``) for every run.
    """
    value = b"v" * VALUE_SIZE
    base = f"/bench/{case.name}/"
    if case.workload == "get_seq":
        key = base + "key"
        server.put_many([(key.encode(), value)])
        return {"key": key}
    if case.workload == "range_decode":
        keys = [f"{base}data/{i:06d}".encode() for i in range(case.params["keys"])]
        server.put_many([(k, value) for k in keys])
        expect = sum(len(k) for k in keys) + VALUE_SIZE * len(keys)
        return {"prefix": f"{base}data/", "expect_bytes": expect}
    if case.workload == "watch_replay":
        txns = case.params["events"] // TXN_PUTS
        start_rev = server.revision() + 1
        server.txn_many(
            [
                [(f"{base}data/{t:06d}/{j}".encode(), value) for j in range(TXN_PUTS)]
                for t in range(txns)
            ]
        )
        return {"prefix": f"{base}data/", "start_rev": start_rev}
    return {}


def run_params(
    case: Case, shared: dict[str, Any], client: str, rep: int, server: BenchServer
) -> dict[str, Any]:
    """Return the params of one worker run: the case's, the shared ones, its own prefix.

    Args:
        case: the case.
        shared: what ``prepare`` returned.
        client: the client's name.
        rep: the repetition.
        server: the server (its endpoint for the writer; its name for workload 8).
    """
    params = {**case.params, **shared}
    if "prefix" not in shared:
        params["prefix"] = f"/bench/{case.name}/{client}/{rep}/"
    if case.workload == "watch_live":
        params["writer"] = [
            sys.executable,
            str(WRITER),
            "--endpoint",
            server.endpoint,
            "--prefix",
            params["prefix"],
            "--count",
            str(params["count"]),
        ]
    if case.workload == "resume":
        params["backend"] = server.name
    return params
