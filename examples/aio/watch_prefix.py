"""Watch a prefix and print each event as CREATE, MODIFY or DELETE, with asyncio.

python examples/aio/watch_prefix.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text
from watch_prefix import kind  # the sync twin's naming of an event (no I/O)


async def main(argv: list[str] | None = None) -> int:
    """Watch a prefix while changing keys under it."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "watch") as p:
        start = (await client.get(p)).header.revision + 1
        async with client.watch(p, prefix=True, rev=start) as chan:
            await client.put(p + "job", "queued")
            await client.put(p + "job", "running")
            await client.delete(p + "job")
            seen = 0
            while seen < 3:
                wresp = await chan.get(timeout=10.0)
                if wresp is None or wresp.err() is not None:
                    print(f"watch ended: {wresp.err() if wresp else 'no event in time'}")
                    return 1
                for ev in wresp.events:
                    seen += 1
                    print(f"{kind(ev)} {text(ev.kv.key).removeprefix(p)} {text(ev.kv.value)!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
