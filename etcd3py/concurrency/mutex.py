"""Mutex: a distributed lock, fair by create revision, compatible with Go and ``etcdctl lock``.

Owns :class:`Mutex` (clientv3/concurrency ``mutex.go``). The key layout is Go's: a waiter
writes ``pfx + "/" + "%x" % lease`` attached to its session's lease; the key with the lowest
create revision holds the lock; every other waiter watches only the key created just before
its own (its predecessor) for deletion, so a release wakes one waiter, in order of request,
and nobody polls. A holder that dies releases the lock when its session's lease expires.
Built on the public client API only (``client.txn``, ``get``, ``delete``, ``watch``).

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
from etcd3py.concurrency._key import make_context, wait_deletes
from etcd3py.concurrency.session import Session
from etcd3py.context import Context
from etcd3py.errors import LockedError, SessionExpiredError
from etcd3py.models import ResponseHeader, SortOrder, SortTarget
from etcd3py.op import Op

__all__ = ["Mutex"]

# What the key is once the mutex holds no key (Go: "\x00"); never an empty key.
_NO_KEY = b"\x00"


class Mutex:
    """A lock shared by every process using the same prefix, held by one session at a time.

    One ``Mutex`` object is one would-be holder; use one per thread (or guard it): a
    session may hold one key per prefix, so two Mutex objects of one session on one prefix
    share it, as in Go.
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a mutex on ``pfx``; nothing is sent until :meth:`lock`/:meth:`try_lock`.

        Args:
            session: the session whose lease the lock key is attached to.
            pfx: the lock's name (keys live under ``pfx + "/"``).
        """
        self._session = session
        self._pfx = to_bytes(pfx) + b"/"
        self._my_key = _NO_KEY
        self._my_rev = -1
        self._hdr: ResponseHeader | None = None

    @property
    def key(self) -> bytes:
        """This waiter's key (``pfx/<lease hex>``) once it asked for the lock, else ``b"\\0"``."""
        return self._my_key

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

        Guard writes with it: ``client.txn().if_(mutex.is_owner()).then(...)``.

        Returns:
            ``create_revision(key) == the revision the lock was requested at``.
        """
        return Compare.create_revision(self._my_key) == self._my_rev

    def try_lock(self, *, timeout: float | None = None) -> None:
        """Take the lock if it is free, else fail at once (Go's ``TryLock``).

        Args:
            timeout: seconds for each call.

        Raises:
            LockedError: another session holds the lock (this waiter's key is removed).
            EtcdError: a call failed.
        """
        resp = self._try_acquire(timeout)
        if self._owns(resp):
            return
        self._session.client.delete(self._my_key, timeout=timeout)
        self._my_key, self._my_rev = _NO_KEY, -1
        raise LockedError()

    def lock(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Take the lock, waiting for every earlier waiter to release it (Go's ``Lock``).

        Waits by watching the predecessor's key; waiters are served in the order they asked.

        Args:
            timeout: seconds to wait at most (``None``: no limit).
            ctx: a context that ends the wait (cancel it from another thread).

        Raises:
            DeadlineExceededError: ``timeout`` or ``ctx``'s deadline passed (this waiter's
                key is removed).
            CanceledError: ``ctx`` was cancelled (the key is removed).
            SessionExpiredError: the session's lease was lost while waiting.
            EtcdError: a call failed.
        """
        ctx = make_context(ctx, timeout)
        resp = self._try_acquire(ctx.remaining())
        if self._owns(resp):
            return
        client = self._session.client
        try:
            wait_deletes(client, self._pfx, self._my_rev - 1, ctx)
            # make sure the session is not expired and our key still exists
            gresp = client.get(self._my_key, timeout=ctx.remaining())
        except BaseException:
            self._release_quietly()
            raise
        if not gresp.kvs:
            self._my_key, self._my_rev = _NO_KEY, -1
            raise SessionExpiredError()
        self._hdr = gresp.header

    def unlock(self, *, timeout: float | None = None) -> None:
        """Release the lock (or give up waiting): delete this waiter's key.

        Args:
            timeout: seconds for the call.

        Raises:
            EtcdError: the delete failed.
        """
        self._session.client.delete(self._my_key, timeout=timeout)
        self._my_key, self._my_rev = _NO_KEY, -1

    def _release_quietly(self) -> None:
        with contextlib.suppress(Exception):  # the lease removes the key anyway
            self.unlock(timeout=float(self._session.ttl))

    def _try_acquire(self, timeout: float | None) -> TxnResponse:
        """Put this waiter's key unless it exists, and read the current holder, in one txn."""
        lease = self._session.lease
        self._my_key = self._pfx + b"%x" % lease
        get_owner = Op.get(
            self._pfx,
            prefix=True,
            sort_target=SortTarget.CREATE,
            sort_order=SortOrder.ASCEND,
            limit=1,
        )
        resp = (
            self._session.client.txn()
            .if_(Compare.create_revision(self._my_key) == 0)
            .then(Op.put(self._my_key, b"", lease=lease), get_owner)
            # the key exists when this session already waits or holds: reuse it
            .else_(Op.get(self._my_key), get_owner)
            .commit(timeout=timeout)
        )
        self._my_rev = resp.header.revision
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
        return f"Mutex(pfx={self._pfx!r}, key={self._my_key!r}, rev={self._my_rev})"
