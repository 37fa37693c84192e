"""The body of an Election and of its Observer, shared by both faces (Go ``election.go``).

Owns :class:`ElectionCore` (the candidate's key ``pfx + "/" + "%x" % lease``, the campaign
txn and the wait for every older candidate to go, proclaim and resign guarded by the key's
create revision, the leader read) and :class:`ObserverCore` (the flow that follows the
leadership, and the iterator's error rule). Each is a flow (:mod:`etcd3py.concurrency._flow`)
the faces run; the observation hands each leader value out with an ``Emit`` step. No I/O here.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, NoReturn

from typing_extensions import Self

from etcd3py._ints import check_int
from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse
from etcd3py.compare import Compare
from etcd3py.concurrency._flow import (
    Checkpoint,
    Do,
    Done,
    Emit,
    Flow,
    Next,
    Pump,
    Unwatch,
    Watch,
)
from etcd3py.concurrency._key import by_create, get, guarded_delete, settled_write, wait_deletes
from etcd3py.concurrency._scope import SessionScope, call_context, check_context, check_session
from etcd3py.context import Context
from etcd3py.errors import ElectionNoLeaderError, ElectionNotLeaderError, EtcdError
from etcd3py.models import EventType, KeyValue, ResponseHeader, SortOrder
from etcd3py.op import Op


class ElectionCore:
    """One candidate in the election on a prefix; see :class:`etcd3py.concurrency.Election`."""

    def __init__(self, session: Any, pfx: KeyLike) -> None:
        """Prepare a candidate on ``pfx`` (no I/O); see :class:`etcd3py.concurrency.Election`."""
        self._session = session
        self._pfx = to_bytes(pfx) + b"/"
        # the candidate's key and its create revision while it campaigns or leads
        self._leader_key: bytes | None = None
        self._leader_rev = 0
        self._hdr: ResponseHeader | None = None

    @classmethod
    def _resumed(cls, session: Any, pfx: KeyLike, leader_key: KeyLike, leader_rev: int) -> Self:
        """Return a candidate leading with ``leader_key`` (Go's ``ResumeElection``)."""
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

    # ---- the flows the faces run ----------------------------------------------------------

    def _campaign(self, value: KeyLike, timeout: float | None, ctx: Context | None) -> Flow[None]:
        value = to_bytes(value, "value")
        session = self._session
        check_session(session, "election")
        with call_context(ctx, timeout) as call_ctx:
            check_context(call_ctx)
            key = self._pfx + b"%x" % session.lease
            op = Op.txn(
                [Compare.create_revision(key) == 0],
                [Op.put(key, value, lease=session.lease)],
                [Op.get(key)],
            )
            # the put runs to its answer whatever the caller does meanwhile: a caller who
            # gives up while it is in flight must still know the key, to withdraw it
            resp = yield from settled_write(op, float(session.ttl), call_ctx)
            self._leader_key, self._leader_rev = key, resp.header.revision
            try:
                yield Checkpoint(call_ctx)  # an end that came during the put withdraws the key
                if not resp.succeeded:
                    mine = resp.responses[0]
                    assert isinstance(mine, GetResponse)
                    self._leader_rev = mine.kvs[0].create_revision
                    if mine.kvs[0].value != value:
                        yield from self._proclaim(value, None, call_ctx)
                with SessionScope(session, call_ctx, "election") as scope:
                    yield from wait_deletes(self._pfx, self._leader_rev - 1, scope.ctx)
            except GeneratorExit:
                raise  # the flow is being dropped: no step may run any more
            except BaseException:
                if self._leader_key is not None:
                    key, self._leader_key = self._leader_key, None
                    withdraw = guarded_delete(key, self._leader_rev)
                    with contextlib.suppress(Exception):  # the lease removes the key anyway
                        yield from settled_write(withdraw, float(session.ttl), call_ctx)
                raise
        self._hdr = resp.header

    def _proclaim(self, value: KeyLike, timeout: float | None, ctx: Context | None) -> Flow[None]:
        if self._leader_key is None:
            raise ElectionNotLeaderError()
        key = self._leader_key
        op = Op.txn(
            [Compare.create_revision(key) == self._leader_rev],
            [Op.put(key, value, lease=self._session.lease)],
        )
        resp = yield Do(op, timeout, ctx)
        if not resp.succeeded:
            self._leader_key = None
            raise ElectionNotLeaderError()
        self._hdr = resp.header

    def _resign(self, timeout: float | None, ctx: Context | None) -> Flow[None]:
        if self._leader_key is None:
            return
        key, self._leader_key = self._leader_key, None
        resp = yield Do(guarded_delete(key, self._leader_rev), timeout, ctx)
        self._hdr = resp.header

    def _leader(self, timeout: float | None, ctx: Context | None) -> Flow[GetResponse]:
        resp = yield from get(by_create(self._pfx, SortOrder.ASCEND), timeout=timeout, ctx=ctx)
        if not resp.kvs:
            raise ElectionNoLeaderError()
        return resp

    def __repr__(self) -> str:
        state = "candidate" if self._leader_key is not None else "idle"
        return f"Election(pfx={self._pfx!r}, key={self._leader_key!r}, {state})"


def _abandon(stop: Context, scope: SessionScope) -> None:
    """End a dropped observation: its watches end with its context (no I/O here)."""
    stop.cancel()
    scope.close()


class ObserverCore:
    """The leaders of an election; see :class:`etcd3py.concurrency.Observer`.

    The faces iterate :attr:`_pump` (the :meth:`_run` flow) until it emits, and apply
    :meth:`_running`, :meth:`_item` and :meth:`_failed`: the error rule of every iterator
    the client hands out.
    """

    def __init__(
        self, session: Any, pfx: bytes, timeout: float | None, ctx: Context | None
    ) -> None:
        """Start observing; made by ``Election.observe``, not by users.

        Args:
            session: the session the observation follows.
            pfx: the election's key prefix.
            timeout: seconds the observation may last.
            ctx: a context that ends the observation.
        """
        self._pfx = pfx
        # close() cancels _stop; the scope also ends with the caller's ctx and the session
        base = ctx or Context.background()
        self._stop = base.with_cancel() if timeout is None else base.with_timeout(timeout)
        self._scope = SessionScope(session, self._stop, "election")
        self._ctx = self._scope.ctx
        self._closed = False
        self._err: BaseException | None = None
        self._pump: Pump[None] = Pump(session.client, self._run())
        self._finalizer = weakref.finalize(self, _abandon, self._stop, self._scope)

    def err(self) -> BaseException | None:
        """Return the error that ended the observation.

        Returns:
            ``None`` while it runs or after ``close()``; else what the iteration raises.
        """
        return None if self._closed else self._err

    def _running(self, stop: type[Exception]) -> None:
        """Raise ``stop`` once closed, or the error that ended the observation."""
        if self._closed:
            raise stop
        if self._err is not None:
            raise self._err

    @staticmethod
    def _item(out: Emit | Done[None]) -> KeyValue:
        """The value the flow handed out (it never returns unless closed)."""
        if isinstance(out, Emit):
            kv: KeyValue = out.value
            return kv
        raise EtcdError("election: observation ended")

    def _failed(self, exc: Exception, stop: type[Exception]) -> BaseException:
        """Return what to raise after the iteration failed with ``exc``.

        Args:
            exc: the error.
            stop: the face's end of iteration, raised after ``close()`` (a clean end).

        Returns:
            ``stop()`` after ``close()``; else the error that ends the observation, kept for
            every later iteration: the caller's ctx's or the session's end, else ``exc``.
        """
        if self._closed:
            return stop()
        self._err = self._scope.ended_error() or exc
        self._scope.close()
        return self._err

    def _end(self) -> None:
        """Mark the observation closed and end its context (a blocked iteration wakes)."""
        self._closed = True
        self._finalizer.detach()
        _abandon(self._stop, self._scope)

    def _run(self) -> Flow[None]:
        while not self._closed:
            check_context(self._ctx)
            resp = yield from get(by_create(self._pfx, SortOrder.ASCEND), ctx=self._ctx)
            if resp.kvs:
                kv, rev = resp.kvs[0], resp.header.revision
            else:
                kv = yield from self._first_put(resp.header.revision)
                rev = kv.mod_revision
            yield Emit(kv)
            yield from self._updates(kv.key, rev + 1)

    def _first_put(self, rev: int) -> Flow[KeyValue]:
        """Wait for the first key put under the prefix from ``rev`` (no leader yet)."""
        chan = yield Watch(self._pfx, rev, self._ctx, prefix=True)
        while (wresp := (yield Next(chan))) is not None:
            self._raise(wresp.err())
            for ev in wresp.events:
                # only a put elects someone; a delete would make us spin
                if ev.type == EventType.PUT:
                    yield Unwatch(chan)
                    kv: KeyValue = ev.kv
                    return kv
        self._lost()

    def _updates(self, key: bytes, rev: int) -> Flow[None]:
        """Hand out the leader key's new values from ``rev`` until it is deleted."""
        chan = yield Watch(key, rev, self._ctx)
        while (wresp := (yield Next(chan))) is not None:
            self._raise(wresp.err())
            for ev in wresp.events:
                if ev.type == EventType.DELETE:
                    yield Unwatch(chan)
                    return
                yield Emit(ev.kv)
        self._lost()

    @staticmethod
    def _raise(err: BaseException | None) -> None:
        if err is not None:  # the watch ended (its ctx cancelled, compacted...)
            raise err

    def _lost(self) -> NoReturn:
        check_context(self._ctx)
        raise EtcdError("election: lost watcher while observing")

    def __repr__(self) -> str:
        return f"Observer(pfx={self._pfx!r}, closed={self._closed})"
