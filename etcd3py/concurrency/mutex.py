"""Mutex: a distributed lock, fair by create revision, compatible with Go and ``etcdctl lock``.

Owns :class:`Mutex` (clientv3/concurrency ``mutex.go``). The key layout is Go's: a waiter
writes ``pfx + "/" + "%x" % lease`` attached to its session's lease; the key with the lowest
create revision holds the lock; every other waiter watches only the key created just before
its own (its predecessor) for deletion, so a release wakes one waiter, in order of request,
and nobody polls. A holder that dies releases the lock when its session's lease expires.
Built on the public client API only (``client.txn``, ``get``, ``watch``).

A mutex only ever deletes the key it wrote itself, and only while that key still has the
create revision it was written at: :meth:`Mutex.unlock` on a mutex that holds no key raises
:class:`~etcd3py.errors.LockReleasedError` and sends nothing (Go before 3.6 sent a delete
of the key ``"\\x00"``). It also speaks Python's lock protocol (``acquire``/``release``/
``locked``, ``with``), so it can stand where a ``threading.Lock`` is expected.

Example::

    with Session(client, ttl=10) as session:
        with Mutex(session, "/locks/report"):
            ...   # only one holder at a time, across processes and languages
"""

from __future__ import annotations

import contextlib
from types import TracebackType

from typing_extensions import Self

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse, TxnResponse
from etcd3py.compare import Cmp, Compare
from etcd3py.concurrency._key import wait_deletes
from etcd3py.concurrency._scope import SessionScope, call_context, check_session
from etcd3py.concurrency.session import Session
from etcd3py.context import Context
from etcd3py.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    LockedError,
    LockReleasedError,
    SessionExpiredError,
)
from etcd3py.models import ResponseHeader, SortOrder, SortTarget
from etcd3py.op import Op

__all__ = ["Mutex"]


