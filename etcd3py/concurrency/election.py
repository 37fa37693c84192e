"""Election: leader election over a key prefix, compatible with Go's ``concurrency.Election``.

Owns :class:`Election` (clientv3/concurrency ``election.go``) and :class:`Observer`, the
iterator :meth:`Election.observe` returns. A candidate writes ``pfx + "/" + "%x" % lease``
with its value, attached to its session's lease; the key with the lowest create revision is
the leader, and its value is the leader's proclamation. A candidate waits for leadership by
watching its predecessor's key for deletion, as :class:`~etcd3py.concurrency.Mutex` does.
Built on the public client API only (``client.txn``, ``get``, ``watch``).

A campaign and an observation follow the candidate's session: when it ends (closed, orphaned,
lease lost) they end with :class:`~etcd3py.errors.SessionExpiredError`. A candidate only ever
deletes its own key, guarded by the key's create revision; with no key, nothing is sent.

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

from etcd3py._ints import check_int
from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse
from etcd3py.compare import Compare
from etcd3py.concurrency._key import first_created, wait_deletes
from etcd3py.concurrency._scope import SessionScope, call_context, check_session
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
        # the candidate's key and its create revision while it campaigns or leads
        self._leader_key: bytes | None = None
        self._leader_rev = 0
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

        Raises:
            InvalidArgumentError: ``leader_key`` is empty or ``leader_rev`` not positive.
        """
        election = cls(session, b"")
        election._pfx = to_bytes(pfx)
        election._leader_key = to_bytes(leader_key)
        election._leader_rev = check_int("leader_rev", leader_rev, minimum=1)
        return election

    @property
    def prefix(self) -> bytes:
        """The key prefix of the election (its name plus ``/``)."""
        return self._pfx

    @property
    def key(self) -> bytes:
        """The candidate's key while it campaigns or leads, else ``b""``."""
        return self._leader_key or b""

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
        proclaims ``value`` if it differs). The wait follows the session: if it ends
        meanwhile, the campaign ends with :class:`~etcd3py.errors.SessionExpiredError`
        (``__cause__``: why). On any failure after the key was written, the candidate
        resigns (its key is removed).

        Args:
            value: the value the leader proclaims.
            timeout: seconds to wait at most (``None``: no limit).
            ctx: a Context whose deadline, cancellation and metadata apply (cancel it from
                another thread to give up).

        Raises:
            DeadlineExceededError: the wait timed out.
            CanceledError: ``ctx`` was cancelled.
            SessionExpiredError: the session ended.
            EtcdError: a call failed.
        """
        value = to_bytes(value, "value")
        check_session(self._session, "election")
        with call_context(ctx, timeout) as call_ctx:
            self._campaign(value, call_ctx)

    def _campaign(self, value: bytes, ctx: Context) -> None:
        session, client = self._session, self._session.client
        key = self._pfx + b"%x" % session.lease
        resp = (
            client.txn()
            .if_(Compare.create_revision(key) == 0)
            .then(Op.put(key, value, lease=session.lease))
            .else_(Op.get(key))
            .commit(ctx=ctx)
        )
        self._leader_key, self._leader_rev = key, resp.header.revision
        try:
            if not resp.succeeded:
                mine = resp.responses[0]
                assert isinstance(mine, GetResponse)
                self._leader_rev = mine.kvs[0].create_revision
                if mine.kvs[0].value != value:
                    self.proclaim(value, ctx=ctx)
            with SessionScope(session, ctx, "election") as scope:
                wait_deletes(client, self._pfx, self._leader_rev - 1, scope.ctx)
        except BaseException:
            self._resign_quietly()
            raise
        self._hdr = resp.header

    def proclaim(
        self, value: KeyLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> None:
        """Announce a new value as the leader, without another election.

        Args:
            value: the new value.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Raises:
            ElectionNotLeaderError: this candidate does not lead (or lost its key); nothing
                is sent when it has no key.
            EtcdError: the call failed.
        """
        if self._leader_key is None:
            raise ElectionNotLeaderError()
        key = self._leader_key
        resp = (
            self._session.client.txn()
            .if_(Compare.create_revision(key) == self._leader_rev)
            .then(Op.put(key, value, lease=self._session.lease))
            .commit(timeout=timeout, ctx=ctx)
        )
        if not resp.succeeded:
            self._leader_key = None
            raise ElectionNotLeaderError()
        self._hdr = resp.header

    def resign(self, *, timeout: float | None = None, ctx: Context | None = None) -> None:
        """Give up leadership (or candidacy) so that the next candidate leads.

        Does nothing (sends nothing) when this candidate has no key. Deletes the key only
        while it still has the create revision it was campaigned with.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Raises:
            EtcdError: the call failed (the candidate counts as resigned anyway; its key
                goes with its session).
        """
        if self._leader_key is None:
            return
        key, self._leader_key = self._leader_key, None
        resp = (
            self._session.client.txn()
            .if_(Compare.create_revision(key) == self._leader_rev)
            .then(Op.delete(key))
            .commit(timeout=timeout, ctx=ctx)
        )
        self._hdr = resp.header

    def _resign_quietly(self) -> None:
        with contextlib.suppress(Exception):  # the lease removes the key anyway
            self.resign(timeout=float(self._session.ttl))

    def leader(self, *, timeout: float | None = None, ctx: Context | None = None) -> GetResponse:
        """Read the current leader's key and value.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            A response whose ``kvs[0]`` is the leader's key-value.

        Raises:
            ElectionNoLeaderError: no candidate campaigns.
            EtcdError: the call failed.
        """
        resp = first_created(self._session.client, self._pfx, timeout=timeout, ctx=ctx)
        if not resp.kvs:
            raise ElectionNoLeaderError()
        return resp

    def observe(self, *, timeout: float | None = None, ctx: Context | None = None) -> Observer:
        """Follow the leadership: every leader and every value it proclaims, in order.

        The observation follows this candidate's session: when the session ends, the next
        iteration raises :class:`~etcd3py.errors.SessionExpiredError`.

        Args:
            timeout: seconds the whole observation may last (then the next iteration raises
                :class:`~etcd3py.errors.DeadlineExceededError`); ``None``: no limit.
            ctx: a Context whose deadline, cancellation and metadata apply to the whole
                observation (its end: the next iteration raises its error).

        Returns:
            An iterator of the leader's :class:`~etcd3py.models.KeyValue` (one per new
            leader or proclamation) and a context manager; close it to stop.
        """
        return Observer(self._session, self._pfx, timeout, ctx)

    def __repr__(self) -> str:
        state = "candidate" if self._leader_key is not None else "idle"
        return f"Election(pfx={self._pfx!r}, key={self._leader_key!r}, {state})"


class Observer:
    """The leaders of an election as a blocking iterator of :class:`~etcd3py.models.KeyValue`.

    Yields the current leader first (waiting for one if there is none), then each value it
    proclaims, then the next leader once it resigns or its lease expires, and so on. The
    iteration runs on the caller's thread. It ends cleanly (``StopIteration``) only after
    :meth:`close` (or leaving its ``with``); ended by anything else (its context, the
    session's end, a watch error, the client closing), the next iteration raises why, and so
    does every one after it (:meth:`err` tells it too). Iterate from one thread;
    :meth:`close` may be called from any thread.
    """

    def __init__(
        self, session: Session, pfx: bytes, timeout: float | None, ctx: Context | None
    ) -> None:
        """Start observing; made by :meth:`Election.observe`, not by users.

        Args:
            session: the session the observation follows.
            pfx: the election's key prefix.
            timeout: seconds the observation may last.
            ctx: a context that ends the observation.
        """
        self._client: Client = session.client
        self._pfx = pfx
        # close() cancels _stop; the scope also ends with the caller's ctx and the session
        base = ctx or Context.background()
        self._stop = base.with_cancel() if timeout is None else base.with_timeout(timeout)
        self._scope = SessionScope(session, self._stop, "election")
        self._ctx = self._scope.ctx
        self._closed = False
        self._err: BaseException | None = None
        self._gen = self._run()

    def __iter__(self) -> Iterator[KeyValue]:
        return self

    def __next__(self) -> KeyValue:
        if self._closed:
            raise StopIteration
        if self._err is not None:
            raise self._err
        try:
            return next(self._gen)
        except StopIteration:
            if self._closed:
                raise
            self._err = self._ended() or EtcdError("election: observation ended")
        except Exception as exc:
            if self._closed:
                raise StopIteration from None
            self._err = self._ended() or exc
        self._scope.close()
        raise self._err

    def err(self) -> BaseException | None:
        """Return the error that ended the observation.

        Returns:
            ``None`` while it runs or after :meth:`close`; else what the iteration raises.
        """
        return None if self._closed else self._err

    def close(self) -> None:
        """Stop observing: a blocked iteration wakes and ends cleanly. Idempotent."""
        self._closed = True
        self._stop.cancel()
        self._scope.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _ended(self) -> EtcdError | None:
        """Why the observation's context ended (the caller's ctx, or the session), if it did."""
        return self._scope.ended_error()

    def _run(self) -> Iterator[KeyValue]:
        while not self._closed:
            self._check()
            resp = first_created(self._client, self._pfx, ctx=self._ctx)
            if resp.kvs:
                kv, rev = resp.kvs[0], resp.header.revision
            else:
                kv = self._first_put(resp.header.revision)
                rev = kv.mod_revision
            yield kv
            yield from self._updates(kv.key, rev + 1)

    def _check(self) -> None:
        err = self._ctx.err()
        if err is not None:
            raise err

    def _first_put(self, rev: int) -> KeyValue:
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
        self._lost()

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
        self._lost()

    @staticmethod
    def _raise(err: BaseException | None) -> None:
        if err is not None:
            raise err

    def _lost(self) -> NoReturn:
        self._check()
        raise EtcdError("election: lost watcher while observing")

    def __repr__(self) -> str:
        return f"Observer(pfx={self._pfx!r}, closed={self._closed})"
