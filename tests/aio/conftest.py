"""Fixtures of the asyncio face's own tests (pytest-asyncio, auto mode, asyncio debug on).

Each test runs in its own event loop, in asyncio's debug mode; ``aio_transport`` is an
:class:`~etcd3py._aio_transport.AioTransport` started on the test's backend in that loop,
closed after the test; ``member_transport`` and ``member_client`` ask the backend's first
endpoint only. A test also fails when it leaves a task of its own running (see
:mod:`tests.aio.tasks_left`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from etcd3py._aio_transport import AioTransport
from etcd3py.config import Config, parse_endpoints
from tests.aio.tasks_left import tasks_left
from tests.backends import Backend


@contextlib.asynccontextmanager
async def _started(endpoints: list[str]) -> AsyncIterator[AioTransport]:
    transport = AioTransport(Config(endpoints=parse_endpoints(endpoints)))
    await transport.start()
    try:
        yield transport
    finally:
        await transport.close()


@pytest.fixture
async def aio_transport(backend: Backend) -> AsyncIterator[AioTransport]:
    """A started transport on the backend; closed after the test."""
    async with _started(backend.endpoints) as transport:
        yield transport


@pytest.fixture
async def member_transport(backend: Backend) -> AsyncIterator[AioTransport]:
    """A started transport on the backend's first endpoint only; closed after the test.

    With ``member_client``, two faces asked the same member: their answers (headers
    included) compare exactly on one member and on a cluster alike."""
    async with _started(backend.endpoints[:1]) as transport:
        yield transport


@pytest.fixture
def member_client(backend: Backend, new_client: Callable[..., Any]) -> Any:
    """A sync client on the backend's first endpoint only: ``member_transport``'s member (and
    ``raw_channel``'s)."""
    return new_client(endpoints=backend.endpoints[:1])


@pytest.fixture(autouse=True)
async def no_task_left() -> AsyncIterator[None]:
    """Run the test's loop in asyncio's debug mode, and fail a test that leaves a task of
    its own running on it. (Debug mode is set here, not by pytest-asyncio's ``asyncio_debug``
    option: the lowest versions the tests install do not have it.)"""
    asyncio.get_running_loop().set_debug(True)
    before = asyncio.all_tasks()
    yield
    left = await tasks_left(before)
    assert not left, f"tasks left running: {left}"
