"""A small differential check: the same raw KV requests against the reference server and etcd.

Every response must match field by field (cluster and member ids aside), and every error
must have the same code and message. The full seeded differential test lives elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from google.protobuf.message import Message

from etcd3py import _pb, _stubs
from testserver import Server

ETCD_BINARY = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "etcd"

pytestmark = pytest.mark.skipif(not ETCD_BINARY.exists(), reason=f"no etcd at {ETCD_BINARY}")
Outcome = tuple[str, str]  # ("ok", text of the normalised response) or ("error", "CODE: details")


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def real_etcd(*extra_args: str) -> Iterator[str]:
    """Run a real single-member etcd on free loopback ports; yield its endpoint; stop it."""
    etcd = os.environ.get("ETCD3PY_ETCD_BINARY") or str(ETCD_BINARY)
    if not Path(etcd).exists() and shutil.which("etcd") is None:
        raise FileNotFoundError(etcd)
    client, peer = free_port(), free_port()
    data_dir = tempfile.mkdtemp(prefix="etcd3py-diff-")
    curl, purl = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    args = [
        etcd, "--name", "default", "--data-dir", data_dir,
        "--listen-client-urls", curl, "--advertise-client-urls", curl,
        "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
        "--initial-cluster", f"default={purl}", "--log-level", "error", *extra_args,
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"127.0.0.1:{client}"
        _wait_ready(endpoint, proc)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


def _wait_ready(endpoint: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    with grpc.insecure_channel(endpoint) as ch:
        kv = _stubs.rpc_grpc.KVStub(ch)
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {proc.returncode}")
            try:
                kv.Range(_pb.rpc.RangeRequest(key=b"ready?"), timeout=1)
                return
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)  # polling a starting process, not synchronising threads
    raise RuntimeError("etcd did not become ready")


def normalise(msg: Message) -> str:
    """Return the response as text with cluster and member ids zeroed (they differ by design)."""
    copy = type(msg)()
    copy.CopyFrom(msg)
    header = getattr(copy, "header", None)
    if header is not None and copy.HasField("header"):
        header.cluster_id = 0
        header.member_id = 0
    return str(copy)


def call(fn: Callable[[], Message]) -> Outcome:
    """Run one call; return its normalised response or its error code and details."""
    try:
        return ("ok", normalise(fn()))
    except grpc.RpcError as exc:
        failed = cast(grpc.Call, exc)
        return ("error", f"{failed.code().name}: {failed.details()}")


rpc = _pb.rpc
RR = rpc.RangeRequest
CMP = rpc.Compare
Step = tuple[str, str, Message]  # (service, method, request)


def put(key: bytes, value: bytes = b"", **kw: Any) -> Step:
    return ("kv", "Put", rpc.PutRequest(key=key, value=value, **kw))


def get(key: bytes, **kw: Any) -> Step:
    return ("kv", "Range", rpc.RangeRequest(key=key, **kw))


def delete(key: bytes, **kw: Any) -> Step:
    return ("kv", "DeleteRange", rpc.DeleteRangeRequest(key=key, **kw))


def txn(
    compare: list[rpc.Compare] | None = None,
    success: list[rpc.RequestOp] | None = None,
    failure: list[rpc.RequestOp] | None = None,
) -> Step:
    return ("kv", "Txn", txn_req(compare, success, failure))


def txn_req(
    compare: list[rpc.Compare] | None = None,
    success: list[rpc.RequestOp] | None = None,
    failure: list[rpc.RequestOp] | None = None,
) -> rpc.TxnRequest:
    return rpc.TxnRequest(compare=compare or [], success=success or [], failure=failure or [])


def op(step: Step) -> rpc.RequestOp:
    field = {"Put": "request_put", "Range": "request_range", "DeleteRange": "request_delete_range"}
    req: Any = step[2]
    if isinstance(req, rpc.TxnRequest):
        return rpc.RequestOp(request_txn=req)
    return rpc.RequestOp(**{field[step[1]]: req})


def cmp(key: bytes, target: str, result: str, value: Any, **kw: Any) -> rpc.Compare:
    field = {"VALUE": "value", "VERSION": "version", "CREATE": "create_revision"}
    field.update({"MOD": "mod_revision", "LEASE": "lease"})
    return rpc.Compare(
        key=key,
        target=getattr(CMP, target),
        result=getattr(CMP, result),
        **{field[target]: value},
        **kw,
    )


def basic_script() -> Iterator[Step]:
    yield get(b"a")
    yield put(b"a", b"1")
    yield put(b"b", b"2", prev_kv=True)
    yield put(b"a", b"3", prev_kv=True)
    yield get(b"a")
    yield get(b"a", range_end=b"\x00")
    yield get(b"\x00", range_end=b"\x00")
    for k, v in [(b"c", b"9"), (b"d", b"1"), (b"e", b"5"), (b"c", b"0"), (b"f", b"5")]:
        yield put(k, v)
    yield get(b"a", range_end=b"z", limit=2)
    yield get(b"a", range_end=b"z", limit=2, sort_target=RR.VALUE)
    yield get(b"a", range_end=b"z", sort_target=RR.MOD, sort_order=RR.DESCEND)
    yield get(b"a", range_end=b"z", sort_target=RR.VERSION, sort_order=RR.ASCEND)
    yield get(b"a", range_end=b"z", sort_target=RR.CREATE, sort_order=RR.DESCEND, limit=3)
    yield get(b"a", range_end=b"z", sort_order=RR.DESCEND, limit=2)
    yield get(b"a", range_end=b"z", keys_only=True, limit=3)
    yield get(b"a", range_end=b"z", count_only=True, limit=1)
    yield get(b"a", range_end=b"z", min_mod_revision=5, limit=2)
    yield get(b"a", range_end=b"z", max_mod_revision=5, min_create_revision=3)
    yield get(b"a", range_end=b"z", max_create_revision=4, count_only=True)
    yield get(b"a", range_end=b"z", revision=3)
    yield get(b"a", revision=100)
    yield get(b"")
    yield get(b"z", range_end=b"a")
    yield delete(b"b", prev_kv=True)
    yield delete(b"nothing")
    yield delete(b"d", range_end=b"f", prev_kv=True)
    yield put(b"b", b"again")
    yield get(b"b")
    yield delete(b"")


def put_error_script() -> Iterator[Step]:
    yield put(b"", b"x")
    yield put(b"missing", ignore_value=True)
    yield put(b"a", b"v", ignore_value=True)
    yield put(b"a", lease=7, ignore_lease=True)
    yield put(b"a", b"v", lease=12345)
    yield put(b"a", ignore_value=True, prev_kv=True)
    yield put(b"a", b"new", ignore_lease=True)
    yield put(b"missing", b"v", ignore_lease=True)


def txn_script() -> Iterator[Step]:
    yield put(b"k1", b"v1")
    yield put(b"k2", b"v2")
    yield txn([cmp(b"k1", "VALUE", "EQUAL", b"v1")], [op(put(b"k1", b"x")), op(get(b"k1"))])
    yield txn([cmp(b"k1", "VERSION", "GREATER", 5)], [op(get(b"k1"))], [op(get(b"k2"))])
    yield txn([cmp(b"k", "MOD", "LESS", 100, range_end=b"l")], [op(delete(b"k2"))])
    yield txn([cmp(b"nokey", "VALUE", "NOT_EQUAL", b"q")], [op(put(b"k3"))], [op(put(b"k4"))])
    yield txn([cmp(b"nokey", "CREATE", "EQUAL", 0)], [op(put(b"k5", b"5"))])
    yield txn([cmp(b"k1", "LEASE", "EQUAL", 0)], [op(get(b"k", range_end=b"l"))])
    yield txn([], [op(delete(b"nothing"))])
    yield txn([], [op(get(b"k1")), op(get(b"k2", revision=2))])
    inner = txn_req([cmp(b"k1", "VALUE", "EQUAL", b"x")], [op(put(b"n1"))], [op(put(b"n2"))])
    yield txn([], [op(("", "", inner)), op(put(b"n3")), op(get(b"n", range_end=b"o"))])
    yield txn([], [op(put(b"d1")), op(put(b"d1"))])
    yield txn([], [op(put(b"d1")), op(delete(b"d0", range_end=b"d2"))])
    yield txn([], [op(put(b"d1")), op(delete(b"d0", range_end=b"\x00"))])
    yield txn([], [op(put(b"d1")), op(("", "", txn_req([], [op(put(b"d1"))])))])
    both = txn_req([], [op(put(b"d2"))], [op(put(b"d2"))])
    yield txn([], [op(("", "", both))])
    yield txn([], [op(put(b"t%d" % i)) for i in range(129)])
    yield txn([], [op(put(b"t%d" % i)) for i in range(128)])
    yield txn([], [op(put(b"x")), op(("", "", txn_req([], [op(put(b"y"))])))] * 1)
    yield txn([], [rpc.RequestOp()])
    yield txn([cmp(b"", "VALUE", "EQUAL", b"")], [])
    yield txn([], [op(get(b"k1", revision=1000))])
    yield txn([], [op(put(b"k1", b"v", lease=99))])
    yield txn([], [op(put(b"k1", ignore_value=True)), op(put(b"k9", ignore_value=True))])


def compact_script() -> Iterator[Step]:
    for i in range(4):
        yield put(b"c", b"%d" % i)
    yield delete(b"c")
    yield put(b"c", b"new")
    yield ("maint", "HashKV", rpc.HashKVRequest(revision=0))
    yield ("maint", "HashKV", rpc.HashKVRequest(revision=3))
    # physical: real etcd then answers after deleting (else HashKV races its compaction)
    yield ("kv", "Compact", rpc.CompactionRequest(revision=4, physical=True))
    yield ("kv", "Compact", rpc.CompactionRequest(revision=4))
    yield ("kv", "Compact", rpc.CompactionRequest(revision=1000))
    yield get(b"c", revision=3)
    yield get(b"c", revision=4)
    yield get(b"c", revision=5)
    yield txn([], [op(get(b"c", revision=2))])
    yield ("maint", "HashKV", rpc.HashKVRequest(revision=0))
    yield ("maint", "HashKV", rpc.HashKVRequest(revision=4))
    yield ("maint", "HashKV", rpc.HashKVRequest(revision=6))
    yield ("kv", "Compact", rpc.CompactionRequest(revision=7, physical=True))
    yield get(b"c", range_end=b"\x00")
    yield ("maint", "HashKV", rpc.HashKVRequest(revision=0))


def sort_ties_script() -> Iterator[Step]:
    for i in range(30):
        yield put(b"s%02d" % i, b"%d" % (i * 7 % 3))
    for i in range(0, 30, 4):
        yield put(b"s%02d" % i, b"%d" % (i % 2))
    for target in (RR.VALUE, RR.VERSION, RR.CREATE):
        for order in (RR.NONE, RR.ASCEND, RR.DESCEND):
            yield get(b"s", range_end=b"t", sort_target=target, sort_order=order, keys_only=True)
            yield get(b"s0", range_end=b"s1", sort_target=target, sort_order=order, limit=4)


def misc_script() -> Iterator[Step]:
    yield ("maint", "Alarm", rpc.AlarmRequest(action=rpc.AlarmRequest.GET))
    yield ("maint", "Defragment", rpc.DefragmentRequest())
    yield put(b"big", b"x" * 1572800)
    yield put(b"big", b"x" * 1572900)
    yield txn([], [op(put(b"big", b"x" * 1572900))])
    yield get(b"big", count_only=True)


SCRIPTS: dict[str, Callable[[], Iterator[Step]]] = {
    "basic": basic_script,
    "put_errors": put_error_script,
    "txn": txn_script,
    "compact": compact_script,
    "sort_ties": sort_ties_script,
    "misc": misc_script,
}


def run(endpoint: str, steps: list[Step]) -> list[Outcome]:
    with grpc.insecure_channel(endpoint) as ch:
        stubs = {"kv": _stubs.rpc_grpc.KVStub(ch), "maint": _stubs.rpc_grpc.MaintenanceStub(ch)}
        outcomes = []
        for service, method, request in steps:
            rpc_method = getattr(stubs[service], method)
            outcomes.append(call(lambda: rpc_method(request, timeout=10)))  # noqa: B023
        return outcomes


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_same_answers_as_etcd(name: str) -> None:
    steps = list(SCRIPTS[name]())
    with real_etcd() as endpoint:
        expected = run(endpoint, steps)
    with Server() as srv:
        got = run(srv.endpoint, steps)
    for i, (step, want, have) in enumerate(zip(steps, expected, got, strict=True)):
        assert have == want, f"step {i}: {step[1]} {step[2]}"
