"""The body of a Mutex, shared by the sync and the asyncio face (Go ``mutex.go``).

Owns :class:`MutexCore`: the key layout (``pfx + "/" + "%x" % lease``), the one txn that
writes this waiter's key unless it exists and reads the holder, the wait for every earlier
waiter's key to go (:func:`~etcd3py.concurrency._key.wait_deletes`), the guarded delete of
this waiter's own key, and the lock protocol's rules (``acquire``'s arguments and results).
Each is a flow (:mod:`etcd3py.concurrency._flow`); the faces only run them. No I/O here.
"""

from __future__ import annotations

from typing import Any

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse, TxnResponse
from etcd3py.compare import Cmp, Compare
from etcd3py.concurrency._flow import Checkpoint, Do, Flow
from etcd3py.concurrency._key import by_create, get, guarded_delete, settled_write, wait_deletes
from etcd3py.concurrency._scope import SessionScope, call_context, check_context, check_session
from etcd3py.context import Context
from etcd3py.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    LockedError,
    LockReleasedError,
    SessionExpiredError,
)
from etcd3py.models import ResponseHeader, SortOrder
from etcd3py.op import Op


class MutexCore:
    """A would-be holder of the lock on a prefix; see :class:`etcd3py.concurrency.Mutex`."""

    def __init__(self, session: Any, pfx: KeyLike) -> None:
        """Prepare a mutex on ``pfx`` (no I/O); see :class:`etcd3py.concurrency.Mutex`."""
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

    # ---- the flows the faces run ----------------------------------------------------------

    def _try_lock(self, timeout: float | None, ctx: Context | None) -> Flow[None]:
        check_session(self._session, "mutex")
        with call_context(ctx, timeout) as call_ctx:
            resp = yield from self._try_acquire(call_ctx)
            try:
                yield Checkpoint(call_ctx)  # an end that came during the put withdraws the key
                if self._owns(resp):
                    return
            except GeneratorExit:
                raise
            except BaseException:
                yield from self._withdraw()
                raise
            yield from self._withdraw(call_ctx)  # not the holder: the key goes, errors raised
        raise LockedError()

    def _lock(self, timeout: float | None, ctx: Context | None) -> Flow[None]:
        check_session(self._session, "mutex")
        with call_context(ctx, timeout) as call_ctx:
            resp = yield from self._try_acquire(call_ctx)
            try:
                yield Checkpoint(call_ctx)  # an end that came during the put withdraws the key
                if self._owns(resp):
                    return
                with SessionScope(self._session, call_ctx, "mutex") as scope:
                    yield from wait_deletes(self._pfx, self._my_rev - 1, scope.ctx)
                    # make sure the session is not expired and our key still exists
                    assert self._my_key is not None
                    gresp = yield from get(Op.get(self._my_key), ctx=scope.ctx)
            except GeneratorExit:
                raise  # the flow is being dropped: no step may run any more
            except BaseException:
                yield from self._withdraw()
                raise
        if not gresp.kvs:
            self._forget()
            raise SessionExpiredError()
        self._hdr = gresp.header
        self._held = True

    def _unlock(self, timeout: float | None, ctx: Context | None) -> Flow[None]:
        if self._my_key is None or self._my_rev <= 0:
            raise LockReleasedError()
        yield from self._delete_mine(timeout=timeout, ctx=ctx)

    def _acquire(self, blocking: bool, timeout: float | None, ctx: Context | None) -> Flow[bool]:
        if timeout is None:
            timeout = -1
        if not blocking and timeout != -1:
            raise InvalidArgumentError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise InvalidArgumentError("timeout value must be a non-negative number")
        if not blocking or timeout == 0:
            try:
                yield from self._try_lock(None, ctx)
            except LockedError:
                return False
            return True
        try:
            yield from self._lock(None if timeout == -1 else timeout, ctx)
        except DeadlineExceededError:
            if ctx is not None and ctx.err() is not None:
                raise
            return False
        return True

    # ---- helpers ------------------------------------------------------------------------

    def _forget(self) -> None:
        self._my_key, self._my_rev, self._held = None, -1, False

    def _delete_mine(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> Flow[None]:
        """Delete this waiter's key if it still has the revision it was written at."""
        assert self._my_key is not None
        yield Do(guarded_delete(self._my_key, self._my_rev), timeout, ctx)
        self._forget()

    def _withdraw(self, ctx: Context | None = None) -> Flow[None]:
        """Withdraw this waiter's key, to the answer whatever the caller does meanwhile
        (bounded by the TTL). Without ``ctx`` (after a failure) errors are swallowed: the
        session's end removes the key; with it they are raised (the context's first)."""
        assert self._my_key is not None
        op = guarded_delete(self._my_key, self._my_rev)
        try:
            yield from settled_write(op, float(self._session.ttl), ctx or Context.background())
        except Exception:
            if ctx is not None:
                raise
        finally:
            self._forget()

    def _try_acquire(self, ctx: Context) -> Flow[TxnResponse]:
        """Put this waiter's key unless it exists, and read the current holder, in one txn.

        The put runs to its answer whatever the caller does meanwhile (a :class:`Settle`):
        a caller who gives up while it is in flight must still know the key, to withdraw it.
        """
        check_context(ctx)
        lease = self._session.lease
        key = self._pfx + b"%x" % lease
        get_owner = by_create(self._pfx, SortOrder.ASCEND)
        op = Op.txn(
            [Compare.create_revision(key) == 0],
            [Op.put(key, b"", lease=lease), get_owner],
            # the key exists when this session already waits or holds: reuse it
            [Op.get(key), get_owner],
        )
        resp = yield from settled_write(op, float(self._session.ttl), ctx)
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

    def __repr__(self) -> str:
        state = "held" if self._held else "waiting" if self._my_key else "free"
        return f"Mutex(pfx={self._pfx!r}, key={self._my_key!r}, rev={self._my_rev}, {state})"
