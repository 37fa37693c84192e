"""Software transactional memory (``etcd3py.aio.concurrency.stm``): transfers that never lose
money. With asyncio.

    python examples/aio/stm.py [--endpoint HOST:PORT]

Four tasks move amounts between accounts at once; each transfer reads two balances (awaited)
and writes both back, and ``stm.run`` retries it whenever another transfer got in between.
"""

from __future__ import annotations

import asyncio
import random

from _shared import aconnect, ascratch, parser

from etcd3py.aio import Client
from etcd3py.aio.concurrency import STM, stm


async def transfers(client: Client, accounts: list[str], seed: int) -> None:
    """Make 10 random transfers."""
    rng = random.Random(seed)
    for _ in range(10):
        src, dst = rng.sample(accounts, 2)

        async def move(s: STM, src: str = src, dst: str = dst) -> None:
            a, b = int(await s.get(src)), int(await s.get(dst))
            amount = min(a, 10)
            s.put(src, str(a - amount))
            s.put(dst, str(b + amount))

        await stm.run(client, move)


async def main(argv: list[str] | None = None) -> int:
    """Run four tasks of transfers over five accounts and check the total."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _), ascratch(client, "stm") as p:
        accounts = [f"{p}account/{n}" for n in range(5)]
        for account in accounts:
            await client.put(account, "100")
        total = sum([int((await client.get(a)).kvs[0].value) for a in accounts])
        print(f"total before: {total}")
        workers = [transfers(client, accounts, seed) for seed in range(4)]
        await asyncio.wait_for(asyncio.gather(*workers), 60)
        balances = [int((await client.get(a)).kvs[0].value) for a in accounts]
        print(f"balances after 40 concurrent transfers: {balances}")
        print(f"total after: {sum(balances)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
