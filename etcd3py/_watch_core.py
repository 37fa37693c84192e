"""The sans-IO half of a watch stream driver, shared by the thread driver and the task driver.

:class:`etcd3py._watch_mux.WatchMux` decides the protocol; this module decides what its
actions do to the watches of one stream, with no thread, lock, task or gRPC call:

* :class:`WatchBuffer`: one watch's buffer and state (what a Deliver or an End does to it,
  what the reader takes next, what its owner's close does, when it counts as registered and
  as done). A driver subclasses it only to say how a reader waits and is woken.
* :class:`RegistryCore`: a watcher's streams by context, and the contexts it made for one
  watch's ``timeout=`` (cancelled when that watch's stream ends).
* :class:`StreamCore`: one stream's bookkeeping (its watches by id, the ones whose caller
  waits for the server's ``created``, the stream's state) and the execution of the mux's
  actions: Send goes to the driver's :meth:`StreamCore._send`, Deliver and End to the
  watch's buffer, Reauth is kept for the reader, an idle stream stops its call. A driver
  subclasses it to send, stop a call, and run callbacks.

:mod:`etcd3py._watch_stream` (threads; every method called under its stream's lock) and
:mod:`etcd3py.aio._watch_stream` (one task per stream, on the event loop) drive it.
"""

from __future__ import annotations

import collections
import enum
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from etcd3py import _pb
from etcd3py._flags import Flag
from etcd3py._reconnect import Reconnect, watch_policy
from etcd3py._watch_mux import (
    SUBCLASS_BIT,
    Deliver,
    End,
    MuxWatch,
    Phase,
    Reauth,
    Send,
    WatchMux,
    WatchSpec,
)
from etcd3py._watch_views import WatchResponse
from etcd3py.config import Config
from etcd3py.context import Context
from etcd3py.errors import ClientClosedError, EtcdError, InvalidAuthTokenError

if TYPE_CHECKING:
    from etcd3py._reconnect import Step
    from etcd3py._watch_mux import Action

__all__ = ["END", "RegistryCore", "StreamCore", "StreamState", "WatchBuffer"]

_log = logging.getLogger(__name__)

_STREAM_NUMBERS = itertools.count(1)

#: The end-of-watch marker in a buffer or a dispatcher's queue.
END = object()


class StreamState(enum.Enum):
    """Where one stream stands."""

    RUNNING = "running"
    IDLE = "idle"  # no live watch left: the call is closed and the driver ends
    ENDED = "ended"  # shut down: context ended, client closed, or a fatal stream error


