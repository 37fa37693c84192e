"""Cancels ``grpc.aio`` loses, given back: grpcio 1.51's read (``cancelled_read``) and the
call that ends as its task is cancelled (``raise_lost_cancel``)."""

from __future__ import annotations

import asyncio

import pytest

from etcd3py import Context
from etcd3py._aio_ctx import cancelled_read, cancels, raise_lost_cancel
from etcd3py._aio_transport import AioTransport
from etcd3py.config import Config, parse_endpoints


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


class _Swallowing:
    """A method whose call is a task that, cancelled, returns its answer anyway: what
    grpc.aio's own tasks do when the call ends as the awaiting task is cancelled."""

    def __call__(self, request: object, *, timeout: float | None = None, metadata: object = ()):
        async def call() -> str:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                return "answer"
            return "too late"

        return asyncio.ensure_future(call())


@pytest.mark.parametrize("with_ctx", [False, True], ids=["no ctx", "ctx"])
async def test_a_cancel_the_call_swallowed_reaches_the_caller(with_ctx: bool) -> None:
    transport = AioTransport(Config(endpoints=parse_endpoints("127.0.0.1:1")))
    ctx = Context.background().with_cancel() if with_ctx else None
    task = asyncio.ensure_future(
        transport._invoke(_Swallowing(), object(), None, ctx, with_token=False)
    )
    await asyncio.sleep(0.05)  # the task awaits the call
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # without raise_lost_cancel: "answer", and the cancel is gone


async def test_no_cancel_no_raise() -> None:
    before = cancels()
    await asyncio.sleep(0)
    raise_lost_cancel(before)  # nothing asked: nothing raised
