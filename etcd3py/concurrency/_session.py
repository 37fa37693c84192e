"""The body of a Session, shared by the sync and the asyncio face (Go ``session.go``).

Owns :class:`SessionCore`: the argument checks, the lease (granted by the :meth:`~SessionCore._open`
flow, or adopted), the keep-alive it starts (``client.keep_alive`` does no I/O in either
face), the session's context and why it ended, and the revoke of :meth:`~SessionCore._close`.
The faces add only how to wait. No I/O here: the grant and the revoke are flow steps.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from etcd3py._ints import INT64_MIN, LeaseLike, check_int, lease_id
from etcd3py.concurrency._flow import Flow, Grant, Revoke
from etcd3py.context import Context
from etcd3py.errors import EtcdError, LeaseNotFoundError

_log = logging.getLogger("etcd3py.concurrency.session")

#: The lease TTL of a session, in seconds, when none is given (Go's ``defaultSessionTTL``).
DEFAULT_SESSION_TTL = 60


class SessionCore:
    """A lease kept alive until it is closed or lost; see :class:`etcd3py.concurrency.Session`."""

    def __init__(
        self,
        client: Any,
        ttl: int = DEFAULT_SESSION_TTL,
        *,
        lease: LeaseLike = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> None:
        """Check the arguments and keep them for :meth:`_open` (no I/O); see the faces."""
        ttl = check_int("ttl", ttl, minimum=INT64_MIN)
        self._client = client
        self._ttl = ttl if ttl > 0 else DEFAULT_SESSION_TTL
        self._lease = lease_id(lease, "lease")
        self._grant = Grant(self._ttl, timeout, ctx)
        self._ctx: Context | None = None  # set by _open: Go's Session.Ctx()
        self._keep_alive: Any = None  # the client's KeepAlive of the lease, once open
        self._closed = False  # close() or orphan() was called

    def _open(self) -> Flow[None]:
        """Grant the lease unless one was given, then start keeping it alive (once)."""
        if self._ctx is not None:
            return
        if self._lease == 0:
            resp = yield self._grant
            self._lease = resp.id
        self._ctx = (self._grant.ctx or Context.background()).with_cancel()
        self._keep_alive = self._client.keep_alive(self._lease, ctx=self._ctx)
        self._keep_alive.add_done_callback(self._on_keep_alive_done)

    def _on_keep_alive_done(self) -> None:
        """Cancel the session's context once its keep-alive ends, for whatever reason."""
        err = None if self._closed else self._keep_alive.err()
        if err is not None:
            _log.info("session %x ended: %s", self._lease, err)
        self.ctx.cancel()

    def _started(self) -> Context:
        if self._ctx is None:
            raise EtcdError("session: not started (use 'async with' or await it)")
        return self._ctx

    @property
    def client(self) -> Any:
        """The client the session runs on."""
        return self._client

    @property
    def lease(self) -> int:
        """The ID of the session's lease."""
        self._started()
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
        return self._started()

    @property
    def done(self) -> bool:
        """Whether the session ended (see :attr:`ctx`)."""
        return self._ctx is not None and self._ctx.done

    def err(self) -> BaseException | None:
        """Return why the session ended.

        Returns:
            ``None`` while it is live or after :meth:`close`/:meth:`orphan`; else the
            keep-alive's error (``LeaseNotFoundError`` when the lease is gone,
            ``LeaseExpiredError``, ``ClientClosedError``) or the error of the context the
            session was made with.
        """
        if self._closed or self._ctx is None:
            return None
        err: BaseException | None = self._keep_alive.err()
        return err or self._ctx.err()

    def orphan(self) -> None:
        """Stop keeping the lease alive, without revoking it: it expires after its TTL.

        The session ends: :attr:`ctx` is cancelled. Idempotent.
        """
        self._closed = True
        if self._ctx is not None:
            self._stop_keep_alive()
            self._ctx.cancel()  # also ends the keep-alive, made with it

    def _stop_keep_alive(self) -> None:
        """Close the keep-alive at once where the face can (sync); else ``ctx`` ends it."""

    def _close(self, timeout: float | None, ctx: Context | None) -> Flow[None]:
        """Orphan the session and revoke its lease; a lease already gone is no error."""
        self.orphan()
        if self._ctx is None:
            return  # never started: no lease of its own to revoke
        if timeout is None and (ctx is None or ctx.deadline is None):
            timeout = float(self._ttl)  # after the TTL the lease has expired anyway
        with contextlib.suppress(LeaseNotFoundError):
            yield Revoke(self._lease, timeout, ctx)

    def __repr__(self) -> str:
        state = "done" if self.done else "live"
        return f"{type(self).__name__}(lease={self._lease:x}, ttl={self._ttl}, {state})"
