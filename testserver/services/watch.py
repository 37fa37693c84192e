"""The Watch service of the reference server, as etcd's ``v3rpc/watch.go`` (3.5).

One :class:`_ServerStream` per gRPC Watch stream: it owns the stream's watch ids (counted
from 0; a create may name its own id), answers create requests (``created``, or
``watch_id`` -1 and ``canceled`` with etcd's reason), cancel requests (``canceled``) and
progress requests (``watch_id`` -1 at the current revision once every watcher of the stream
is synced: sent at once if they are, else as soon as they are, as etcd 3.5.8+ does so the
revision is safe to resume from; etcd 3.5.1 answered at once even while replaying), and is
the :class:`~testserver.mvcc.watchable_store.WatchSink` of its watchers. Responses leave in
order from one queue (bounded for events: a full queue makes the store replay later); event
responses get ``prev_kv`` when asked and are split into fragments when asked and larger than
the size limit (``sendFragments``). A per-stream timer sends each synced ``progress_notify``
watcher that had no event in the interval an empty response.

Auth, as etcd 3.5.1's ``isWatchPermitted``: each create is checked against the stream's token
(read permission over the watched range; a "from key" watch is checked as its one key, as
etcd does). A refused create, whatever the reason (no user, bad or expired token, no
permission), is answered ``created`` and ``canceled`` with the client's ``watch_id`` and
:data:`PERMISSION_DENIED_REASON`; the stream stays open.

Every response carries the full header; the revision is the one etcd puts there: the store's
revision when a create or cancel is handled, the txn's revision for live events, the
replay's current revision for replayed events, and 0 for the compaction cancel.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etcd3py import _pb, _stubs
from etcd3py.errors import CompactedError, EtcdError, FutureRevisionError
from testserver.faults import TrackedStream
from testserver.mvcc.store import Change, Record
from testserver.mvcc.watchable_store import WatchableStore
from testserver.mvcc.watcher_group import Watcher
from testserver.services._base import ServerState, auth_info

__all__ = [
    "DEFAULT_PROGRESS_INTERVAL",
    "MIN_PROGRESS_INTERVAL",
    "PERMISSION_DENIED_REASON",
    "STREAM_BUFFER",
    "WatchService",
    "fragments",
]

log = logging.getLogger(__name__)

#: etcd's default progress notify interval (10 minutes).
DEFAULT_PROGRESS_INTERVAL = 600.0
#: etcd's smallest progress notify interval; smaller settings are raised to it.
MIN_PROGRESS_INTERVAL = 0.1
#: the cancel reason of a create refused by auth (etcd 3.5.1 gives it for every auth refusal).
PERMISSION_DENIED_REASON = "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
#: event responses a stream queues before it refuses more (etcd's ``chanBufLen``).
STREAM_BUFFER = 128

_INVALID_WATCH_ID = -1
_EMPTY_RANGE = "mvcc: watcher range is empty"
_DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream"
_rpc = _pb.rpc
_PUT = _pb.kv.Event.PUT
_DELETE = _pb.kv.Event.DELETE

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    import grpc

    _Ctx = grpc.aio.ServicerContext[_pb.rpc.WatchRequest, _pb.rpc.WatchResponse]


@dataclass(slots=True)
class _Result:
    """A response of the store for one watcher: events, progress or the compaction cancel."""

    watcher: Watcher
    events: list[Change]
    revision: int
    compact_revision: int


def _varint_len(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def fragments(resp: _pb.rpc.WatchResponse, limit: int) -> list[_pb.rpc.WatchResponse]:
    """Split ``resp`` as etcd's ``sendFragments``: at ``limit`` bytes, all but the last fragment.

    A response under the limit or with fewer than two events is returned whole. Each fragment
    takes events while its size stays under ``limit`` (and at least one event).

    Args:
        resp: the whole response.
        limit: the size limit in bytes (etcd's max request bytes plus the gRPC overhead).

    Returns:
        The responses to send, in order.
    """
    if len(resp.events) < 2 or resp.ByteSize() < limit:
        return [resp]
    base = _rpc.WatchResponse()
    base.CopyFrom(resp)
    del base.events[:]
    base.fragment = True
    base_size = base.ByteSize()
    out: list[_pb.rpc.WatchResponse] = []
    events, idx = list(resp.events), 0
    while idx < len(events):
        cur = _rpc.WatchResponse()
        cur.CopyFrom(base)
        size = base_size
        while idx < len(events):
            ev_size = events[idx].ByteSize()
            grow = 1 + _varint_len(ev_size) + ev_size
            if len(cur.events) >= 1 and size + grow >= limit:
                break
            cur.events.append(events[idx])
            size += grow
            idx += 1
        out.append(cur)
    out[-1].fragment = False
    return out


class _ServerStream:
    """The server side of one Watch stream: its watchers, its response queue, its loops."""

    def __init__(
        self,
        state: ServerState,
        watchable: WatchableStore,
        interval: float,
        max_bytes: int,
        permitted: Callable[[bytes, bytes], bool] = lambda key, end: True,
    ) -> None:
        self._state = state
        self._permitted = permitted
        self._watchable = watchable
        self._store = watchable.store
        self._interval = interval
        self._max_bytes = max_bytes
        self.watchers: dict[int, Watcher] = {}
        self._next_id = 0
        self._progress: dict[int, bool] = {}
        self._prev_kv: set[int] = set()
        self._fragment: set[int] = set()
        self._deferred_progress = False
        self._queue: deque[_Result | _pb.rpc.WatchResponse] = deque()
        self._wake = asyncio.Event()
        self._blocked = False  # an event response was refused: wake the store on room
        self._closed = False

    # ---- the sink the store sends to -------------------------------------------------------

    def send(
        self, watcher: Watcher, events: list[Change], revision: int, compact_revision: int = 0
    ) -> bool:
        """Queue a response of the store (see :class:`WatchSink`)."""
        if self._closed:
            return True
        if not compact_revision and len(self._queue) >= STREAM_BUFFER:
            if events:
                self._blocked = True
            return False
        self._queue.append(_Result(watcher, events, revision, compact_revision))
        self._wake.set()
        if compact_revision:
            self._maybe_progress()
        return True

    def has_room(self) -> bool:
        """Return whether an event response would be queued now."""
        if len(self._queue) < STREAM_BUFFER:
            return True
        self._blocked = True
        return False

    def watcher_synced(self, watcher: Watcher) -> None:
        """A watcher caught up: answer a deferred progress request if all are synced now."""
        self._maybe_progress()

    # ---- requests --------------------------------------------------------------------------

    def handle(self, req: _pb.rpc.WatchRequest) -> None:
        """Serve one request of the client."""
        kind = req.WhichOneof("request_union")
        if kind == "create_request":
            self._create(req.create_request)
        elif kind == "cancel_request":
            self._cancel(req.cancel_request.watch_id)
        elif kind == "progress_request":
            self._request_progress()

    def _create(self, creq: _pb.rpc.WatchCreateRequest) -> None:
        key = creq.key or b"\x00"
        end: bytes | None = creq.range_end or None
        if end == b"\x00":
            end = b""
        wsrev = self._store.current_revision
        if not self._permitted(key, end or b""):
            self._control(wsrev, creq.watch_id, created=True, reason=PERMISSION_DENIED_REASON)
            return
        if end and key >= end:
            self._control(wsrev, _INVALID_WATCH_ID, created=True, reason=_EMPTY_RANGE)
            return
        wid = creq.watch_id
        if wid == 0:
            while self._next_id in self.watchers:
                self._next_id += 1
            wid, self._next_id = self._next_id, self._next_id + 1
        elif wid in self.watchers:
            self._control(wsrev, _INVALID_WATCH_ID, created=True, reason=_DUPLICATE_ID)
            return
        self._control(wsrev, wid, created=True)
        filters = set(creq.filters)
        self.watchers[wid] = self._watchable.watch(
            key,
            end,
            creq.start_revision or wsrev + 1,
            wid,
            self,
            no_put=_rpc.WatchCreateRequest.NOPUT in filters,
            no_delete=_rpc.WatchCreateRequest.NODELETE in filters,
        )
        if creq.progress_notify:
            self._progress[wid] = True
        if creq.prev_kv:
            self._prev_kv.add(wid)
        if creq.fragment:
            self._fragment.add(wid)

    def _cancel(self, wid: int) -> None:
        watcher = self.watchers.pop(wid, None)
        if watcher is None:
            return  # etcd answers nothing for an unknown id
        self._watchable.cancel(watcher)
        self._control(self._store.current_revision, wid, canceled=True)
        self._progress.pop(wid, None)
        self._prev_kv.discard(wid)
        self._fragment.discard(wid)
        self._maybe_progress()

    def _request_progress(self) -> None:
        if self._deferred_progress:
            return
        self._deferred_progress = True
        self._maybe_progress()

    def _maybe_progress(self) -> None:
        if not self._deferred_progress:
            return
        is_synced = self._watchable.is_synced
        if all(is_synced(w) for w in self.watchers.values() if not w.compacted):
            self._deferred_progress = False
            self._control(self._store.current_revision, _INVALID_WATCH_ID)

    def _control(
        self,
        rev: int,
        wid: int,
        *,
        created: bool = False,
        canceled: bool = False,
        reason: str = "",
    ) -> None:
        resp = _rpc.WatchResponse(
            header=self._header(rev),
            watch_id=wid,
            created=created,
            canceled=canceled or bool(reason),
            cancel_reason=reason,
        )
        self._queue.append(resp)
        self._wake.set()

    def _header(self, rev: int) -> _pb.rpc.ResponseHeader:
        h = self._state.header
        return _rpc.ResponseHeader(
            cluster_id=h.cluster_id, member_id=h.member_id, revision=rev, raft_term=h.raft_term
        )

    # ---- rendering -------------------------------------------------------------------------

    def _render(self, item: _Result | _pb.rpc.WatchResponse) -> list[_pb.rpc.WatchResponse]:
        if not isinstance(item, _Result):
            return [item]
        w = item.watcher
        if w.canceled:
            return []  # etcd sends nothing for a watch after its cancel
        resp = _rpc.WatchResponse(
            header=self._header(item.revision),
            watch_id=w.watch_id,
            compact_revision=item.compact_revision,
            canceled=item.compact_revision != 0,
        )
        prev_kv = w.watch_id in self._prev_kv
        add = resp.events.add
        for change in item.events:
            rec = change.record
            if change.tombstone:
                ev = add(
                    type=_DELETE, kv=_pb.kv.KeyValue(key=rec.key, mod_revision=change.rev.main)
                )
            else:
                ev = add(type=_PUT, kv=rec.to_pb())
            if prev_kv and (change.tombstone or rec.create_revision != rec.mod_revision):
                prev = self._previous(rec.key, change.rev.main - 1)
                if prev is not None:
                    ev.prev_kv.CopyFrom(prev.to_pb())
        if w.watch_id in self._fragment:
            return fragments(resp, self._max_bytes)
        return [resp]

    def _previous(self, key: bytes, rev: int) -> Record | None:
        try:
            found = self._store.read().range(key, None, rev=rev).records
        except (CompactedError, FutureRevisionError):
            return None  # as etcd: no prev_kv when that revision is gone
        return found[0] if found else None

    # ---- the loops -------------------------------------------------------------------------

    async def recv_loop(self, requests: AsyncIterator[_pb.rpc.WatchRequest]) -> None:
        """Serve the client's requests until it half-closes (then keep the stream open)."""
        try:
            async for req in requests:
                self.handle(req)
        except Exception as exc:  # the stream broke: end the send loop (and the RPC)
            log.debug("watch stream receive ended: %r", exc)
            self._closed = True
            self._wake.set()

    async def send_loop(self, out: TrackedStream) -> None:
        """Write queued responses in order until the stream is closed."""
        while not self._closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            item = self._queue.popleft()
            if self._blocked and len(self._queue) <= STREAM_BUFFER // 2:
                self._blocked = False
                self._watchable.wake()
            for resp in self._render(item):
                await out.write(resp)
            if isinstance(item, _Result) and item.events:
                wid = item.watcher.watch_id
                if self._progress.get(wid):
                    self._progress[wid] = False  # an event was sent: skip the next notify

    async def progress_loop(self) -> None:
        """Every interval, notify each progress_notify watcher that had no event meanwhile."""
        while not self._closed:
            await asyncio.sleep(self._interval)
            for wid, quiet in list(self._progress.items()):
                watcher = self.watchers.get(wid)
                if quiet and watcher is not None:
                    self._watchable.progress(watcher)
                self._progress[wid] = True

    def close(self) -> None:
        """Cancel every watcher of the stream and drop what was queued."""
        self._closed = True
        for watcher in self.watchers.values():
            self._watchable.cancel(watcher)
        self.watchers.clear()
        self._queue.clear()


class WatchService(_stubs.rpc_grpc.WatchServicer):
    """etcd's Watch service over the server's watchable store.

    Args:
        state: the server state (header, fault registry).
        watchable: the watchable store.
        progress_interval: seconds between progress notifications (at least 0.1, as etcd).
        max_response_bytes: the size past which a ``fragment`` watch's responses are split.
    """

    def __init__(
        self,
        state: ServerState,
        watchable: WatchableStore,
        *,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        max_response_bytes: int,
    ) -> None:
        self._state = state
        self._watchable = watchable
        self._interval = max(progress_interval, MIN_PROGRESS_INTERVAL)
        self._max_bytes = max_response_bytes

    async def Watch(  # type: ignore[override]  # a stream handler that writes via the context
        self, request_iterator: AsyncIterator[_pb.rpc.WatchRequest], context: _Ctx
    ) -> None:
        """Serve one Watch stream until the client goes away or the stream is dropped."""
        st = self._state

        def permitted(key: bytes, end: bytes) -> bool:
            try:
                st.auth.check_range(auth_info(st, context), key, end)
            except EtcdError:
                return False
            return True

        stream = _ServerStream(st, self._watchable, self._interval, self._max_bytes, permitted)
        async with self._state.faults.streams.track(context) as tracked:
            reader = asyncio.create_task(stream.recv_loop(request_iterator))
            ticker = asyncio.create_task(stream.progress_loop())
            try:
                await stream.send_loop(tracked)
            finally:
                reader.cancel()
                ticker.cancel()
                stream.close()
