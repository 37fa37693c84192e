"""The one place an RPC is issued: the channel, endpoints, credentials, token and error mapping.

Owns the client's single gRPC channel over every endpoint (an ``ipv4:``/``ipv6:``
multi-address target, host names resolved at dial time, ``round_robin`` or ``pick_first``),
the endpoint list and its replacement (:meth:`Transport.set_endpoints`, used by
``sync_endpoints``: the channel is a :class:`etcd3py._channel.SwitchableChannel`, so every
stub made on it, streams included, uses the new connection from its next call on),
keepalive and message-size options, TLS credentials, the wait for a first connection
(``dial_timeout``), the auth token (sent as metadata ``token``, fetched again once when the
server says it is invalid), fork and close checks, and the mapping of every
``grpc.RpcError`` to :mod:`etcd3py.errors` (``raise ... from``). Which failures are retried
is decided in :mod:`etcd3py._retry`; the concerns (kv, cluster...) only build requests.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TypeVar, cast

import grpc

from etcd3py import _pb, _stubs
from etcd3py._calls import Call
from etcd3py._calls import auth as auth_calls
from etcd3py._calls import cluster as cluster_calls
from etcd3py._channel import SwitchableChannel
from etcd3py._endpoint_sync import endpoints_changed, usable_endpoints
from etcd3py._retry import call_with_retry, remaining
from etcd3py.config import Config, Endpoint, parse_endpoint
from etcd3py.context import Context
from etcd3py.errors import (
    ArgumentTypeError,
    AuthNotEnabledError,
    CanceledError,
    ClientClosedError,
    EtcdError,
    ForkedClientError,
    InvalidArgumentError,
    InvalidAuthTokenError,
    UnavailableError,
    from_rpc_error,
)

_log = logging.getLogger(__name__)

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")

# gRPC core reconnects after 1 s then backs off to 120 s; a restarted etcd member should be
# found again within a couple of seconds, as clientv3's dialer does.
_RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def _resolve(endpoint: Endpoint) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(endpoint.host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnavailableError(f"cannot resolve endpoint {endpoint.address}: {exc}") from exc
    found = [ipaddress.ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(found))


def build_target(endpoints: tuple[Endpoint, ...]) -> str:
    """Return one gRPC target naming every address of every endpoint.

    IPv4 addresses go in an ``ipv4:`` target; if there are none, IPv6 ones in an ``ipv6:``
    target (gRPC cannot mix the two in one static target).

    Args:
        endpoints: the client's endpoints.

    Returns:
        The target string.

    Raises:
        UnavailableError: a host name cannot be resolved.
    """
    if endpoints[0].path is not None:  # parse_endpoints allows a socket only alone
        path = endpoints[0].path
        return f"unix://{path}" if path.startswith("/") else f"unix:{path}"
    v4: list[str] = []
    v6: list[str] = []
    for endpoint in endpoints:
        for ip in _resolve(endpoint):
            if ip.version == 4:
                v4.append(f"{ip}:{endpoint.port}")
            else:
                v6.append(f"[{ip}]:{endpoint.port}")
    if v4:
        if v6:
            _log.warning("etcd3py: using the IPv4 addresses only; dropped %s", v6)
        return "ipv4:" + ",".join(dict.fromkeys(v4))
    return "ipv6:" + ",".join(dict.fromkeys(v6))


def channel_credentials(config: Config) -> grpc.ChannelCredentials | None:
    """The TLS credentials of a client's channels (``None``: plain text); both faces'."""
    if not config.secure:
        return None
    ca, key, cert = config.tls.load() if config.tls is not None else (None, None, None)
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def channel_options(
    config: Config, endpoints: tuple[Endpoint, ...], lb_policy: str
) -> list[tuple[str, str | int]]:
    """The gRPC channel options of a client (sizes, balancing, keepalive, TLS name)."""
    authority = "localhost" if endpoints[0].path is not None else endpoints[0].address
    options: list[tuple[str, str | int]] = [
        ("grpc.max_send_message_length", config.max_call_send_msg_size),
        ("grpc.max_receive_message_length", config.max_call_recv_msg_size),
        ("grpc.lb_policy_name", lb_policy),
        ("grpc.default_authority", authority),
        *_RECONNECT_OPTIONS,
    ]
    keepalive = config.keepalive
    if keepalive.time is not None:
        options += [
            ("grpc.keepalive_time_ms", int(keepalive.time * 1000)),
            ("grpc.keepalive_timeout_ms", int(keepalive.timeout * 1000)),
            ("grpc.keepalive_permit_without_calls", int(keepalive.permit_without_calls)),
            ("grpc.http2.max_pings_without_data", 0),
        ]
    if config.tls is not None and config.tls.server_name:
        # the call host must match the name checked in the certificate, or gRPC refuses it
        options.remove(("grpc.default_authority", authority))
        options.append(("grpc.default_authority", config.tls.server_name))
        options.append(("grpc.ssl_target_name_override", config.tls.server_name))
    return options


def open_channel(config: Config, endpoints: tuple[Endpoint, ...], lb_policy: str) -> grpc.Channel:
    """Open a channel to ``endpoints`` with the settings of ``config`` (not yet connected).

    Args:
        config: the client settings (credentials, sizes, keepalive).
        endpoints: where to connect.
        lb_policy: the gRPC load-balancing policy name.

    Returns:
        The channel.
    """
    target = build_target(endpoints)
    options = channel_options(config, endpoints, lb_policy)
    creds = channel_credentials(config)
    if creds is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, creds, options=options)


# The stub of each service a Call may name, to reach one member on a channel of its own.
_STUBS: dict[str, Callable[[grpc.Channel], object]] = {
    "kv": _stubs.rpc_grpc.KVStub,
    "lease": _stubs.rpc_grpc.LeaseStub,
    "cluster": _stubs.rpc_grpc.ClusterStub,
    "maintenance": _stubs.rpc_grpc.MaintenanceStub,
    "auth": _stubs.rpc_grpc.AuthStub,
}


def ctx_metadata(ctx: Context | None) -> tuple[tuple[str, str], ...]:
    """The metadata a call's context adds (none without one)."""
    return ctx.metadata if ctx is not None else ()


