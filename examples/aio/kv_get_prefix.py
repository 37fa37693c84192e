"""Read keys by prefix: sorted by value, limited, and keys only (``WithPrefix``, ``WithSort``).

python examples/aio/kv_get_prefix.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser
from kv_get_prefix import listing  # the sync twin's printing helper (no I/O)

from etcd3py import SortOrder, SortTarget


async def main(argv: list[str] | None = None) -> int:
    """Write a few keys, then read them back in several ways."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "prefix") as p:
        for name, value in [("fruit/apple", "3"), ("fruit/banana", "1"), ("fruit/cherry", "2")]:
            await client.put(p + name, value)
        await client.put(p + "vegetable/leek", "9")
        resp = await client.get(p + "fruit/", prefix=True)
        print("by key:    " + listing(resp, p))
        resp = await client.get(
            p + "fruit/", prefix=True, sort_target=SortTarget.VALUE, sort_order=SortOrder.ASCEND
        )
        print("by value:  " + listing(resp, p))
        resp = await client.get(p + "fruit/", prefix=True, limit=2)
        print(f"limit 2: {len(resp.kvs)} keys, more={resp.more}, count={resp.count}")
        resp = await client.get(p, prefix=True, keys_only=True)
        print("keys only: " + listing(resp, p))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