class WatchBuffer(MuxWatch):
    """One watch's buffer and its state, filled by its stream and read by its owner.

    It is also the mux's record of the watch (:class:`~etcd3py._watch_mux.MuxWatch`, whose
    ``wid`` is the mux's id of it): one object per watch, since a client may hold 10,000.
    A driver's subclass adds how a reader waits: it overrides :meth:`_wake`,
    :meth:`_signal_done` and :meth:`_signal_registered` (each a no-op here).

    Attributes:
        callback: the callback of a callback watch, None for an iterator.
        exhausted: the owner saw the end (or closed the watch).
    """

    __slots__ = ("_core", "_end_error", "_items", "callback")

    # the buffer's five flags, in the bits of the record's one int above the mux's own
    _ended = Flag(SUBCLASS_BIT)  # the mux ended the watch (its End was pushed)
    _user_closed = Flag(SUBCLASS_BIT + 1)
    exhausted = Flag(SUBCLASS_BIT + 2)
    _done = Flag(SUBCLASS_BIT + 3)  # the end was seen / the last callback ran
    _awaiting = Flag(SUBCLASS_BIT + 4)  # someone waits for the server's `created`

    def __init__(self, core: StreamCore, callback: Any, awaiting: bool) -> None:
        """A buffer for a watch about to be added to ``core``'s mux (which sets its wid)."""
        super().__init__()
        self._core = core
        self.callback = callback
        # made at the first push of an iterator watch (a callback watch never has one):
        # an empty deque is 600 bytes, and a client may hold 10,000 watches
        self._items: collections.deque[tuple[WatchResponse | object, bool]] | None = None
        self._end_error: BaseException | None = None  # raised by poll() once the end is taken
        self._awaiting = awaiting

    # ---- the driver's hooks --------------------------------------------------------------
    def _wake(self, all_waiters: bool) -> None:
        """An iterator's reader may take something (``all_waiters``: the watch ended)."""

    def _signal_done(self) -> None:
        """The watch is over and its owner saw it (see :attr:`done`)."""

    def _signal_registered(self) -> None:
        """The server registered the watch, or it ended (see :attr:`registered`)."""

    # ---- filled by the stream ------------------------------------------------------------
    def push(self, response: WatchResponse, counted: bool) -> None:
        """Add a response (``counted``: the mux counts it until it is consumed)."""
        if self.callback is not None:
            self._core._dispatch(self, response, counted)
        elif not self._user_closed:
            self._append(response, counted)
            self._wake(False)

    def finish(self, error: BaseException | None, final: _pb.rpc.WatchResponse | None) -> None:
        """The mux ended the watch: its last response (with ``err()``), then the end."""
        if final is None and error is not None:
            final = _pb.rpc.WatchResponse(canceled=True)
        if final is not None:
            self.push(WatchResponse(final, error), False)
        self._ended = True
        if not self._user_closed:
            self._end_error = error
        self.mark_registered()
        if self.callback is not None:
            self._core._dispatch(self, END, False)
        else:
            self._append(END, False)
            self._wake(True)
            if self._user_closed:
                self._set_done()

    def _append(self, item: WatchResponse | object, counted: bool) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append((item, counted))

    def mark_registered(self) -> None:
        """The server registered the watch (or it ended): release whoever waits for that."""
        if self._awaiting:
            self._awaiting = False
            self._signal_registered()

    @property
    def buffered(self) -> int:
        """How many responses an iterator watch holds for its reader (its end included)."""
        return 0 if self._items is None else len(self._items)

    @property
    def registered(self) -> bool:
        """Whether nobody waits for the server's ``created`` any more."""
        return not self._awaiting

    @property
    def done(self) -> bool:
        """Whether the end was seen (or the last callback ran)."""
        return self._done

    def _set_done(self) -> None:
        self._done = True
        self._signal_done()

    # ---- read by the owner ---------------------------------------------------------------
    def poll(self) -> WatchResponse | None:
        """Take the next buffered response of an iterator watch, without waiting.

        Returns:
            The response; None when nothing is buffered (then :attr:`exhausted` tells
            whether the watch ended cleanly or the reader should wait).

        Raises:
            BaseException: the error that ended the watch, once its last response was taken
                (and again at every later call), unless the owner closed the watch.
        """
        items = self._items
        while not self.exhausted and items:
            item, counted = items.popleft()
            if item is END:
                self.exhausted = True
                self._set_done()
                break
            if counted:
                self._core._consumed(self)
            assert isinstance(item, WatchResponse)
            return item
        if self.exhausted and self._end_error is not None:
            raise self._end_error
        return None

    def begin_callback(self, item: WatchResponse | object) -> bool:
        """The dispatcher took ``item``; return whether to call the callback with it."""
        if item is END:
            self.exhausted = True
            self._set_done()
            return False
        return not self._user_closed

    def callback_ran(self, counted: bool) -> None:
        """The dispatcher is done with a response (``counted``: tell the mux)."""
        if counted:
            self._core._consumed(self)

    def close_now(self) -> None:
        """The owner closed the watch: cancel it on the server and end the iteration."""
        if self._user_closed:
            return
        self._user_closed = True
        self._end_error = None  # the owner's close ends the iteration cleanly
        self._items = None
        if self.callback is None:
            self.exhausted = True
        self._core._close_watch(self)
        self._wake(True)
        if self.callback is None and self._ended:
            self._set_done()

    @property
    def end_error(self) -> BaseException | None:
        """The error that ended the watch (None while live, or after the owner's close)."""
        return self._end_error if self._ended else None

    def __repr__(self) -> str:
        state = "ended" if self._ended else "closed" if self._user_closed else "live"
        return f"watch {self.wid} on {self._core.name}, {state}"


