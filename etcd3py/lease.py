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
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, cast

import grpc
from typing_extensions import Self

from etcd3py import _pb, _stubs
from etcd3py._calls import lease as calls
from etcd3py._ints import LeaseLike, lease_id
from etcd3py._keepalive import KeepAliveDriver, StreamKey
from etcd3py._keepalive_renewals import (
    Renewals,
    add_done_callback,
    ctx_error,
    follow,
    run_callbacks,
    start_keep_alive,
)
from etcd3py._keepalive_schedule import first_timeout
from etcd3py._lease_views import (
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py._streams import cancel_call
from etcd3py._transport import check_ctx, check_timeout
from etcd3py.context import Context
from etcd3py.errors import (
    UnavailableError,
)

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

_log = logging.getLogger(__name__)

_WAKE = 0.2  # seconds a blocked wait sleeps at most, so Ctrl-C and closes are noticed


class KeepAlive:
    """The renewals of one lease for one ``keep_alive()`` caller: an iterator and a context
    manager (``with client.keep_alive(lease) as ka:`` closes it on leaving the block).

    Yields a :class:`LeaseKeepAliveResponse` per renewal. A slow consumer misses some (the
    oldest are dropped past :data:`etcd3py._keepalive_renewals.KEEPALIVE_BUFFER`), but never
    holds renewals up: the client's keep-alive thread goes on renewing whatever the
    consumer does.

    Lifetime: it renews until its own :meth:`close`, its ``ctx`` ends, or the client closes
    (or the lease is gone, or etcd refuses it). Error rule (as for watches): ended by
    anything but its own :meth:`close`, it yields the responses it still holds (its last
    one), then the next iteration raises the error that ended it (also :meth:`err`):

    * :class:`~etcd3py.errors.LeaseNotFoundError` when the server says the lease is gone
      (revoked, expired, or never granted: an unknown lease fails at the first ``next()``,
      not in ``keep_alive()``, which does no I/O);
    * :class:`~etcd3py.errors.LeaseExpiredError` when no renewal got through before its TTL
      ran out (the stream was down for that long);
    * the context's error (:class:`~etcd3py.errors.CanceledError` or
      :class:`~etcd3py.errors.DeadlineExceededError`) when ``ctx`` ends or ``timeout``
      passes;
    * :class:`~etcd3py.errors.NoLeaderError` when ``ctx`` requires a leader
      (``with_require_leader()``) and the member has none (etcd refuses the stream, or
      ends it a few seconds after losing its leader);
    * :class:`~etcd3py.errors.ClientClosedError` when the client closes.

    Its own :meth:`close` (or leaving its ``with`` block) ends the iteration cleanly
    (``StopIteration``), even after an error.

    Threading: iterate from one thread; :meth:`close`, :meth:`err`, :meth:`wait` and
    :attr:`done` may be called from any thread.

    Attributes:
        id: the lease kept alive.
    """

    def __init__(self, lease_id: int, driver: KeepAliveDriver, key: StreamKey = ()) -> None:
        """Create a keep-alive; use :meth:`Lease.keep_alive`.

        Args:
            lease_id: the lease kept alive.
            driver: the client's keep-alive driver.
            key: the metadata of its context, which picks its stream.
        """
        self.id = lease_id
        self._driver = driver
        self._key = key
        self._cond = threading.Condition()  # guards every field below
        # renewals not yet taken and the end (the error rule); written by the keep-alive
        # thread, read by the user
        self._state = Renewals()
        self._done = threading.Event()  # set once nothing more will come

    # ---- called by the driver (its lock held; never blocks) -----------------------------
    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        """Deliver one renewal (dropping the oldest when the buffer is full)."""
        with self._cond:
            if self._state.push(response):
                self._cond.notify_all()

    def finish(self, error: BaseException | None) -> None:
        """End the keep-alive with ``error`` (``None``: a clean end); the first end wins."""
        with self._cond:
            ended = self._state.finish(error)
            if ended is None:
                return
            self._done.set()
            self._cond.notify_all()
        ended.detach()
        if ended.callbacks:
            # The driver may hold its lock here, and a callback may call back into it
            # (closing another keep-alive...): run them on a short-lived thread of their own.
            threading.Thread(
                target=run_callbacks,
                args=(ended.callbacks,),
                name="etcd3py-keepalive-done",
                daemon=True,
            ).start()

    def add_done_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback()`` once when the keep-alive ends, for any reason.

        It runs on a short-lived thread started when the keep-alive ends (never on the
        keep-alive thread, so it may call the client), or at once on this thread if the
        keep-alive has already ended; :meth:`err` then says why. Keep it short.

        Args:
            callback: the function to call.

        Returns:
            A function that unregisters the callback (harmless after it ran).
        """
        return add_done_callback(self._state, callback, self._cond)

    def follow(self, ctx: Context, *, owned: bool = False) -> None:
        """End with the context's error when ``ctx`` ends.

        Args:
            ctx: the keep-alive's context.
            owned: ``ctx`` was made for this keep-alive alone (``timeout=``): cancel it
                once the keep-alive ends, so its deadline timer goes at once.
        """
        follow(self._state, ctx, owned, lambda: self._on_ctx_done(ctx), self._cond)

    def _on_ctx_done(self, ctx: Context) -> None:
        error = ctx_error(ctx)
        self._driver.unsubscribe(self._key, self.id, self, error)
        self.finish(error)  # when it was not subscribed (yet): still end it

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
            The renewal, or ``None`` when the time ran out or after :meth:`close` (see
            :attr:`done`).

        Raises:
            LeaseNotFoundError: the lease is gone (as iterating raises); and the other
                errors that end a keep-alive, see :class:`KeepAlive`.
        """
        return self._take(timeout)

    def _take(self, timeout: float | None) -> LeaseKeepAliveResponse | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                ready, response = self._state.take()
                if ready:
                    return response
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
            self._state.close()
            self._cond.notify_all()
        self._driver.unsubscribe(self._key, self.id, self, None)
        self.finish(None)

    def err(self) -> BaseException | None:
        """Return why the keep-alive ended.

        Returns:
            ``None`` while it runs or when its own :meth:`close` ended it; else the error
            that ended it (``LeaseNotFoundError``, ``LeaseExpiredError``, a context's
            error, ``NoLeaderError``, ``ClientClosedError``).
        """
        with self._cond:
            return self._state.err

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


class Lease(abc.ABC):
    """The Lease concern (``client.lease``), as clientv3's ``Lease`` interface.

    Every call takes ``timeout=`` and ``ctx=`` (a :class:`~etcd3py.Context`); wherever a
    lease ID is taken, a grant response (anything with an ``.id``) is accepted too. Every
    method may be called from any thread.
    """

    @abc.abstractmethod
    def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        """Create a lease that expires ``ttl`` seconds after its last renewal.

        Args:
            ttl: the TTL in seconds; etcd raises one below its minimum (2 s with its
                default election timeout, see the Lease page).
            id: the ID to use; 0 lets the server choose.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The lease's ID and granted TTL.

        Raises:
            InvalidArgumentError: a negative ``ttl`` or ``id``, or one past ``int64``
                (nothing is sent).
            LeaseExistError: a lease with ``id`` exists.
            LeaseTTLTooLargeError: ``ttl`` is over the server's maximum.
            CanceledError: ``ctx`` was cancelled.
        """

    @abc.abstractmethod
    def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        """Revoke a lease: every key attached to it is deleted (in one revision).

        Args:
            id: the lease ID, or its grant response.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            InvalidArgumentError: a negative ID or one past ``int64`` (nothing is sent).
            LeaseNotFoundError: no such lease.
            CanceledError: ``ctx`` was cancelled.
        """

    @abc.abstractmethod
    def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        """Ask how long a lease has left.

        Args:
            id: the lease ID, or its grant response.
            keys: also list the keys attached to it.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The remaining and granted TTL (``ttl == -1`` for an unknown lease, as etcd).

        Raises:
            InvalidArgumentError: a negative ID or one past ``int64`` (nothing is sent).
            CanceledError: ``ctx`` was cancelled.
        """

    @abc.abstractmethod
    def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        """List every live lease.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The lease IDs.

        Raises:
            CanceledError: ``ctx`` was cancelled.
        """

    @abc.abstractmethod
    def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        """Renew a lease once.

        Args:
            id: the lease ID, or its grant response.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The renewal (its new TTL).

        Raises:
            InvalidArgumentError: a negative ID or one past ``int64`` (nothing is sent).
            LeaseNotFoundError: no such lease (revoked, expired or never granted).
            CanceledError: ``ctx`` was cancelled.
        """

    @abc.abstractmethod
    def keep_alive(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> KeepAlive:
        """Keep a lease alive until the returned :class:`KeepAlive` is closed.

        Renewals go out about every third of the lease's TTL, on the client's keep-alive
        stream for ``ctx``'s metadata (one stream and one thread per distinct metadata, as
        clientv3; never a thread per lease), whatever the caller does; several callers of
        one lease share them. Never blocks and does no I/O: an unknown lease makes the
        first ``next()`` raise :class:`~etcd3py.errors.LeaseNotFoundError`.

        Lifetime: the :class:`KeepAlive` renews until its own ``close()`` (or leaving its
        ``with`` block), its ``ctx`` ends (or ``timeout`` passes), or the client closes.
        Ended by anything but its own ``close()``, it yields its last response, then the
        next iteration raises why (``CanceledError``, ``DeadlineExceededError``,
        ``ClientClosedError``, ``LeaseNotFoundError``, ``LeaseExpiredError``, and
        ``NoLeaderError`` for a ``ctx`` made with ``with_require_leader()`` on a member
        without a leader); its own ``close()`` ends the iteration cleanly.

        Args:
            id: the lease ID, or its grant response.
            timeout: seconds after which the keep-alive ends with ``DeadlineExceededError``
                (``None``: no limit).
            ctx: a Context whose deadline, cancellation and metadata apply: its end ends
                this keep-alive alone, with its error; its metadata picks the stream.

        Returns:
            The iterator of renewals; see :class:`KeepAlive`.

        Raises:
            InvalidArgumentError: a negative ID or one past ``int64``.
            ClientClosedError: the client is closed.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """End every keep-alive (with ``ClientClosedError``) and stop renewing. Idempotent."""


class GrpcLease(Lease):
    """The Lease concern over the gRPC Lease service (what ``client.lease`` is by default).

    Its unary RPCs are described in :mod:`etcd3py._calls.lease` and run by the transport;
    ``keep_alive_once`` (one message over the ``LeaseKeepAlive`` stream) and the keep-alive
    driver use a stub of their own.
    """

    def __init__(self, transport: Transport) -> None:
        """Bind to the client's transport; a keep-alive thread starts with the first
        ``keep_alive`` of each stream.

        Args:
            transport: the client's transport.
        """
        self._transport = transport
        # for the LeaseKeepAlive stream only (keep_alive_once and the driver)
        self._stub = _stubs.rpc_grpc.LeaseStub(transport.channel)
        self._driver = KeepAliveDriver(
            transport, self._stub, first_timeout=first_timeout(transport.config.dial_timeout)
        )

    @property
    def driver(self) -> KeepAliveDriver:
        """The keep-alive driver (its threads, streams and schedules): for tests and tools."""
        return self._driver

    def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        return self._transport.run(calls.grant(ttl, id), timeout=timeout, ctx=ctx)

    def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        return self._transport.run(calls.revoke(id), timeout=timeout, ctx=ctx)

    def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        return self._transport.run(calls.time_to_live(id, keys), timeout=timeout, ctx=ctx)

    def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        return self._transport.run(calls.leases(), timeout=timeout, ctx=ctx)

    def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        call = calls.keep_alive_once(id)
        check_timeout(timeout)
        # clientv3 opens a stream, sends one request and takes one response; the transport
        # gives it the deadline, token, ctx, retries (renewing is idempotent) and errors.
        method = cast(
            "grpc.UnaryUnaryMultiCallable[_pb.rpc.LeaseKeepAliveRequest, "
            "_pb.rpc.LeaseKeepAliveResponse]",
            _OnceOverStream(self._stub),
        )
        response = self._transport.call(
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
        start_keep_alive(ka, lambda: self._driver.subscribe(ka._key, lid, ka), parent, timeout)
        return ka

    def close(self) -> None:
        self._driver.close()


class _OnceOverStream:
    """``LeaseKeepAlive`` as a unary call: one request out, the first response back.

    It has what the transport uses of a unary method: a call, and ``future()`` (taken when
    a ``ctx`` is given, so that the context's cancel aborts the call in flight).
    """

    def __init__(self, stub: _stubs.rpc_grpc.LeaseStub) -> None:
        self._stub = stub

    def __call__(
        self,
        request: _pb.rpc.LeaseKeepAliveRequest,
        *,
        timeout: float | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> _pb.rpc.LeaseKeepAliveResponse:
        return self.future(request, timeout=timeout, metadata=metadata).result()

    def future(
        self,
        request: _pb.rpc.LeaseKeepAliveRequest,
        *,
        timeout: float | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> _OnceFuture:
        call = self._stub.LeaseKeepAlive(iter([request]), timeout=timeout, metadata=metadata)
        return _OnceFuture(call)


class _OnceFuture:
    """The one-response stream call as the transport uses a unary future."""

    def __init__(self, call: grpc.CallIterator[_pb.rpc.LeaseKeepAliveResponse]) -> None:
        self._call = call
        self._cancelled = threading.Event()

    def cancel(self) -> bool:
        self._cancelled.set()
        cancel_call(self._call)
        return True

    def result(self) -> _pb.rpc.LeaseKeepAliveResponse:
        try:
            for response in self._call:
                first: _pb.rpc.LeaseKeepAliveResponse = response
                return first
        except grpc.RpcError:
            if self._cancelled.is_set():
                raise grpc.FutureCancelledError() from None
            raise
        finally:
            cancel_call(self._call)
        if self._cancelled.is_set():
            raise grpc.FutureCancelledError()
        raise UnavailableError("etcd3py: the keep-alive stream ended without a response")
