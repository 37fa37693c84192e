"""``python -m bench.harness``: the command line and the interleaved run (issue 5).

Builds the client venvs, starts the server, then for each case writes its data once and runs
the repetitions interleaved (in repetition r every client runs once, the order rotated by r);
prints one Markdown table per case (medians, ratios to the raw stubs of each client's face) and
writes the JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import report, runner, venvs, workloads
from bench.harness.servers import BenchServer, open_server
from tests.backends import BackendUnavailable

__all__ = ["main", "parse_args"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_JSON = REPO / "bench" / "results" / "latest.json"
DEFAULT_REPS = 3
QUICK_REPS = 1  # a smoke run: every client and workload once, within about 3 minutes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the harness's options (see ``bench/README.md``)."""
    p = argparse.ArgumentParser(
        prog="python -m bench.harness",
        description="Benchmark etcd3py against raw gRPC stubs and other Python etcd clients.",
    )
    p.add_argument("--backend", choices=("etcd", "testserver"), default="etcd")
    p.add_argument(
        "--reps",
        type=int,
        default=None,
        help="repetitions of every case (default: 5 for the KV workloads, 3 for the others; "
        "1 with --quick)",
    )
    p.add_argument("--only", default="", help="cases or workloads, comma-separated")
    p.add_argument("--clients", default="", help="clients, comma-separated (default: all)")
    p.add_argument("--quick", action="store_true", help="counts divided by 10 (a smoke run)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    args = p.parse_args(argv)
    if args.reps is None and args.quick:
        args.reps = QUICK_REPS
    if args.reps is not None and args.reps < 1:
        p.error("--reps must be at least 1")
    known = set(venvs.CLIENTS)
    args.clients = [c for c in args.clients.split(",") if c] or list(venvs.CLIENTS)
    if unknown := [c for c in args.clients if c not in known]:
        p.error(f"unknown clients {unknown}; known: {', '.join(venvs.CLIENTS)}")
    args.only = [w for w in args.only.split(",") if w]
    return args


def select_cases(only: Sequence[str], quick: bool) -> list[workloads.Case]:
    """Return the cases named (by case or workload name) in ``only``; all when empty."""
    all_cases = workloads.cases(quick)
    if not only:
        return all_cases
    return [c for c in all_cases if c.name in only or c.workload in only]


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def applicable(cases: Sequence[workloads.Case], clients: Sequence[str]) -> list[str]:
    """Return the clients (in order) that run at least one of the cases."""
    return [c for c in clients if any(case.runs(c) for case in cases)]


def build_venvs(clients: Sequence[str]) -> dict[str, venvs.Venv]:
    """Build (or reuse) each client's venv; a client without a worker is unavailable too."""
    built: dict[str, venvs.Venv] = {}
    out: dict[str, venvs.Venv] = {}
    for client in clients:
        if not venvs.worker_path(client).is_file():
            out[client] = venvs.Venv(None, f"no bench/workers/{client}_worker.py")
            continue
        name = venvs.VENV_OF.get(client, client)
        if name not in built:
            built[name] = venvs.ensure_venv(name)
            if built[name].reason:
                _log(f"venv {name} unavailable: {built[name].reason}")
        out[client] = built[name]
    return out


def _run_one(
    case: workloads.Case, client: str, venv: venvs.Venv, params: dict[str, Any], srv: BenchServer
) -> dict[str, Any]:
    if venv.python is None:
        return {"ok": False, "error": f"unavailable: {venv.reason}"}
    worker = venvs.worker_path(client)
    if case.workload == "resume":
        return runner.run_resume(venv.python, worker, srv, params, case.timeout_s)
    return runner.run_worker(
        venv.python, worker, srv.endpoint, case.workload, params, case.timeout_s
    )


def run_case(
    case: workloads.Case, clients: Sequence[str], envs: dict[str, venvs.Venv], srv: BenchServer,
    reps: int,
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:  # fmt: skip
    """Prepare one case, then run its repetitions interleaved; return (params, samples).

    Only the clients that run the case (:meth:`workloads.Case.runs`) have samples.
    """
    clients = [c for c in clients if case.runs(c)]
    _log(f"{case.name}: preparing")
    try:
        shared = workloads.prepare(case, srv)
    except Exception as exc:  # the case fails in every cell; the run goes on
        failed = {"ok": False, "error": f"prepare failed: {type(exc).__name__}: {exc}"}
        return dict(case.params), {c: [failed] for c in clients}
    samples: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for rep in range(reps):
        for client in report.rotated(clients, rep):
            params = workloads.run_params(case, shared, client, rep, srv)
            t0 = time.perf_counter()
            sample = _run_one(case, client, envs[client], params, srv)
            sample["wall_s"] = round(time.perf_counter() - t0, 3)
            samples[client].append(sample)
            brief = sample.get("metrics") or sample.get("unsupported") or sample.get("error")
            _log(f"{case.name} rep {rep} {client}: {json.dumps(brief)[:200]}")
    return {**case.params, **shared}, samples


def case_reps(case: workloads.Case, reps: int | None) -> int:
    """The repetitions of ``case``: ``--reps`` when given, else the case's own, else 3."""
    return reps or case.reps or DEFAULT_REPS


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Return the machine's description for the JSON and the docs."""
    import os

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def versions(srv: BenchServer, envs: dict[str, venvs.Venv]) -> dict[str, Any]:
    """Return the server's version and every client venv's installed distributions."""
    out: dict[str, Any] = {"server": f"{srv.name} {srv.version}", "clients": {}}
    for client, venv in envs.items():
        if venv.python is not None:
            out["clients"][client] = venvs.installed_versions(venv.python)
        else:
            out["clients"][client] = {"unavailable": venv.reason}
    return out


def _run_all(
    args: argparse.Namespace,
    cases: Sequence[workloads.Case],
    envs: dict[str, venvs.Venv],
    doc: dict[str, Any],
) -> list[str]:
    """Start the server, run every case into ``doc``; return the Markdown tables."""
    tables: list[str] = []
    with open_server(args.backend) as srv:
        doc["versions"] = versions(srv, envs)
        for case in cases:
            reps = case_reps(case, args.reps)
            params, samples = run_case(case, args.clients, envs, srv, reps)
            skipped = [c for c in args.clients if not case.runs(c)]
            doc["cases"][case.name] = {
                "workload": case.workload,
                "params": params,
                "samples": samples,
                "not_applicable": skipped,
                "reps": reps,
                **report.summarize(case.workload, args.clients, samples),
            }
            table = report.markdown_table(
                report.COLUMNS[case.workload], args.clients, samples, not_applicable=skipped
            )
            tables.append(f"### {case.name}\n\n{table}\n")
            _log(f"{case.name} done")
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the tables; write the JSON. Returns the exit status."""
    args = parse_args(argv)
    cases = select_cases(args.only, args.quick)
    if not cases:
        print(f"no case matches --only {','.join(args.only)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    envs = build_venvs(applicable(cases, args.clients))
    doc: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "backend": args.backend,
        "quick": args.quick,
        "reps": args.reps,  # None: each case's own (its "reps")
        "clients": args.clients,
        "cases": {},
    }
    try:
        tables = _run_all(args, cases, envs, doc)
    except BackendUnavailable as exc:
        print(f"cannot start the {args.backend} backend: {exc}", file=sys.stderr)
        return 1
    doc["seconds"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print("\n".join(tables))
    _log(f"done in {doc['seconds']:.0f}s; JSON in {args.json}")
    return 0
