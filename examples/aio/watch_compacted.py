"""A watch from a compacted revision fails with ``CompactedError``; restart it from
``compact_revision``, the oldest revision still kept. With asyncio.

    python examples/aio/watch_compacted.py [--endpoint HOST:PORT]

Compaction applies to the whole key space: against a shared etcd it drops everyone's
history up to now.
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text

from etcd3py.errors import CompactedError


async def main(argv: list[str] | None = None) -> int:
    """Compact, watch from before it, then restart the watch where history begins."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "compacted") as p:
        key = p + "k"
        revs = [(await client.put(key, f"v{n}")).header.revision for n in (1, 2, 3)]
        await client.compact(revs[2])
        print("wrote v1 v2 v3, compacted at the revision of v3")
        async with client.watch(key, rev=revs[0]) as chan:
            wresp = await chan.get(timeout=10.0)
        if wresp is None or not isinstance(wresp.err(), CompactedError):
            print(f"expected a compaction error, got {wresp}")
            return 1
        print(f"watch from v1's revision: CompactedError: {wresp.err()}")
        restart = wresp.compact_revision
        print(f"restarting from compact_revision (the revision of v3): {restart == revs[2]}")
        async with client.watch(key, rev=restart) as chan:
            await client.put(key, "v4")
            values: list[str] = []
            while len(values) < 2:
                wresp = await chan.get(timeout=10.0)
                if wresp is None or wresp.err() is not None:
                    print(f"watch ended: {wresp.err() if wresp else 'no event in time'}")
                    return 1
                values += [text(ev.kv.value) for ev in wresp.events]
        print(f"events after the restart: {' '.join(values)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
