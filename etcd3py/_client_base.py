"""What both faces' clients share: the constructor's settings, once, and the client's shape.

:class:`ClientBase` owns the one constructor signature of :class:`etcd3py.Client` and
:class:`etcd3py.aio.Client` (so the two cannot drift), checks the settings, builds the
:class:`~etcd3py.config.Config`, and hands it to the face's :meth:`ClientBase._open`, which
makes the face's transport and concerns (the sync client dials there; the asyncio one
connects when entered, awaited, or at its first call). A namespaced client of either face
is assembled explicitly from its parent's transport and concerns (see
:mod:`etcd3py.namespace`), never by copying the parent's attributes.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from etcd3py.config import (
    DEFAULT_MAX_CALL_RECV_MSG_SIZE,
    DEFAULT_MAX_CALL_SEND_MSG_SIZE,
    Config,
    KeepaliveConfig,
    RetryPolicy,
    TLSConfig,
    check_interval,
    parse_endpoints,
)

__all__ = ["ClientBase", "Settings"]


class _Transport(Protocol):
    @property
    def closed(self) -> bool: ...  # pragma: no cover - protocol

    @property
    def endpoints(self) -> tuple[str, ...]: ...  # pragma: no cover - protocol


_T = TypeVar("_T", bound=_Transport)


@dataclass(frozen=True, slots=True)
class Settings:
    """The client settings that are not the connection's (see :class:`ClientBase`)."""

    buffer_limit: int
    create_window: int
    auto_sync_interval: float | None


class ClientBase(abc.ABC, Generic[_T]):
    """The constructor and the shape shared by the sync and the asyncio client."""

    config: Config
    _transport: _T

    def __init__(
        self,
        endpoints: str | list[str] | tuple[str, ...] = ("127.0.0.1:2379",),
        *,
        dial_timeout: float | None = 3.0,
        tls: TLSConfig | None = None,
        username: str | None = None,
        password: str | None = None,
        keepalive: KeepaliveConfig | None = None,
        retry: RetryPolicy | None = None,
        max_call_send_msg_size: int = DEFAULT_MAX_CALL_SEND_MSG_SIZE,
        max_call_recv_msg_size: int = DEFAULT_MAX_CALL_RECV_MSG_SIZE,
        lb_policy: str = "round_robin",
        watch_buffer_limit: int = 1000,
        watch_create_window: int = 1,
        auto_sync_interval: float | None = None,
        default_timeout: float | None = None,
    ) -> None:
        """Make a client of the cluster at ``endpoints``.

        The sync :class:`etcd3py.Client` connects here, waiting up to ``dial_timeout``;
        :class:`etcd3py.aio.Client` does no I/O here and connects when entered
        (``async with``), awaited, or at its first call.

        Args:
            endpoints: ``"host:port"`` (or ``http://``/``https://``/``unix://`` URLs), one
                or a list (a comma-separated string works too).
            dial_timeout: seconds to wait for a first connection (``None`` or 0: don't wait).
            tls: TLS settings; ``https://`` endpoints use TLS with the system roots without it.
            username: authenticate as this user (with ``password``).
            password: the user's password.
            keepalive: keepalive ping settings (default: :class:`KeepaliveConfig`).
            retry: the retry policy (default: :class:`RetryPolicy`).
            max_call_send_msg_size: the largest request, in bytes (2 MiB as clientv3).
            max_call_recv_msg_size: the largest response, in bytes.
            lb_policy: ``"round_robin"`` or ``"pick_first"``.
            watch_buffer_limit: responses one watch may hold unconsumed; past it the watch
                is paused on the server and resumed, losslessly, once its consumer drained
                half of them (see :mod:`etcd3py.watch`).
            watch_create_window: create requests one watch stream may have in flight.
                1 (the default) registers one watch at a time, as clientv3 does; a program
                with thousands of watches may pipeline their creation with, say, 128 (etcd
                answers the creates of a stream in order; see :mod:`etcd3py.watch`).
            auto_sync_interval: if set, call ``sync_endpoints()`` every this many seconds
                (a daemon thread in the sync client, a task in the asyncio one; clientv3
                ``AutoSyncInterval``); a failed sync is logged and tried again at the next
                interval.
            default_timeout: seconds that bound every unary call made without
                ``timeout=`` (and whose ``ctx`` has no nearer deadline), retries included;
                such a call that cannot complete in time raises ``DeadlineExceededError``.
                ``None`` (the default): only the retry policy bounds it (its
                ``max_elapsed``, 30 s, for the retries of a failing call).

        Raises:
            UnavailableError: no endpoint answered within ``dial_timeout`` (sync client).
            AuthFailedError: wrong username or password (sync client; the asyncio one
                raises it where it connects).
            InvalidArgumentError: bad settings (an endpoint, TLS, lb_policy...).
        """
        check_interval("auto_sync_interval", auto_sync_interval)
        config = Config(
            endpoints=parse_endpoints(endpoints),
            dial_timeout=dial_timeout,
            tls=tls,
            username=username,
            password=password,
            keepalive=keepalive or KeepaliveConfig(),
            retry=retry or RetryPolicy(),
            max_call_send_msg_size=max_call_send_msg_size,
            max_call_recv_msg_size=max_call_recv_msg_size,
            lb_policy=lb_policy,  # type: ignore[arg-type]
            default_timeout=default_timeout,
        )
        self.config = config
        self._open(config, Settings(watch_buffer_limit, watch_create_window, auto_sync_interval))

    @abc.abstractmethod
    def _open(self, config: Config, settings: Settings) -> None:
        """Make the face's transport and its six concerns."""

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    @property
    def endpoints(self) -> list[str]:
        """The endpoints in use now, as ``host:port`` (changed by ``sync_endpoints()``)."""
        return list(self._transport.endpoints)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"{type(self).__name__}({self.endpoints!r}, {state})"