_B = TypeVar("_B", bound=WatchBuffer)


class StreamCore:
    """One stream's watches and the execution of its mux's actions.

    Attributes:
        name: the stream's name, for logs, reprs and the driver's thread or task.
        ctx: the context whose watches the stream serves.
    """

    def __init__(
        self, ctx: Context, config: Config, *, buffer_limit: int, create_window: int
    ) -> None:
        self.name = f"etcd3py-watch-{next(_STREAM_NUMBERS)}"
        self.ctx = ctx
        # with credentials, a create refused for auth asks for a new token (see the mux)
        reauth = config.username is not None
        self._mux = WatchMux(buffer_limit=buffer_limit, create_window=create_window, reauth=reauth)
        self._reauth: EtcdError | None = None  # a Reauth action asked for a new token
        self._policy: Reconnect = watch_policy()  # reconnects, and the call's token
        self._state = StreamState.RUNNING
        # "from now" watches whose caller waits for the server's `created`
        self._awaiting: set[WatchBuffer] = set()

    # ---- the driver's hooks --------------------------------------------------------------
    def _send(self, request: _pb.rpc.WatchRequest) -> None:
        """Send a request on the current call (dropped when there is none)."""
        raise NotImplementedError

    def _stop_call(self) -> None:
        """End the current call and cut a reconnect wait short."""
        raise NotImplementedError

    def _dispatch(self, sub: WatchBuffer, item: WatchResponse | object, counted: bool) -> None:
        """Queue a callback watch's response (or :data:`END`) for the stream's dispatcher."""
        raise NotImplementedError

    # ---- inputs --------------------------------------------------------------------------
    def _add(self, spec: WatchSpec, make: Callable[[], _B]) -> _B:
        """Register a watch: ``make()`` builds its buffer (the mux's record of it); then its
        actions run."""
        sub = make()
        actions = self._mux.add(spec, sub)[1]
        if not sub.registered:
            self._awaiting.add(sub)
        self._execute(actions)
        return sub

    def _opened(self) -> None:
        """A new call is up."""
        self._execute(self._mux.stream_opened())

    def _received(self, response: _pb.rpc.WatchResponse) -> EtcdError | None:
        """Take a response; return the error to end the call with for a token refresh."""
        self._execute(self._mux.on_response(response))
        if response.created and self._awaiting:
            for sub in list(self._awaiting):
                if sub.phase is not Phase.QUEUED:
                    sub.mark_registered()
                    self._awaiting.discard(sub)
        if self._reauth is None:
            return None
        reauth, self._reauth = self._reauth, None  # a create refused for auth: new token
        _log.info("etcd3py: %s: %s; refreshing the token", self.name, reauth)
        return InvalidAuthTokenError(reauth.details)

    def _failed(self, error: EtcdError, step: Step) -> bool:
        """The call failed and the reconnect policy decided ``step``; return whether to
        reconnect (after ``step.wait``)."""
        if self._state is not StreamState.RUNNING:
            return False
        if step.end:
            self._state = StreamState.ENDED
            self._execute(self._mux.shutdown(error))
            return False
        # reopens are tried every 100 ms while no member answers: say so once per outage
        log = _log.info if self._policy.attempt <= 1 else _log.debug
        log("etcd3py: %s broke (%s); reconnecting", self.name, error)
        self._execute(self._mux.stream_broken(error))
        return True

    def _shutdown(self, error: Exception | None) -> None:
        """End every watch with ``error`` and stop the stream."""
        if self._state is StreamState.ENDED:
            return
        self._state = StreamState.ENDED
        self._execute(self._mux.shutdown(error))
        self._stop_call()

    def _request_progress(self) -> None:
        if self._state is StreamState.RUNNING:
            self._execute(self._mux.request_progress())

    def _consumed(self, sub: WatchBuffer) -> None:
        if sub.phase is not Phase.ENDED:
            self._execute(self._mux.consumed(sub.wid, 1))

    def _close_watch(self, sub: WatchBuffer) -> None:
        if sub.phase is not Phase.ENDED:
            self._execute(self._mux.close(sub.wid))

    def _close_dropped(self, wid: int) -> None:
        """Close iterator watch ``wid`` whose owner object was garbage collected."""
        sub = self._mux.record(wid)
        if isinstance(sub, WatchBuffer) and sub.callback is None:
            sub.close_now()

    # ---- the actions ---------------------------------------------------------------------
    def _execute(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._send(action.request)
            elif isinstance(action, Deliver):
                # the mux's record of each watch is its buffer (see _add)
                cast(WatchBuffer, action.watch).push(WatchResponse(action.response), True)
            elif isinstance(action, End):
                ended = cast(WatchBuffer, action.watch)
                self._awaiting.discard(ended)
                ended.finish(action.error, action.final)
            elif isinstance(action, Reauth):
                self._reauth = action.error  # the reader ends this call and refreshes
        if self._state is StreamState.RUNNING and self._mux.live_count == 0:
            self._state = StreamState.IDLE  # Go closes an idle stream too (watchGRPCStream.run)
            self._stop_call()


class _Stream(Protocol):
    """What :class:`RegistryCore` needs of a driver's stream."""

    ctx: Context

    @property
    def live_count(self) -> int: ...

    def add(self, spec: WatchSpec, callback: Any, wait: bool) -> WatchBuffer | None: ...


class _Usable(Protocol):
    def check_usable(self) -> None: ...


_S = TypeVar("_S", bound=_Stream)


class RegistryCore(Generic[_S]):
    """A watcher's streams, by context (a driver's subclass adds its lock, if any)."""

    def __init__(self, transport: _Usable, make_stream: Callable[[Context], _S]) -> None:
        self._checked = transport
        self._make_stream = make_stream
        self._streams: dict[Context, _S] = {}  # the stream taking new watches
        self._running: set[_S] = set()  # every stream whose driver runs
        self._owned: set[Context] = set()  # contexts made for one watch's timeout=
        self._closed = False

    def _place(
        self, spec: WatchSpec, ctx: Context, callback: Any, wait: bool, owned: bool
    ) -> tuple[WatchBuffer, _S | None]:
        """Add a watch to the stream of ``ctx``; return it and the new stream to start, if a
        stream had to be made (none, or the one there is going away).

        ``owned``: ``ctx`` was made for this watch alone (``timeout=``); it is cancelled
        once its stream ends (or at once if the watch is refused).

        Raises:
            ClientClosedError: the watcher or its transport is closed.
        """
        try:
            self._checked.check_usable()
            if self._closed:
                raise ClientClosedError("etcd3py: the client is closed")
        except BaseException:
            if owned:
                ctx.cancel()
            raise
        if owned:
            self._owned.add(ctx)
        stream = self._streams.get(ctx)
        sub = stream.add(spec, callback, wait) if stream is not None else None
        if sub is not None:
            return sub, None
        stream = self._make_stream(ctx)
        self._streams[ctx] = stream
        self._running.add(stream)
        sub = stream.add(spec, callback, wait)
        assert sub is not None
        return sub, stream

    def _stream_of(self, ctx: Context) -> _S | None:
        """The stream of ``ctx``, if any (for a progress request).

        Raises:
            ClientClosedError: the watcher or its transport is closed.
        """
        self._checked.check_usable()
        if self._closed:
            raise ClientClosedError("etcd3py: the client is closed")
        return self._streams.get(ctx)

    def _forget(self, stream: _S) -> bool:
        """A stream's driver ended; return whether to cancel its context (an owned one)."""
        self._running.discard(stream)
        if self._streams.get(stream.ctx) is stream:
            del self._streams[stream.ctx]
        owned = stream.ctx in self._owned
        self._owned.discard(stream.ctx)
        return owned

    def _close_all(self) -> list[_S]:
        """Refuse new watches; return the running streams (to end)."""
        self._closed = True
        return list(self._running)
