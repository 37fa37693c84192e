"""Renew a lease by hand with ``keep_alive_once``: the key outlives the lease's first TTL.

python examples/aio/lease_keep_alive_once.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser


async def main(argv: list[str] | None = None) -> int:
    """Renew a 2-second lease three times, a second apart, then revoke it."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "lease-once") as p:
        lease = await client.grant(2)
        await client.put(p + "k", "v", lease=lease.id)
        for n in range(1, 4):
            await asyncio.sleep(1.0)  # the demo's pacing: renew before the 2s run out
            resp = await client.keep_alive_once(lease.id)
            print(f"renewal {n}: ttl back to {resp.ttl}s")
        print(f"after 3s the key still exists: {len((await client.get(p + 'k')).kvs) == 1}")
        await client.revoke(lease.id)
        print(f"revoked: the key exists: {len((await client.get(p + 'k')).kvs) == 1}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
