"""Software transactional memory (``concurrency.stm``): transfers that never lose money.

    python examples/stm.py [--endpoint HOST:PORT]

Several threads move amounts between accounts at once; each transfer reads two balances and
writes both back, and ``stm.run`` retries it whenever another transfer got in between.
"""

from __future__ import annotations

import random
import threading

from _common import connect, parser, scratch

from etcd3py import Client
from etcd3py.concurrency import STM, stm


def transfers(client: Client, accounts: list[str], seed: int) -> None:
    """Make 10 random transfers."""
    rng = random.Random(seed)
    for _ in range(10):
        src, dst = rng.sample(accounts, 2)

        def move(s: STM, src: str = src, dst: str = dst) -> None:
            a, b = int(s.get(src)), int(s.get(dst))
            amount = min(a, 10)
            s.put(src, str(a - amount))
            s.put(dst, str(b + amount))

        stm.run(client, move)


def main(argv: list[str] | None = None) -> int:
    """Run four threads of transfers over five accounts and check the total."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "stm") as p:
        accounts = [f"{p}account/{n}" for n in range(5)]
        for account in accounts:
            client.put(account, "100")
        print(f"total before: {sum(int(client.get(a).kvs[0].value) for a in accounts)}")
        workers = [
            threading.Thread(target=transfers, args=(client, accounts, seed)) for seed in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        balances = [int(client.get(a).kvs[0].value) for a in accounts]
        print(f"balances after 40 concurrent transfers: {balances}")
        print(f"total after: {sum(balances)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
