"""The asyncio tests' fixtures: a transport on the backend, and the left-task check."""

from __future__ import annotations

import asyncio

from etcd3py import Op
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py._responses import GetResponse


async def test_the_transport_fixture_answers(aio_transport: AioTransport, prefix: str) -> None:
    put = await aio_transport.run(kv_calls.do(Op.put(prefix + "k", "v")))
    got = await aio_transport.run(kv_calls.do(Op.get(prefix + "k")))
    assert isinstance(got, GetResponse)
    assert got.kvs[0].value == b"v" and got.header.revision == put.header.revision


async def test_the_loop_runs_in_debug_mode() -> None:
    assert asyncio.get_running_loop().get_debug()
