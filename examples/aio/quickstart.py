"""etcd3py's asyncio face in a few steps: put, get, txn, watch, lease, delete, all awaited.

The asyncio twin of ``examples/quickstart.py``: the same tour, printing the same lines, with
:class:`etcd3py.aio.Client`. Runs against the pure-Python reference server started in this
process, or against the etcd named by ``--endpoint`` or ``ETCD3PY_ENDPOINT``::

    python examples/aio/quickstart.py
    python examples/aio/quickstart.py --endpoint 127.0.0.1:2379

Every key it writes lives under one fresh prefix, which it deletes at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from _shared import parser, target, text

from etcd3py import Compare, Op, SortOrder, SortTarget
from etcd3py.aio import Client
from etcd3py.errors import FutureRevisionError, LeaseNotFoundError
from etcd3py.kv import GetResponse


def show(title: str) -> None:
    """Print a section title."""
    print(f"\n== {title}")


async def demo_put_get(client: Client, p: str) -> None:
    """Write a few keys and read one back, with its revisions."""
    show("put and get")
    for name, value in [("config/color", "blue"), ("config/size", "10"), ("jobs/1", "build")]:
        resp = await client.put(p + name, value)
        print(f"put {name:13} = {value!r:8} -> revision {resp.header.revision}")
    kv = (await client.get(p + "config/color")).kvs[0]
    print(
        f"get config/color -> {text(kv.value)!r} (created at {kv.create_revision}, "
        f"modified at {kv.mod_revision}, version {kv.version})"
    )
    old = (await client.put(p + "config/color", "green", prev_kv=True)).prev_kv
    print(f"put config/color = 'green' replaced {text(old.value) if old else None!r}")


async def demo_prefix(client: Client, p: str) -> None:
    """Read a range of keys by prefix, sorted and limited."""
    show("get with prefix")
    resp = await client.get(p + "config/", prefix=True)
    for kv in resp.kvs:
        print(f"  {text(kv.key).removeprefix(p)} = {text(kv.value)!r}")
    print(f"  ({resp.count} keys at revision {resp.header.revision})")
    newest = await client.get(
        p, prefix=True, limit=1, sort_target=SortTarget.MOD, sort_order=SortOrder.DESCEND
    )
    print(f"most recently modified: {text(newest.kvs[0].key).removeprefix(p)}")
    print(f"keys under the prefix: {(await client.get(p, prefix=True, count_only=True)).count}")


async def demo_history(client: Client, p: str) -> None:
    """Read a key as it was at an older revision, and a revision that does not exist yet."""
    show("history")
    first = (await client.put(p + "counter", "1")).header.revision
    await client.put(p + "counter", "2")
    then = (await client.get(p + "counter", rev=first)).kvs[0]
    now = await client.get(p + "counter")
    print(f"counter at revision {first}: {text(then.value)!r}; now: {text(now.kvs[0].value)!r}")
    future = now.header.revision + 100
    try:
        await client.get(p + "counter", rev=future)
    except FutureRevisionError as exc:
        print(f"revision {future} is refused: {type(exc).__name__}: {exc}")


async def demo_txn(client: Client, p: str) -> None:
    """Compare-and-swap with a transaction, both ways: built without I/O, sent by commit()."""
    show("txn")
    key = p + "config/color"
    for expected in ("green", "purple"):
        resp = await (
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
    created = await (
        client.txn().if_(Compare.version(p + "lock") == 0).then(Op.put(p + "lock", "me")).commit()
    )
    print(f"create {p.rstrip('/')}/lock only if absent: succeeded={created.succeeded}")


async def demo_watch(client: Client, p: str) -> None:
    """Watch a prefix from a past revision: the history replays, then live events follow."""
    show("watch a prefix from a revision")
    start = (await client.put(p + "jobs/2", "queued")).header.revision
    await client.put(p + "jobs/3", "queued")
    await client.put(p + "jobs/2", "running")
    async with client.watch(p + "jobs/", prefix=True, rev=start) as chan:
        await client.delete(p + "jobs/3")  # happens after the watch began: seen live
        seen = 0
        while seen < 4:
            wresp = await chan.get(timeout=5.0)
            if wresp is None or wresp.err() is not None:
                print(f"watch ended early: {wresp.err() if wresp else 'timeout'}")
                return
            for ev in wresp.events:
                seen += 1
                name = text(ev.kv.key).removeprefix(p)
                kind = "created" if ev.is_create() else ev.type.name.lower()
                print(f"  rev {ev.kv.mod_revision}: {kind:8} {name} = {text(ev.kv.value)!r}")


async def demo_lease(client: Client, p: str) -> None:
    """Attach a key to a lease, renew it, keep it alive, then revoke it: the key goes."""
    show("lease")
    lease = await client.grant(5)
    await client.put(p + "service/a", "up", lease=lease.id)
    print(f"granted lease {lease.id:x} with ttl {lease.ttl}s; service/a is attached to it")
    print(f"keep_alive_once -> ttl {(await client.keep_alive_once(lease.id)).ttl}")
    async with client.keep_alive(lease.id) as ka:  # renewed every ttl/3 by the client's task
        resp = await ka.get(timeout=5.0)
        print(f"keep_alive renewed it -> ttl {resp.ttl if resp else '?'}")
    ttl = await client.time_to_live(lease.id, keys=True)
    keys = [text(k).removeprefix(p) for k in ttl.keys]
    print(f"time_to_live: {ttl.ttl}s left of {ttl.granted_ttl}s, keys {keys}")
    await client.revoke(lease.id)
    print(f"revoked; service/a exists: {(await client.get(p + 'service/a')).count == 1}")
    try:
        await client.keep_alive_once(lease.id)
    except LeaseNotFoundError as exc:
        print(f"renewing it now fails: {type(exc).__name__}: {exc}")


async def demo_delete(client: Client, p: str) -> None:
    """Delete one key with its previous value, then everything under the prefix."""
    show("delete")
    resp = await client.delete(p + "jobs/1", prev_kv=True)
    print(f"deleted jobs/1 (was {text(resp.prev_kvs[0].value)!r})")
    print(f"deleted {(await client.delete(p, prefix=True)).deleted} more keys under the prefix")


DEMOS: list[Callable[[Client, str], Awaitable[None]]] = [
    demo_put_get,
    demo_prefix,
    demo_history,
    demo_txn,
    demo_watch,
    demo_lease,
    demo_delete,
]


async def main(argv: list[str] | None = None) -> int:
    """Run every demo; return the exit code."""
    args = parser(__doc__).parse_args(argv)
    prefix = f"/etcd3py-quickstart/{uuid.uuid4().hex[:8]}/"
    with target(args.endpoint) as (where, server):
        if server is None:
            print(f"using etcd at {where}")
        else:
            print(f"started the reference server on {where}")
        async with Client(endpoints=[where]) as client:
            print(f"writing under {prefix}")
            try:
                for demo in DEMOS:
                    await demo(client, prefix)
            finally:
                await client.delete(prefix, prefix=True)
    print("\ndone")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
