"""The Lease concern: grant, revoke, time-to-live, list, keep-alive; mirrors clientv3 ``lease.go``.

Owns the abstract :class:`Lease` (what ``client.lease`` is; a namespace wraps it by
composition), :class:`GrpcLease` over the gRPC Lease service, and :class:`KeepAlive`, the
iterator a ``keep_alive()`` caller holds; the response views (defined in
:mod:`etcd3py._lease_views`) are re-exported here. The renewing itself (one thread and one
``LeaseKeepAlive`` stream for every kept-alive lease of the client) lives in
:mod:`etcd3py._keepalive`.

Example::

    lease = client.grant(10)
    client.put("/service/a", "up", lease=lease.id)
    with client.keep_alive(lease.id) as ka:
        for resp in ka:          # one response per renewal, about every ttl/3 seconds
            print(resp.ttl)
"""

from __future__ import annotations

import abc
import collections
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, cast

import grpc
from typing_extensions import Self

from etcd3py import _pb
from etcd3py._keepalive import KeepAliveDriver
from etcd3py._lease_views import (
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py._transport import check_timeout
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError, LeaseNotFoundError, UnavailableError

if TYPE_CHECKING:
    from etcd3py._transport import Transport

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

_WAKE = 0.2  # seconds a blocked wait sleeps at most, so Ctrl-C and closes are noticed
#: Renewal responses one keep-alive holds unconsumed; past it the oldest is dropped.
KEEPALIVE_BUFFER = 16


class KeepAlive:
    """The renewals of one lease for one ``keep_alive()`` caller: an iterator and a context
    manager.

    Yields a :class:`LeaseKeepAliveResponse` per renewal. A slow consumer misses some (the
    oldest are dropped past :data:`KEEPALIVE_BUFFER`), but never holds renewals up: the
    client's keep-alive thread goes on renewing whatever the consumer does.

    The iteration ends:

    * by raising :class:`~etcd3py.errors.LeaseNotFoundError` when the server says the lease
      is gone (revoked, expired, or never granted: an unknown lease fails at the first
      ``next()``, not in ``keep_alive()``, which does no I/O);
    * by raising :class:`~etcd3py.errors.LeaseExpiredError` when no renewal got through
      before its TTL ran out (the stream was down for that long);
    * by raising the context's error when ``ctx`` ends, and
      :class:`~etcd3py.errors.ClientClosedError` when the client closes;
    * cleanly (``StopIteration``) after :meth:`close`.

    Threading: iterate from one thread; :meth:`close`, :meth:`err`, :meth:`wait` and
    :attr:`done` may be called from any thread.

    Attributes:
        id: the lease kept alive.
    """

    def __init__(self, lease_id: int, driver: KeepAliveDriver) -> None:
        """Create a keep-alive; use :meth:`Lease.keep_alive`.

        Args:
            lease_id: the lease kept alive.
            driver: the client's keep-alive driver.
        """
        self.id = lease_id
        self._driver = driver
        self._cond = threading.Condition()  # guards every field below
        # renewals not yet taken; written by the keep-alive thread, read by the user
        self._items: collections.deque[_pb.rpc.LeaseKeepAliveResponse]
        self._items = collections.deque(maxlen=KEEPALIVE_BUFFER)
        self._err: BaseException | None = None
        self._closed = False  # the user called close()
        self._done = threading.Event()  # set once nothing more will come
        self._unregister_ctx: Callable[[], None] = _nothing

    # ---- called by the driver (its lock held; never blocks) -----------------------------
    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        """Deliver one renewal (dropping the oldest when the buffer is full)."""
        with self._cond:
            if not self._done.is_set():
                self._items.append(response)
                self._cond.notify_all()

    def finish(self, error: BaseException | None) -> None:
        """End the keep-alive with ``error`` (``None``: a clean end); the first end wins."""
        with self._cond:
            if self._done.is_set():
                return
            self._err = None if self._closed else error
            self._done.set()
            self._cond.notify_all()
        self._unregister_ctx()

    def follow(self, ctx: Context) -> None:
        """End with the context's error when ``ctx`` ends."""
        self._unregister_ctx = ctx.add_done_callback(lambda: self._on_ctx_done(ctx))

    def _on_ctx_done(self, ctx: Context) -> None:
        self._driver.unsubscribe(self.id, self, ctx.err())

    # ---- the user's side --------------------------------------------------------------------
    def __iter__(self) -> Self:
        return self

    def __next__(self) -> LeaseKeepAliveResponse:
        response = self._take(None)
        if response is None:
            raise StopIteration
        return response

    def get(self, timeout: float | None = None) -> LeaseKeepAliveResponse | None:
        """Return the next renewal, waiting at most ``timeout`` seconds.

        Args:
            timeout: seconds to wait (``None``: until one comes or the keep-alive ends).

        Returns:
            The renewal, or ``None`` when the time ran out or after a clean end
            (:meth:`close`; see :attr:`done`).

        Raises:
            LeaseNotFoundError: the lease is gone (as iterating raises); and the other
                errors that end a keep-alive, see :class:`KeepAlive`.
        """
        return self._take(timeout)

    def _take(self, timeout: float | None) -> LeaseKeepAliveResponse | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._items:
                    return LeaseKeepAliveResponse(self._items.popleft())
                if self._done.is_set():
                    if self._err is not None:
                        raise self._err
                    return None
                wait = _WAKE if deadline is None else min(_WAKE, deadline - time.monotonic())
                if wait <= 0:
                    return None
                self._cond.wait(wait)

    def close(self) -> None:
        """Stop receiving renewals: the iteration ends cleanly. Idempotent.

        The lease stays kept alive while another ``keep_alive()`` caller of it remains;
        with none left, its renewals stop (and the lease expires after its TTL).
        """
        with self._cond:
            self._closed = True
            self._items.clear()
        self._driver.unsubscribe(self.id, self, None)
        self.finish(None)

    def err(self) -> BaseException | None:
        """Return why the keep-alive ended.

        Returns:
            ``None`` while it runs or after :meth:`close`; else the error the iteration
            raises (``LeaseNotFoundError``, ``LeaseExpiredError``, a context's error...).
        """
        with self._cond:
            return self._err

    @property
    def done(self) -> bool:
        """Whether the keep-alive ended (no renewal will be delivered any more)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the keep-alive ends, or ``timeout`` seconds pass.

        Args:
            timeout: the longest wait in seconds (``None``: no limit).

        Returns:
            ``True`` if it ended.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.is_set():
            left = _WAKE if deadline is None else min(_WAKE, deadline - time.monotonic())
            if left <= 0:
                return False
            self._done.wait(left)  # in slices, so Ctrl-C is noticed
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "live" if not self.done else f"ended ({self.err()!r})"
        return f"KeepAlive(id={self.id}, {state})"


def _nothing() -> None:
    pass


def _check_id(lease_id: object) -> int:
    if isinstance(lease_id, bool) or not isinstance(lease_id, int):
        raise ArgumentTypeError(f"a lease ID must be an int, not {type(lease_id).__name__}")
    return lease_id


class Lease(abc.ABC):
    """The Lease concern (``client.lease``), as clientv3's ``Lease`` interface.

    Every method may be called from any thread.
    """

    @abc.abstractmethod
    def grant(self, ttl: int, *, id: int = 0, timeout: float | None = None) -> LeaseGrantResponse:
        """Create a lease that expires ``ttl`` seconds after its last renewal.

        Args:
            ttl: the TTL in seconds (the server raises one below its minimum).
            id: the ID to use; 0 lets the server choose.
            timeout: seconds for the call.

        Returns:
            The lease's ID and granted TTL.

        Raises:
            LeaseExistError: a lease with ``id`` exists.
            LeaseTTLTooLargeError: ``ttl`` is over the server's maximum.
        """

    @abc.abstractmethod
    def revoke(self, id: int, *, timeout: float | None = None) -> LeaseRevokeResponse:
        """Revoke a lease: every key attached to it is deleted (in one revision).

        Args:
            id: the lease ID.
            timeout: seconds for the call.

        Returns:
            The response.

        Raises:
            LeaseNotFoundError: no such lease.
        """

    @abc.abstractmethod
    def time_to_live(
        self, id: int, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLiveResponse:
        """Ask how long a lease has left.

        Args:
            id: the lease ID.
            keys: also list the keys attached to it.
            timeout: seconds for the call.

        Returns:
            The remaining and granted TTL (``ttl == -1`` for an unknown lease, as etcd).
        """

    @abc.abstractmethod
    def leases(self, *, timeout: float | None = None) -> LeaseLeasesResponse:
        """List every live lease.

        Args:
            timeout: seconds for the call.

        Returns:
            The lease IDs.
        """

    @abc.abstractmethod
    def keep_alive_once(self, id: int, *, timeout: float | None = None) -> LeaseKeepAliveResponse:
        """Renew a lease once.

        Args:
            id: the lease ID.
            timeout: seconds for the call.

        Returns:
            The renewal (its new TTL).

        Raises:
            LeaseNotFoundError: no such lease (revoked, expired or never granted).
        """

    @abc.abstractmethod
    def keep_alive(self, id: int, *, ctx: Context | None = None) -> KeepAlive:
        """Keep a lease alive until the returned :class:`KeepAlive` is closed.

        Renewals go out about every third of the lease's TTL, on the client's one
        keep-alive thread and stream, whatever the caller does; several callers of one
        lease share them. Never blocks and does no I/O: an unknown lease makes the first
        ``next()`` raise :class:`~etcd3py.errors.LeaseNotFoundError`.

        Args:
            id: the lease ID.
            ctx: a context whose end ends this keep-alive (with its error).

        Returns:
            The iterator of renewals; see :class:`KeepAlive` for how it ends.

        Raises:
            ClientClosedError: the client is closed.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """End every keep-alive (with ``ClientClosedError``) and stop renewing. Idempotent."""


class GrpcLease(Lease):
    """The Lease concern over the gRPC Lease service (what ``client.lease`` is by default)."""

    def __init__(self, transport: Transport) -> None:
        """Bind to the client's transport; the keep-alive thread starts with the first
        ``keep_alive``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport
        self._stub = _pb.rpc_grpc.LeaseStub(transport.channel)
        self._driver = KeepAliveDriver(
            transport, self._stub, first_timeout=_first_timeout(transport.config.dial_timeout)
        )

    @property
    def driver(self) -> KeepAliveDriver:
        """The keep-alive driver (its thread, stream and schedule): for tests and tools."""
        return self._driver

    def grant(self, ttl: int, *, id: int = 0, timeout: float | None = None) -> LeaseGrantResponse:
        check_timeout(timeout)
        request = _pb.rpc.LeaseGrantRequest(TTL=_check_int("ttl", ttl), ID=_check_id(id))
        response = self._transport.call(self._stub.LeaseGrant, request, timeout=timeout)
        return LeaseGrantResponse(response)

    def revoke(self, id: int, *, timeout: float | None = None) -> LeaseRevokeResponse:
        check_timeout(timeout)
        request = _pb.rpc.LeaseRevokeRequest(ID=_check_id(id))
        response = self._transport.call(
            self._stub.LeaseRevoke, request, timeout=timeout, repeatable=True
        )
        return LeaseRevokeResponse(response)

    def time_to_live(
        self, id: int, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLiveResponse:
        check_timeout(timeout)
        request = _pb.rpc.LeaseTimeToLiveRequest(ID=_check_id(id), keys=bool(keys))
        response = self._transport.call(
            self._stub.LeaseTimeToLive, request, timeout=timeout, repeatable=True
        )
        return LeaseTimeToLiveResponse(response)

    def leases(self, *, timeout: float | None = None) -> LeaseLeasesResponse:
        check_timeout(timeout)
        request = _pb.rpc.LeaseLeasesRequest()
        response = self._transport.call(
            self._stub.LeaseLeases, request, timeout=timeout, repeatable=True
        )
        return LeaseLeasesResponse(response)

    def keep_alive_once(self, id: int, *, timeout: float | None = None) -> LeaseKeepAliveResponse:
        check_timeout(timeout)
        request = _pb.rpc.LeaseKeepAliveRequest(ID=_check_id(id))
        # clientv3 opens a stream, sends one request and takes one response; the transport
        # gives it the deadline, token, retries (renewing is idempotent) and error mapping.
        method = cast(
            "grpc.UnaryUnaryMultiCallable[_pb.rpc.LeaseKeepAliveRequest, "
            "_pb.rpc.LeaseKeepAliveResponse]",
            _OnceOverStream(self._stub),
        )
        response = self._transport.call(method, request, timeout=timeout, repeatable=True)
        if response.TTL <= 0:
            raise LeaseNotFoundError("etcdserver: requested lease not found")
        return LeaseKeepAliveResponse(response)

    def keep_alive(self, id: int, *, ctx: Context | None = None) -> KeepAlive:
        ka = KeepAlive(_check_id(id), self._driver)
        if ctx is not None and ctx is not Context.background():
            err = ctx.err()
            if err is not None:
                ka.finish(err)
                return ka
            self._driver.subscribe(ka.id, ka)
            ka.follow(ctx)
        else:
            self._driver.subscribe(ka.id, ka)
        return ka

    def close(self) -> None:
        self._driver.close()


class _OnceOverStream:
    """``LeaseKeepAlive`` as a unary call: one request out, the first response back."""

    def __init__(self, stub: _pb.rpc_grpc.LeaseStub) -> None:
        self._stub = stub

    def __call__(
        self,
        request: _pb.rpc.LeaseKeepAliveRequest,
        *,
        timeout: float | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> _pb.rpc.LeaseKeepAliveResponse:
        call = self._stub.LeaseKeepAlive(iter([request]), timeout=timeout, metadata=metadata)
        try:
            for response in call:
                first: _pb.rpc.LeaseKeepAliveResponse = response
                return first
        finally:
            call.cancel()  # type: ignore[no-untyped-call]
        raise UnavailableError("etcd3py: the keep-alive stream ended without a response")


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _first_timeout(dial_timeout: float | None) -> float:
    """How long a new keep-alive waits for its first renewal before giving the lease up.

    As clientv3: the dial timeout plus a second, but at least 5 seconds.
    """
    return max((dial_timeout or 0.0) + 1.0, 5.0)
