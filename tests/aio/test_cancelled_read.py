"""``cancelled_read``: grpcio 1.51's lost cancellation of a ``grpc.aio`` read, mapped back."""

from __future__ import annotations

import asyncio

import pytest

from etcd3py._aio_ctx import cancelled_read


async def test_a_task_being_cancelled_gets_its_cancellation_back() -> None:
    started = asyncio.Event()
    seen: list[BaseException] = []

    async def reader() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            # grpcio 1.51 swallows this and then reads an unbound name: the driver sees this
            mapped = cancelled_read(UnboundLocalError("raw_response"))
            seen.append(mapped)
            raise mapped from None

    task = asyncio.create_task(reader())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(seen) == 1 and isinstance(seen[0], asyncio.CancelledError)


async def test_outside_a_cancellation_the_error_is_itself() -> None:
    exc = UnboundLocalError("raw_response")
    assert cancelled_read(exc) is exc
