"""Keep a lease alive in the background with ``keep_alive``; stop, and the key expires (asyncio).

python examples/aio/lease_keep_alive.py [--endpoint HOST:PORT]

``client.keep_alive()`` does no I/O: the renewals run on the client's one keep-alive task
(per stream, never per lease); ``async with`` stops them on exit.
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser

from etcd3py import EventType


async def main(argv: list[str] | None = None) -> int:
    """Let the client renew a 2-second lease four times, then stop renewing."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "lease-keepalive") as p:
        lease = await client.grant(2)
        put = await client.put(p + "k", "v", lease=lease.id)
        async with client.keep_alive(lease.id) as ka:
            n = 0
            async for resp in ka:
                n += 1
                print(f"renewal {n}: ttl {resp.ttl}s")
                if n == 4:
                    break
        exists = len((await client.get(p + "k")).kvs) == 1
        print(f"after the renewals the key still exists: {exists}")
        print("stopped renewing; waiting for the lease to expire")
        async with client.watch(p + "k", rev=put.header.revision + 1) as chan:
            async for wresp in chan:
                if wresp.err() is not None:
                    print(f"watch ended: {wresp.err()}")
                    return 1
                if any(ev.type == EventType.DELETE for ev in wresp.events):
                    break
        print(f"the key is gone: {len((await client.get(p + 'k')).kvs) == 0}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