class Mutex:
    """A lock shared by every process using the same prefix, held by one session at a time.

    One ``Mutex`` object is one would-be holder; use one per thread (or guard it): a
    session may hold one key per prefix, so two Mutex objects of one session on one prefix
    share it, as in Go.

    The lock protocol: ``with mutex:`` locks and unlocks; :meth:`acquire`, :meth:`release`
    and :meth:`locked` behave as ``threading.Lock``'s, except that :meth:`locked` tells
    whether *this* mutex holds the lock (Go's ownership, not "anyone holds it").
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a mutex on ``pfx``; nothing is sent until :meth:`lock`/:meth:`try_lock`.

        Args:
            session: the session whose lease the lock key is attached to.
            pfx: the lock's name (keys live under ``pfx + "/"``).
        """
        self._session = session
        self._pfx = to_bytes(pfx) + b"/"
        # this waiter's key and its create revision while it waits or holds, else None/-1
        self._my_key: bytes | None = None
        self._my_rev = -1
        self._held = False  # lock()/try_lock() granted it and no unlock() since
        self._hdr: ResponseHeader | None = None

    @property
    def key(self) -> bytes:
        """This waiter's key (``pfx/<lease hex>``) while it waits or holds, else ``b""``."""
        return self._my_key or b""

    @property
    def header(self) -> ResponseHeader | None:
        """The header of the response that granted the lock, or ``None``."""
        return self._hdr

    @property
    def session(self) -> Session:
        """The session the mutex belongs to."""
        return self._session

    def is_owner(self) -> Cmp:
        """Return a compare that holds while this mutex holds the lock.

        Guard writes with it: ``client.txn().if_(mutex.is_owner()).then(...)``. When the
        mutex holds no key, the compare is on its would-be key with revision -1: always false.

        Returns:
            ``create_revision(key) == the revision the lock was requested at``.
        """
        key = self._my_key or self._pfx + b"%x" % self._session.lease
        return Compare.create_revision(key) == self._my_rev

    def locked(self) -> bool:
        """Return whether this mutex holds the lock (no I/O).

        Unlike ``threading.Lock.locked()`` ("is it held by anyone?"), this is about this
        mutex: ``True`` from a successful :meth:`lock`/:meth:`try_lock`/:meth:`acquire`
        until :meth:`unlock`/:meth:`release`, and while the session lives (its end loses
        the lock). To ask whether anyone holds it, read the prefix.

        Returns:
            Whether this mutex holds the lock.
        """
        return self._held and not self._session.done

    def try_lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock if it is free, else fail at once (Go's ``TryLock``).

        Args:
            timeout: seconds for the calls.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Raises:
            LockedError: another session holds the lock (this waiter's key is removed).
            SessionExpiredError: the session has ended.
            EtcdError: a call failed.
        """
        check_session(self._session, "mutex")
        with call_context(ctx, timeout) as call_ctx:
            resp = self._try_acquire(call_ctx)
            if self._owns(resp):
                return
            self._delete_mine(ctx=call_ctx)
        raise LockedError()

    def lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock, waiting for every earlier waiter to release it (Go's ``Lock``).

        Waits by watching the predecessor's key; waiters are served in the order they asked.
        The wait follows the session: if the session ends meanwhile (closed, orphaned, lease
        lost), the wait ends with :class:`~etcd3py.errors.SessionExpiredError` whose
        ``__cause__`` says why. On any failure this waiter's key is removed.

        Args:
            timeout: seconds to wait at most (``None``: no limit).
            ctx: a Context whose deadline, cancellation and metadata apply (cancel it from
                another thread to give up).

        Raises:
            DeadlineExceededError: ``timeout`` or ``ctx``'s deadline passed.
            CanceledError: ``ctx`` was cancelled.
            SessionExpiredError: the session ended, or its key was lost, while waiting.
            EtcdError: a call failed.
        """
        check_session(self._session, "mutex")
        with call_context(ctx, timeout) as call_ctx:
            self._lock(call_ctx)

    def _lock(self, ctx: Context) -> None:
        resp = self._try_acquire(ctx)
        if self._owns(resp):
            return
        client = self._session.client
        try:
            with SessionScope(self._session, ctx, "mutex") as scope:
                wait_deletes(client, self._pfx, self._my_rev - 1, scope.ctx)
                # make sure the session is not expired and our key still exists
                assert self._my_key is not None
                gresp = client.get(self._my_key, ctx=scope.ctx)
        except BaseException:
            self._delete_quietly()
            raise
        if not gresp.kvs:
            self._forget()
            raise SessionExpiredError()
        self._hdr = gresp.header
        self._held = True

    def unlock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Release the lock (or give up a key left by a failed wait): delete this waiter's key.

        Only the key this mutex wrote is deleted, and only if it still has the create
        revision it was written at (a key lost with the session is not touched).

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Raises:
            LockReleasedError: this mutex holds no lock (never locked, or already
                unlocked); nothing is sent.
            EtcdError: the delete failed (the mutex still holds the key; retry, or let the
                session's end remove it).
        """
        if self._my_key is None or self._my_rev <= 0:
            raise LockReleasedError()
        self._delete_mine(timeout=timeout, ctx=ctx)

    # ---- the lock protocol --------------------------------------------------------------

    def acquire(
        self, blocking: bool = True, timeout: float | None = -1, *, ctx: Context | None = None
    ) -> bool:
        """Take the lock as ``threading.Lock.acquire`` does.

        ``blocking=False`` tries once (:meth:`try_lock`); ``timeout=-1`` (or ``None``)
        waits as long as it takes (:meth:`lock`); ``timeout >= 0`` waits at most that long.

        Args:
            blocking: whether to wait for the lock.
            timeout: the longest wait in seconds; -1 for no limit.
            ctx: a Context whose deadline, cancellation and metadata apply; its end is an
                error, not a ``False``.

        Returns:
            ``True`` when the lock was taken; ``False`` when another session holds it
            (``blocking=False``) or ``timeout`` passed first.

        Raises:
            InvalidArgumentError: a timeout with ``blocking=False``, or a negative timeout
                other than -1 (as ``threading``'s ``ValueError``).
            CanceledError: ``ctx`` was cancelled.
            DeadlineExceededError: ``ctx``'s deadline passed.
            SessionExpiredError: the session ended.
            EtcdError: a call failed.
        """
        if timeout is None:
            timeout = -1
        if not blocking and timeout != -1:
            raise InvalidArgumentError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise InvalidArgumentError("timeout value must be a non-negative number")
        if not blocking or timeout == 0:
            try:
                self.try_lock(ctx=ctx)
            except LockedError:
                return False
            return True
        try:
            self.lock(timeout=None if timeout == -1 else timeout, ctx=ctx)
        except DeadlineExceededError:
            if ctx is not None and ctx.err() is not None:
                raise
            return False
        return True

    def release(self) -> None:
        """Release the lock (:meth:`unlock`), as ``threading.Lock.release`` does.

        Raises:
            LockReleasedError: this mutex holds no lock (``threading`` raises
                ``RuntimeError`` there).
            EtcdError: the delete failed.
        """
        self.unlock()

    # ---- helpers ------------------------------------------------------------------------

    def _forget(self) -> None:
        self._my_key, self._my_rev, self._held = None, -1, False

    def _delete_mine(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Delete this waiter's key if it still has the revision it was written at."""
        assert self._my_key is not None
        key, rev = self._my_key, self._my_rev
        (
            self._session.client.txn()
            .if_(Compare.create_revision(key) == rev)
            .then(Op.delete(key))
            .commit(timeout=timeout, ctx=ctx)
        )
        self._forget()

    def _delete_quietly(self) -> None:
        """Withdraw after a failed wait; if that fails too, the session's end removes it."""
        with contextlib.suppress(Exception):
            self._delete_mine(timeout=float(self._session.ttl))

    def _try_acquire(self, ctx: Context) -> TxnResponse:
        """Put this waiter's key unless it exists, and read the current holder, in one txn."""
        lease = self._session.lease
        key = self._pfx + b"%x" % lease
        get_owner = Op.get(
            self._pfx,
            prefix=True,
            sort_target=SortTarget.CREATE,
            sort_order=SortOrder.ASCEND,
            limit=1,
        )
        resp = (
            self._session.client.txn()
            .if_(Compare.create_revision(key) == 0)
            .then(Op.put(key, b"", lease=lease), get_owner)
            # the key exists when this session already waits or holds: reuse it
            .else_(Op.get(key), get_owner)
            .commit(ctx=ctx)
        )
        self._my_key, self._my_rev = key, resp.header.revision
        if not resp.succeeded:
            mine = resp.responses[0]
            assert isinstance(mine, GetResponse)
            self._my_rev = mine.kvs[0].create_revision
        return resp

    def _owns(self, resp: TxnResponse) -> bool:
        owner = resp.responses[1]
        assert isinstance(owner, GetResponse)
        if not owner.kvs or owner.kvs[0].create_revision == self._my_rev:
            self._hdr = resp.header
            self._held = True
            return True
        return False

    def __enter__(self) -> Self:
        self.lock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()

    def __repr__(self) -> str:
        state = "held" if self._held else "waiting" if self._my_key else "free"
        return f"Mutex(pfx={self._pfx!r}, key={self._my_key!r}, rev={self._my_rev}, {state})"
