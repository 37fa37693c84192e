"""The open-stream registry (testserver.faults) behind Server.drop_streams()."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from testserver.faults import DROPPED_MESSAGE, Faults, StreamRegistry

METHOD = "/testserver.Test/Stream"


def _identity(data: bytes) -> bytes:
    return data


async def _serve(registry: StreamRegistry, started: asyncio.Event) -> tuple[grpc.aio.Server, int]:
    async def stream(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
        async with registry.track(context):
            await context.write(b"first")
            started.set()
            await asyncio.Event().wait()  # until dropped

    handler = grpc.method_handlers_generic_handler(
        "testserver.Test",
        {
            "Stream": grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=_identity, response_serializer=_identity
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _drop_scenario() -> tuple[int, grpc.StatusCode, str, int]:
    registry = StreamRegistry()
    started = asyncio.Event()
    server, port = await _serve(registry, started)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            call = ch.unary_stream(
                METHOD, request_serializer=_identity, response_deserializer=_identity
            )(b"", timeout=10)
            it: AsyncIterator[bytes] = call.__aiter__()
            assert await it.__anext__() == b"first"
            await asyncio.wait_for(started.wait(), 5)
            dropped = registry.drop_all()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await asyncio.wait_for(it.__anext__(), 5)
            return dropped, info.value.code(), info.value.details() or "", len(registry)
    finally:
        await server.stop(None)


def test_drop_all_ends_open_streams_with_unavailable() -> None:
    dropped, code, details, left = asyncio.run(_drop_scenario())
    assert dropped == 1
    assert code == grpc.StatusCode.UNAVAILABLE
    assert details == DROPPED_MESSAGE
    assert left == 0


class _FakeContext:
    def __init__(self) -> None:
        self.aborted: list[tuple[grpc.StatusCode, str]] = []

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        self.aborted.append((code, details))


async def _cancel_scenario() -> tuple[bool, list[tuple[grpc.StatusCode, str]], int]:
    registry = StreamRegistry()
    context = _FakeContext()
    entered = asyncio.Event()

    async def handler() -> None:
        async with registry.track(context):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(handler())
    await asyncio.wait_for(entered.wait(), 5)
    task.cancel()  # a plain cancel (client went away) is not a drop: it propagates
    try:
        await task
    except asyncio.CancelledError:
        return True, context.aborted, len(registry)
    return False, context.aborted, len(registry)


def test_plain_cancellation_is_not_turned_into_a_drop() -> None:
    cancelled, aborted, left = asyncio.run(_cancel_scenario())
    assert cancelled and aborted == [] and left == 0


def test_faults_delay_defaults_to_none() -> None:
    faults = Faults()
    assert faults.delay == 0
    asyncio.run(asyncio.wait_for(faults.before_unary(), 1))
