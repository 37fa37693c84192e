"""Put a key, read it back, delete it (``Put``, ``Get``, ``Delete``), with asyncio.

python examples/aio/kv_put_get_delete.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text


async def main(argv: list[str] | None = None) -> int:
    """Write, read and delete one key, printing each response."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "kv") as p:
        key = p + "greeting"
        put = await client.put(key, "hello")
        print(f"put greeting = 'hello' at revision {put.header.revision}")
        prev = (await client.put(key, "hello again", prev_kv=True)).prev_kv
        print(
            f"put greeting = 'hello again', previous value {text(prev.value) if prev else None!r}"
        )
        kv = (await client.get(key)).kvs[0]
        print(f"get greeting -> {text(kv.value)!r}")
        deleted = await client.delete(key, prev_kv=True)
        print(
            f"delete greeting: deleted={deleted.deleted} (was {text(deleted.prev_kvs[0].value)!r})"
        )
        print(f"get greeting after delete -> {len((await client.get(key)).kvs)} keys")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
