"""Compaction: history before the compacted revision is gone (``CompactedError``), with asyncio.

    python examples/aio/kv_compaction.py [--endpoint HOST:PORT]

Compaction applies to the whole key space: against a shared etcd it drops everyone's
history up to now.
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text

from etcd3py.errors import CompactedError


async def main(argv: list[str] | None = None) -> int:
    """Write a key twice, compact, then read the old revision."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "compaction") as p:
        key = p + "k"
        first = (await client.put(key, "old")).header.revision
        latest = (await client.put(key, "new")).header.revision
        old = (await client.get(key, rev=first)).kvs[0]
        print(f"before compaction, at the first revision: {text(old.value)!r}")
        await client.compact(latest)
        print("compacted up to the latest revision")
        try:
            await client.get(key, rev=first)
        except CompactedError as exc:
            print(f"reading the first revision: CompactedError: {exc}")
        print(f"the latest value survives: {text((await client.get(key)).kvs[0].value)!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
