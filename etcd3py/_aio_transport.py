"""The asyncio face's wire: the ``grpc.aio`` channels, and :meth:`AioTransport.run` for every
described unary RPC (see :mod:`etcd3py._calls`), awaited.

The same body as the sync :class:`~etcd3py._transport.Transport`: the same descriptions
(request, retry class, view), the same target, options and credentials, the same deadline
rule (:func:`~etcd3py._transport.call_deadline`), the same retries (a
:class:`~etcd3py._retry.RetryRun` driven by tenacity's ``AsyncRetrying``), the same error
mapping and the same one-refresh-at-a-time auth token. Only the waiting differs: awaited,
on the running event loop, with no thread of its own. A :class:`~etcd3py.Context` works here
too: its cancel (from any thread) cancels the call in flight, and cuts a backoff wait short.

Also as the sync transport: :meth:`AioTransport.run_at` (one member, a channel of its own),
:meth:`AioTransport.unary_stream` (a server stream such as ``Snapshot``, read with
``async for``), and the endpoint list (:meth:`AioTransport.set_endpoints`,
:meth:`AioTransport.sync_endpoints`): a new channel is current at once, a replaced one is
closed when its last call or held stream ends (:mod:`etcd3py._aio_channels`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from asyncio import current_task
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

import grpc
import grpc.aio
import tenacity

from etcd3py import _pb
from etcd3py._aio_channels import AioChannels, Generation
from etcd3py._aio_ctx import (
    TELLS_CANCELS,
    MappedErrors,
    cancels,
    on_ctx_done,
    raise_lost_cancel,
    wait_ctx,
)
from etcd3py._calls import Call
from etcd3py._calls import auth as auth_calls
from etcd3py._calls import cluster as cluster_calls
from etcd3py._endpoint_sync import endpoints_changed, usable_endpoints
from etcd3py._retry import RetryRun, remaining
from etcd3py._transport import (
    _STUBS,
    UsableCheck,
    build_target,
    call_deadline,
    channel_credentials,
    channel_options,
    dial_failure,
    endpoint_names,
    requires_leader,
)
from etcd3py.config import Config, Endpoint, parse_endpoint
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


#: One attempt of a unary call: given the seconds left and whether to send the token.
_Attempt = Callable[[float | None, bool], Awaitable[Any]]


def open_aio_channel(
    config: Config, endpoints: tuple[Endpoint, ...] | None = None, lb_policy: str | None = None
) -> grpc.aio.Channel:
    """Open a ``grpc.aio`` channel (not yet connected), as the sync ``open_channel``.

    Args:
        config: the client settings (endpoints, credentials, sizes, keepalive).
        endpoints: where to connect (default: the client's endpoints).
        lb_policy: the load-balancing policy (default: the client's).

    Returns:
        The channel.
    """
    endpoints = config.endpoints if endpoints is None else endpoints
    lb_policy = config.lb_policy if lb_policy is None else lb_policy
    target = build_target(endpoints)
    options = channel_options(config, endpoints, lb_policy)
    creds = channel_credentials(config)
    if creds is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, creds, options=options)


def _signs_in(call: Call[Any]) -> bool:
    """Whether ``call`` is Authenticate (sent without the token, never refreshed for)."""
    return call.service == "auth" and call.method == "Authenticate"


class AioTransport(UsableCheck):
    """The asyncio client's connection: the channel, the stubs, and :meth:`run`.

    Make it, then ``await start()`` inside the event loop that will use it; every
    coroutine must run on that loop.
    """

    def __init__(self, config: Config) -> None:
        """Open the channel (no I/O yet: see :meth:`start`).

        Args:
            config: the client settings.
        """
        super().__init__()  # UsableCheck: the process, and _closed
        self.config = config
        self._token: str | None = None
        self._refresh_lock = asyncio.Lock()  # one token refresh at a time
        self._start_lock = asyncio.Lock()  # one connect at a time
        self._started = False
        self._on_started: list[Callable[[], object]] = []
        self._channels = AioChannels(open_aio_channel(config))
        self._expose(self._channels.current)

    def _expose(self, gen: Generation) -> None:
        """Name the current channel and its stubs as the transport's attributes."""
        self.channel = gen.channel
        self.kv: Any = gen.stubs["kv"]
        self.lease: Any = gen.stubs["lease"]
        self.cluster: Any = gen.stubs["cluster"]
        self.maintenance: Any = gen.stubs["maintenance"]
        self.auth: Any = gen.stubs["auth"]

    async def start(self) -> None:
        """Connect now (idempotent): wait up to ``dial_timeout`` for a first connection,
        then log in if asked. On a failure the transport is closed, as the sync client's
        construction fails.

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: the username or password is wrong.
        """
        try:
            await self.ensure_started()
        except BaseException:
            await self.close()
            raise

    async def ensure_started(self) -> None:
        """Connect if not done yet (the first call or stream of a client not entered does).

        Unlike :meth:`start`, a failure leaves the transport open: the next call tries again.

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: the username or password is wrong.
            ClientClosedError: the transport is closed (connected before or not).
        """
        self.check_usable()
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            if self.config.dial_timeout:
                await self._wait_ready(self.config.dial_timeout)
            if self.config.username is not None:
                await self._authenticate()
            self._started = True
            for action in self._on_started:
                action()

    def when_started(self, action: Callable[[], object]) -> None:
        """Run ``action`` (in the loop, no I/O) once the transport has connected.

        However the client connects (entered, awaited, or at its first call or stream),
        ``action`` runs once, right after; at once when the transport is connected already.

        Args:
            action: what to start, e.g. the client's auto-sync task.
        """
        if self._started:
            action()
        else:
            self._on_started.append(action)

    async def _wait_ready(self, dial_timeout: float) -> None:
        try:
            await asyncio.wait_for(self.channel.channel_ready(), dial_timeout)
        except asyncio.TimeoutError:
            reason = await self._connect_failure()
            raise dial_failure(self.config, dial_timeout, reason) from None

    async def _connect_failure(self) -> str:
        """Return gRPC's last connection error (a refused port, a failed TLS handshake...),
        as the sync transport's: a fail-fast call on a channel that cannot connect fails at
        once with that reason.
        """
        try:
            await self.kv.Range(_pb.rpc.RangeRequest(key=b"\0"), timeout=0.5)
        except grpc.aio.AioRpcError as exc:
            return str(exc.details() or "")
        return ""

    def metadata(self, ctx: Context | None = None) -> tuple[tuple[str, str], ...]:
        """Return the metadata for a call or a stream: the context's pairs and the auth token.

        Args:
            ctx: the call's context, if any.

        Returns:
            The metadata pairs.
        """
        pairs = () if ctx is None else ctx.metadata
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

        As :meth:`etcd3py._transport.Transport.run`, awaited. Each attempt goes to the
        channel current when it starts (after :meth:`set_endpoints`, the new one).

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

        channels = self._channels

        async def attempt(remaining: float | None, with_token: bool) -> Any:
            # held_channel()'s hold, inlined: this is every unary call's path
            gen = channels.acquire()
            try:
                method = getattr(gen.stubs[call.service], call.method)
                return await self._invoke(
                    method, call.request, remaining, ctx, with_token=with_token
                )
            finally:
                if channels.release(gen):
                    await channels.close_released(gen)

        # _attempts awaited here, not in a shared coroutine: this is every unary call's path
        response = await self._attempts(attempt, call.repeatable, timeout, ctx, _signs_in(call))
        return call.wrap(response)

    async def run_at(
        self,
        endpoint: str,
        call: Call[_R],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> _R:
        """Run a described unary RPC on the member at ``endpoint`` (a channel of its own).

        As :meth:`etcd3py._transport.Transport.run_at` (same arguments and answer): as
        :meth:`run`, on a channel to that member closed before it returns.
        """
        async with self.endpoint_channel(endpoint) as channel:
            method = getattr(_STUBS[call.service](cast(grpc.Channel, channel)), call.method)

            def attempt(remaining: float | None, with_token: bool) -> Awaitable[Any]:
                return self._invoke(method, call.request, remaining, ctx, with_token=with_token)

            response = await self._attempts(attempt, call.repeatable, timeout, ctx, _signs_in(call))
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

        def attempt(remaining: float | None, with_token: bool) -> Awaitable[Any]:
            return self._invoke(method, request, remaining, ctx, with_token=with_token)

        return await self._attempts(attempt, repeatable, timeout, ctx, authenticate=False)

    async def _attempts(
        self,
        attempt: _Attempt,
        repeatable: bool,
        timeout: float | None,
        ctx: Context | None,
        authenticate: bool,
    ) -> Any:
        """Run ``attempt`` with the retries, the deadline and one token refresh."""
        self.check_usable()
        if not self._started and not authenticate:
            await self.ensure_started()
        deadline = call_deadline(self.config.default_timeout, timeout, ctx)
        token = None if authenticate else self._token
        with_token = not authenticate
        try:
            try:  # the fast path: most calls succeed at once, with no retry object built
                return await attempt(remaining(deadline), with_token)
            except EtcdError as exc:
                return await self._retry(attempt, with_token, repeatable, deadline, ctx, exc)
        except InvalidAuthTokenError:
            if self.config.username is None or authenticate:
                raise
            await self._refresh(token)  # clientv3: refresh the token once, then try again
            return await self._retry(attempt, with_token, repeatable, deadline, ctx, None)

    async def _retry(
        self,
        attempt: _Attempt,
        with_token: bool,
        repeatable: bool,
        deadline: float | None,
        ctx: Context | None,
        failed: EtcdError | None,
    ) -> Any:
        """Retry ``attempt`` after its first try ``failed`` (``None``: try it first here).

        Each attempt here follows a wait (a token refresh, a backoff): the client is checked
        to be usable again before it (``_attempts`` checked before the first).
        """
        if failed is None:
            try:
                self.check_usable()
                return await attempt(remaining(deadline), with_token)
            except EtcdError as exc:
                failed = exc
        run = RetryRun(
            self.config.retry,
            repeatable=repeatable,
            deadline=deadline,
            require_leader=requires_leader(ctx),
            endpoints=lambda: endpoint_names(self.config),
        )
        if not run.retry_after(failed):
            raise failed

        async def sleep(seconds: float) -> None:
            await wait_ctx(ctx, seconds)

        with run.giving_up():
            async for try_ in tenacity.AsyncRetrying(**run.tenacity_args(sleep)):
                with try_:
                    self.check_usable()
                    return await attempt(run.next_attempt(), with_token)
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
        # the client was checked usable before this attempt (_attempts, _retry)
        metadata = () if ctx is None else ctx.metadata
        token = self._token
        if with_token and token:  # Authenticate goes without: a stale one must not ride along
            metadata = (*metadata, ("token", token))
        # grpc.aio may swallow the task's cancel as the call ends (see raise_lost_cancel):
        # raised here whether the call then answered or failed (a failure would be retried,
        # the cancel lost). Inline, not raise_lost_cancel: this is every call's path.
        task: Any = current_task() if TELLS_CANCELS else None  # Any: 3.10's Task lacks it
        before = task.cancelling() if task is not None else 0
        if ctx is None:  # most calls: nothing to cancel them but their task
            try:
                response = await method(request, timeout=timeout, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                if task is not None and task.cancelling() > before:
                    raise asyncio.CancelledError() from None
                raise from_rpc_error(exc) from exc
            if task is not None and task.cancelling() > before:
                raise asyncio.CancelledError()
            return response
        err = ctx.err()
        if err is not None:
            raise err
        rpc = method(request, timeout=timeout, metadata=metadata)
        unregister = on_ctx_done(ctx, rpc.cancel)
        try:
            with MappedErrors(ctx):
                response = await rpc
        except EtcdError:
            if task is not None and task.cancelling() > before:
                raise asyncio.CancelledError() from None
            raise
        finally:
            unregister()
        if task is not None and task.cancelling() > before:
            raise asyncio.CancelledError()
        return response

    async def unary_stream(
        self, method: Any, request: Any, *, timeout: float | None, ctx: Context | None
    ) -> AsyncGenerator[Any, None]:
        """Run a unary-stream RPC (e.g. ``Snapshot``) and yield its responses as they come.

        The metadata is the ctx's pairs and the token (:meth:`metadata`); ``timeout`` bounds
        the whole stream; cancelling ``ctx`` (from any thread) cancels the RPC
        (``CanceledError``), and so does cancelling the task iterating it (the
        ``CancelledError`` goes on) or closing the generator. Failures are mapped as
        :meth:`run`'s; nothing is retried. Close it (``contextlib.aclosing``) when done.

        Args:
            method: the stub's unary-stream method (on a channel of this transport's).
            request: the request message.
            timeout: seconds for the whole stream (``None``: no bound).
            ctx: a context whose deadline, metadata and cancellation apply.

        Yields:
            The response messages.

        Raises:
            EtcdError: the mapped failure.
        """
        self.check_usable()
        if ctx is not None and (err := ctx.err()) is not None:
            raise err
        rpc = method(request, timeout=timeout, metadata=self.metadata(ctx))
        unregister = on_ctx_done(ctx, rpc.cancel)
        try:
            with MappedErrors(ctx):
                before = cancels()
                async for response in rpc:
                    yield response
                    before = cancels()  # a cancel met at the yield was the consumer's own
                raise_lost_cancel(before)  # a stream that "ended" as its task was cancelled
        finally:
            unregister()
            rpc.cancel()

    @contextlib.asynccontextmanager
    async def endpoint_channel(self, endpoint: str) -> AsyncIterator[grpc.aio.Channel]:
        """Open a channel to one endpoint (same credentials), closed on exit.

        Args:
            endpoint: ``host:port`` or a URL form of it.

        Yields:
            The channel.
        """
        self.check_usable()
        channel = open_aio_channel(self.config, (parse_endpoint(endpoint),), "pick_first")
        try:
            yield channel
        finally:
            await channel.close(None)

    @contextlib.asynccontextmanager
    async def held_channel(self) -> AsyncIterator[Generation]:
        """Hold the current channel open while a call or a stream runs on it.

        A stream driver that (re)connects inside it keeps its channel open across an
        endpoint change (:meth:`set_endpoints`) until the stream ends; the last call to
        leave a replaced channel closes it (see :mod:`etcd3py._aio_channels`).

        Yields:
            The generation: ``.channel`` and ``.stubs`` (by service name).
        """
        self.check_usable()
        async with self._channels.held() as gen:
            yield gen

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The current endpoints, as ``host:port``."""
        return tuple(e.address for e in self.config.endpoints)

    async def set_endpoints(self, endpoints: Sequence[Endpoint]) -> bool:
        """Replace the endpoint list, as :meth:`etcd3py._transport.Transport.set_endpoints`.

        The new channel is made current for new calls and stream (re)connects at once; the
        old one is closed when the last call running on it (or stream holding it, see
        :meth:`held_channel`) ends, or now when none does. Awaited because closing a
        ``grpc.aio`` channel is. Same arguments, answer and errors as the sync one.
        """
        new = tuple(endpoints)
        self.check_usable()
        old = self.config.endpoints
        if not endpoints_changed(old, new):
            return False
        config = replace(self.config, endpoints=new)
        channel = open_aio_channel(config)
        self.config = config
        _log.info(
            "etcd3py: endpoints changed from %s to %s",
            [e.address for e in old],
            [e.address for e in new],
        )
        self._expose(self._channels.switch(channel))
        await self._channels.close_idle()
        return True

    async def sync_endpoints(
        self, timeout: float | None = None, ctx: Context | None = None
    ) -> tuple[str, ...]:
        """Use the client URLs of the started voting members, as the sync ``sync_endpoints``.

        See :meth:`etcd3py._transport.Transport.sync_endpoints` (same arguments, answer and
        errors), awaited.
        """
        listed = await self.run(cluster_calls.member_list(True), timeout=timeout, ctx=ctx)
        await self.set_endpoints(usable_endpoints(listed.members, secure=self.config.secure))
        return self.endpoints

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
        """Close every channel (current and replaced); idempotent.

        In a forked child only marks the client closed.
        """
        if self._closed:
            return
        self._closed = True
        if os.getpid() == self._pid:
            await self._channels.close()
