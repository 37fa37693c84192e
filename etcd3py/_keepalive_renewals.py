"""A ``keep_alive()`` caller's side, for both faces, sans-IO: its renewals and its end.

Each face's ``KeepAlive`` (:class:`etcd3py.lease.KeepAlive`, :class:`etcd3py.aio.lease.KeepAlive`)
holds a :class:`Renewals` and adds only how to lock and wait:

* the bounded buffer (:data:`KEEPALIVE_BUFFER`; a slow consumer misses the oldest renewals
  but never holds the driver up);
* the error rule: ended by anything but its own close, it yields what it holds, then
  :meth:`Renewals.take` raises why; after its own close, the iteration ends cleanly;
* the end's side effects (:class:`Ended`): the context's callback goes, a context made for
  ``timeout=`` is cancelled, the done callbacks run (on a thread or on the loop: the face's
  choice);
* :func:`start_keep_alive`: what ``keep_alive()`` does with ``timeout=`` and ``ctx=``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from etcd3py import _pb
from etcd3py._lease_views import LeaseKeepAliveResponse
from etcd3py.context import Context
from etcd3py.errors import CanceledError

__all__ = [
    "KEEPALIVE_BUFFER",
    "Ended",
    "Renewals",
    "add_done_callback",
    "ctx_error",
    "follow",
    "run_callbacks",
    "start_keep_alive",
]

_log = logging.getLogger(__name__)

#: Renewal responses one keep-alive holds unconsumed; past it the oldest is dropped.
KEEPALIVE_BUFFER = 16


def _nothing() -> None:
    pass


@dataclasses.dataclass
class Ended:
    """What a keep-alive's end leaves to do, outside any lock.

    Attributes:
        callbacks: the done callbacks to run (the face decides where).
    """

    callbacks: list[Callable[[], None]]
    _unregister: Callable[[], None]
    _owned: Context | None

    def detach(self) -> None:
        """Drop the context's callback, and cancel a context made for this keep-alive."""
        self._unregister()
        if self._owned is not None:
            self._owned.cancel()  # drops its deadline timer now; nothing listens any more


class Renewals:
    """One ``keep_alive()`` caller's renewals and end (the face adds locking and waiting).

    Attributes:
        items: the renewals not yet taken.
        err: why it ended (``None`` while it runs, or after its own close first).
        closed: whether its owner closed it.
        done: whether nothing more will come.
        callbacks: the done callbacks not yet run.
    """

    def __init__(self) -> None:
        self.items: collections.deque[_pb.rpc.LeaseKeepAliveResponse]
        self.items = collections.deque(maxlen=KEEPALIVE_BUFFER)
        self.err: BaseException | None = None
        self.closed = False
        self.done = False
        self.callbacks: list[Callable[[], None]] = []
        self._unregister_ctx: Callable[[], None] = _nothing
        self._owned_ctx: Context | None = None

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> bool:
        """Keep a renewal (dropping the oldest when full); ``True`` if taken."""
        if self.done:
            return False
        self.items.append(response)
        return True

    def finish(self, error: BaseException | None) -> Ended | None:
        """End with ``error``; return what is left to do for the first end (else ``None``)."""
        if self.done:
            return None
        self.err = None if self.closed else error
        self.done = True
        ended = Ended(self.callbacks, self._unregister_ctx, self._owned_ctx)
        self.callbacks, self._unregister_ctx, self._owned_ctx = [], _nothing, None
        return ended

    def attach(self, unregister: Callable[[], None], owned: Context | None) -> bool:
        """Keep a context's unregister (and a context made for it) until the end.

        Returns:
            ``False`` when it has ended already (the caller undoes them).
        """
        if self.done:
            return False
        self._unregister_ctx, self._owned_ctx = unregister, owned
        return True

    def close(self) -> None:
        """The owner's close: drop what is held; iteration ends cleanly."""
        self.closed = True
        self.items.clear()

    def take(self) -> tuple[bool, LeaseKeepAliveResponse | None]:
        """Return (ready, the next renewal or ``None`` for the end); not ready: wait.

        Raises:
            BaseException: the error that ended it, once nothing is held.
        """
        if self.closed:
            return True, None
        if self.items:
            return True, LeaseKeepAliveResponse(self.items.popleft())
        if self.done:
            if self.err is not None:
                raise self.err
            return True, None
        return False, None


def follow(
    state: Renewals,
    ctx: Context,
    owned: bool,
    on_done: Callable[[], None],
    lock: AbstractContextManager[object] | None = None,
) -> None:
    """Make ``on_done`` run when ``ctx`` ends, until the keep-alive ends.

    Args:
        state: the keep-alive's state.
        ctx: its context.
        owned: ``ctx`` was made for it alone (``timeout=``): cancel it once it ends.
        on_done: the context's callback (it ends the keep-alive with :func:`ctx_error`).
        lock: what guards ``state`` (the sync face's condition).
    """
    unregister = ctx.add_done_callback(on_done)
    with lock or contextlib.nullcontext():
        attached = state.attach(unregister, ctx if owned else None)
    if not attached:  # it ended before the callback was in place
        unregister()
        if owned:
            ctx.cancel()


def ctx_error(ctx: Context) -> BaseException:
    """Return what a keep-alive ends with when its context ends."""
    return ctx.err() or CanceledError("context canceled")


def add_done_callback(
    state: Renewals,
    callback: Callable[[], None],
    lock: AbstractContextManager[object] | None = None,
) -> Callable[[], None]:
    """Register ``callback`` for the end, or run it now if the keep-alive has ended.

    Returns:
        A function that unregisters it (harmless after it ran).
    """
    with lock or contextlib.nullcontext():
        if not state.done:
            state.callbacks.append(callback)

            def remove() -> None:
                with lock or contextlib.nullcontext():
                    if callback in state.callbacks:
                        state.callbacks.remove(callback)

            return remove
    callback()
    return _nothing


def run_callbacks(callbacks: list[Callable[[], None]]) -> None:
    """Run done callbacks; one's failure is logged and does not hide the others."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            _log.exception("etcd3py: a keep-alive done callback failed")


class Follower(Protocol):
    """What :func:`start_keep_alive` needs of a face's ``KeepAlive``."""

    def finish(self, error: BaseException | None) -> None:
        """End, with ``error``."""

    def follow(self, ctx: Context, *, owned: bool = False) -> None:
        """End when ``ctx`` ends."""


def start_keep_alive(
    ka: Follower, subscribe: Callable[[], None], parent: Context, timeout: float | None
) -> None:
    """Subscribe ``ka`` and make it follow its context (``ctx=`` and ``timeout=``).

    A ``timeout`` makes a child context owned by ``ka`` (cancelled once it ends); a context
    that already ended ends ``ka`` at once, nothing subscribed.

    Args:
        ka: the new keep-alive.
        subscribe: subscribes it on its driver (may raise ``ClientClosedError``).
        parent: the caller's context (background when none).
        timeout: seconds after which it ends with ``DeadlineExceededError``.
    """
    scope = parent if timeout is None else parent.with_timeout(timeout)
    if scope is Context.background():
        subscribe()
        return
    err = scope.err()
    if err is not None:  # already ended: nothing is sent, the first next() raises
        ka.finish(err)
        if scope is not parent:
            scope.cancel()
        return
    try:
        subscribe()
    except BaseException:
        if scope is not parent:
            scope.cancel()
        raise
    ka.follow(scope, owned=scope is not parent)
