"""Running one worker once: the subprocess, its time limit, its last JSON line.

Workload 8 is interactive: the runner waits for the worker's ``{"event": "ready"}`` line,
breaks the server's connections, puts one value per watched key and writes
``{"written": N, "t0": ...}`` to the worker's stdin, then reads its result.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from bench.harness.servers import BenchServer
from bench.workers._common import workload_key

__all__ = ["last_json", "run_resume", "run_worker"]

REPO = Path(__file__).resolve().parents[2]


def last_json(stdout: str) -> dict[str, Any] | None:
    """Return the last stdout line that parses as a JSON object with ``ok`` (None if none)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "ok" in data:
            return data
    return None


def _argv(
    python: Path, worker: Path, endpoint: str, workload: str, params: dict[str, Any]
) -> list[str]:
    return [
        str(python),
        str(worker),
        "--endpoint",
        endpoint,
        "--workload",
        workload,
        "--params",
        json.dumps(params),
    ]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ETCD"))}


def _outcome(code: int | None, stdout: str, stderr: str) -> dict[str, Any]:
    result = last_json(stdout)
    if result is not None:
        return result
    tail = " / ".join(stderr.strip().splitlines()[-3:])
    return {"ok": False, "error": f"worker exited {code} without a result: {tail}"[:500]}


def run_worker(
    python: Path,
    worker: Path,
    endpoint: str,
    workload: str,
    params: dict[str, Any],
    timeout_s: float,
) -> dict[str, Any]:
    """Run a worker once; return its result (a failure, a crash or a timeout is a result too).

    Args:
        python: the client venv's interpreter.
        worker: the worker script.
        endpoint: the server.
        workload: the workload name.
        params: its params (JSON).
        timeout_s: the subprocess time limit.
    """
    argv = _argv(python, worker, endpoint, workload, params)
    try:
        done = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, env=_env()
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout_s:.0f}s"}
    return _outcome(done.returncode, done.stdout, done.stderr)


def _reader(stream: IO[str], lines: queue.SimpleQueue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_ready(lines: queue.SimpleQueue[str | None], out: list[str], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return False
        if line is None:
            return False
        out.append(line)
        if line.startswith('{"event"') and json.loads(line).get("event") == "ready":
            return True
    return False


def run_resume(
    python: Path, worker: Path, server: BenchServer, params: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    """Run workload 8 once: watches ready, connections broken, one put per key, the result.

    Args:
        python: the client venv's interpreter.
        worker: the worker script.
        server: the server (broken with ``break_connections``).
        params: the run's params (``prefix``, ``watches``).
        timeout_s: the time limit of the whole run.
    """
    argv = _argv(python, worker, server.endpoint, "resume", params)
    proc = subprocess.Popen(
        argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    out: list[str] = []
    err: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
    try:
        if _wait_ready(lines, out, timeout_s / 2):
            t0 = server.break_connections()
            n = params["watches"]
            server.put_many([(workload_key(params["prefix"], i), b"x") for i in range(n)])
            proc.stdin.write(json.dumps({"written": n, "t0": t0}) + "\n")
            proc.stdin.flush()
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout_s:.0f}s"}
    except Exception as exc:  # the server did not come back, a put failed...: this cell fails
        return {"ok": False, "error": f"harness: {type(exc).__name__}: {exc}"[:500]}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := _drain(lines)) is not None:
        out.append(line)
    return _outcome(code, "".join(out), "".join(err))


def _drain(lines: queue.SimpleQueue[str | None]) -> str | None:
    try:
        return lines.get(timeout=5)
    except queue.Empty:
        return None