def check_ctx(ctx: object) -> Context | None:
    """Refuse a ``ctx=`` that is neither ``None`` nor a :class:`~etcd3py.Context`.

    Args:
        ctx: the argument.

    Returns:
        The context (or ``None``).

    Raises:
        ArgumentTypeError: not a ``Context``.
    """
    if ctx is not None and not isinstance(ctx, Context):
        raise ArgumentTypeError(f"ctx must be an etcd3py.Context, not {type(ctx).__name__}")
    return ctx


def call_deadline(default: float | None, timeout: object, ctx: object) -> float | None:
    """Check a call's ``timeout=`` and ``ctx=``; return its ``time.monotonic()`` deadline.

    The nearer of ``timeout`` (or, without it, ``default``: the client's
    ``default_timeout`` for a unary call) and the context's deadline; ``None`` when neither
    bounds the call. Both faces, and the calls made of several steps, use it.

    Args:
        default: the seconds that bound the call when ``timeout`` is ``None``, or ``None``.
        timeout: the call's ``timeout=``.
        ctx: the call's ``ctx=``.

    Returns:
        The deadline, or ``None``.

    Raises:
        ArgumentTypeError: ``ctx`` is not a Context, or ``timeout`` not a number.
        InvalidArgumentError: ``timeout`` is negative.
    """
    if timeout is None and ctx is None:  # most calls: nothing to check
        return None if default is None else time.monotonic() + default
    context = check_ctx(ctx)
    check_timeout(timeout)
    seconds = default if timeout is None else cast(float, timeout)
    deadline = None if seconds is None else time.monotonic() + seconds
    if context is not None and context.deadline is not None:
        deadline = context.deadline if deadline is None else min(deadline, context.deadline)
    return deadline


class _Forks:
    """How many times this process is a fork's child of the one that imported etcd3py.

    A transport keeps the count it was made at: a different count means it was made before
    a fork, which :meth:`UsableCheck.check_usable` sees with no ``getpid()`` system call.
    """

    count = 0

    @classmethod
    def counted(cls) -> None:
        cls.count += 1


os.register_at_fork(after_in_child=_Forks.counted)


class UsableCheck:
    """Both faces' transports: made in one process, closed once; checked at every call."""

    def __init__(self) -> None:
        """Record the process (and its fork count) the transport is made in; open."""
        self._pid = os.getpid()
        self._forks = _Forks.count
        self._closed = False

    def check_usable(self) -> None:
        """Raise if the client was closed or is used after a fork (two comparisons if not).

        Raises:
            ForkedClientError: called in a child process of the one that made the client.
            ClientClosedError: the client was closed.
        """
        if self._closed or self._forks != _Forks.count:
            ensure_usable(self._pid, self._closed)


def ensure_usable(pid: int, closed: bool) -> None:
    """Raise if a client made in process ``pid`` is used after a fork, or after ``close()``.

    Args:
        pid: the process that made the client.
        closed: whether it was closed.

    Raises:
        ForkedClientError: called in a child process of the one that made the client.
        ClientClosedError: the client was closed.
    """
    if os.getpid() != pid:
        raise ForkedClientError(
            "etcd3py: this client was created before os.fork() and cannot be used in the "
            "child process; create clients after forking"
        )
    if closed:
        raise ClientClosedError("etcd3py: the client is closed")


