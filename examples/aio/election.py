"""Leader election (``etcd3py.aio.concurrency.Election``): campaign, proclaim, resign, observe.

    python examples/aio/election.py [--endpoint HOST:PORT]

The asyncio twin of ``examples/election.py``: the observer and bob's campaign are tasks on
the one event loop, not threads.
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, ascratch, parser, text

from etcd3py.aio.concurrency import Election, Session


async def main(argv: list[str] | None = None) -> int:
    """Two candidates; an observer prints every leader change."""
    args = parser(__doc__).parse_args(argv)
    async with (
        aconnect(args.endpoint) as (client, _),
        ascratch(client, "election") as p,
        Session(client, ttl=10) as s1,
        Session(client, ttl=10) as s2,
    ):
        name = p + "scheduler"
        alice, bob = Election(s1, name), Election(s2, name)
        observer = Election(s1, name).observe()
        seen: asyncio.Queue[str] = asyncio.Queue()

        async def follow() -> None:
            async for kv in observer:  # this task only collects; main prints, in order
                await seen.put(text(kv.value))

        async def show_observed() -> None:
            print(f"observer: the leader says {await asyncio.wait_for(seen.get(), 30)!r}")

        follower = asyncio.create_task(follow())
        await alice.campaign("alice")
        await show_observed()  # the observer saw alice before she speaks again
        print(f"alice leads: {text((await alice.leader()).kvs[0].value)!r}")
        candidate = asyncio.create_task(bob.campaign("bob"))
        await alice.proclaim("alice, busy")
        await alice.resign()
        await asyncio.wait_for(candidate, 30)
        await show_observed()  # "alice, busy"
        await show_observed()  # "bob"
        print(f"after alice resigned, the leader is {text((await bob.leader()).kvs[0].value)!r}")
        await observer.close()
        await asyncio.wait_for(follower, 30)
        await bob.resign()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
