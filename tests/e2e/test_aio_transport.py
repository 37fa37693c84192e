"""The asyncio face's transport (issue 10's first step) on every backend.

It runs the same unary RPC descriptions as the sync client, awaited: answers and views,
the deadline rule with the last error as cause, a ctx cancelled from another thread or the
awaiting task cancelled while the call is in flight (a hold proxy keeps it there), and one
token refresh per expiry however many tasks meet it. Each test drives its own event loop
with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from etcd3py import Context, Op
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py._calls import maintenance as maintenance_calls
from etcd3py._responses import GetResponse, PutResponse
from etcd3py.config import Config, parse_endpoints
from etcd3py.errors import CanceledError, DeadlineExceededError, UnavailableError
from tests.backends import Backend, free_ports
from tests.e2e.hold_proxy import HoldProxy
from tests.faults.test_auth_expiry import PREFIX, TOKEN_TTL, USER, auth_endpoint

__all__ = ["auth_endpoint"]  # the fixture, shared with test_auth_expiry

_T = TypeVar("_T")
WAIT = 10.0


def run_with(
    endpoint: str, body: Callable[[AioTransport], Awaitable[_T]], **settings: object
) -> _T:
    """Start a transport on ``endpoint`` in a fresh event loop, run ``body``, close it."""

    async def main() -> _T:
        config = Config(endpoints=parse_endpoints(endpoint), **settings)  # type: ignore[arg-type]
        transport = AioTransport(config)
        try:
            await transport.start()
            return await body(transport)
        finally:
            await transport.close()

    return asyncio.run(main())


def test_described_calls_answer_with_their_views(backend: Backend, prefix: str) -> None:
    async def body(t: AioTransport) -> None:
        put = await t.run(kv_calls.do(Op.put(prefix + "k", "v")), timeout=WAIT)
        assert isinstance(put, PutResponse) and put.header.revision > 0
        got = await t.run(kv_calls.do(Op.get(prefix + "k")), timeout=WAIT)
        assert isinstance(got, GetResponse)
        assert [(kv.key, kv.value) for kv in got.kvs] == [((prefix + "k").encode(), b"v")]
        # many calls at once on one channel, no thread of the transport's own
        before = {th.ident for th in threading.enumerate() if th.name.startswith("etcd3py")}
        many = [t.run(kv_calls.do(Op.get(prefix + "k"))) for _ in range(50)]
        assert all(r.count == 1 for r in await asyncio.gather(*many))
        after = {th.ident for th in threading.enumerate() if th.name.startswith("etcd3py")}
        assert after <= before  # the transport started no thread of its own
        status = await t.run(maintenance_calls.status())
        assert status.header.revision >= put.header.revision

    run_with(backend.endpoints[0], body)


def test_an_unreachable_cluster_fails_at_the_deadline_with_the_cause() -> None:
    nowhere = f"127.0.0.1:{free_ports(1)[0]}"

    async def body(t: AioTransport) -> None:
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError) as caught:
            await t.run(kv_calls.do(Op.get("k")), timeout=0.8)
        assert time.monotonic() - start >= 0.8
        assert isinstance(caught.value.__cause__, UnavailableError)
        assert nowhere in str(caught.value)

    run_with(nowhere, body, dial_timeout=None)


@pytest.fixture
def proxy(backend: Backend) -> HoldProxy:
    with HoldProxy(backend.endpoints[0]) as held:
        yield held  # type: ignore[misc]


def test_a_ctx_cancelled_from_another_thread_cancels_the_call(proxy: HoldProxy) -> None:
    async def body(t: AioTransport) -> None:
        ctx = Context.background().with_cancel()
        with proxy.hold():
            call = asyncio.ensure_future(t.run(kv_calls.do(Op.get("k")), ctx=ctx, timeout=WAIT))
            assert await asyncio.to_thread(proxy.held.wait, WAIT)  # the request left
            threading.Thread(target=ctx.cancel).start()
            with pytest.raises(CanceledError):
                await call
        # the transport goes on: a later call is served
        assert isinstance(await t.run(kv_calls.do(Op.get("k")), timeout=WAIT), GetResponse)

    run_with(proxy.endpoint, body)


def test_cancelling_the_awaiting_task_cancels_the_call(proxy: HoldProxy) -> None:
    async def body(t: AioTransport) -> None:
        with proxy.hold():
            task = asyncio.create_task(t.run(kv_calls.do(Op.get("k")), timeout=WAIT))
            assert await asyncio.to_thread(proxy.held.wait, WAIT)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert isinstance(await t.run(kv_calls.do(Op.get("k")), timeout=WAIT), GetResponse)

    run_with(proxy.endpoint, body)


def test_one_token_refresh_per_expiry_for_many_tasks(auth_endpoint: str) -> None:
    async def body(t: AioTransport) -> int:
        fetches = 0
        login = t._authenticate

        async def counting() -> None:
            nonlocal fetches
            fetches += 1
            await login()

        t._authenticate = counting  # type: ignore[method-assign]
        for burst in range(3):
            calls = [
                t.run(kv_calls.do(Op.put(f"{PREFIX}aio/{burst}/{i}", "v")), timeout=WAIT)
                for i in range(8)
            ]
            await asyncio.gather(*calls)  # no error reaches a caller, no call lacks a token
            if burst < 2:
                await asyncio.sleep(TOKEN_TTL + 2.0)  # past the TTL and etcd's 1 s expiry tick
        return fetches

    fetches = run_with(auth_endpoint, body, username=USER[0], password=USER[1])
    assert fetches == 2
