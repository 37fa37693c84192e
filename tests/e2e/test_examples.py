"""Every program in ``examples/`` runs, as a subprocess with a time limit, and says what it should.

Each example runs against every backend (``--endpoint``) and once against the reference
server it starts itself (no option); the watch-resume example runs twice against one backend
to show that the second run prints exactly what changed in between. Each program has an
asyncio twin of the same name in ``examples/aio/`` that must print the same: every test
runs on both faces, with the same expected patterns.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from etcd3py import Client
from tests.conftest import Backend

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Where each face's programs live: the sync ones, and their asyncio twins.
FACE_DIRS = {"sync": EXAMPLES, "aio": EXAMPLES / "aio"}
RUN_TIMEOUT = 90.0  # seconds one example may run, interpreter start included

# For each example: patterns (regular expressions) its output must contain, in this order.
EXPECTED: dict[str, list[str]] = {
    "member_list": [r"^members: [1-9]", r"^member [0-9a-f]+ name="],
    "kv_put_get_delete": [
        r"^put greeting = 'hello' at revision \d+",
        r"previous value 'hello'$",
        r"^get greeting -> 'hello again'$",
        r"^delete greeting: deleted=1 \(was 'hello again'\)$",
        r"^get greeting after delete -> 0 keys$",
    ],
    "kv_get_prefix": [
        r"^by key: +fruit/apple='3' fruit/banana='1' fruit/cherry='2'$",
        r"^by value: +fruit/banana='1' fruit/cherry='2' fruit/apple='3'$",
        r"^limit 2: 2 keys, more=True, count=3$",
        r"^keys only: fruit/apple='' fruit/banana='' fruit/cherry='' vegetable/leek=''$",
    ],
    "kv_revisions": [
        r"^create_revision == first put: True$",
        r"^mod_revision == last put: True$",
        r"^version: 3$",
        r"^at put #1: value=v1 version=1$",
        r"^at put #3: value=v3 version=3$",
    ],
    "kv_compaction": [
        r"^before compaction, at the first revision: 'old'$",
        r"^reading the first revision: CompactedError: .*compacted",
        r"^the latest value survives: 'new'$",
    ],
    "kv_timeout": [
        r"^the server now answers 1.0s late$",
        r"^get with timeout=0.2: DeadlineExceededError",
        r"^with time enough, the call succeeds$",
    ],
    "watch_prefix": [r"^CREATE job 'queued'$", r"^MODIFY job 'running'$", r"^DELETE job ''$"],
    "watch_compacted": [
        r"^watch from v1's revision: CompactedError: .*compacted",
        r"^restarting from compact_revision \(the revision of v3\): True$",
        r"^events after the restart: v3 v4$",
    ],
    "lease_ttl": [
        r"^granted lease [0-9a-f]+ with a TTL of \d+s$",
        r"^the key exists: True$",
        r"^the key was deleted when the lease expired",
        r"^time_to_live of the expired lease: -1$",
    ],
    "lease_keep_alive_once": [
        r"^renewal 1: ttl back to \d+s$",
        r"^renewal 3: ttl back to \d+s$",
        r"^after 3s the key still exists: True$",
        r"^revoked: the key exists: False$",
    ],
    "lease_keep_alive": [
        r"^renewal 1: ttl \d+s$",
        r"^renewal 4: ttl \d+s$",
        r"^after the renewals the key still exists: True$",
        r"^the key is gone: True$",
    ],
    "lease_revoke": [
        r"^lease [0-9a-f]+: granted 60s, keys \['a', 'b'\]$",
        r"^revoked; keys left under the prefix: 0$",
        r"^time_to_live after revoke: -1$",
    ],
    "namespace": [
        r"^the app sees: \['config', 'worker'\]$",
        r"^the cluster holds: \['app/config', 'app/worker', 'outside'\]$",
        r"^the app's lease holds: \['worker'\]$",
    ],
    "lock": [
        r"^session 1 holds the lock$",
        r"^session 2 try_lock: LockedError: mutex: Locked by another session$",
        r"^session 2 holds the lock: True$",
    ],
    "election": [
        r"^observer: the leader says 'alice'$",
        r"^observer: the leader says 'alice, busy'$",
        r"^observer: the leader says 'bob'$",
        r"^after alice resigned, the leader is 'bob'$",
    ],
    "stm": [r"^total before: 500$", r"^total after: 500$"],
}


def run_example(name: str, *args: str, face: str = "sync") -> str:
    """Run ``examples/NAME.py ARGS`` (``examples/aio/NAME.py`` for the asyncio face); return
    its output, failing on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if k != "ETCD3PY_ENDPOINT"}
    # the etcd3py and testserver of this checkout, whatever checkout the venv installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # -X faulthandler: an example that hangs is stopped with SIGABRT, which makes it print
    # every thread's stack, so the failure says where it hung
    argv = [sys.executable, "-X", "faulthandler", str(FACE_DIRS[face] / f"{name}.py"), *args]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"{face} {name} hung for {RUN_TIMEOUT} s:\n{out}\n{err}")
    assert proc.returncode == 0, f"{face} {name} exited {proc.returncode}:\n{out}\n{err}"
    return out


