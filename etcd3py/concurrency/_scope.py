"""The context a recipe call runs under, and how its end is reported.

Owns :func:`make_context` and :func:`call_context` (the caller's ``ctx`` bounded by
``timeout=``), :func:`check_session`, and :class:`SessionScope`: a child context that also
ends when a session ends, so that a wait built on a session (a lock, a campaign, an
observation) ends when the session does, with the error that tells which of the two ended
it. No I/O.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from etcd3py.context import Context
from etcd3py.errors import EtcdError, SessionExpiredError

if TYPE_CHECKING:
    from etcd3py.concurrency._session import SessionCore as Session


def _nothing() -> None:
    pass


def make_context(ctx: Context | None, timeout: float | None) -> Context:
    """Return the context a call runs under: ``ctx`` bounded by ``timeout`` seconds.

    Args:
        ctx: the caller's context, or ``None`` for the background one.
        timeout: seconds, or ``None`` for no limit beyond ``ctx``'s.

    Returns:
        The context to use.
    """
    base = ctx or Context.background()
    return base if timeout is None else base.with_timeout(timeout)


@contextlib.contextmanager
def call_context(ctx: Context | None, timeout: float | None) -> Iterator[Context]:
    """Run a call of several steps under ``ctx`` bounded by ``timeout`` seconds.

    The context derived for ``timeout`` is cancelled on exit, so that it leaves the deadline
    timer at once (Go's ``defer cancel()``).

    Args:
        ctx: the caller's context, or ``None`` for the background one.
        timeout: seconds, or ``None`` for no limit beyond ``ctx``'s.

    Yields:
        The context to use.
    """
    derived = make_context(ctx, timeout)
    try:
        yield derived
    finally:
        if derived is not (ctx or Context.background()):
            derived.cancel()


def check_context(ctx: Context) -> None:
    """Raise the context's error if it ended.

    Args:
        ctx: the context.

    Raises:
        CanceledError: it was cancelled.
        DeadlineExceededError: its deadline passed.
    """
    err = ctx.err()
    if err is not None:
        raise err


def session_error(session: Session, what: str) -> SessionExpiredError:
    """Return the error that says ``session`` ended, caused by the session's own reason.

    Args:
        session: the ended session.
        what: the recipe, for the message (``"mutex"``, ``"election"``).

    Returns:
        A :class:`~etcd3py.errors.SessionExpiredError` whose ``__cause__`` is the session's
        error (lease lost, client closed...) or its context's.
    """
    err = SessionExpiredError(f"{what}: session is expired")
    err.__cause__ = session.err() or session.ctx.err()
    return err


def check_session(session: Session, what: str) -> None:
    """Raise :class:`~etcd3py.errors.SessionExpiredError` if ``session`` ended.

    Args:
        session: the session.
        what: the recipe, for the message.

    Raises:
        SessionExpiredError: the session was closed, orphaned, or lost its lease.
    """
    if session.done:
        raise session_error(session, what)


class SessionScope:
    """A context that ends with the caller's context or with a session, whichever is first.

    Use it as a context manager around a wait; on exit it forgets the session and turns a
    context error caused by the session's end into
    :class:`~etcd3py.errors.SessionExpiredError` (the caller's own cancellation or deadline
    keeps its error).

    Attributes:
        ctx: the context to run the wait under.
    """

    def __init__(self, session: Session, ctx: Context, what: str) -> None:
        """Derive the scope's context from ``ctx`` and follow ``session``.

        Args:
            session: the session the wait depends on.
            ctx: the caller's context (with its ``timeout=`` applied).
            what: the recipe, for the error message.
        """
        self._session = session
        self._parent = ctx
        self._what = what
        self._own = ctx is not Context.background()
        if self._own:
            self.ctx = ctx.with_cancel()
            self._unregister = session.ctx.add_done_callback(self.ctx.cancel)
        else:
            # nothing but the session bounds the wait: its own context serves, and the
            # session's waits share one watch stream (watches of one context share one)
            self.ctx = session.ctx
            self._unregister = _nothing

    def ended_error(self) -> EtcdError | None:
        """Return why the scope's context ended, as the caller should see it.

        Returns:
            ``None`` while it runs; the caller's context's error when that ended it; else
            :class:`~etcd3py.errors.SessionExpiredError` when the session ended; else the
            scope's own error.
        """
        if self.ctx.err() is None:
            return None
        parent = self._parent.err()
        if parent is not None:
            return parent
        if self._session.done:
            return session_error(self._session, self._what)
        return self.ctx.err()

    def close(self) -> None:
        """Stop following the session and end the scope's own context. Idempotent."""
        self._unregister()
        if self._own:
            self.ctx.cancel()

    def __enter__(self) -> SessionScope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        err = self.ended_error() if isinstance(exc, EtcdError) else None
        self.close()
        if err is not None and err is not exc:
            raise err  # the session's end or the caller's ctx, not the watch's cancellation
