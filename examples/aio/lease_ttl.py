"""A key attached to a lease disappears when the lease's TTL runs out (asyncio).

python examples/aio/lease_ttl.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio
import time

from _shared import aconnect, ascratch, parser

from etcd3py import EventType


async def main(argv: list[str] | None = None) -> int:
    """Grant a 2-second lease, attach a key, and watch the key go."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "lease-ttl") as p:
        lease = await client.grant(2)
        print(f"granted lease {lease.id:x} with a TTL of {lease.ttl}s")
        put = await client.put(p + "session", "alive", lease=lease.id)
        print(f"the key exists: {len((await client.get(p + 'session')).kvs) == 1}")
        started = time.monotonic()
        async with client.watch(p + "session", rev=put.header.revision + 1) as chan:
            async for wresp in chan:
                if wresp.err() is not None:
                    print(f"watch ended: {wresp.err()}")
                    return 1
                if any(ev.type == EventType.DELETE for ev in wresp.events):
                    break
        waited = time.monotonic() - started
        print(f"the key was deleted when the lease expired (after about {round(waited)}s)")
        print(f"time_to_live of the expired lease: {(await client.time_to_live(lease.id)).ttl}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