def assert_says(output: str, patterns: list[str]) -> None:
    """Assert that the output's lines match ``patterns`` in order (other lines may come between)."""
    lines = output.splitlines()
    at = 0
    for pattern in patterns:
        while at < len(lines) and not re.search(pattern, lines[at]):
            at += 1
        assert at < len(lines), f"no line matching {pattern!r} (in order) in:\n{output}"
        at += 1


def programs(face: str) -> set[str]:
    """The example programs of one face (helper modules start with ``_``)."""
    return {p.stem for p in FACE_DIRS[face].glob("*.py") if not p.stem.startswith("_")}


def test_every_example_is_tested() -> None:
    assert programs("sync") - {"quickstart", "watch_resume_from_file"} == set(EXPECTED)


def test_every_example_has_its_asyncio_twin() -> None:
    assert programs("aio") == programs("sync")


faces = pytest.mark.parametrize("face", sorted(FACE_DIRS))
#: Examples that compact the key space: on a shared external cluster they run alone.
COMPACTING = {"kv_compaction", "watch_compacted"}


@faces
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.cluster_wide) if n in COMPACTING else n
        for n in sorted(EXPECTED)
    ],
)
def test_example_on_backend(backend: Backend, name: str, face: str) -> None:
    output = run_example(name, "--endpoint", backend.endpoints[0], face=face)
    assert_says(output, EXPECTED[name])


@faces
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_on_its_own_reference_server(name: str, face: str) -> None:
    assert_says(run_example(name, face=face), EXPECTED[name])


def masked(output: str) -> str:
    """``output`` with what differs from run to run (numbers, IDs, prefixes) masked."""
    return re.sub(r"[0-9a-f]*[0-9][0-9a-f]*", "N", output)


def test_quickstart_twins_print_the_same(backend: Backend) -> None:
    sync, aio = (
        run_example("quickstart", "--endpoint", backend.endpoints[0], face=face)
        for face in ("sync", "aio")
    )
    assert_says(sync, [r"^== put and get$", r"^== txn$", r"^== lease$", r"^done$"])
    assert masked(aio) == masked(sync)


@faces
def test_watch_resumes_from_saved_revision_across_runs(
    backend: Backend, client: Client, prefix: str, tmp_path: Path, face: str
) -> None:
    state = tmp_path / "watch.rev"
    common = ["--endpoint", backend.endpoints[0], "--state", str(state), "--prefix", prefix]
    first = run_example(
        "watch_resume_from_file", *common, "--write", "a", "--write", "b", face=face
    )
    assert_says(
        first, [r"^no saved revision$", r"^event PUT events 'a'$", r"^event PUT events 'b'$"]
    )
    saved = int(state.read_text())
    assert saved == client.get(prefix + "events").kvs[0].mod_revision
    # changes while the program is not running
    client.put(prefix + "offline", "while-down")
    client.delete(prefix + "offline")
    marker = uuid.uuid4().hex[:6]
    second = run_example("watch_resume_from_file", *common, "--write", marker, face=face)
    assert_says(
        second,
        [
            rf"^resuming after revision {saved}$",
            r"^event PUT offline 'while-down'$",
            r"^event DELETE offline ''$",
            rf"^event PUT events '{marker}'$",
        ],
    )
    assert "'a'" not in second and "'b'" not in second  # nothing delivered twice
    assert int(state.read_text()) == client.get(prefix + "events").kvs[0].mod_revision
