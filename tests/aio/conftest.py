"""Fixtures of the asyncio face's own tests (pytest-asyncio, auto mode, asyncio debug on).

Each test runs in its own event loop, in asyncio's debug mode; ``aio_transport`` is an
:class:`~etcd3py._aio_transport.AioTransport` started on the test's backend in that loop,
closed after the test. A test also fails when it leaves a task of its own running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from etcd3py._aio_transport import AioTransport
from etcd3py.config import Config, parse_endpoints
from tests.backends import Backend


@pytest.fixture
async def aio_transport(backend: Backend) -> AsyncIterator[AioTransport]:
    """A started transport on the backend; closed after the test."""
    transport = AioTransport(Config(endpoints=parse_endpoints(backend.endpoints)))
    await transport.start()
    try:
        yield transport
    finally:
        await transport.close()


@pytest.fixture(autouse=True)
async def no_task_left() -> AsyncIterator[None]:
    """Run the test's loop in asyncio's debug mode, and fail a test that leaves a task of
    its own running on it. (Debug mode is set here, not by pytest-asyncio's ``asyncio_debug``
    option: the lowest versions the tests install do not have it.)"""
    asyncio.get_running_loop().set_debug(True)
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
    # gRPC's own status task of a cancelled call ends when the C core reports the call
    # done, a poller round trip after the cancel: a loaded machine may need a moment
    grpc_own = {t for t in left if _is_grpc_internal(t)}
    if grpc_own:
        await asyncio.wait(grpc_own, timeout=GRPC_TASK_GRACE)
        left = {t for t in left if not t.done()}
    assert not left, f"tasks left running: {left}"


GRPC_TASK_GRACE = 5.0  # seconds


def _is_grpc_internal(task: asyncio.Task[object]) -> bool:
    """Whether ``task`` is one grpc.aio runs for a call of its own (not one of ours)."""
    name: str = getattr(task.get_coro(), "__qualname__", "")
    return name.startswith("_AioCall.")
