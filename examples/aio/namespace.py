"""Namespaces: one client-wide prefix, the recommended way to share a cluster between apps.

python examples/aio/namespace.py [--endpoint HOST:PORT]

``client.with_namespace()`` does no I/O; the namespaced asyncio client shares its parent's
connection, and leaving its ``async with`` ends only what was opened through it.
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text


async def main(argv: list[str] | None = None) -> int:
    """Write and read through a namespaced client, and look at the real keys."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "namespace") as p:
        await client.put(p + "outside", "not the app's")
        async with client.with_namespace(p + "app/") as app:
            await app.put("config", "blue")
            lease = await app.grant(60)
            await app.put("worker", "up", lease=lease.id)
            names = [text(kv.key) for kv in (await app.get("", prefix=True)).kvs]
            print(f"the app sees: {names}")
            real = [text(kv.key).removeprefix(p) for kv in (await client.get(p, prefix=True)).kvs]
            print(f"the cluster holds: {real}")
            keys = [text(k) for k in (await app.time_to_live(lease.id, keys=True)).keys]
            print(f"the app's lease holds: {keys}")
            await app.revoke(lease.id)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