def endpoint_names(config: Config) -> str:
    """The client's endpoints as an error names them: ``"h1:2379, h2:2379"``."""
    return ", ".join(e.address for e in config.endpoints)


def dial_failure(config: Config, dial_timeout: float, reason: str = "") -> UnavailableError:
    """The error of a first connection that did not come within ``dial_timeout``.

    Args:
        config: the client's settings (its endpoints are named).
        dial_timeout: the seconds waited.
        reason: gRPC's last connection error, if known.

    Returns:
        The error to raise.
    """
    addresses = endpoint_names(config)
    return UnavailableError(
        f"etcd3py: no endpoint answered within dial_timeout={dial_timeout}s "
        f"(endpoints: {addresses})" + (f": {reason}" if reason else "")
    )


def requires_leader(ctx: Context | None) -> bool:
    """Whether a call's context carries ``require_leader`` ("no leader" is then final)."""
    return ctx is not None and ("hasleader", "true") in ctx.metadata


def check_timeout(timeout: object) -> None:
    """Refuse a ``timeout=`` that is not ``None`` or a non-negative number.

    Args:
        timeout: the argument.

    Raises:
        ArgumentTypeError: not a number.
        InvalidArgumentError: negative.
    """
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ArgumentTypeError(
            f"timeout must be a number of seconds, not {type(timeout).__name__}"
        )
    if timeout < 0:
        raise InvalidArgumentError(f"timeout must not be negative, got {timeout}")


