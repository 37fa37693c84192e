"""Session: a lease kept alive for as long as a process takes part in a recipe.

Owns :class:`Session` (clientv3/concurrency ``session.go``): it grants a lease (or adopts a
given one) and keeps it alive with ``client.keep_alive``, which renews it on the client's one
keep-alive thread. Keys a Mutex or Election writes are attached to the session's lease, so
they vanish when the process dies and the lease expires. Built on the public client API only
(``client.grant``, ``keep_alive``, ``revoke``); its body
(:class:`~etcd3py.concurrency._session.SessionCore`) is shared with the asyncio face, and
this face runs its flows blocking.

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

from types import TracebackType
from typing import TYPE_CHECKING

from typing_extensions import Self

from etcd3py._ints import LeaseLike
from etcd3py.concurrency._drive import run
from etcd3py.concurrency._session import DEFAULT_SESSION_TTL, SessionCore
from etcd3py.context import Context

if TYPE_CHECKING:
    from etcd3py.client import Client

__all__ = [
    "DEFAULT_SESSION_TTL",
    "Session",
]


class Session(SessionCore):
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
        super().__init__(client, ttl, lease=lease, timeout=timeout, ctx=ctx)
        run(client, self._open())

    @property
    def client(self) -> Client:
        """The client the session runs on."""
        return self._client  # type: ignore[no-any-return]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ends (Go's ``<-Done()``).

        Args:
            timeout: seconds to wait (``None``: no limit).

        Returns:
            Whether it ended.
        """
        return self.ctx.wait(timeout)

    def _stop_keep_alive(self) -> None:
        self._keep_alive.close()

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
        run(self._client, self._close(timeout, ctx))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
