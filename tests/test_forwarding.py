"""``Client`` forwards every public method of every concern, with the same signature.

``client.put`` is ``client.kv.put``, ``client.watch`` is ``client.watcher.watch`` and so on
(API.md); this test holds the two sides together so that the forwarding cannot drift: a
method added to a concern without its forwarding method, or with other parameters, fails.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from etcd3py import Client
from etcd3py.auth import Auth
from etcd3py.cluster import Cluster
from etcd3py.kv import KV
from etcd3py.lease import Lease
from etcd3py.maintenance import Maintenance
from etcd3py.watch import Watcher

CONCERNS = {"kv": KV, "watcher": Watcher, "lease": Lease, "cluster": Cluster}
CONCERNS |= {"maintenance": Maintenance, "auth": Auth}
# Each concern's lifecycle is the client's own: client.close() closes them all; the
# watcher's open_watch hooks are what its watch methods call, not the client's API.
NOT_FORWARDED = {"close", "open_watch", "open_watch_callback"}


def _public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
        and name not in NOT_FORWARDED
        and (inspect.isfunction(member) or inspect.ismethod(member))
    )


CASES = [(attribute, name) for attribute, cls in CONCERNS.items() for name in _public_methods(cls)]


@pytest.mark.parametrize(("attribute", "name"), CASES, ids=[f"{a}.{n}" for a, n in CASES])
def test_client_forwards_the_method_with_the_same_signature(attribute: str, name: str) -> None:
    concern = CONCERNS[attribute]
    assert hasattr(Client, name), f"Client lacks {name}, which forwards to client.{attribute}"
    ours = inspect.signature(getattr(Client, name))
    theirs = inspect.signature(getattr(concern, name))
    assert ours == theirs, f"Client.{name}{ours} != {concern.__name__}.{name}{theirs}"


def test_every_call_that_talks_to_the_server_takes_timeout_and_ctx() -> None:
    missing = []
    for attribute, name in CASES:
        if name in {"txn"}:  # builds a Txn; its commit() takes them
            continue
        params = inspect.signature(getattr(CONCERNS[attribute], name)).parameters
        for wanted in ("timeout", "ctx"):
            # a watch lives until closed: its ctx (with_timeout) bounds it, not a timeout=;
            # request_progress only queues a request on the stream of its ctx: no wait
            exempt = (
                name in {"watch", "add_watch_callback", "request_progress"} and wanted == "timeout"
            )
            if wanted not in params and not exempt:
                missing.append(f"{attribute}.{name}: {wanted}")
    assert missing == []


@pytest.mark.parametrize(
    ("name", "options"),
    [("get", "GetOptions"), ("put", "PutOptions"), ("delete", "DeleteOptions")],
)
def test_kv_options_are_ops_options_one_by_one(name: str, options: str) -> None:
    """``KV.get`` (so ``client.get``) takes exactly ``Op.get``'s options, same defaults, in
    the same order, then ``timeout`` and ``ctx``; the TypedDict names the same options."""
    from etcd3py import op

    op_params = list(inspect.signature(getattr(op.Op, name)).parameters.values())
    kv_params = list(inspect.signature(getattr(KV, name)).parameters.values())[1:]  # self
    assert [p.name for p in kv_params[-2:]] == ["timeout", "ctx"]
    assert kv_params[:-2] == op_params
    keyword = {p.name for p in op_params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keyword == set(getattr(op, options).__annotations__)


@pytest.mark.parametrize("name", ["watch", "add_watch_callback"])
def test_watch_options_are_the_typed_dicts_one_by_one(name: str) -> None:
    from etcd3py.watch import WatchOptions

    params = inspect.signature(getattr(Watcher, name)).parameters
    keyword = [p for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    options = [p.name for p in keyword if p.name not in {"timeout", "ctx", "wait"}]
    assert options == list(WatchOptions.__annotations__)  # the same names, in order


def test_the_forwarding_methods_are_generated_from_the_concerns() -> None:
    """``etcd3py/_forward`` (and the asyncio face's) is what ``scripts/gen_forward.py``
    writes from the concerns' signatures: change a concern, run the script."""
    pytest.importorskip("ruff")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "scripts/gen_forward.py", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