class Transport(UsableCheck):
    """The client's connection: one channel, the stubs, and :meth:`call` for every unary RPC.

    Thread-safe: calls may run from any thread; ``close()`` may too.
    """

    def __init__(self, config: Config) -> None:
        """Open the channel, wait up to ``dial_timeout`` for it, and authenticate if asked.

        Args:
            config: the client settings.

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout``.
            AuthFailedError: the username or password is wrong.
        """
        super().__init__()  # UsableCheck: the process, and _closed
        self.config = config
        self._lock = threading.Lock()  # guards _closed and _token
        self._token: str | None = None
        self._refresh_lock = threading.Lock()  # one token refresh at a time
        self._switch_lock = threading.Lock()  # one endpoint change at a time
        self.channel = SwitchableChannel(open_channel(config, config.endpoints, config.lb_policy))
        self.kv = _stubs.rpc_grpc.KVStub(self.channel)
        self.cluster = _stubs.rpc_grpc.ClusterStub(self.channel)
        self.maintenance = _stubs.rpc_grpc.MaintenanceStub(self.channel)
        self.auth = _stubs.rpc_grpc.AuthStub(self.channel)
        self.lease = _stubs.rpc_grpc.LeaseStub(self.channel)
        try:
            if config.dial_timeout:
                self._wait_ready(config.dial_timeout)
            if config.username is not None:
                self._authenticate()
        except BaseException:
            self.channel.close()
            raise

    def _wait_ready(self, dial_timeout: float) -> None:
        """Wait for a first connection, as ``grpc.channel_ready_future`` would.

        Without it: its connectivity-polling thread outlives the wait, and the channel's
        ``close()`` then waits for that thread's poll (0.2 s on every client's close). A
        Status call waiting for the connection (``wait_for_ready``) does the same wait, and
        any answer at all (a refusal included) means the connection is up.
        """
        request = _pb.rpc.StatusRequest()
        try:
            self.maintenance.Status(request, timeout=dial_timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise dial_failure(self.config, dial_timeout, self._connect_failure()) from None

    def _connect_failure(self) -> str:
        """Return gRPC's last connection error (a refused port, a failed TLS handshake...).

        A fail-fast call on a channel that cannot connect fails at once with that reason.
        """
        try:
            self.kv.Range(_pb.rpc.RangeRequest(key=b"\0"), timeout=0.5)
        except grpc.RpcError as exc:
            return str(exc.details() or "")
        return ""

    def refresh_token(self, who: str, stale: str | None = None) -> bool:
        """Fetch a new auth token, as clientv3 does when the server says the old one is invalid.

        Used by the stream drivers (a watch or keep-alive stream that met an invalid token);
        a failure is logged, not raised, so the stream decides what to do. One refresh runs
        at a time; the old token stays in use until the new one is in place.

        Args:
            who: the stream asking, for the log.
            stale: the token the caller found invalid (default: the current one); when
                another thread already replaced it, nothing is fetched.

        Returns:
            True when a new token is in place; False without credentials or on a failure.
        """
        if self.config.username is None:
            return False
        try:
            self._refresh(self._token if stale is None else stale)
        except EtcdError as exc:
            _log.warning("etcd3py: %s could not refresh the auth token: %s", who, exc)
            return False
        return True

    def _refresh(self, stale: str | None) -> None:
        """Replace the token ``stale`` by a new one, once however many threads ask.

        The shared token is never cleared meanwhile: other calls go on with the old one
        (at worst they too meet "invalid auth token" and come here, where they find the
        new token in place and fetch nothing).
        """
        with self._refresh_lock:
            if self._token != stale and self._token is not None:
                return  # another thread refreshed it while this one waited
            self._authenticate()

    def _authenticate(self) -> None:
        call = auth_calls.authenticate(self.config.username or "", self.config.password or "")
        try:
            response = self.run(call)
        except AuthNotEnabledError:
            with self._lock:
                self._token = None
            return  # as clientv3's getToken: auth is off (or was disabled), go on without one
        with self._lock:
            self._token = response.token

    def metadata(self, ctx: Context | None = None) -> tuple[tuple[str, str], ...]:
        """Return the metadata for a call: the context's pairs and the auth token.

        Args:
            ctx: the call's context, if any.

        Returns:
            The metadata pairs.
        """
        pairs = () if ctx is None else ctx.metadata
        token = self._token
        return (*pairs, ("token", token)) if token else pairs

    def run(
        self, call: Call[_Resp], *, timeout: float | None = None, ctx: Context | None = None
    ) -> _Resp:
        """Run a described unary RPC (see :mod:`etcd3py._calls`) and return its view.

        Args:
            call: the description: service, method, request, retry class, view.
            timeout: seconds for the whole call, retries included (see :meth:`call`).
            ctx: a context whose deadline, metadata and cancellation apply.

        Returns:
            The response, as the description's view.

        Raises:
            EtcdError: the mapped failure (see :meth:`call`).
        """
        method = getattr(getattr(self, call.service), call.method)
        response = self.call(
            method, call.request, timeout=timeout, ctx=ctx, repeatable=call.repeatable
        )
        return call.wrap(response)

    def run_at(
        self,
        endpoint: str,
        call: Call[_Resp],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> _Resp:
        """Run a described unary RPC on the member at ``endpoint`` (a channel of its own).

        As :meth:`run` (retries, deadline, metadata, error mapping, view), for the calls
        clientv3 sends to one named member (status, defragment, hash_kv...).

        Args:
            endpoint: ``host:port`` or a URL form of it.
            call: the description.
            timeout: seconds for the whole call, retries included.
            ctx: a context whose deadline, metadata and cancellation apply.

        Returns:
            The response, as the description's view.
        """
        with self.endpoint_channel(endpoint) as channel:
            method = getattr(_STUBS[call.service](channel), call.method)
            response = self.call(
                method, call.request, timeout=timeout, ctx=ctx, repeatable=call.repeatable
            )
        return call.wrap(response)

    def call(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        repeatable: bool = False,
    ) -> _Resp:
        """Issue one unary RPC with retries, the deadline, metadata and error mapping.

        The call's deadline is the nearer of ``timeout`` (or, without it, the client's
        ``default_timeout``) and the context's; it bounds every attempt and every wait
        between them. A call still failing with a retryable error (no member reachable...)
        when it passes raises ``DeadlineExceededError`` caused by that last error.

        Args:
            method: the stub method (e.g. ``transport.kv.Range``).
            request: the request message.
            timeout: seconds for the whole call, retries included (``None``: the client's
                ``default_timeout``, and without one the retry policy's ``max_elapsed``
                bounds the retries).
            ctx: a context whose deadline, metadata and cancellation apply.
            repeatable: whether the RPC is read-only (see :mod:`etcd3py._retry`).

        Returns:
            The response message.

        Raises:
            EtcdError: the mapped failure (``DeadlineExceededError`` past the deadline,
                ``CanceledError`` when ``ctx`` is cancelled).
        """
        deadline = call_deadline(self.config.default_timeout, timeout, ctx)
        authenticate = method is self.auth.Authenticate
        token = None if authenticate else self._token
        try:
            try:  # the fast path: most calls succeed at once, with no retry run built
                return self._invoke(
                    method, request, remaining(deadline), ctx, with_token=not authenticate
                )
            except EtcdError as exc:
                return self._retry(method, request, deadline, ctx, repeatable, authenticate, exc)
        except InvalidAuthTokenError:
            if self.config.username is None or authenticate:
                raise
            self._refresh(token)  # clientv3: refresh the token once, then try again
            return self._retry(method, request, deadline, ctx, repeatable, authenticate, None)

    def _retry(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        deadline: float | None,
        ctx: Context | None,
        repeatable: bool,
        authenticate: bool,
        failed: EtcdError | None,
    ) -> _Resp:
        """Retry a call after its first attempt ``failed`` (``None``: attempt it first here)."""

        def attempt(left: float | None) -> _Resp:
            return self._invoke(method, request, left, ctx, with_token=not authenticate)

        return call_with_retry(
            self.config.retry,
            attempt,
            repeatable=repeatable,
            deadline=deadline,
            require_leader=requires_leader(ctx),
            endpoints=self._endpoint_names,
            sleep=time.sleep if ctx is None else ctx.wait,
            failed=failed,
        )

    def _invoke(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        timeout: float | None,
        ctx: Context | None,
        *,
        with_token: bool = True,
    ) -> _Resp:
        self.check_usable()
        # Authenticate goes without the token: a stale one must not ride along.
        metadata = self.metadata(ctx) if with_token else ctx_metadata(ctx)
        if ctx is None or ctx is Context._background:
            try:
                return method(request, timeout=timeout, metadata=metadata)
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from exc
        err = ctx.err()
        if err is not None:
            raise err
        future = method.future(request, timeout=timeout, metadata=metadata)
        unregister = ctx.add_done_callback(future.cancel)
        try:
            return future.result()
        except grpc.FutureCancelledError:
            raise ctx.err() or CanceledError("etcd3py: the call was cancelled") from None
        except grpc.RpcError as exc:
            ended = ctx.err()
            if ended is not None and exc.code() == grpc.StatusCode.CANCELLED:
                raise ended from exc
            raise from_rpc_error(exc) from exc
        finally:
            unregister()

    @contextmanager
    def endpoint_channel(self, endpoint: str) -> Iterator[grpc.Channel]:
        """Open a channel to one endpoint (same credentials), closed on exit.

        For the RPCs clientv3 sends to a named member (status, defragment, hash...).

        Args:
            endpoint: ``host:port`` or a URL form of it.

        Yields:
            The channel.
        """
        self.check_usable()
        channel = open_channel(self.config, (parse_endpoint(endpoint),), "pick_first")
        try:
            yield channel
        finally:
            channel.close()

    def _endpoint_names(self) -> str:
        return endpoint_names(self.config)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The current endpoints, as ``host:port``."""
        return tuple(e.address for e in self.config.endpoints)

    def set_endpoints(self, endpoints: Sequence[Endpoint]) -> bool:
        """Replace the endpoint list: new calls and reconnects use a new channel at once.

        The new channel is opened first and made current; the old one is closed once the
        calls that run on it have ended (a unary call finishes or fails and is retried on
        the new channel; a watch or keep-alive stream goes on until it breaks, then its
        driver reconnects on the new channel). TLS, credentials and options are kept.

        Args:
            endpoints: the new endpoints (at least one).

        Returns:
            ``False`` when the list names the same endpoints as now (nothing changes).

        Raises:
            InvalidArgumentError: an empty list.
            UnavailableError: a host name cannot be resolved.
            ClientClosedError: the client is closed.
        """
        new = tuple(endpoints)
        with self._switch_lock:
            self.check_usable()
            old = self.config.endpoints
            if not endpoints_changed(old, new):
                return False
            config = replace(self.config, endpoints=new)
            self.channel.switch(open_channel(config, new, config.lb_policy))
            self.config = config
        _log.info(
            "etcd3py: endpoints changed from %s to %s",
            [e.address for e in old],
            [e.address for e in new],
        )
        return True

    def sync_endpoints(
        self, timeout: float | None = None, ctx: Context | None = None
    ) -> tuple[str, ...]:
        """Replace the endpoints by the client URLs of the started voting members.

        The member list is read linearizably (as clientv3's ``Sync``), so a member that
        was just added or removed is seen.

        Args:
            timeout: seconds for the member list call, retries included.
            ctx: a context whose deadline, cancellation and metadata apply.

        Returns:
            The endpoints now in use, as ``host:port``.

        Raises:
            EtcdError: the member list failed (the endpoints stay as they were).
            UnavailableError: no member has a usable client URL.
        """
        listed = self.run(cluster_calls.member_list(True), timeout=timeout, ctx=ctx)
        self.set_endpoints(usable_endpoints(listed.members, secure=self.config.secure))
        return self.endpoints

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the channel; idempotent. In a forked child only marks the client closed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if os.getpid() == self._pid:
            self.channel.close()
