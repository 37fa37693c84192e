"""Helpers of the asyncio unary-concern tests: a transport anywhere, views compared, no send.

The tests drive the asyncio face and the sync client with the same requests and compare the
answers' messages (``view._pb``), so a view, a field or an error that differs shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from etcd3py import Op
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py.config import Config, parse_endpoints
from etcd3py.context import Context
from etcd3py.errors import CanceledError, EtcdError
from tests.backends import Backend
from tests.e2e.hold_proxy import HoldProxy

WAIT = 10.0  # seconds any single call may take


@contextlib.asynccontextmanager
async def aio_transport_on(endpoint: str, **settings: Any) -> AsyncIterator[AioTransport]:
    """A started transport on ``endpoint`` (settings as ``Config``'s), closed on exit."""
    transport = AioTransport(Config(endpoints=parse_endpoints(endpoint), **settings))
    await transport.start()
    try:
        yield transport
    finally:
        await transport.close()


def same_view(
    aio: Any,
    sync: Any,
    *,
    header: bool = True,
    grown: tuple[str, ...] = (),
    unordered: tuple[str, ...] = (),
) -> None:
    """Assert two answers are the same view of the same message (headers too, if asked).

    ``grown`` names counters (fields, at any depth) that may have grown between the first
    answer and the second, never shrunk: on a shared cluster another client's write (another
    test, a lease that expires) moves a member's revision and raft indexes on. ``unordered``
    names fields that may differ either way (a database's sizes).
    """
    assert type(aio) is type(sync)
    a, s = type(aio._pb)(), type(sync._pb)()
    a.CopyFrom(aio._pb)
    s.CopyFrom(sync._pb)
    if not header:
        a.ClearField("header")
        s.ClearField("header")
    _settle(a, s, grown, unordered)
    assert a == s, f"{a} != {s}"


#: The counters of a member's store: every header's revision.
REVISIONS = ("revision",)


def _settle(a: Any, b: Any, grown: tuple[str, ...], unordered: tuple[str, ...]) -> None:
    """Give ``b`` the values of ``a`` for the ``grown`` fields (after checking they did not
    shrink) and the ``unordered`` ones, at every depth of the two messages."""
    for field, value in a.ListFields():
        if field.message_type is not None:
            other = getattr(b, field.name)
            one = hasattr(value, "ListFields")  # a message, else a repeated field of them
            for x, y in [(value, other)] if one else zip(value, other, strict=False):
                _settle(x, y, grown, unordered)
        elif field.name in grown:
            assert getattr(b, field.name) >= value, f"{field.name} went back"
            setattr(b, field.name, value)
        elif field.name in unordered:
            setattr(b, field.name, value)


def forbid_sending(transport: AioTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any RPC of ``transport`` fail the test: the call must raise before sending."""

    def sent(*args: object, **kwargs: object) -> Any:
        raise AssertionError(f"sent although the input was bad: {args!r}")

    for name in ("_invoke", "unary_stream"):  # where every unary call and stream leaves
        monkeypatch.setattr(transport, name, sent)


async def same_error(
    aio_call: Callable[[], Awaitable[object]], sync_call: Callable[[], object]
) -> EtcdError:
    """Assert both faces raise the same typed error with the same message; return it."""
    with pytest.raises(EtcdError) as aio:
        await aio_call()
    with pytest.raises(EtcdError) as sync:
        sync_call()
    assert type(aio.value) is type(sync.value)
    assert str(aio.value) == str(sync.value)
    return aio.value


@contextlib.contextmanager
def recorded_metadata(transport: AioTransport, service: str, method: str) -> Iterator[list[Any]]:
    """Record the metadata each call of ``service.method`` on the current channel sends."""
    stubs = transport._channels.current.stubs
    real = stubs[service]
    seen: list[Any] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            target = getattr(real, name)
            if name != method:
                return target

            def call(request: Any, **kwargs: Any) -> Any:
                seen.append(tuple(kwargs.get("metadata") or ()))
                return target(request, **kwargs)

            return call

    stubs[service] = Spy()
    try:
        yield seen
    finally:
        stubs[service] = real


@pytest.fixture
def proxy(backend: Backend) -> Iterator[HoldProxy]:
    """A hold proxy in front of the backend (see :class:`tests.e2e.hold_proxy.HoldProxy`)."""
    with HoldProxy(backend.endpoints[0]) as held:
        yield held


@pytest.fixture
async def held_transport(proxy: HoldProxy) -> AsyncIterator[AioTransport]:
    """A started transport that reaches the backend through ``proxy``."""
    async with aio_transport_on(proxy.endpoint) as transport:
        yield transport


async def request_left(proxy: HoldProxy) -> None:
    """Wait until a request held by ``proxy`` has left the client."""
    assert await asyncio.to_thread(proxy.held.wait, WAIT)


async def connected(transport: AioTransport) -> None:
    """Make a call on a live connection (after a hold dropped the last one).

    A connection made while a proxy holds never gets the server's settings, so a call on it
    would never leave: each hold starts on a ready channel.
    """
    await transport.run(kv_calls.do(Op.get("/")), timeout=WAIT)  # a read: retried until served


async def cancel_in_flight(
    transport: AioTransport, proxy: HoldProxy, call: Callable[[], Awaitable[object]]
) -> None:
    """Start ``call()`` in a task while ``proxy`` holds it, cancel the task; it must end."""
    await connected(transport)
    with proxy.hold():
        task = asyncio.ensure_future(call())
        await request_left(proxy)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert task.cancelled()


async def cancel_ctx_in_flight(
    transport: AioTransport, proxy: HoldProxy, call: Callable[[Context], Awaitable[object]]
) -> None:
    """Run ``call(ctx)`` while ``proxy`` holds it; cancel ``ctx`` from another thread."""
    ctx = Context.background().with_cancel()
    await connected(transport)
    with proxy.hold():
        task = asyncio.ensure_future(call(ctx))
        await request_left(proxy)
        threading.Thread(target=ctx.cancel).start()
        with pytest.raises(CanceledError):
            await task


Rejects = Callable[[Any, str, tuple[Any, ...], dict[str, Any]], Awaitable[EtcdError]]


@pytest.fixture
def rejects(aio_transport: AioTransport, client: Any, monkeypatch: pytest.MonkeyPatch) -> Rejects:
    """``await rejects(face, method, args, kwargs)``: the aio and sync calls raise alike.

    Nothing may leave ``aio_transport`` (see :func:`forbid_sending`); the sync call is made
    on the ``client`` fixture, whose methods have the same names.
    """
    forbid_sending(aio_transport, monkeypatch)

    async def check(
        face: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> EtcdError:
        return await same_error(
            lambda: getattr(face, method)(*args, **kwargs),
            lambda: getattr(client, method)(*args, **kwargs),
        )

    return check
