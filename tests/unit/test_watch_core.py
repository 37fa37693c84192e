"""The sans-IO half of both watch drivers (_watch_core), driven by hand: no server, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from etcd3py import Context, _pb
from etcd3py._watch_core import END, RegistryCore, StreamCore, StreamState, WatchBuffer
from etcd3py._watch_mux import WatchSpec
from etcd3py.config import Config, parse_endpoints
from etcd3py.errors import ClientClosedError, CompactedError


class FakeStream(StreamCore):
    """Records what a driver would do."""

    def __init__(self, ctx: Context | None = None) -> None:
        config = Config(endpoints=parse_endpoints(["127.0.0.1:2379"]))
        super().__init__(ctx or Context.background(), config, buffer_limit=2, create_window=1)
        self.sent: list[_pb.rpc.WatchRequest] = []
        self.stopped = 0
        self.dispatched: list[tuple[WatchBuffer, object, bool]] = []

    def _send(self, request: _pb.rpc.WatchRequest) -> None:
        self.sent.append(request)

    def _stop_call(self) -> None:
        self.stopped += 1

    def _dispatch(self, sub: WatchBuffer, item: object, counted: bool) -> None:
        self.dispatched.append((sub, item, counted))

    @property
    def live_count(self) -> int:
        return self._mux.live_count

    def add(self, spec: WatchSpec, callback: Any, wait: bool) -> WatchBuffer | None:
        if self._state is not StreamState.RUNNING:
            return None
        awaiting = spec.start_revision == 0 and wait
        return self._add(spec, lambda: WatchBuffer(self, callback, awaiting))


def created(watch_id: int, revision: int) -> _pb.rpc.WatchResponse:
    return _pb.rpc.WatchResponse(
        watch_id=watch_id, created=True, header=_pb.rpc.ResponseHeader(revision=revision)
    )


def events(watch_id: int, *revs: int) -> _pb.rpc.WatchResponse:
    evs = [_pb.kv.Event(kv=_pb.kv.KeyValue(key=b"k", mod_revision=r)) for r in revs]
    return _pb.rpc.WatchResponse(watch_id=watch_id, events=evs)


def test_registration_delivery_and_the_error_rule() -> None:
    stream = FakeStream()
    sub = stream.add(WatchSpec(b"k", b"", 0), None, True)
    assert sub is not None and not sub.registered and stream.sent == []
    stream._opened()
    assert stream.sent[-1].create_request.key == b"k"
    assert stream._received(created(7, 10)) is None
    assert sub.registered and sub.poll() is None and not sub.exhausted
    stream._received(events(7, 11, 12))
    first = sub.poll()
    assert first is not None and [e.kv.mod_revision for e in first.events] == [11, 12]
    stream._received(_pb.rpc.WatchResponse(watch_id=7, compact_revision=20, canceled=True))
    last = sub.poll()
    assert last is not None and isinstance(last.err(), CompactedError)
    assert sub.end_error is last.err() and not sub.done
    with pytest.raises(CompactedError):
        sub.poll()
    assert sub.exhausted and sub.done
    assert stream._state is StreamState.IDLE and stream.stopped == 1  # no live watch left


def test_the_owners_close_ends_cleanly_and_cancels_on_the_server() -> None:
    stream = FakeStream()
    keep = stream.add(WatchSpec(b"a", b"", 5), None, True)
    sub = stream.add(WatchSpec(b"b", b"", 5), None, True)
    assert keep is not None and sub is not None and keep.registered  # a fixed start
    stream._opened()
    stream._received(created(1, 4))
    stream._received(created(2, 4))
    stream._received(events(2, 5))
    sub.close_now()
    assert sub.poll() is None and sub.exhausted and sub.end_error is None
    assert stream.sent[-1].cancel_request.watch_id == 2
    assert stream._state is StreamState.RUNNING and stream.live_count == 1
    stream._shutdown(ClientClosedError("closed"))
    end = keep.poll()
    assert end is not None and isinstance(end.err(), ClientClosedError)
    assert stream.add(WatchSpec(b"c", b"", 5), None, True) is None  # ended: make a new one


def test_callbacks_go_to_the_dispatcher_and_consumption_resumes_a_paused_watch() -> None:
    stream = FakeStream()
    sub = stream.add(WatchSpec(b"k", b"", 1), print, False)
    assert sub is not None
    stream._opened()
    stream._received(created(3, 0))
    for rev in (1, 2, 3):  # past buffer_limit=2: paused (cancelled on the server)
        stream._received(events(3, rev))
    assert stream.sent[-1].cancel_request.watch_id == 3
    assert [counted for _, _, counted in stream.dispatched] == [True] * 3
    for _, item, counted in stream.dispatched:
        assert sub.begin_callback(item)
        sub.callback_ran(counted)
    assert stream.sent[-1].create_request.start_revision == 4  # resumed, lossless
    stream._shutdown(None)
    assert stream.dispatched[-1][1] is END and not sub.begin_callback(END) and sub.done


def test_the_registry_places_watches_by_context_and_owns_timed_ones() -> None:
    class Usable:
        closed = False

        def check_usable(self) -> None:
            if self.closed:
                raise ClientClosedError("closed")

    registry = RegistryCore(Usable(), FakeStream)
    ctx = Context.background().with_cancel()
    sub, new = registry._place(WatchSpec(b"k", b"", 1), ctx, None, True, True)
    assert new is not None and new.ctx is ctx
    again, none = registry._place(WatchSpec(b"j", b"", 1), ctx, None, True, False)
    assert none is None and again is not sub
    assert registry._stream_of(ctx) is new
    assert registry._forget(new) and registry._stream_of(ctx) is None  # owned: cancel it
    assert registry._close_all() == []
    owned = Context.background().with_cancel()
    with pytest.raises(ClientClosedError):
        registry._place(WatchSpec(b"k", b"", 1), owned, None, True, True)
    assert owned.err() is not None  # a refused timed watch takes its context with it
