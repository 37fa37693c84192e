"""Election: leader election over a key prefix, compatible with Go's ``concurrency.Election``.

Owns :class:`Election` (clientv3/concurrency ``election.go``) and :class:`Observer`, the
iterator :meth:`Election.observe` returns. A candidate writes ``pfx + "/" + "%x" % lease``
with its value, attached to its session's lease; the key with the lowest create revision is
the leader, and its value is the leader's proclamation. A candidate waits for leadership by
watching its predecessor's key for deletion, as :class:`~etcd3py.concurrency.Mutex` does.
Built on the public client API only (``client.txn``, ``get``, ``watch``).

Example::

    with Session(client, ttl=10) as session:
        election = Election(session, "/election/scheduler")
        election.campaign("node-1")       # blocks until this node leads
        election.proclaim("node-1: busy")
        election.resign()
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from typing_extensions import Self

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse
from etcd3py.compare import Compare
from etcd3py.concurrency._key import first_created, make_context, wait_deletes
from etcd3py.concurrency.session import Session
from etcd3py.context import Context
from etcd3py.errors import ElectionNoLeaderError, ElectionNotLeaderError, EtcdError
from etcd3py.models import EventType, KeyValue, ResponseHeader
from etcd3py.op import Op

if TYPE_CHECKING:
    from etcd3py.client import Client

__all__ = ["Election", "Observer"]


class Election:
    """One candidate in the election on a prefix.

    One ``Election`` object is one candidate; use one per thread (or guard it).
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a candidate on ``pfx``; nothing is sent until :meth:`campaign`.

        Args:
            session: the session whose lease the candidate's key is attached to.
            pfx: the election's name (keys live under ``pfx + "/"``).
        """
        self._session = session
        self._pfx = to_bytes(pfx) + b"/"
        self._leader_key = b""
        self._leader_rev = 0
        self._leader_session: Session | None = None
        self._hdr: ResponseHeader | None = None

    @classmethod
    def resume(cls, session: Session, pfx: KeyLike, leader_key: KeyLike, leader_rev: int) -> Self:
        """Return a candidate that already leads, from its key and create revision.

        As Go's ``ResumeElection``, ``pfx`` is taken as it is (with its trailing ``/``).

        Args:
            session: the session of the leader.
            pfx: the election's key prefix, as :attr:`prefix` gives it.
            leader_key: the leader's key (:attr:`key`).
            leader_rev: the leader key's create revision (:attr:`rev`).

        Returns:
            The election, leading.
        """
        election = cls(session, b"")
        election._pfx = to_bytes(pfx)
        election._leader_key = to_bytes(leader_key)
        election._leader_rev = leader_rev
        election._leader_session = session
        return election

    @property
    def prefix(self) -> bytes:
        """The key prefix of the election (its name plus ``/``)."""
        return self._pfx

    @property
    def key(self) -> bytes:
        """The candidate's key while it campaigns or leads, else ``b""``."""
        return self._leader_key

    @property
    def rev(self) -> int:
        """The create revision of the candidate's key."""
        return self._leader_rev

    @property
    def header(self) -> ResponseHeader | None:
        """The header of the last response that changed this candidate's standing."""
        return self._hdr

    def campaign(
        self, value: KeyLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> None:
        """Put this candidate up with ``value`` and block until it is the leader.

        A candidate whose session already has a key in the election reuses it (and
        proclaims ``value`` if it differs).

        Args:
            value: the value the leader proclaims.
            timeout: seconds to wait at most (``None``: no limit).
            ctx: a context that ends the wait (cancel it from another thread).

        Raises:
            DeadlineExceededError: the wait timed out (the candidate resigned).
            CanceledError: ``ctx`` was cancelled (the candidate resigned).
            EtcdError: a call failed.
        """
        ctx = make_context(ctx, timeout)
        value = to_bytes(value, "value")
        session, client = self._session, self._session.client
        key = self._pfx + b"%x" % session.lease
        resp = (
            client.txn()
            .if_(Compare.create_revision(key) == 0)
            .then(Op.put(key, value, lease=session.lease))
            .else_(Op.get(key))
            .commit(timeout=ctx.remaining())
        )
        self._leader_key, self._leader_rev = key, resp.header.revision
        self._leader_session = session
        if not resp.succeeded:
            mine = resp.responses[0]
            assert isinstance(mine, GetResponse)
            self._leader_rev = mine.kvs[0].create_revision
            if mine.kvs[0].value != value:
                try:
                    self.proclaim(value, timeout=ctx.remaining())
                except BaseException:
                    self._resign_quietly()
                    raise
        try:
            wait_deletes(client, self._pfx, self._leader_rev - 1, ctx)
        except BaseException:
            if ctx.err() is not None:
                self._resign_quietly()
            else:
                self._leader_session = None
            raise
        self._hdr = resp.header

    def proclaim(self, value: KeyLike, *, timeout: float | None = None) -> None:
        """Announce a new value as the leader, without another election.

        Args:
            value: the new value.
            timeout: seconds for the call.

        Raises:
            ElectionNotLeaderError: this candidate does not lead (or lost its key).
            EtcdError: the call failed.
        """
        if self._leader_session is None:
            raise ElectionNotLeaderError()
        resp = (
            self._session.client.txn()
            .if_(Compare.create_revision(self._leader_key) == self._leader_rev)
            .then(Op.put(self._leader_key, value, lease=self._leader_session.lease))
            .commit(timeout=timeout)
        )
        if not resp.succeeded:
            self._leader_key = b""
            raise ElectionNotLeaderError()
        self._hdr = resp.header

    def resign(self, *, timeout: float | None = None) -> None:
        """Give up leadership (or candidacy) so that the next candidate leads.

        Does nothing when this candidate does not campaign.

        Args:
            timeout: seconds for the call.

        Raises:
            EtcdError: the call failed (the candidate counts as resigned anyway).
        """
        if self._leader_session is None:
            return
        try:
            resp = (
                self._session.client.txn()
                .if_(Compare.create_revision(self._leader_key) == self._leader_rev)
                .then(Op.delete(self._leader_key))
                .commit(timeout=timeout)
            )
            self._hdr = resp.header
        finally:
            self._leader_key = b""
            self._leader_session = None

    def _resign_quietly(self) -> None:
        with contextlib.suppress(Exception):  # the lease removes the key anyway
            self.resign(timeout=float(self._session.ttl))

    def leader(self, *, timeout: float | None = None) -> GetResponse:
        """Read the current leader's key and value.

        Args:
            timeout: seconds for the call.

        Returns:
            A response whose ``kvs[0]`` is the leader's key-value.

        Raises:
            ElectionNoLeaderError: no candidate campaigns.
            EtcdError: the call failed.
        """
        resp = first_created(self._session.client, self._pfx, timeout)
        if not resp.kvs:
            raise ElectionNoLeaderError()
        return resp

    def observe(self, *, ctx: Context | None = None) -> Observer:
        """Follow the leadership: every leader and every value it proclaims, in order.

        Args:
            ctx: a context that ends the observation.

        Returns:
            An iterator of the leader's :class:`~etcd3py.models.KeyValue` (one per new
            leader or proclamation) and a context manager; close it to stop.
        """
        return Observer(self._session.client, self._pfx, ctx)

    def __repr__(self) -> str:
        state = "candidate" if self._leader_session is not None else "idle"
        return f"Election(pfx={self._pfx!r}, key={self._leader_key!r}, {state})"


class Observer:
    """The leaders of an election as a blocking iterator of :class:`~etcd3py.models.KeyValue`.

    Yields the current leader first (waiting for one if there is none), then each value it
    proclaims, then the next leader once it resigns or its lease expires, and so on. The
    iteration runs on the caller's thread; it ends cleanly after :meth:`close` and raises the
    error that ended it otherwise (the context's, or a watch's). Iterate from one thread;
    :meth:`close` may be called from any thread.
    """

    def __init__(self, client: Client, pfx: bytes, ctx: Context | None) -> None:
        """Start observing; made by :meth:`Election.observe`, not by users.

        Args:
            client: the client.
            pfx: the election's key prefix.
            ctx: a context that ends the observation.
        """
        self._client = client
        self._pfx = pfx
        self._ctx = (ctx or Context.background()).with_cancel()
        self._closed = False
        self._gen = self._run()

    def __iter__(self) -> Iterator[KeyValue]:
        return self

    def __next__(self) -> KeyValue:
        return next(self._gen)

    def close(self) -> None:
        """Stop observing: a blocked iteration wakes and ends. Idempotent."""
        self._closed = True
        self._ctx.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> Iterator[KeyValue]:
        while True:
            if self._stopped():
                return
            resp = first_created(self._client, self._pfx, self._ctx.remaining())
            if resp.kvs:
                kv, rev = resp.kvs[0], resp.header.revision
            else:
                first = self._first_put(resp.header.revision)
                if first is None:
                    return
                kv, rev = first, first.mod_revision
            yield kv
            yield from self._updates(kv.key, rev + 1)
            if self._closed:
                return

    def _stopped(self) -> bool:
        """Whether the observation should end: closed (cleanly), or its context ended."""
        if self._closed:
            return True
        err = self._ctx.err()
        if err is not None:
            raise err
        return False

    def _first_put(self, rev: int) -> KeyValue | None:
        """Wait for the first key put under the prefix from ``rev`` (no leader yet)."""
        with self._client.watch(self._pfx, prefix=True, rev=rev, ctx=self._ctx) as chan:
            for wresp in chan:
                if wresp.err() is not None:  # closed (its ctx cancelled): stop, else raise
                    self._raise(wresp.err())
                    break
                for ev in wresp.events:
                    # only a put elects someone; a delete would make us spin
                    if ev.type == EventType.PUT:
                        return ev.kv
        return None if self._stopped() else self._lost()

    def _updates(self, key: bytes, rev: int) -> Iterator[KeyValue]:
        """Yield the leader key's new values from ``rev`` until it is deleted."""
        with self._client.watch(key, rev=rev, ctx=self._ctx) as chan:
            for wresp in chan:
                if wresp.err() is not None:  # closed (its ctx cancelled): stop, else raise
                    self._raise(wresp.err())
                    break
                for ev in wresp.events:
                    if ev.type == EventType.DELETE:
                        return
                    yield ev.kv
        if not self._stopped():
            self._lost()

    def _raise(self, err: BaseException | None) -> None:
        if err is not None and not self._stopped():
            raise err

    @staticmethod
    def _lost() -> NoReturn:
        raise EtcdError("election: lost watcher while observing")

    def __repr__(self) -> str:
        return f"Observer(pfx={self._pfx!r}, closed={self._closed})"
