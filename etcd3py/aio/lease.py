"""The asyncio Lease concern: grant, revoke, time-to-live, list, keep-alive.

The asyncio face of :mod:`etcd3py.lease`: the same methods, parameters, views and errors;
each unary call awaits its description from :mod:`etcd3py._calls.lease`, and keep-alives are
renewed by :class:`etcd3py.aio._keepalive.AioKeepAliveDriver` (a task per stream, never
per lease) with the rules of :mod:`etcd3py._keepalive_state`.

Example::

    lease = await client.grant(10)
    await client.put("/service/a", "up", lease=lease.id)
    async with client.keep_alive(lease) as ka:
        async for resp in ka:          # one response per renewal, about every ttl/3 seconds
            print(resp.ttl)
"""

from __future__ import annotations

import abc
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from etcd3py import _pb, _stubs
from etcd3py._aio_ctx import cancelled_read, cancels, raise_lost_cancel
from etcd3py._calls import lease as calls
from etcd3py._ints import LeaseLike, lease_id
from etcd3py._keepalive_renewals import (
    add_done_callback,
    start_keep_alive,
)
from etcd3py._keepalive_schedule import first_timeout
from etcd3py._keepalive_state import StreamKey
from etcd3py._lease_views import (
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py._transport import check_ctx, check_timeout
from etcd3py.aio._keepalive import AioKeepAliveDriver, Sink, dropped
from etcd3py.context import Context
from etcd3py.errors import UnavailableError

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport

__all__ = [
    "GrpcLease",
    "KeepAlive",
    "Lease",
    "LeaseGrantResponse",
    "LeaseKeepAliveResponse",
    "LeaseLeasesResponse",
    "LeaseRevokeResponse",
    "LeaseTimeToLiveResponse",
]


class KeepAlive:
    """The renewals of one lease for one ``keep_alive()`` caller: an async iterator and an
    async context manager (``async with client.keep_alive(lease) as ka:`` closes it on
    leaving the block); see :class:`etcd3py.lease.KeepAlive` for the rules.

    The same lifetime and error rule as the sync one: ended by anything but its own
    :meth:`close`, it yields the responses it still holds, then the next iteration raises
    why (``LeaseNotFoundError``, ``LeaseExpiredError``, the context's error,
    ``NoLeaderError``, ``ClientClosedError``). Cancelling a task that iterates it cancels
    that wait only: the lease stays kept alive until :meth:`close` (or the end of its
    ``async with``). One dropped without :meth:`close` is closed once collected. Use it on
    the loop that made it.

    Attributes:
        id: the lease kept alive.
    """

    def __init__(self, lease_id: int, driver: AioKeepAliveDriver, key: StreamKey = ()) -> None:
        """Create a keep-alive (use :meth:`Lease.keep_alive`); as the sync one's arguments."""
        self.id = lease_id
        self._sink = Sink(lease_id, driver, key)
        self._finalizer = weakref.finalize(self, dropped, self._sink)
        self._finalizer.atexit = False

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        """Deliver one renewal (dropping the oldest when the buffer is full)."""
        self._sink.push(response)

    def finish(self, error: BaseException | None) -> None:
        """End the keep-alive with ``error`` (``None``: a clean end); the first end wins."""
        self._sink.finish(error)

    def follow(self, ctx: Context, *, owned: bool = False) -> None:
        """End with the context's error when ``ctx`` ends (from any thread).

        Args:
            ctx: the keep-alive's context.
            owned: ``ctx`` was made for this keep-alive alone (``timeout=``): cancel it
                once the keep-alive ends.
        """
        self._sink.follow(ctx, owned)

    def add_done_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback()`` once on the loop when the keep-alive ends, for any reason (at
        once if it has ended); :meth:`err` then says why.

        Args:
            callback: the function to call.

        Returns:
            A function that unregisters the callback (harmless after it ran).
        """
        return add_done_callback(self._sink.state, callback)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> LeaseKeepAliveResponse:
        response = await self._take(None)
        if response is None:
            raise StopAsyncIteration
        return response

    async def get(self, timeout: float | None = None) -> LeaseKeepAliveResponse | None:
        """Return the next renewal, waiting at most ``timeout`` seconds; see
        :meth:`etcd3py.lease.KeepAlive.get`.
        """
        return await self._take(timeout)

    async def _take(self, timeout: float | None) -> LeaseKeepAliveResponse | None:
        sink = self._sink
        deadline = None if timeout is None else sink.loop.time() + timeout
        while True:
            ready, response = sink.state.take()
            if ready:
                return response
            left = None if deadline is None else deadline - sink.loop.time()
            if left is not None and left <= 0:
                return None
            await sink.changed.wait(left)

    async def close(self) -> None:
        """Stop receiving renewals: the iteration ends cleanly; see
        :meth:`etcd3py.lease.KeepAlive.close`.
        """
        self._finalizer.detach()
        self._sink.close()

    def err(self) -> BaseException | None:
        """Return why the keep-alive ended; see :meth:`etcd3py.lease.KeepAlive.err`."""
        return self._sink.state.err

    @property
    def done(self) -> bool:
        """Whether the keep-alive ended (no renewal will be delivered any more)."""
        return self._sink.state.done

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the keep-alive ends, or ``timeout`` seconds pass.

        Args:
            timeout: the longest wait in seconds (``None``: no limit).

        Returns:
            ``True`` if it ended.
        """
        sink = self._sink
        deadline = None if timeout is None else sink.loop.time() + timeout
        while not sink.state.done:
            left = None if deadline is None else deadline - sink.loop.time()
            if left is not None and left <= 0:
                return False
            await sink.changed.wait(left)
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "live" if not self.done else f"ended ({self.err()!r})"
        return f"KeepAlive(id={self.id}, {state})"


class Lease(abc.ABC):
    """The asyncio Lease concern (``client.lease``); see :class:`etcd3py.lease.Lease`."""

    @abc.abstractmethod
    async def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        """Create a lease; see :meth:`etcd3py.lease.Lease.grant`."""

    @abc.abstractmethod
    async def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        """Revoke a lease; see :meth:`etcd3py.lease.Lease.revoke`."""

    @abc.abstractmethod
    async def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        """Ask how long a lease has left; see :meth:`etcd3py.lease.Lease.time_to_live`."""

    @abc.abstractmethod
    async def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        """List every live lease; see :meth:`etcd3py.lease.Lease.leases`."""

    @abc.abstractmethod
    async def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        """Renew a lease once; see :meth:`etcd3py.lease.Lease.keep_alive_once`."""

    @abc.abstractmethod
    def keep_alive(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> KeepAlive:
        """Keep a lease alive until the returned :class:`KeepAlive` is closed; no I/O, call it
        on the client's loop; see :meth:`etcd3py.lease.Lease.keep_alive`.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """End every keep-alive (with ``ClientClosedError``) and stop renewing. Idempotent."""


class GrpcLease(Lease):
    """The asyncio Lease concern over the gRPC Lease service."""

    def __init__(self, transport: AioTransport) -> None:
        """Bind to the client's transport; a keep-alive task starts with the first
        ``keep_alive`` of each stream.

        Args:
            transport: the client's transport.
        """
        self._transport = transport
        dial = transport.config.dial_timeout
        self._driver = AioKeepAliveDriver(transport, first_timeout=first_timeout(dial))

    @property
    def driver(self) -> AioKeepAliveDriver:
        """The keep-alive driver (its tasks, streams and schedules): for tests and tools."""
        return self._driver

    async def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        return await self._transport.run(calls.grant(ttl, id), timeout=timeout, ctx=ctx)

    async def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        return await self._transport.run(calls.revoke(id), timeout=timeout, ctx=ctx)

    async def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        return await self._transport.run(calls.time_to_live(id, keys), timeout=timeout, ctx=ctx)

    async def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        return await self._transport.run(calls.leases(), timeout=timeout, ctx=ctx)

    async def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        call = calls.keep_alive_once(id)
        check_timeout(timeout)
        method = _OnceOverStream(self._transport)
        response = await self._transport.call(
            method, call.request, timeout=timeout, ctx=check_ctx(ctx), repeatable=call.repeatable
        )
        return call.wrap(response)

    def keep_alive(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> KeepAlive:
        lid = lease_id(id, "id")
        check_timeout(timeout)
        parent = check_ctx(ctx) or Context.background()
        ka = KeepAlive(lid, self._driver, parent.metadata)
        sink = ka._sink
        start_keep_alive(ka, lambda: self._driver.subscribe(sink.key, lid, sink), parent, timeout)
        return ka

    async def close(self) -> None:
        await self._driver.close()


class _OnceOverStream:
    """``LeaseKeepAlive`` as a unary call: one request out, the first response back.

    It is what :meth:`etcd3py._aio_transport.AioTransport.call` needs of a method: called
    with the request, ``timeout=`` and ``metadata=``, it returns an awaitable with
    ``cancel()``. A stub is made on the transport's channel at each call.
    """

    def __init__(self, transport: AioTransport) -> None:
        self._transport = transport

    def __call__(
        self,
        request: _pb.rpc.LeaseKeepAliveRequest,
        *,
        timeout: float | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> _Once:
        stub: Any = _stubs.rpc_grpc.LeaseStub(self._transport.channel)
        return _Once(stub.LeaseKeepAlive(timeout=timeout, metadata=metadata), request)


class _Once:
    """One renewal over a fresh ``LeaseKeepAlive`` call, awaited as a unary call."""

    def __init__(self, call: Any, request: _pb.rpc.LeaseKeepAliveRequest) -> None:
        self._call = call
        self._request = request

    def cancel(self) -> bool:
        return bool(self._call.cancel())

    def __await__(self) -> Any:
        return self._first().__await__()

    async def _first(self) -> _pb.rpc.LeaseKeepAliveResponse:
        before = cancels()  # grpc.aio may swallow a cancel as the call ends
        try:
            await self._call.write(self._request)
            await self._call.done_writing()
            try:
                response = await self._call.read()
            except UnboundLocalError as exc:  # grpcio 1.51's lost cancellation
                raise cancelled_read(exc) from None
        finally:
            self._call.cancel()
        raise_lost_cancel(before)
        if not isinstance(response, _pb.rpc.LeaseKeepAliveResponse):  # grpc.aio.EOF
            raise UnavailableError("etcd3py: the keep-alive stream ended without a response")
        return response
