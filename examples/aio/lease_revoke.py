"""Revoke a lease: every key attached to it goes at once (asyncio).

python examples/aio/lease_revoke.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text


async def main(argv: list[str] | None = None) -> int:
    """Attach two keys to a lease, list them, revoke the lease."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "lease-revoke") as p:
        lease = await client.grant(60)
        await client.put(p + "a", "1", lease=lease.id)
        await client.put(p + "b", "2", lease=lease.id)
        ttl = await client.time_to_live(lease.id, keys=True)
        names = sorted(text(k).removeprefix(p) for k in ttl.keys)
        print(f"lease {lease.id:x}: granted {ttl.granted_ttl}s, keys {names}")
        await client.revoke(lease.id)
        left = (await client.get(p, prefix=True, count_only=True)).count
        print(f"revoked; keys left under the prefix: {left}")
        print(f"time_to_live after revoke: {(await client.time_to_live(lease.id)).ttl}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
