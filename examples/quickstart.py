"""etcd3py in a few steps: put, get (a key, a prefix, an old revision), txn, watch, lease, delete.

Runs against the pure-Python reference server started in this process, or against the etcd
named by ``--endpoint`` or ``ETCD3PY_ENDPOINT``::

    python examples/quickstart.py
    python examples/quickstart.py --endpoint 127.0.0.1:2379

Every key it writes lives under one fresh prefix, which it deletes at the end. Each demo is
one function taking the client and the prefix; add one to ``DEMOS`` to extend the tour.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

from etcd3py import Client, Compare, Op, SortOrder, SortTarget
from etcd3py.errors import FutureRevisionError, LeaseNotFoundError
from etcd3py.kv import GetResponse


def show(title: str) -> None:
    """Print a section title."""
    print(f"\n== {title}")


def text(raw: bytes) -> str:
    """Decode a key or value for printing."""
    return raw.decode("utf-8", errors="replace")


def demo_put_get(client: Client, p: str) -> None:
    """Write a few keys and read one back, with its revisions."""
    show("put and get")
    for name, value in [("config/color", "blue"), ("config/size", "10"), ("jobs/1", "build")]:
        resp = client.put(p + name, value)
        print(f"put {name:13} = {value!r:8} -> revision {resp.header.revision}")
    kv = client.get(p + "config/color").kvs[0]
    print(
        f"get config/color -> {text(kv.value)!r} (created at {kv.create_revision}, "
        f"modified at {kv.mod_revision}, version {kv.version})"
    )
    old = client.put(p + "config/color", "green", prev_kv=True).prev_kv
    print(f"put config/color = 'green' replaced {text(old.value) if old else None!r}")


def demo_prefix(client: Client, p: str) -> None:
    """Read a range of keys by prefix, sorted and limited."""
    show("get with prefix")
    resp = client.get(p + "config/", prefix=True)
    for kv in resp.kvs:
        print(f"  {text(kv.key).removeprefix(p)} = {text(kv.value)!r}")
    print(f"  ({resp.count} keys at revision {resp.header.revision})")
    newest = client.get(
        p, prefix=True, limit=1, sort_target=SortTarget.MOD, sort_order=SortOrder.DESCEND
    )
    print(f"most recently modified: {text(newest.kvs[0].key).removeprefix(p)}")
    print(f"keys under the prefix: {client.get(p, prefix=True, count_only=True).count}")


def demo_history(client: Client, p: str) -> None:
    """Read a key as it was at an older revision, and a revision that does not exist yet."""
    show("history")
    first = client.put(p + "counter", "1").header.revision
    client.put(p + "counter", "2")
    then = client.get(p + "counter", rev=first).kvs[0]
    now = client.get(p + "counter")
    print(f"counter at revision {first}: {text(then.value)!r}; now: {text(now.kvs[0].value)!r}")
    future = now.header.revision + 100
    try:
        client.get(p + "counter", rev=future)
    except FutureRevisionError as exc:
        print(f"revision {future} is refused: {type(exc).__name__}: {exc}")


def demo_txn(client: Client, p: str) -> None:
    """Compare-and-swap with a transaction, both ways."""
    show("txn")
    key = p + "config/color"
    for expected in ("green", "purple"):
        resp = (
            client.txn()
            .if_(Compare.value(key) == expected)
            .then(Op.put(key, "red"), Op.get(key))
            .else_(Op.get(key))
            .commit()
        )
        seen = resp.responses[-1]
        current = text(seen.kvs[0].value) if isinstance(seen, GetResponse) else "?"
        branch = "then" if resp.succeeded else "else"
        print(f"if color == {expected!r}: succeeded={resp.succeeded}, ran {branch}: {current!r}")
    created = (
        client.txn().if_(Compare.version(p + "lock") == 0).then(Op.put(p + "lock", "me")).commit()
    )
    print(f"create {p.rstrip('/')}/lock only if absent: succeeded={created.succeeded}")


def demo_watch(client: Client, p: str) -> None:
    """Watch a prefix from a past revision: the history replays, then live events follow."""
    show("watch a prefix from a revision")
    start = client.put(p + "jobs/2", "queued").header.revision
    client.put(p + "jobs/3", "queued")
    client.put(p + "jobs/2", "running")
    with client.watch(p + "jobs/", prefix=True, rev=start) as chan:
        client.delete(p + "jobs/3")  # happens after the watch began: seen live
        seen = 0
        while seen < 4:
            wresp = chan.get(timeout=5.0)
            if wresp is None or wresp.err() is not None:
                print(f"watch ended early: {wresp.err() if wresp else 'timeout'}")
                return
            for ev in wresp.events:
                seen += 1
                name = text(ev.kv.key).removeprefix(p)
                kind = "created" if ev.is_create() else ev.type.name.lower()
                print(f"  rev {ev.kv.mod_revision}: {kind:8} {name} = {text(ev.kv.value)!r}")


def demo_lease(client: Client, p: str) -> None:
    """Attach a key to a lease, renew it, keep it alive, then revoke it: the key goes."""
    show("lease")
    lease = client.grant(5)
    client.put(p + "service/a", "up", lease=lease.id)
    print(f"granted lease {lease.id:x} with ttl {lease.ttl}s; service/a is attached to it")
    print(f"keep_alive_once -> ttl {client.keep_alive_once(lease.id).ttl}")
    with client.keep_alive(lease.id) as ka:  # renewed every ttl/3 on the client's one thread
        resp = ka.get(timeout=5.0)
        print(f"keep_alive renewed it -> ttl {resp.ttl if resp else '?'}")
    ttl = client.time_to_live(lease.id, keys=True)
    keys = [text(k).removeprefix(p) for k in ttl.keys]
    print(f"time_to_live: {ttl.ttl}s left of {ttl.granted_ttl}s, keys {keys}")
    client.revoke(lease.id)
    print(f"revoked; service/a exists: {client.get(p + 'service/a').count == 1}")
    try:
        client.keep_alive_once(lease.id)
    except LeaseNotFoundError as exc:
        print(f"renewing it now fails: {type(exc).__name__}: {exc}")


def demo_delete(client: Client, p: str) -> None:
    """Delete one key with its previous value, then everything under the prefix."""
    show("delete")
    resp = client.delete(p + "jobs/1", prev_kv=True)
    print(f"deleted jobs/1 (was {text(resp.prev_kvs[0].value)!r})")
    print(f"deleted {client.delete(p, prefix=True).deleted} more keys under the prefix")


DEMOS: list[Callable[[Client, str], None]] = [
    demo_put_get,
    demo_prefix,
    demo_history,
    demo_txn,
    demo_watch,
    demo_lease,
    demo_delete,
]


@contextlib.contextmanager
def endpoint(given: str | None) -> Iterator[str]:
    """Yield the endpoint to use, starting the reference server when none is given."""
    if given:
        print(f"using etcd at {given}")
        yield given
        return
    from testserver import Server

    with Server() as srv:
        print(f"started the reference server on {srv.endpoint}")
        yield srv.endpoint


def main(argv: list[str] | None = None) -> int:
    """Run every demo; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("ETCD3PY_ENDPOINT"),
        help="host:port of an etcd to use (default: $ETCD3PY_ENDPOINT, else an in-process server)",
    )
    args = parser.parse_args(argv)
    prefix = f"/etcd3py-quickstart/{uuid.uuid4().hex[:8]}/"
    with endpoint(args.endpoint) as target, Client(endpoints=[target]) as client:
        print(f"writing under {prefix}")
        try:
            for demo in DEMOS:
                demo(client, prefix)
        finally:
            client.delete(prefix, prefix=True)
    print("\ndone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
