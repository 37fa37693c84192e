"""The sans-IO watch multiplexer: the whole protocol logic of one gRPC Watch stream.

Owns, for one stream (one :class:`~etcd3py.Context`): which watches exist, the creation queue,
the watch ids the server gave, each watch's next revision, fragment joining, progress
notifications, slow-consumer pausing and what a stream break does. It never touches a clock,
a thread, a lock or gRPC: the driver (``_watch_stream.py``) calls one input method at a time,
under its own lock, and executes the returned :data:`Action` list in order. It mirrors the
logic of clientv3's ``watchGRPCStream`` (etcd ``client/v3/watch.go``) without its goroutines.

The life of one watch (``wid`` is the mux's own id; the server's id lives in ``server_id``)::

    add ──> QUEUED ──created──> ACTIVE ──buffer over limit──> PAUSED
              ^  \\                │ \\                           │
              │   └─create refused └──compacted / server cancel  │ consumed() to <= limit/2
              │      (End, typed)      (End, typed error)         │
              └───── stream_broken (ACTIVE, QUEUED) <─────────────┘ (back to QUEUED)
    close() from any live phase, or shutdown(): End at once -> ENDED

* Creation queue: by default only its head has a create request in flight, and the next
  ``created`` response belongs to that head (clientv3's rule). etcd answers the requests of
  one stream strictly in order (its ``recvLoop`` handles them one by one and puts every
  ``created``, refused or not, on one FIFO control channel) and sends a watch's events only
  after its ``created``; so with a ``create_window`` of N, the first N watches of the queue
  have their creates in flight and each ``created`` belongs to the oldest of them. A watch
  closed while its create is in flight leaves an *orphan* slot: the id its ``created``
  brings is cancelled, and the slot counts against the window until then.
* Next revision (where a resume starts) moves only on safe evidence: a delivered event
  (its mod_revision + 1); a progress notification for this watch id (header.revision + 1:
  etcd sends those only to synced watchers, in order with their events); for a watch
  registered "from now" (start 0) its ``created`` header.revision + 1, the revision etcd
  registered it at. A ``watch_id == -1`` progress (answer to ``request_progress``) is
  delivered to every ACTIVE watch but advances only the *caught-up* ones (registered from
  now or in the future, or since given a per-watch progress): etcd 3.5.0-3.5.7 (and 3.4)
  answer it at once with the store revision even while a watcher is still replaying
  history, so trusting it for a catching-up watch could skip events on the next resume.
* Duplicates: events below a watch's ``min_event_rev`` (its registration start, then the
  last delivered revision + 1) are dropped, so a resumed watch never repeats an event; a
  resumed watch's ``created`` is never delivered again, even with ``created_notify``.
* Ids the mux cancelled (user close, pause, orphan, unknown ids) are kept until the server
  confirms; their responses are dropped. A response for an id nobody knows gets one cancel.
* Auth: a create refused for a reason a fresh token may cure (etcd 3.5.1 answers an expired
  token at create time with "permission denied"; later versions with "invalid auth token" or
  "revision of auth store is old") is, when the client has credentials (``reauth=True``),
  not ended: the mux drops the stream's state (every watch back to the queue, as on a break)
  and returns :class:`Reauth`; the driver fetches a new token and reopens the stream. A watch
  refused again before it was registered once more ends with the typed error.
* A refused ``created`` naming an id >= 0 (etcd 3.5.0-3.5.5 answer an auth refusal with the
  request's ``watch_id``, 0 here, and their send loop then holds back every later event of
  the stream's watch 0) re-registers the ACTIVE watch under that id: cancelled, then queued
  again from its next revision (etcd 3.4.23 and 3.5.6+ answer -1).
* Slow consumer: ``undelivered`` counts Deliver actions not yet ``consumed()``; past
  ``buffer_limit`` the watch is cancelled on the server and PAUSED; at ``limit // 2`` or
  less it is queued again from its next revision (lossless: etcd keeps the history).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from etcd3py import _pb
from etcd3py._flags import Bit, Flag
from etcd3py.errors import (
    _BY_MESSAGE,
    CompactedError,
    EtcdError,
    FutureRevisionError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    UserEmptyError,
    WatchCanceledError,
)

__all__ = [
    "Action",
    "Deliver",
    "End",
    "MuxWatch",
    "PROGRESS_ALL_ID",
    "Phase",
    "Reauth",
    "SUBCLASS_BIT",
    "Send",
    "WatchMux",
    "WatchSpec",
    "watch_error",
]

#: clientv3's ``InvalidWatchID``: the id of a stream-wide progress notification.
PROGRESS_ALL_ID = -1


#: A watch's options in the order of their bits (the i-th name is bit i of ``_options``).
WATCH_FLAGS = (
    "prev_kv",
    "filter_put",
    "filter_delete",
    "progress_notify",
    "created_notify",
    "fragment",
)


class WatchOptionBits:
    """The six options of a watch, read-only, as the bits of the instance's ``_options`` int.

    Shared by :class:`WatchSpec` (what the call asked) and :class:`MuxWatch` (which copies
    the spec's int and keeps no spec): one int per watch, read as ``watch.prev_kv``...
    """

    __slots__ = ()

    prev_kv = Bit("_options", 0)  # ask for each event's previous key-value
    filter_put = Bit("_options", 1)  # drop PUT events on the server (NOPUT)
    filter_delete = Bit("_options", 2)  # drop DELETE events on the server (NODELETE)
    progress_notify = Bit("_options", 3)  # ask the server for periodic progress notifications
    created_notify = Bit("_options", 4)  # deliver the `created` response to the user
    fragment = Bit("_options", 5)  # let the server split huge responses (joined again here)


@dataclass(frozen=True, slots=True, init=False)
class WatchSpec(WatchOptionBits):
    """What one watch asks for (built and validated by the public ``watch()`` call).

    The multiplexer copies it into its record of the watch and does not keep it. The six
    options are bits of one int, each read as an attribute of its name (``spec.prev_kv``...).

    Attributes:
        key: the key, or the start of the range.
        range_end: ``b""`` for the single key, ``b"\\0"`` for every key from ``key``, else
            the exclusive end of the range (the prefix end for ``prefix=True``).
        start_revision: the first revision to deliver; 0 means "from now".
        prev_kv, filter_put, filter_delete, progress_notify, created_notify, fragment: the
            options (see :class:`etcd3py.watch.WatchOptions`).
    """

    key: bytes
    range_end: bytes
    start_revision: int
    _options: int  # the options, one bit each in WATCH_FLAGS' order

    def __init__(
        self,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        prev_kv: bool = False,
        filter_put: bool = False,
        filter_delete: bool = False,
        progress_notify: bool = False,
        created_notify: bool = False,
        fragment: bool = False,
    ) -> None:
        """Make a spec; each option is a keyword as in ``watch()``.

        Args:
            key: the key, or the start of the range.
            range_end: the range's end (see the class's attributes).
            start_revision: the first revision to deliver; 0 means "from now".
            prev_kv: ask for each event's previous key-value.
            filter_put: drop PUT events on the server (``NOPUT``).
            filter_delete: drop DELETE events on the server (``NODELETE``).
            progress_notify: ask the server for periodic progress notifications.
            created_notify: deliver the ``created`` response to the user.
            fragment: let the server split huge responses (joined again here).
        """
        # bools are ints: each option shifted to its bit (WATCH_FLAGS' order)
        flags = (
            prev_kv
            | filter_put << 1
            | filter_delete << 2
            | progress_notify << 3
            | created_notify << 4
            | fragment << 5
        )
        setter = object.__setattr__  # frozen: set as the dataclass's own __init__ would
        setter(self, "key", key)
        setter(self, "range_end", range_end)
        setter(self, "start_revision", start_revision)
        setter(self, "_options", flags)

    def __repr__(self) -> str:
        options = "".join(f", {name}=True" for name in WATCH_FLAGS if getattr(self, name))
        return (
            f"WatchSpec(key={self.key!r}, range_end={self.range_end!r}, "
            f"start_revision={self.start_revision}{options})"
        )


class Phase(enum.Enum):
    """Where one watch stands."""

    QUEUED = "queued"  # waiting in the creation queue (maybe at its head, request in flight)
    ACTIVE = "active"  # the server knows it under `server_id`
    PAUSED = "paused"  # slow consumer: cancelled on the server, re-created when drained
    CLOSING = "closing"  # kept for the interface; never produced (close() ENDs at once)
    ENDED = "ended"


# The actions: never changed once made, yet not frozen (one is made per event, and a frozen
# dataclass's __init__ costs several times a plain one's).
@dataclass(slots=True)
class Send:
    """Send this WatchRequest on the current stream."""

    request: _pb.rpc.WatchRequest


@dataclass(slots=True)
class Deliver:
    """Append this response to watch ``wid``'s buffer (the user's iterator or callback reads it).

    ``response`` is the (joined, if fragmented) protobuf WatchResponse with ``watch_id`` as
    the server sent it; it may be shared between watches (a ``-1`` progress): never mutate it.
    """

    wid: int
    response: _pb.rpc.WatchResponse
    watch: MuxWatch | None = field(default=None, compare=False, repr=False)  # wid's record


@dataclass(slots=True)
class End:
    """Watch ``wid`` is over: after its buffered responses the user sees ``error``.

    ``error`` is None for a clean end (the user closed it). ``final`` is a response to
    deliver last (the compacted one, or the refused ``created``), or None.
    """

    wid: int
    error: Exception | None
    final: _pb.rpc.WatchResponse | None
    watch: MuxWatch | None = field(default=None, compare=False, repr=False)  # wid's record


@dataclass(slots=True)
class Reauth:
    """Fetch a new auth token, then reopen the stream (the mux already treats it as broken).

    ``error`` is the refusal that asked for it, for the logs.
    """

    error: EtcdError


Action = Send | Deliver | End | Reauth

#: The message of etcd's ErrAuthOldRevision (a token older than the auth store's revision).
_AUTH_OLD_REVISION = "etcdserver: revision of auth store is old"


def _fresh_token_may_cure(error: EtcdError | None) -> bool:
    """Whether a refused create may succeed with a new token (see the module docstring)."""
    if isinstance(error, (InvalidAuthTokenError, PermissionDeniedError, UserEmptyError)):
        return True
    return error is not None and error.details.endswith(_AUTH_OLD_REVISION)


def watch_error(response: _pb.rpc.WatchResponse) -> EtcdError | None:
    """Return the error a watch response stands for, as clientv3's ``WatchResponse.Err()``.

    Args:
        response: a response from the server.

    Returns:
        :class:`CompactedError` when ``compact_revision`` is set; for a cancel, the typed error
        of its ``cancel_reason`` (an unknown reason gives :class:`WatchCanceledError` keeping
        the text; no reason gives :class:`FutureRevisionError`, as clientv3 does); else None.
    """
    if response.compact_revision != 0:
        return CompactedError()
    if not response.canceled:
        return None
    reason = response.cancel_reason
    if not reason:
        return FutureRevisionError()
    # etcd writes a refusal as a gRPC error's text: "rpc error: code = X desc = <message>"
    message = reason.rpartition(" desc = ")[2] if reason.startswith("rpc error: ") else reason
    return _BY_MESSAGE.get(message, WatchCanceledError)(message)


class MuxWatch(WatchOptionBits):
    """One watch as the mux keeps it; every field is changed only by WatchMux methods.

    A client may hold 10,000 watches, so a driver keeps its own state of a watch (its
    buffer) in the same object: its record class subclasses this one and hands a fresh
    instance to :meth:`WatchMux.add`, which fills these fields. The spec is not kept: its
    key, range end and options are copied here (the options as its ``_options`` int). A
    subclass's own :class:`~etcd3py._flags.Flag` bits start at :data:`SUBCLASS_BIT`.
    """

    __slots__ = (
        "_flags",
        "_options",
        "key",
        "min_event_rev",
        "next_rev",
        "phase",
        "range_end",
        "server_id",
        "undelivered",
        "wid",
    )

    wid: int  # set by add()
    key: bytes  # the spec's, set by add()
    range_end: bytes  # the spec's, set by add()
    phase: Phase  # every transition
    next_rev: int  # where a (re)creation starts: events, progress, created (start 0)
    min_event_rev: int  # events below are duplicates: set at each create send, then events
    server_id: int | None  # the id of the current registration (ACTIVE only)
    undelivered: int  # Deliver actions minus consumed(); drives pausing

    # The mux's four flags are bits 0-3 of _flags (a subclass's come next: kept under 256,
    # the int is one CPython shares in a steady watch); the options are the spec's
    # _options int, kept apart for the same reason (WatchOptionBits reads them).
    announced = Flag(0)  # a `created` was seen once: never deliver one again
    caught_up = Flag(1)  # a -1 progress may advance next_rev (see module docstring)
    in_flight = Flag(2)  # QUEUED with its create sent (it is in WatchMux._pending)
    reauthed = Flag(3)  # refused once for auth since it was last registered

    def __init__(self) -> None:
        """An empty record: :meth:`WatchMux.add` fills it."""
        self._flags = 0
        self._options = 0

    def __repr__(self) -> str:
        return f"<watch {getattr(self, 'wid', '?')} ({getattr(self, 'phase', 'not added')})>"


#: The first bit of ``MuxWatch._flags`` a subclass may use for flags of its own.
SUBCLASS_BIT = 4


class WatchMux:
    """The state machine of one Watch stream; local watch ids (``wid``) are ints it assigns.

    Invariants (checked by tests/unit/test_watch_mux_stateful.py):
      * at most ``create_window`` create requests are in flight (1 by default: the head);
      * per watch, delivered events' revisions strictly increase across responses;
        nothing twice, none skipped (given a server that replays history from the start);
      * ``next_revision`` moves only on safe evidence (see the module docstring);
      * every watch ends with exactly one :class:`End`.
    """

    def __init__(
        self, *, buffer_limit: int = 1000, create_window: int = 1, reauth: bool = False
    ) -> None:
        """Create an empty mux, stream down.

        Args:
            buffer_limit: max undelivered (not yet consumed) responses per watch before the
                watch is paused (cancelled on the server) until its consumer drains it.
            create_window: how many create requests may be in flight at once (1: only the
                head of the queue, as clientv3; more pipelines the creation of many watches).
            reauth: the client has credentials: a create refused for auth asks for a new
                token once (:class:`Reauth`) instead of ending the watch.

        Raises:
            ValueError: if ``buffer_limit`` or ``create_window`` is below 1.
        """
        if buffer_limit < 1:
            raise ValueError("buffer_limit must be at least 1")
        if create_window < 1:
            raise ValueError("create_window must be at least 1")
        self._limit = buffer_limit  # fixed
        self._window = create_window  # fixed
        self._reauth = reauth  # fixed
        self._next_wid = 0  # add(): the next local id
        self._watches: dict[int, MuxWatch] = {}  # add() inserts, _end() removes: the live ones
        self._queue: deque[MuxWatch] = deque()  # waiting for creation, no request sent yet
        # Creates sent, oldest first, each awaiting its `created`; None: an orphan (closed).
        self._pending: deque[MuxWatch | None] = deque()
        self._by_server_id: dict[int, MuxWatch] = {}  # ACTIVE watches by their server id
        self._cancelled: set[int] = set()  # server ids we cancelled, until confirmed
        self._fragments: dict[int, _pb.rpc.WatchResponse] = {}  # server id -> joined so far
        self._up = False  # stream_opened() sets, stream_broken() clears
        self._shut = False  # shutdown() sets, for good
        self._shut_error: Exception | None = None  # what watches added after shutdown get

    # ---- inputs from the user side -----------------------------------------------------------

    def add(self, spec: WatchSpec, record: MuxWatch | None = None) -> tuple[int, list[Action]]:
        """Register a new watch.

        Args:
            spec: what the watch asks for.
            record: the fresh record to keep the watch in (a driver's subclass instance,
                which then comes back in the watch's actions); None makes a plain one.

        Returns:
            Its wid and the actions: a create request if it is at the head of the queue and
            the stream is up; after shutdown, an :class:`End` with the shutdown error.
        """
        wid = self._next_wid
        self._next_wid += 1
        watch = MuxWatch() if record is None else record
        watch.wid = wid
        if self._shut:
            watch.phase = Phase.ENDED
            return wid, [End(wid, self._shut_error, None, watch)]
        watch.key = spec.key
        watch.range_end = spec.range_end
        watch.phase = Phase.QUEUED
        watch.next_rev = watch.min_event_rev = spec.start_revision
        watch.server_id = None
        watch.undelivered = 0
        watch._options = spec._options
        self._watches[wid] = watch
        self._queue.append(watch)
        return wid, self._send_next_create()

    def close(self, wid: int) -> list[Action]:
        """The user closed watch ``wid``: End it at once and tell the server.

        An ACTIVE watch gets a cancel request; a QUEUED one leaves the queue (if its create is
        in flight, the id its ``created`` brings is cancelled then). Unknown or ended wids are
        ignored.

        Args:
            wid: the watch to close.

        Returns:
            The actions: maybe a cancel request, then ``End(wid, None, None)``.
        """
        watch = self._watches.get(wid)
        if watch is None:
            return []
        actions: list[Action] = []
        if watch.phase is Phase.QUEUED:
            if watch.in_flight:
                self._pending[self._pending.index(watch)] = None  # its `created` is cancelled
            else:
                self._queue.remove(watch)
        elif watch.phase is Phase.ACTIVE:
            actions.extend(self._cancel_on_server(watch))
        actions.append(self._end(watch, None, None))
        return actions

    def consumed(self, wid: int, count: int) -> list[Action]:
        """The consumer took ``count`` responses from ``wid``'s buffer.

        A PAUSED watch whose backlog falls to half the limit or less is queued again from its
        next revision.

        Args:
            wid: the watch whose buffer shrank.
            count: how many responses were taken.

        Returns:
            The actions: maybe the create request of the re-queued watch.
        """
        watch = self._watches.get(wid)
        if watch is None:
            return []
        watch.undelivered = max(0, watch.undelivered - count)
        if watch.phase is not Phase.PAUSED or watch.undelivered > self._limit // 2:
            return []
        watch.phase = Phase.QUEUED
        self._queue.append(watch)
        return self._send_next_create()

    def request_progress(self) -> list[Action]:
        """Ask the server for a stream-wide progress notification.

        Returns:
            A progress request if the stream is up, else nothing.
        """
        if not self._up or self._shut:
            return []
        request = _pb.rpc.WatchRequest(progress_request=_pb.rpc.WatchProgressRequest())
        return [Send(request)]

    # ---- inputs from the stream --------------------------------------------------------------

    def stream_opened(self) -> list[Action]:
        """A new gRPC stream is up.

        Returns:
            The create request of the queue's head, if any.
        """
        if self._shut:
            return []
        if self._up:  # a second stream without a break: forget the first one's state
            self._reset_stream()
        self._up = True
        return self._send_next_create()

    def on_response(self, response: _pb.rpc.WatchResponse) -> list[Action]:
        """Take one response from the server.

        Handles, in etcd's terms: ``created`` (takes the queue head, or ends it when refused),
        ``canceled`` (a confirmation, or a server cancel ending the watch with its typed
        error), fragments (joined until ``fragment`` is False), progress (``watch_id`` -1
        reaches every ACTIVE watch), compaction (End with :class:`CompactedError`), events,
        and ids nobody knows (one cancel each).

        Args:
            response: the response as received.

        Returns:
            The actions to execute, in order.
        """
        if self._shut or not self._up:
            return []
        joined = self._join_fragments(response)
        if joined is None:
            return []
        if joined.created:
            return self._on_created(joined)
        if joined.watch_id == PROGRESS_ALL_ID:
            return self._on_progress_all(joined)
        if joined.canceled and joined.compact_revision == 0:
            return self._on_canceled(joined)
        watch = self._by_server_id.get(joined.watch_id)
        if watch is not None:
            return self._on_watch_response(watch, joined)
        return self._cancel_unknown(joined.watch_id)

    def stream_broken(self, error: Exception) -> list[Action]:
        """The stream failed; the driver will reopen it and call :meth:`stream_opened`.

        Every ACTIVE or QUEUED watch goes back to the creation queue, in creation order, to
        be registered again from its next revision; PAUSED watches stay paused until drained.
        In-flight state (fragments, the pending create, cancelled ids) is dropped.

        Args:
            error: what broke the stream (not used by the mux; watches go on).

        Returns:
            Nothing: the stream is down.
        """
        del error
        if not self._shut:
            self._reset_stream()
        return []

    def shutdown(self, error: Exception | None) -> list[Action]:
        """The context was cancelled or the client closed: End every live watch.

        Afterwards every input is a no-op, and :meth:`add` returns a watch already Ended.

        Args:
            error: what every watch ends with (None: a clean end).

        Returns:
            One :class:`End` per live watch, in creation order.
        """
        if self._shut:
            return []
        actions: list[Action] = [
            self._end(watch, error, None) for watch in list(self._watches.values())
        ]
        self._reset_stream()
        self._queue.clear()
        self._up = False
        self._shut = True
        self._shut_error = error
        return actions

    # ---- queries -----------------------------------------------------------------------------

    def next_revision(self, wid: int) -> int:
        """Return where watch ``wid`` would start if registered now (0: "from now").

        Raises:
            KeyError: if ``wid`` is unknown or ended.
        """
        return self._watches[wid].next_rev

    def record(self, wid: int) -> MuxWatch | None:
        """Return the record of live watch ``wid`` (None once it ended, or if unknown)."""
        return self._watches.get(wid)

    def phase(self, wid: int) -> Phase:
        """Return the phase of watch ``wid`` (ENDED for an ended or unknown wid)."""
        watch = self._watches.get(wid)
        return Phase.ENDED if watch is None else watch.phase

    @property
    def live_count(self) -> int:
        """Watches not ENDED; the driver closes an idle stream when this falls to 0."""
        return len(self._watches)

    @property
    def create_in_flight(self) -> bool:
        """Whether a create request awaits its ``created`` response on this stream."""
        return bool(self._pending)

    @property
    def creates_in_flight(self) -> int:
        """How many create requests await their ``created`` response (orphans included)."""
        return len(self._pending)

    # ---- internals ---------------------------------------------------------------------------

    def _reset_stream(self) -> None:
        """Forget the stream's state and queue every ACTIVE/QUEUED watch in creation order."""
        self._up = False
        self._pending.clear()
        self._by_server_id.clear()
        self._cancelled.clear()
        self._fragments.clear()
        self._queue.clear()
        for watch in self._watches.values():  # dict order is creation order
            if watch.phase in (Phase.ACTIVE, Phase.QUEUED):
                watch.phase = Phase.QUEUED
                watch.server_id = None
                watch.in_flight = False
                self._queue.append(watch)

    def _send_next_create(self) -> list[Action]:
        """Send the create requests of the queue's head(s) while the window has room."""
        actions: list[Action] = []
        while self._up and self._queue and len(self._pending) < self._window:
            watch = self._queue.popleft()
            watch.in_flight = True
            self._pending.append(watch)
            actions.append(Send(self._create_of(watch)))
        return actions

    @staticmethod
    def _create_of(watch: MuxWatch) -> _pb.rpc.WatchRequest:
        """Build the create request of ``watch`` from its next revision.

        Only the fields that differ from their defaults are set, one by one: on 10,000
        creates that is a third of the time of passing every field to the constructors.
        """
        watch.min_event_rev = max(watch.min_event_rev, watch.next_rev)
        request = _pb.rpc.WatchRequest()
        create = request.create_request
        create.SetInParent()  # even a create with every field at its default is one
        create.key = watch.key
        if watch.range_end:
            create.range_end = watch.range_end
        if watch.next_rev:
            create.start_revision = watch.next_rev
        if watch._options:
            create.progress_notify = watch.progress_notify
            create.prev_kv = watch.prev_kv
            create.fragment = watch.fragment
            if watch.filter_put:
                create.filters.append(_pb.rpc.WatchCreateRequest.NOPUT)
            if watch.filter_delete:
                create.filters.append(_pb.rpc.WatchCreateRequest.NODELETE)
        return request

    def _end(
        self, watch: MuxWatch, error: Exception | None, final: _pb.rpc.WatchResponse | None
    ) -> End:
        """Forget a live watch and return its End."""
        watch.phase = Phase.ENDED
        del self._watches[watch.wid]
        if watch.server_id is not None:
            self._by_server_id.pop(watch.server_id, None)
            watch.server_id = None
        return End(watch.wid, error, final, watch)

    def _cancel_on_server(self, watch: MuxWatch) -> list[Action]:
        """Cancel an ACTIVE watch's registration; its responses are dropped from now on."""
        server_id = watch.server_id
        if server_id is None:
            return []
        watch.server_id = None
        del self._by_server_id[server_id]
        self._fragments.pop(server_id, None)
        self._cancelled.add(server_id)
        return [Send(_cancel_request(server_id))]

    def _cancel_unknown(self, server_id: int) -> list[Action]:
        """One cancel request for an id nobody here knows (none for -1 or a repeat)."""
        if server_id < 0 or server_id in self._cancelled:
            return []
        self._cancelled.add(server_id)
        return [Send(_cancel_request(server_id))]

    def _join_fragments(self, response: _pb.rpc.WatchResponse) -> _pb.rpc.WatchResponse | None:
        """Return the whole response once its last fragment is in, else None (keep joining)."""
        started = self._fragments.get(response.watch_id)
        if started is None and not response.fragment:
            return response
        if started is None:
            started = _pb.rpc.WatchResponse()
            started.CopyFrom(response)
            self._fragments[response.watch_id] = started
        else:
            started.events.extend(response.events)
        if response.fragment:
            return None
        del self._fragments[response.watch_id]
        started.fragment = False
        return started

    def _on_created(self, response: _pb.rpc.WatchResponse) -> list[Action]:
        """A ``created`` response: it belongs to the oldest create in flight."""
        refused = response.canceled or response.watch_id == PROGRESS_ALL_ID
        watch = self._pending.popleft() if self._pending else None
        actions: list[Action] = []
        if refused:
            actions.extend(self._reregister_named_by_refusal(response.watch_id))
        if watch is None:
            # The create was for a watch closed meanwhile (or nobody): cancel what it made.
            if not refused:
                actions.extend(self._cancel_unknown(response.watch_id))
        else:
            watch.in_flight = False
            error = watch_error(response)
            if refused and self._reauth and not watch.reauthed and _fresh_token_may_cure(error):
                watch.reauthed = True
                self._reset_stream()  # every watch back to the queue, as on a break
                return [Reauth(error or InvalidAuthTokenError())]
            if refused:
                actions.append(self._end(watch, error, response))
            else:
                actions.extend(self._activate(watch, response))
        actions.extend(self._send_next_create())
        return actions

    def _reregister_named_by_refusal(self, server_id: int) -> list[Action]:
        """Register again the ACTIVE watch whose id a refused ``created`` names.

        etcd 3.5.0-3.5.5 answer a create refused for auth with the request's ``watch_id`` (0
        when the server picks ids, as here) instead of -1, and their send loop then forgets
        that id as if it were cancelled: the stream's own watch 0 silently gets no more events
        (held back until a ``created`` for it that never comes). So that watch is cancelled
        and queued again from its next revision (lossless; the duplicate guard holds).
        """
        watch = self._by_server_id.get(server_id) if server_id >= 0 else None
        if watch is None:
            return []
        actions = self._cancel_on_server(watch)
        watch.phase = Phase.QUEUED
        self._queue.append(watch)
        return actions

    def _activate(self, watch: MuxWatch, response: _pb.rpc.WatchResponse) -> list[Action]:
        """Make the head ACTIVE under the id the server gave."""
        watch.phase = Phase.ACTIVE
        watch.reauthed = False
        # one int object for both (each read of the field makes a new one: 32 bytes a watch)
        server_id = watch.server_id = response.watch_id
        self._by_server_id[server_id] = watch
        registered_at = watch.next_rev
        revision = response.header.revision
        # etcd registers a "from now" watch at header.revision + 1 (v3rpc/watch.go), and
        # puts it (and a future one) straight into the synced group.
        if registered_at == 0:
            watch.next_rev = max(watch.next_rev, revision + 1)
        watch.caught_up = registered_at == 0 or registered_at > revision
        if watch.announced or not watch.created_notify:
            watch.announced = True
            return []
        watch.announced = True
        return self._deliver(watch, response)

    def _on_canceled(self, response: _pb.rpc.WatchResponse) -> list[Action]:
        """A cancel: our cancel confirmed, or the server ending an established watch."""
        if response.watch_id in self._cancelled:
            self._cancelled.discard(response.watch_id)
            return []
        watch = self._by_server_id.get(response.watch_id)
        if watch is None:
            return []
        self._fragments.pop(response.watch_id, None)
        return [self._end(watch, watch_error(response), response)]

    def _on_progress_all(self, response: _pb.rpc.WatchResponse) -> list[Action]:
        """A ``watch_id`` -1 progress: to every ACTIVE watch; advances the caught-up ones."""
        actions: list[Action] = []
        for watch in list(self._by_server_id.values()):
            if watch.caught_up:
                watch.next_rev = max(watch.next_rev, response.header.revision + 1)
            actions.extend(self._deliver(watch, response))
        return actions

    def _on_watch_response(self, watch: MuxWatch, response: _pb.rpc.WatchResponse) -> list[Action]:
        """Events, a progress notification or a compaction for an ACTIVE watch."""
        if response.compact_revision != 0:
            # etcd drops a compacted watcher itself: no cancel to send.
            return [self._end(watch, watch_error(response), response)]
        if not response.events:
            watch.next_rev = max(watch.next_rev, response.header.revision + 1)
            watch.caught_up = True
            return self._deliver(watch, response)
        fresh = _drop_old_events(response, watch.min_event_rev)
        if fresh is None:
            return []
        last = fresh.events[-1].kv.mod_revision
        watch.min_event_rev = last + 1
        watch.next_rev = max(watch.next_rev, last + 1)
        return self._deliver(watch, fresh)

    def _deliver(self, watch: MuxWatch, response: _pb.rpc.WatchResponse) -> list[Action]:
        """Deliver one response; pause the watch when its backlog passes the limit."""
        watch.undelivered += 1
        actions: list[Action] = [Deliver(watch.wid, response, watch)]
        if watch.undelivered > self._limit and watch.phase is Phase.ACTIVE:
            actions.extend(self._cancel_on_server(watch))
            watch.phase = Phase.PAUSED
        return actions


def _cancel_request(server_id: int) -> _pb.rpc.WatchRequest:
    """Build the cancel request for one server watch id."""
    request = _pb.rpc.WatchRequest()
    request.cancel_request.watch_id = server_id  # marks the field set, even for id 0
    return request


def _drop_old_events(response: _pb.rpc.WatchResponse, min_rev: int) -> _pb.rpc.WatchResponse | None:
    """Return ``response`` without events below ``min_rev`` (already delivered), or None if
    nothing is left. The common case (nothing old) returns the same object, uncopied."""
    if response.events[0].kv.mod_revision >= min_rev:
        return response
    kept = [event for event in response.events if event.kv.mod_revision >= min_rev]
    if not kept:
        return None
    trimmed = _pb.rpc.WatchResponse()
    trimmed.CopyFrom(response)
    del trimmed.events[:]
    trimmed.events.extend(kept)
    return trimmed
