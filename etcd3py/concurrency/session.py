"""Session: a lease kept alive for as long as a process takes part in a recipe.

Owns :class:`Session` (clientv3/concurrency ``session.go``): it grants a lease (or adopts a
given one) and keeps it alive with ``client.keep_alive``, which renews it on the client's one
keep-alive thread; the session starts no thread of its own. Keys a Mutex or Election writes
are attached to the session's lease, so they vanish when the process dies and the lease
expires. Built on the public client API only (``client.grant``, ``keep_alive``, ``revoke``).

Example::

    with Session(client, ttl=10) as session:
        mutex = Mutex(session, "/locks/job")
        with mutex:
            ...
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import TYPE_CHECKING

from typing_extensions import Self

from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError, LeaseNotFoundError

if TYPE_CHECKING:
    from etcd3py.client import Client
    from etcd3py.lease import KeepAlive

__all__ = [
    "DEFAULT_SESSION_TTL",
    "Session",
]

#: The lease TTL of a session, in seconds, when none is given (Go's ``defaultSessionTTL``).
DEFAULT_SESSION_TTL = 60


class Session:
    """A lease kept alive until :meth:`close`, or until it is lost.

    The session ends (:attr:`done`) when :meth:`close` or :meth:`orphan` is called, when its
    context ends, or when the lease is lost (revoked elsewhere, or expired while the client
    could not reach the cluster); :meth:`err` then says why.

    Threading: every method may be called from any thread; the renewals run on the client's
    keep-alive thread.
    """

    def __init__(
        self,
        client: Client,
        ttl: int = DEFAULT_SESSION_TTL,
        *,
        ctx: Context | None = None,
        lease: int = 0,
    ) -> None:
        """Grant a lease of ``ttl`` seconds (or adopt ``lease``) and start keeping it alive.

        Args:
            client: the client.
            ttl: the lease's TTL in seconds (Go's ``WithTTL``; not positive: the default).
            ctx: the session ends with this context (Go's ``WithContext``).
            lease: an existing lease ID to keep alive instead of granting one
                (Go's ``WithLease``).

        Raises:
            ArgumentTypeError: ``ttl`` or ``lease`` is not an int.
            LeaseNotFoundError: ``lease`` does not exist.
            EtcdError: granting the lease failed.
        """
        for name, value in (("ttl", ttl), ("lease", lease)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
        self._client = client
        self._ttl = ttl if ttl > 0 else DEFAULT_SESSION_TTL
        self._ctx = ctx or Context.background()
        if lease == 0:
            lease = client.grant(self._ttl, timeout=self._ctx.remaining()).id
        self._lease = lease
        self._keep_alive: KeepAlive = client.keep_alive(lease, ctx=self._ctx)

    @property
    def client(self) -> Client:
        """The client the session runs on."""
        return self._client

    @property
    def lease(self) -> int:
        """The ID of the session's lease."""
        return self._lease

    @property
    def ttl(self) -> int:
        """The lease's TTL in seconds, as asked."""
        return self._ttl

    @property
    def ctx(self) -> Context:
        """The context the session was made with."""
        return self._ctx

    @property
    def done(self) -> bool:
        """Whether the session ended: closed, orphaned, its context ended, or lease lost."""
        return self._keep_alive.done

    def err(self) -> BaseException | None:
        """Return why the session ended.

        Returns:
            ``None`` while it is live or after :meth:`close`/:meth:`orphan`; else the
            keep-alive's error (``LeaseNotFoundError`` when the lease is gone, the context's
            error when it ended).
        """
        return self._keep_alive.err()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ends (Go's ``<-Done()``).

        Args:
            timeout: seconds to wait (``None``: no limit).

        Returns:
            Whether it ended.
        """
        return self._keep_alive.wait(timeout)

    def orphan(self) -> None:
        """Stop keeping the lease alive, without revoking it: it expires after its TTL.

        Idempotent.
        """
        self._keep_alive.close()

    def close(self) -> None:
        """Stop the renewals and revoke the lease: every key of the session goes at once.

        Idempotent as far as the caller cares: revoking a lease that is already gone is
        not an error here.

        Raises:
            EtcdError: the revoke failed for another reason (the lease then expires after
                its TTL anyway).
        """
        self.orphan()
        # if the revoke takes longer than the TTL, the lease has expired anyway
        with contextlib.suppress(LeaseNotFoundError):
            self._client.revoke(self._lease, timeout=float(self._ttl))

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
        state = "done" if self.done else "live"
        return f"Session(lease={self._lease:x}, ttl={self._ttl}, {state})"
