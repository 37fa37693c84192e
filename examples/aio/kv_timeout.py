"""A timeout: a call given ``timeout=`` on a slow server fails with ``DeadlineExceededError``.

    python examples/aio/kv_timeout.py [--endpoint HOST:PORT]

The asyncio twin of ``examples/kv_timeout.py``: on the reference server started in-process,
the server itself is told to answer late (``Server.set_delay``); against another etcd, the
client talks to it through the sync example's local relay (``DelayingRelay``), which holds
each request back while it is told to. ``asyncio.wait_for(call, 0.2)`` bounds a call the same
way (cancelling the task cancels the RPC), raising ``TimeoutError`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from _shared import aconnect, ascratch, parser
from kv_timeout import DelayingRelay  # the sync twin's relay (threads of its own, no client)

from etcd3py.aio import Client
from etcd3py.errors import DeadlineExceededError


@contextlib.asynccontextmanager
async def slow_client(
    client: Client, endpoint: str | None
) -> AsyncIterator[tuple[Client, Callable[[float], None]]]:
    """Yield a client whose server can be slowed down, and the function that sets the delay."""
    if endpoint is None:
        yield client, lambda seconds: None
        return
    relay = DelayingRelay(endpoint)

    def set_delay(seconds: float) -> None:
        relay.delay = seconds

    try:
        async with Client(endpoints=[relay.endpoint]) as relayed:
            yield relayed, set_delay
    finally:
        relay.close()


async def main(argv: list[str] | None = None) -> int:
    """Make one call miss its deadline, then succeed without the delay."""
    args = parser(__doc__).parse_args(argv)
    async with (
        aconnect(args.endpoint) as (client, server),
        ascratch(client, "timeout") as p,
        slow_client(client, args.endpoint) as (slow, relay_delay),
    ):
        set_delay = server.set_delay if server is not None else relay_delay
        set_delay(1.0)
        print("the server now answers 1.0s late")
        try:
            await slow.get(p + "k", timeout=0.2)
        except DeadlineExceededError as exc:
            print(f"get with timeout=0.2: DeadlineExceededError: {exc}")
        set_delay(0)
        await slow.get(p + "k", timeout=5.0)
        print("with time enough, the call succeeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
