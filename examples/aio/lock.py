"""A distributed lock (``etcd3py.aio.concurrency.Mutex``): two sessions take turns; ``try_lock``
fails fast. With asyncio.

    python examples/aio/lock.py [--endpoint HOST:PORT]

The lock is compatible with the sync ``Mutex``, Go's ``concurrency.Mutex`` and
``etcdctl lock`` on the same name. The waiter is a task, not a thread.
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser

from etcd3py.aio.concurrency import Mutex, Session
from etcd3py.errors import LockedError


async def main(argv: list[str] | None = None) -> int:
    """Hold the lock in one session while another waits for it."""
    args = parser(__doc__).parse_args(argv)
    async with (
        aconnect(args.endpoint) as (client, _),
        ascratch(client, "lock") as p,
        Session(client, ttl=10) as s1,
        Session(client, ttl=10) as s2,
    ):
        first, second = Mutex(s1, p + "job"), Mutex(s2, p + "job")
        await first.lock()
        print("session 1 holds the lock")
        try:
            await second.try_lock()
        except LockedError as exc:
            print(f"session 2 try_lock: LockedError: {exc}")
        waiter = asyncio.create_task(second.lock(timeout=30))
        print("session 2 waits for the lock...")
        await first.unlock()
        print("session 1 released the lock")
        await asyncio.wait_for(waiter, 30)
        print(f"session 2 holds the lock: {second.locked()}")
        await second.unlock()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
