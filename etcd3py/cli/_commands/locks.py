"""``etcdctl lock`` and ``etcdctl elect``: a named lock and a leader election, held until a signal.

Both open a session (a lease kept alive) and only then catch SIGINT and SIGTERM, as etcdctl
does: before that a signal kills the process; after it, a signal cancels the wait for the lock
or the leadership (``Error: context canceled``), or releases what is held (exit 0). ``lock``
runs an optional command while it holds the lock, with ``ETCD_LOCK_KEY`` and
``ETCD_LOCK_REV`` in its environment; ``elect -l`` prints every leader and proclamation.
Built on :mod:`etcd3py.concurrency`'s Session, Mutex and Election; the observation follows
clientv3's ``Observe`` on the client's reads and watches, because etcdctl prints the headers
and counts of its responses, which :meth:`Election.observe` does not hand out.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType

import etcd3py
from etcd3py import _pb
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import client, settings
from etcd3py.cli._console import BAD_ARGS, ERROR, Exit, fail
from etcd3py.cli._display import Out
from etcd3py.cli._exec import run_command
from etcd3py.cli._failures import failed, go_error
from etcd3py.cli._flags import Flag
from etcd3py.cli._kv_display import show_get
from etcd3py.cli._logs import retry_warning
from etcd3py.concurrency import Election, Mutex, Session
from etcd3py.context import Context
from etcd3py.errors import CanceledError, EtcdError, SessionExpiredError
from etcd3py.models import SortOrder, SortTarget
from etcd3py.watch import WatchChan

__all__ = ["commands"]


def _bytes(arg: str) -> bytes:
    """The bytes of a command-line argument (a Go string)."""
    return arg.encode("utf-8", "surrogateescape")


def _failure(inv: Invocation, exc: EtcdError) -> Exit:
    """``Error: <err>``, exit 1; a failed call's retry warning first (not for a wait that a
    signal cancelled, nor a lost session: no call failed there); raise it."""
    if isinstance(exc, (CanceledError, SessionExpiredError)):
        return fail(ERROR, go_error(exc))
    return failed(inv, exc)


def _session(inv: Invocation, c: etcd3py.Client, ttl: int = 0) -> Session:
    """A session (its lease granted, with no time limit, as etcdctl's).

    Raises:
        Exit: the grant failed (exit 1).
    """
    try:
        return Session(c, ttl)
    except EtcdError as exc:
        raise failed(inv, exc) from None


class _Signals:
    """SIGINT and SIGTERM caught as Go's ``signal.Notify`` catches them, while in the block.

    The first one cancels :attr:`ctx` and sets :attr:`fired`. The C-level handler writes to a
    wakeup pipe that a thread of this class reads, so the cancel happens whatever the main
    thread is blocked in; the Python-level handler does nothing.
    """

    def __init__(self) -> None:
        """Prepare the context signals cancel (nothing is caught before ``with``)."""
        self.ctx = Context.background().with_cancel()
        self.fired = threading.Event()
        self.wake = threading.Event()  # set by a signal, or by whatever else ends a wait
        self._saved: list[tuple[int, object]] = []
        self._pipe: tuple[int, int] | None = None
        self._old_fd = -1

    def __enter__(self) -> _Signals:
        """Catch SIGINT and SIGTERM (from the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may catch signals (main() run elsewhere)
        read, write = os.pipe()
        os.set_blocking(write, False)
        self._pipe = (read, write)
        self._old_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._saved.append((sig, signal.signal(sig, _ignore)))
        threading.Thread(target=self._wait, args=(read,), name="signals", daemon=True).start()
        return self

    def _wait(self, fd: int) -> None:
        """The reader of the wakeup pipe: the first signal cancels :attr:`ctx`."""
        try:
            data = os.read(fd, 1)  # a signal's number, or EOF once the block is left
        except OSError:
            data = b""
        finally:
            os.close(fd)
        if data:
            self.ctx.cancel()
            self.fired.set()
            self.wake.set()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the previous handlers and wakeup descriptor."""
        for sig, handler in self._saved:
            signal.signal(sig, handler)  # type: ignore[arg-type]
        if self._pipe is not None:
            signal.set_wakeup_fd(self._old_fd)
            os.close(self._pipe[1])  # the reader thread wakes with EOF, closes its end

    def until_signal_or_end_of(self, session: Session) -> bool:
        """Wait for a signal or the session's end; return whether a signal came."""
        session.ctx.add_done_callback(self.wake.set)
        self.wake.wait()
        return self.fired.is_set()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: the wakeup pipe's reader does the work."""


# ---- lock -----------------------------------------------------------------------------------


def _lock(inv: Invocation) -> None:
    """``lock``: take the lock, then run the command or hold it until a signal."""
    args = inv.args
    if not args:
        raise fail(BAD_ARGS, "lock takes a lock name argument and an optional command to execute")
    c = client(inv)
    session = _session(inv, c, inv.int("ttl"))
    mutex = Mutex(session, _bytes(args[0]))
    with _Signals() as signals:
        try:
            mutex.lock(ctx=signals.ctx)
        except EtcdError as exc:
            raise _failure(inv, exc) from None
        if len(args) > 1:
            _run_locked(inv, mutex, args[1:])
            return
        try:
            resp = c.get(mutex.key, ctx=signals.ctx)
        except EtcdError as exc:
            raise _failure(inv, exc) from None
        if not resp.kvs:
            raise fail(ERROR, "lock lost on init")
        show_get(Out(inv), resp.to_pb())
        if not signals.until_signal_or_end_of(session):
            raise fail(ERROR, "session expired")
        _unlock(inv, mutex)


def _unlock(inv: Invocation, mutex: Mutex) -> None:
    """Release the lock; a failure ends the command (exit 1)."""
    try:
        mutex.unlock()
    except EtcdError as exc:
        raise _failure(inv, exc) from None


def _run_locked(inv: Invocation, mutex: Mutex, argv: list[str]) -> None:
    """Run the command while holding the lock, then release it.

    The lock's key and revision come first in the command's environment, so a variable of
    the same name in etcdctl's own environment wins (Go's exec keeps the last one).

    Raises:
        Exit: the command failed (its exit status; 255 if a signal killed it; 1 if it did
            not start), or the unlock did.
    """
    console = inv.console
    header = mutex.header
    env = {
        "ETCD_LOCK_KEY": mutex.key.decode("utf-8", "surrogateescape"),
        "ETCD_LOCK_REV": str(header.revision if header is not None else 0),
    }
    env.update(console.environ)
    outcome = run_command(console, argv, env)
    try:
        mutex.unlock()
    except EtcdError as exc:
        unlock_error: EtcdError | None = exc
    else:
        unlock_error = None
    if outcome.error is not None:
        status = ERROR if outcome.exit_status is None else outcome.exit_status & 0xFF
        raise fail(status, outcome.error)
    if unlock_error is not None:
        raise _failure(inv, unlock_error)


# ---- elect ----------------------------------------------------------------------------------


def _elect(inv: Invocation) -> None:
    """``elect``: campaign with a proposal, or observe the leaders (``-l``)."""
    args = inv.args
    if len(args) not in (1, 2):
        raise fail(
            BAD_ARGS, "elect takes one election name argument and an optional proposal argument"
        )
    c = client(inv)
    listen = inv.bool("listen")
    if len(args) == 1 and not listen:
        raise fail(BAD_ARGS, "no proposal argument but -l not set")
    if len(args) == 2 and listen:
        raise fail(BAD_ARGS, "proposal given but -l is set")
    session = _session(inv, c)
    if listen:
        _observe(inv, c, _bytes(args[0]) + b"/")
    else:
        _campaign(inv, c, session, _bytes(args[0]), _bytes(args[1]))


def _campaign(
    inv: Invocation, c: etcd3py.Client, session: Session, name: bytes, proposal: bytes
) -> None:
    """Campaign until elected, print the leader key, hold it until a signal, resign."""
    election = Election(session, name)
    with _Signals() as signals:
        try:
            election.campaign(proposal, ctx=signals.ctx)
        except EtcdError as exc:
            raise _failure(inv, exc) from None
        try:
            resp = c.get(election.key, ctx=signals.ctx)
        except EtcdError as exc:
            raise _failure(inv, exc) from None
        show_get(Out(inv), resp.to_pb())
        if not signals.until_signal_or_end_of(session):
            raise fail(ERROR, "elect: session expired")
        try:
            election.resign()
        except EtcdError as exc:
            raise _failure(inv, exc) from None


def _observe(inv: Invocation, c: etcd3py.Client, prefix: bytes) -> None:
    """Print every leader and proclamation until a signal (exit 0) or the observation's end.

    Raises:
        Exit: the observation ended otherwise (``elect: observer lost``, exit 1).
    """
    out = Out(inv)
    with _Signals() as signals:
        for resp in _observations(inv, c, prefix, signals.ctx):
            show_get(out, resp)
        if not signals.ctx.done:
            raise fail(ERROR, "elect: observer lost")


def _observations(
    inv: Invocation, c: etcd3py.Client, prefix: bytes, ctx: Context
) -> Iterator[_pb.rpc.RangeResponse]:
    """The responses etcdctl prints while observing (clientv3 ``Election.Observe``).

    The leader, read with its key-space count, goes out as a response of its header and key
    alone; each new value of the leader's key goes out as that first read with the watch
    response's header and the new key-value. When the leader's key is deleted, the next
    leader is read. Any failure ends the iteration, as Go's observe closes its channel.
    (:meth:`etcd3py.concurrency.Election.observe` yields the key-values alone; etcdctl's
    json, fields and protobuf writers print these headers and counts too.)
    """
    while True:
        try:
            first = c.get(
                prefix,
                prefix=True,
                sort_target=SortTarget.CREATE,
                sort_order=SortOrder.ASCEND,
                limit=1,
                ctx=ctx,
            ).to_pb()
        except EtcdError as exc:
            if not ctx.done:
                endpoints = settings(inv).endpoints
                retry_warning(inv.console, endpoints[0] if endpoints else "", exc)
            return
        if first.kvs:
            header, kv = first.header, first.kvs[0]
        else:
            found = _first_put(c, prefix, first.header.revision, ctx)
            if found is None:
                return
            header, kv = found
        leader = _pb.rpc.RangeResponse(kvs=[kv])
        leader.header.CopyFrom(header)
        yield leader
        with c.watch(kv.key, rev=header.revision + 1, ctx=ctx) as chan:
            deleted = False
            while not deleted:
                wresp = _next(chan)
                if wresp is None:
                    return
                for event in wresp.events:
                    if event.type == _pb.kv.Event.DELETE:
                        deleted = True
                        break
                    update = _pb.rpc.RangeResponse()
                    update.CopyFrom(first)
                    update.header.CopyFrom(wresp.header)
                    del update.kvs[:]
                    update.kvs.append(event.kv)
                    yield update


def _next(chan: WatchChan) -> _pb.rpc.WatchResponse | None:
    """The next response of a watch, or None once it ended (for whatever reason)."""
    try:
        wresp = chan.get()
    except EtcdError:
        return None
    return None if wresp is None else wresp.to_pb()


def _first_put(
    c: etcd3py.Client, prefix: bytes, rev: int, ctx: Context
) -> tuple[_pb.rpc.ResponseHeader, _pb.kv.KeyValue] | None:
    """Wait for the first key put under the prefix, from revision ``rev`` on.

    Returns:
        The header of the watch response (its revision the key's) and the key-value; None
        when the watch ended first.
    """
    with c.watch(prefix, prefix=True, rev=rev, ctx=ctx) as chan:
        while True:
            pb = _next(chan)
            if pb is None or pb.canceled or pb.compact_revision:
                return None  # clientv3: the channel closed, or a response with an error
            for event in pb.events:
                if event.type == _pb.kv.Event.PUT:
                    header = _pb.rpc.ResponseHeader()
                    header.CopyFrom(pb.header)
                    header.revision = event.kv.mod_revision
                    return header, event.kv


def commands() -> list[Command]:
    """``lock`` and ``elect``."""
    return [
        Command(
            "lock <lockname> [exec-command arg1 arg2 ...]",
            "Acquires a named lock",
            run=_lock,
            flags=[Flag("ttl", "int", 10, "timeout for session")],
        ),
        Command(
            "elect <election-name> [proposal]",
            "Observes and participates in leader election",
            run=_elect,
            flags=[Flag("listen", "bool", False, "observation mode", shorthand="l")],
        ),
    ]
