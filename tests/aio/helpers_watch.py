"""Helpers of the asyncio watch tests: writes through the transport, bounded takes."""

from __future__ import annotations

import asyncio

import pytest

from etcd3py import Op
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py.aio.watch import WatchChan
from etcd3py.watch import Event, WatchResponse

WAIT = 10.0  # seconds any single expected response may take


async def put(transport: AioTransport, key: str, value: str | bytes = "v") -> int:
    """Put ``key``; return the put's revision."""
    return (await transport.run(kv_calls.do(Op.put(key, value)))).header.revision


async def delete(transport: AioTransport, key: str) -> int:
    """Delete ``key``; return the delete's revision."""
    return (await transport.run(kv_calls.do(Op.delete(key)))).header.revision


async def next_rev(transport: AioTransport, prefix: str) -> int:
    """The revision the next write will get."""
    return (await transport.run(kv_calls.do(Op.get(prefix + "\0")))).header.revision + 1


async def take_events(
    chan: WatchChan, count: int, timeout: float = WAIT, within: str | None = None
) -> list[Event]:
    """Read responses until ``count`` events came; fail on an error or a timeout.

    With ``within``, only events on keys under that prefix count: a from-key watch on a
    shared cluster also sees other tests' keys.
    """
    events: list[Event] = []
    mine = b"" if within is None else within.encode()  # b"" starts every key
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(events) < count:
        remaining = deadline - loop.time()
        assert remaining > 0, f"only {len(events)} of {count} events came"
        resp = await chan.get(remaining)
        assert resp is not None, f"watch ended or timed out after {len(events)} events"
        assert resp.err() is None, resp.err()
        events.extend(e for e in resp.events if e.kv.key.startswith(mine))
    assert len(events) == count, [e.kv.key for e in events]
    return events


async def take_until_error(
    chan: WatchChan, error: type[BaseException], timeout: float = WAIT
) -> list[WatchResponse]:
    """Iterate until the iteration raises ``error``; the last response must carry it."""
    out: list[WatchResponse] = []

    async def drain() -> None:
        async for resp in chan:
            out.append(resp)

    with pytest.raises(error) as raised:
        await asyncio.wait_for(drain(), timeout)
    assert chan.done and chan.err() is raised.value
    assert out and out[-1].err() is raised.value, (out, raised.value)
    assert all(r.err() is None for r in out[:-1])
    with pytest.raises(error):  # every later take raises again
        await chan.get(0)
    return out


def keys(events: list[Event]) -> list[bytes]:
    return [e.kv.key for e in events]
