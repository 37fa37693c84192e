"""The asyncio face's wire: one ``grpc.aio`` channel, and :meth:`AioTransport.run` for every
described unary RPC (see :mod:`etcd3py._calls`), awaited.

The same body as the sync :class:`~etcd3py._transport.Transport`: the same descriptions
(request, retry class, view), the same target, options and credentials, the same deadline
rule (:func:`~etcd3py._transport.call_deadline`), the same retries (a
:class:`~etcd3py._retry.RetryRun` driven by tenacity's ``AsyncRetrying``), the same error
mapping and the same one-refresh-at-a-time auth token. Only the waiting differs: awaited,
on the running event loop, with no thread of its own. A :class:`~etcd3py.Context` works here
too: its cancel (from any thread) cancels the call in flight, and cuts a backoff wait short.

Issue 10's first step: the asyncio ``Client`` is built on it next.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
import tenacity

from etcd3py import _stubs
from etcd3py._calls import Call
from etcd3py._calls import auth as auth_calls
from etcd3py._retry import RetryRun, remaining
from etcd3py._transport import (
    build_target,
    call_deadline,
    channel_credentials,
    channel_options,
    ctx_metadata,
    dial_failure,
    endpoint_names,
    ensure_usable,
    requires_leader,
)
from etcd3py.config import Config
from etcd3py.context import Context
from etcd3py.errors import (
    AuthNotEnabledError,
    EtcdError,
    InvalidAuthTokenError,
    from_rpc_error,
)

__all__ = ["AioTransport"]

_log = logging.getLogger(__name__)

_R = TypeVar("_R")


def open_aio_channel(config: Config) -> grpc.aio.Channel:
    """Open a ``grpc.aio`` channel to the client's endpoints (not yet connected).

    Args:
        config: the client settings (endpoints, credentials, sizes, keepalive).

    Returns:
        The channel.
    """
    target = build_target(config.endpoints)
    options = channel_options(config, config.endpoints, config.lb_policy)
    creds = channel_credentials(config)
    if creds is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, creds, options=options)


class AioTransport:
    """The asyncio client's connection: the channel, the stubs, and :meth:`run`.

    Make it, then ``await start()`` inside the event loop that will use it; every
    coroutine must run on that loop.
    """

    def __init__(self, config: Config) -> None:
        """Open the channel (no I/O yet: see :meth:`start`).

        Args:
            config: the client settings.
        """
        self.config = config
        self._pid = os.getpid()
        self._closed = False
        self._token: str | None = None
        self._refresh_lock = asyncio.Lock()  # one token refresh at a time
        self.channel = open_aio_channel(config)
        self.kv = _stubs.rpc_grpc.KVStub(self.channel)
        self.lease = _stubs.rpc_grpc.LeaseStub(self.channel)
        self.cluster = _stubs.rpc_grpc.ClusterStub(self.channel)
        self.maintenance = _stubs.rpc_grpc.MaintenanceStub(self.channel)
        self.auth = _stubs.rpc_grpc.AuthStub(self.channel)

    async def start(self) -> None:
        """Wait up to ``dial_timeout`` for a first connection, then log in if asked.

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: the username or password is wrong.
        """
        try:
            if self.config.dial_timeout:
                await self._wait_ready(self.config.dial_timeout)
            if self.config.username is not None:
                await self._authenticate()
        except BaseException:
            await self.close()
            raise

    async def _wait_ready(self, dial_timeout: float) -> None:
        try:
            await asyncio.wait_for(self.channel.channel_ready(), dial_timeout)
        except asyncio.TimeoutError:
            raise dial_failure(self.config, dial_timeout) from None

    def check_usable(self) -> None:
        """Raise if the client was closed or is used after a fork.

        Raises:
            ForkedClientError: called in a child process of the one that made the client.
            ClientClosedError: the client was closed.
        """
        ensure_usable(self._pid, self._closed)

    def metadata(self, ctx: Context | None = None) -> tuple[tuple[str, str], ...]:
        """Return the metadata for a call or a stream: the context's pairs and the auth token.

        Args:
            ctx: the call's context, if any.

        Returns:
            The metadata pairs.
        """
        pairs = ctx_metadata(ctx)
        token = self._token
        return (*pairs, ("token", token)) if token else pairs

    async def refresh_token(self, who: str, stale: str | None = None) -> bool:
        """Fetch a new auth token for a stream that met an invalid one (as the sync transport).

        A failure is logged, not raised, so the stream decides what to do. One refresh runs
        at a time; the old token stays in use until the new one is in place.

        Args:
            who: the stream asking, for the log.
            stale: the token the caller found invalid (default: the current one); when
                another task already replaced it, nothing is fetched.

        Returns:
            True when a new token is in place; False without credentials or on a failure.
        """
        if self.config.username is None:
            return False
        try:
            await self._refresh(self._token if stale is None else stale)
        except EtcdError as exc:
            _log.warning("etcd3py: %s could not refresh the auth token: %s", who, exc)
            return False
        return True

    async def run(
        self, call: Call[_R], *, timeout: float | None = None, ctx: Context | None = None
    ) -> _R:
        """Run a described unary RPC with retries, the deadline, metadata and error mapping.

        As :meth:`etcd3py._transport.Transport.run`, awaited.

        Args:
            call: the description: service, method, request, retry class, view.
            timeout: seconds for the whole call, retries included (``None``: the client's
                ``default_timeout``; without one the retry policy's ``max_elapsed`` bounds
                the retries).
            ctx: a context whose deadline, metadata and cancellation apply.

        Returns:
            The response, as the description's view.

        Raises:
            EtcdError: the mapped failure (``DeadlineExceededError`` past the deadline,
                ``CanceledError`` when ``ctx`` is cancelled).
        """
        method = getattr(getattr(self, call.service), call.method)
        authenticate = call.service == "auth" and call.method == "Authenticate"
        response = await self._call(
            method, call.request, timeout, ctx, call.repeatable, authenticate=authenticate
        )
        return call.wrap(response)

    async def call(
        self,
        method: Callable[..., Any],
        request: Any,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        repeatable: bool = False,
    ) -> Any:
        """Issue one RPC given as a method (not a description), as :meth:`run` does.

        As :meth:`etcd3py._transport.Transport.call`, awaited: for the calls a stub method
        cannot issue alone (``keep_alive_once``: one message over a stream).

        Args:
            method: called as ``method(request, timeout=, metadata=)``; returns an awaitable
                with ``cancel()`` (a ``grpc.aio`` call, or an adapter of one).
            request: the request message.
            timeout: seconds for the whole call, retries included.
            ctx: a context whose deadline, metadata and cancellation apply.
            repeatable: whether the RPC is read-only (see :mod:`etcd3py._retry`).

        Returns:
            The response message.
        """
        return await self._call(method, request, timeout, ctx, repeatable, authenticate=False)

    async def _call(
        self,
        method: Callable[..., Any],
        request: Any,
        timeout: float | None,
        ctx: Context | None,
        repeatable: bool,
        *,
        authenticate: bool,
    ) -> Any:
        self.check_usable()
        deadline = call_deadline(self.config.default_timeout, timeout, ctx)
        token = None if authenticate else self._token

        def attempt(remaining: float | None) -> Awaitable[Any]:
            return self._invoke(method, request, remaining, ctx, with_token=not authenticate)

        def retried() -> Awaitable[Any]:
            return self._retry(attempt, repeatable, deadline, ctx)

        try:
            return await retried()
        except InvalidAuthTokenError:
            if self.config.username is None or authenticate:
                raise
            await self._refresh(token)  # clientv3: refresh the token once, then try again
            return await retried()

    async def _retry(
        self,
        attempt: Callable[[float | None], Awaitable[Any]],
        repeatable: bool,
        deadline: float | None,
        ctx: Context | None,
    ) -> Any:
        try:  # the fast path: most calls succeed at once, with no retry object built
            return await attempt(remaining(deadline))
        except EtcdError as exc:
            run = RetryRun(
                self.config.retry,
                repeatable=repeatable,
                deadline=deadline,
                require_leader=requires_leader(ctx),
                endpoints=lambda: endpoint_names(self.config),
            )
            if not run.retry_after(exc):
                raise

        async def sleep(seconds: float) -> None:
            await _wait_ctx(ctx, seconds)

        with run.giving_up():
            async for try_ in tenacity.AsyncRetrying(**run.tenacity_args(sleep)):
                with try_:
                    return await attempt(run.next_attempt())
        raise EtcdError("retry loop ended without a result")  # unreachable: reraise=True

    async def _invoke(
        self,
        method: Any,
        request: Any,
        timeout: float | None,
        ctx: Context | None,
        *,
        with_token: bool,
    ) -> Any:
        self.check_usable()
        metadata = ctx_metadata(ctx)
        token = self._token
        if with_token and token:  # Authenticate goes without: a stale one must not ride along
            metadata = (*metadata, ("token", token))
        if ctx is not None:
            err = ctx.err()
            if err is not None:
                raise err
        rpc = method(request, timeout=timeout, metadata=metadata)
        unregister = _on_ctx_done(ctx, rpc.cancel)
        try:
            return await rpc
        except asyncio.CancelledError:
            ended = ctx.err() if ctx is not None else None
            if ended is None:
                raise  # the awaiting task itself was cancelled: asyncio's own rule
            raise ended from None
        except grpc.aio.AioRpcError as exc:
            ended = ctx.err() if ctx is not None else None
            if ended is not None and exc.code() == grpc.StatusCode.CANCELLED:
                raise ended from exc
            raise from_rpc_error(exc) from exc
        finally:
            unregister()

    async def _refresh(self, stale: str | None) -> None:
        """Replace the token ``stale`` by a new one, once however many tasks ask."""
        async with self._refresh_lock:
            if self._token != stale and self._token is not None:
                return  # another task refreshed it while this one waited
            await self._authenticate()

    async def _authenticate(self) -> None:
        call = auth_calls.authenticate(self.config.username or "", self.config.password or "")
        try:
            response = await self.run(call)
        except AuthNotEnabledError:
            self._token = None
            return  # as clientv3's getToken: auth is off (or was disabled), go on without one
        self._token = response.token

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def close(self) -> None:
        """Close the channel; idempotent. In a forked child only marks the client closed."""
        if self._closed:
            return
        self._closed = True
        if os.getpid() == self._pid:
            await self.channel.close(None)


def _on_ctx_done(ctx: Context | None, action: Callable[[], object]) -> Callable[[], None]:
    """Run ``action`` on the running loop when ``ctx`` ends (from whichever thread ends it).

    Returns:
        A function that unregisters it.
    """
    if ctx is None or ctx is Context._background:
        return _nothing
    loop = asyncio.get_running_loop()

    def fire() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(action)

    return ctx.add_done_callback(fire)


async def _wait_ctx(ctx: Context | None, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``ctx`` ends first."""
    if ctx is None or ctx is Context._background:
        await asyncio.sleep(seconds)
        return
    ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def resolve() -> None:
        if not ended.done():
            ended.set_result(None)

    unregister = _on_ctx_done(ctx, resolve)
    try:
        await asyncio.wait([ended], timeout=seconds)
    finally:
        unregister()
        ended.cancel()


def _nothing() -> None:
    pass
