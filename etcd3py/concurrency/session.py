"""Session: a lease kept alive for as long as a process takes part in a recipe.

Owns :class:`Session` (clientv3/concurrency ``session.go``): it grants a lease (or adopts a
given one) and keeps it alive with ``client.keep_alive``, which renews it on the client's one
keep-alive thread. Keys a Mutex or Election writes are attached to the session's lease, so
they vanish when the process dies and the lease expires. Built on the public client API only
(``client.grant``, ``keep_alive``, ``revoke``).

The session's context (:attr:`Session.ctx`, Go's ``Session.Ctx()``) ends when the session
does: closed, orphaned, its parent context ended, or its keep-alive ended (lease revoked or
expired, client closed): a done callback of its keep-alive cancels it (no thread of its own;
Go drains the keep-alive channel in a goroutine).

Example::

    with Session(client, ttl=10) as session:
        mutex = Mutex(session, "/locks/job")
        with mutex:
            ...
"""

from __future__ import annotations

import contextlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING

from typing_extensions import Self

from etcd3py._ints import INT64_MIN, LeaseLike, check_int, lease_id
from etcd3py.context import Context
from etcd3py.errors import LeaseNotFoundError

if TYPE_CHECKING:
    from etcd3py.client import Client
    from etcd3py.lease import KeepAlive

__all__ = [
    "DEFAULT_SESSION_TTL",
    "Session",
]

_log = logging.getLogger(__name__)

#: The lease TTL of a session, in seconds, when none is given (Go's ``defaultSessionTTL``).
DEFAULT_SESSION_TTL = 60


class Session:
    """A lease kept alive until :meth:`close`, or until it is lost.

    The session ends (:attr:`done`, :attr:`ctx` cancelled) when :meth:`close` or
    :meth:`orphan` is called, when the context it was made with ends, or when its keep-alive
    ends (the lease revoked elsewhere, expired while the client could not reach the cluster,
    or the client closed); :meth:`err` then says why. A :class:`Mutex` waiting for its lock,
    an :class:`Election` campaigning and an :meth:`Election.observe` iteration built on the
    session end with :class:`~etcd3py.errors.SessionExpiredError` when it ends.

    Threading: every method may be called from any thread; the renewals run on the client's
    keep-alive thread.
    """

    def __init__(
        self,
        client: Client,
        ttl: int = DEFAULT_SESSION_TTL,
        *,
        lease: LeaseLike = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> None:
        """Grant a lease of ``ttl`` seconds (or adopt ``lease``) and start keeping it alive.

        Args:
            client: the client.
            ttl: the lease's TTL in seconds (Go's ``WithTTL``; not positive: the default).
            lease: an existing lease to keep alive instead of granting one (Go's
                ``WithLease``): its ID or its grant response. An unknown lease ends the
                session at the first renewal (``err()``: ``LeaseNotFoundError``).
            timeout: seconds the grant may take.
            ctx: a Context whose deadline, cancellation and metadata apply to the grant; as
                Go's ``WithContext``, the session also ends when it ends (so give a
                short-lived one to ``timeout=``, not here).

        Raises:
            ArgumentTypeError: ``ttl`` or ``lease`` is not an int (or a grant response).
            InvalidArgumentError: ``ttl`` or ``lease`` is out of range.
            DeadlineExceededError: the grant did not complete in time.
            CanceledError: ``ctx`` was cancelled during the grant.
            EtcdError: granting the lease failed.
        """
        ttl = check_int("ttl", ttl, minimum=INT64_MIN)
        lease_given = lease_id(lease, "lease")
        self._client = client
        self._ttl = ttl if ttl > 0 else DEFAULT_SESSION_TTL
        parent = ctx or Context.background()
        if lease_given == 0:
            lease_given = client.grant(self._ttl, timeout=timeout, ctx=ctx).id
        self._lease = lease_given
        self._ctx = parent.with_cancel()  # Go's Session.Ctx(): ends when the session does
        self._closed = False  # close() or orphan() was called
        self._keep_alive: KeepAlive = client.keep_alive(self._lease, ctx=self._ctx)
        self._keep_alive.add_done_callback(self._on_keep_alive_done)

    def _on_keep_alive_done(self) -> None:
        """Cancel the session's context once its keep-alive ends, for whatever reason."""
        err = self._keep_alive.err()
        if err is not None:
            _log.info("session %x ended: %s", self._lease, err)
        self._ctx.cancel()

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
        """The session's context (Go's ``Session.Ctx()``): cancelled when the session ends.

        It ends when :meth:`close` or :meth:`orphan` is called, when the context the session
        was made with ends, or when the keep-alive ends (lease revoked or expired, client
        closed). Derive contexts from it for work that must stop with the session.
        """
        return self._ctx

    @property
    def done(self) -> bool:
        """Whether the session ended (see :attr:`ctx`)."""
        return self._ctx.done

    def err(self) -> BaseException | None:
        """Return why the session ended.

        Returns:
            ``None`` while it is live or after :meth:`close`/:meth:`orphan`; else the
            keep-alive's error (``LeaseNotFoundError`` when the lease is gone,
            ``LeaseExpiredError``, ``ClientClosedError``) or the error of the context the
            session was made with.
        """
        if self._closed:
            return None
        return self._keep_alive.err() or self._ctx.err()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ends (Go's ``<-Done()``).

        Args:
            timeout: seconds to wait (``None``: no limit).

        Returns:
            Whether it ended.
        """
        return self._ctx.wait(timeout)

    def orphan(self) -> None:
        """Stop keeping the lease alive, without revoking it: it expires after its TTL.

        The session ends: :attr:`ctx` is cancelled. Idempotent.
        """
        self._closed = True
        self._keep_alive.close()
        self._ctx.cancel()

    def close(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """End the session and revoke its lease: every key of the session goes at once.

        Idempotent as far as the caller cares: revoking a lease that is already gone is
        not an error here. The revoke is not bound by :attr:`ctx` (ended by then).

        Args:
            timeout: seconds the revoke may take (default: the session's TTL, after which
                the lease has expired anyway).
            ctx: a Context whose deadline, cancellation and metadata apply to the revoke.

        Raises:
            DeadlineExceededError: the revoke did not complete in time (the lease then
                expires after its TTL anyway).
            CanceledError: ``ctx`` was cancelled.
            EtcdError: the revoke failed for another reason.
        """
        self.orphan()
        if timeout is None and (ctx is None or ctx.deadline is None):
            timeout = float(self._ttl)
        with contextlib.suppress(LeaseNotFoundError):
            self._client.revoke(self._lease, timeout=timeout, ctx=ctx)

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
