"""Election: leader election over a key prefix, compatible with Go's ``concurrency.Election``.

Owns :class:`Election` (clientv3/concurrency ``election.go``) and :class:`Observer`, the
iterator :meth:`Election.observe` returns. A candidate writes ``pfx + "/" + "%x" % lease``
with its value, attached to its session's lease; the key with the lowest create revision is
the leader, and its value is the leader's proclamation. A candidate waits for leadership by
watching its predecessor's key for deletion, as :class:`~etcd3py.concurrency.Mutex` does.
Built on the public client API only (``client.kv.do``, ``watch``); its body
(:mod:`etcd3py.concurrency._election`) is shared with the asyncio face, and this face runs
its flows blocking.

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

from collections.abc import Iterator
from types import TracebackType

from typing_extensions import Self

from etcd3py._keys import KeyLike
from etcd3py._responses import GetResponse
from etcd3py.concurrency._drive import drive, run
from etcd3py.concurrency._election import ElectionCore, ObserverCore
from etcd3py.concurrency.session import Session
from etcd3py.context import Context
from etcd3py.models import KeyValue

__all__ = ["Election", "Observer"]


class Election(ElectionCore):
    """One candidate in the election on a prefix.

    One ``Election`` object is one candidate; use one per thread (or guard it).
    """

    def __init__(self, session: Session, pfx: KeyLike) -> None:
        """Prepare a candidate on ``pfx``; nothing is sent until :meth:`campaign`.

        Args:
            session: the session whose lease the candidate's key is attached to.
            pfx: the election's name (keys live under ``pfx + "/"``).
        """
        super().__init__(session, pfx)

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
        return cls._resumed(session, pfx, leader_key, leader_rev)

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
        run(self._session.client, self._campaign(value, timeout, ctx))

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
        run(self._session.client, self._proclaim(value, timeout, ctx))

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
        run(self._session.client, self._resign(timeout, ctx))

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
        return run(self._session.client, self._leader(timeout, ctx))

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


class Observer(ObserverCore):
    """The leaders of an election as a blocking iterator of :class:`~etcd3py.models.KeyValue`.

    Yields the current leader first (waiting for one if there is none), then each value it
    proclaims, then the next leader once it resigns or its lease expires, and so on. The
    iteration runs on the caller's thread. It ends cleanly (``StopIteration``) only after
    :meth:`close` (or leaving its ``with``); ended by anything else (its context, the
    session's end, a watch error, the client closing), the next iteration raises why, and so
    does every one after it (:meth:`err` tells it too). Iterate from one thread;
    :meth:`close` may be called from any thread.
    """

    def __iter__(self) -> Iterator[KeyValue]:
        return self

    def __next__(self) -> KeyValue:
        self._running(StopIteration)
        try:
            return self._item(drive(self._pump))
        except Exception as exc:
            raise self._failed(exc, StopIteration)  # noqa: B904 (the cause is set if any)

    def close(self) -> None:
        """Stop observing: a blocked iteration wakes and ends cleanly. Idempotent."""
        self._end()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
