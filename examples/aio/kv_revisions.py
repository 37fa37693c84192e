"""Revisions: create and mod revision, version, and reading a key as it was (``WithRev``).

python examples/aio/kv_revisions.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text


async def main(argv: list[str] | None = None) -> int:
    """Write one key three times and show how its revisions move."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "revisions") as p:
        key = p + "config"
        revs = [(await client.put(key, f"v{n}")).header.revision for n in (1, 2, 3)]
        kv = (await client.get(key)).kvs[0]
        print(f"create_revision == first put: {kv.create_revision == revs[0]}")
        print(f"mod_revision == last put: {kv.mod_revision == revs[2]}")
        print(f"version: {kv.version}")
        for n, rev in enumerate(revs, start=1):
            old = (await client.get(key, rev=rev)).kvs[0]
            print(f"at put #{n}: value={text(old.value)} version={old.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
