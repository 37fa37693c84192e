"""Eight threads on one client while its auth token keeps expiring (2 s simple tokens).

The threads call in bursts, all at once, with pauses longer than the token's TTL in between,
so every burst starts with an expired token that all eight meet together. The client must
fetch one new token per expiry (not one per thread), never send a call without a token
(etcd would answer "user name is empty") and never let InvalidAuthTokenError reach a caller.
On the asyncio face the eight threads' calls run as eight concurrent tasks on the client's loop.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.test_auth_expiry import PREFIX, TOKEN_TTL, USER, auth_endpoint

pytestmark = [pytest.mark.faults, pytest.mark.both_faces]

__all__ = ["auth_endpoint"]  # the fixture, shared with test_auth_expiry

THREADS = 8
BURSTS = 3
CALLS_PER_BURST = 5


def test_one_refresh_per_expiry_and_no_call_without_a_token(
    auth_endpoint: str, new_client: Callable[..., Any]
) -> None:
    with new_client(auth_endpoint, username=USER[0], password=USER[1]) as client:
        transport = client._transport  # the sync Transport, or a view of the AioTransport
        transport = getattr(transport, "aio_target", transport)  # the AioTransport itself
        fetches: list[float] = []
        authenticate = transport._authenticate
        counting_authenticate: Callable[[], Any]
        if inspect.iscoroutinefunction(authenticate):  # the asyncio face's transport

            async def counting_authenticate() -> None:
                fetches.append(time.monotonic())
                await authenticate()

        else:

            def counting_authenticate() -> None:
                fetches.append(time.monotonic())
                authenticate()

        transport._authenticate = counting_authenticate
        barrier = threading.Barrier(THREADS)
        failures: list[BaseException] = []
        done = [0] * THREADS

        def worker(index: int) -> None:
            try:
                for burst in range(BURSTS):
                    barrier.wait(timeout=30)
                    for n in range(CALLS_PER_BURST):
                        key = f"{PREFIX}t{index}/{burst}/{n}"
                        client.put(key, "v", timeout=10)
                        assert client.get(key, timeout=10).kvs[0].value == b"v"
                        done[index] += 1
                    if index == 0:
                        # past the TTL and etcd's 1 s expiry tick: the token is gone
                        time.sleep(TOKEN_TTL + 2.0)  # everyone waits at the barrier
            except BaseException as exc:  # reported below, with the thread's index
                failures.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
        assert done == [BURSTS * CALLS_PER_BURST] * THREADS
        # the token expired before bursts 2..BURSTS: one fetch each, whatever the threads
        assert len(fetches) == BURSTS - 1
